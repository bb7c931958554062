"""The installed `mysafe` command, run as a user or a script would, on a real vault."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PASSPHRASE
from mysafe_tui.core.kdf import KDF_PROFILES
from mysafe_tui.core.models import SPECS
from mysafe_tui.vault.vault import Vault

MYSAFE = shutil.which("mysafe", path=str(Path(sys.executable).parent)) or "mysafe"


class Cli:
    """Runs `mysafe` with its own MYSAFE_HOME and a passphrase file, detached from any tty."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.passfile = home.parent / "passphrase"
        self.passfile.write_text(PASSPHRASE + "\n")

    def __call__(
        self, *args: str, stdin: str = "", passphrase: bool = True
    ) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MYSAFE")}
        env["MYSAFE_HOME"] = str(self.home)
        if passphrase:
            env["MYSAFE_PASSPHRASE_FILE"] = str(self.passfile)
        return subprocess.run(
            [MYSAFE, *args], input=stdin, capture_output=True, text=True, env=env,
            start_new_session=True,  # no controlling terminal: prompts must not hang
        )  # fmt: skip

    def ok(self, *args: str, stdin: str = "") -> str:
        result = self(*args, stdin=stdin)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def fails(self, *args: str, stdin: str = "", code: int = 1) -> str:
        result = self(*args, stdin=stdin)
        assert result.returncode == code, (result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        return result.stderr


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    c = Cli(tmp_path / "home")
    c.ok("init", "--kdf-profile", "low-memory")
    return c


def test_init_writes_the_default_kdf_profile(tmp_path: Path) -> None:
    c = Cli(tmp_path / "home")
    c.ok("init")
    v = Vault.open(tmp_path / "home" / "default.mysafe")
    params, default = v.kdf_params, KDF_PROFILES["default"]
    assert (params.memory_kib, params.iterations, params.lanes) == (262144, 3, 4)
    assert (default.memory_kib, default.iterations, default.lanes) == (262144, 3, 4)
    assert v.kdf_profile == "default"
    v.close()
    assert "already exists" in c.fails("init")


def test_password_life_cycle(cli: Cli) -> None:
    cli.ok("add", "password", "--name", "Github", "--username", "octo",
           "--url", "https://github.com", "--tags", "dev,git",
           "--totp", stdin="gh-s3cret\nJBSWY3DPEHPK3PXP\n")  # fmt: skip
    assert cli.ok("get", "github") == "gh-s3cret\n"
    assert cli.ok("get", "github", "--field", "username") == "octo\n"
    code = cli.ok("get", "github", "--field", "totp").strip()
    assert code.isdigit() and len(code) == 6
    totp = cli.ok("totp", "github")
    assert totp.strip().isdigit() and len(totp.strip()) == 6 and totp.count("\n") == 1
    listed = json.loads(cli.ok("list", "--json"))
    assert [(i["name"], i["username"], i["tags"]) for i in listed] == [
        ("Github", "octo", ["dev", "git"])
    ]
    assert "gh-s3cret" not in json.dumps(listed)  # the list never carries secrets
    assert json.loads(cli.ok("get", "github", "--json"))["password"] == "gh-s3cret"
    cli.ok("rm", "github")
    assert json.loads(cli.ok("list", "--json")) == []
    assert "Github" in cli.ok("list", "--trash")
    cli.ok("restore", "github")
    assert "Github" in cli.ok("list", "git")


def test_note_and_api_secret(cli: Cli) -> None:
    cli.ok("add", "note", "--name", "Runbook", "--tags", "ops", stdin="step 1\nstep 2\n")
    assert cli.ok("get", "runbook") == "step 1\nstep 2\n"
    assert "no TOTP seed" in cli.fails("totp", "runbook")
    (cli.home / "settings.json").write_text(json.dumps({"clipboard": "off"}))
    assert "turned off in settings" in cli.fails("copy", "runbook")
    cli.ok("add", "api-secret", "--name", "Stripe", "--url", "https://api.stripe.com",
           "--client-id", "cid-1", "--method", "POST", stdin="sk_live_xyz\n")  # fmt: skip
    assert cli.ok("get", "stripe") == "sk_live_xyz\n"
    assert cli.ok("get", "stripe", "--field", "client_id") == "cid-1\n"
    assert "Stripe" in cli.ok("list", "--kind", "api-secret")
    assert "Runbook" not in cli.ok("list", "--kind", "api-secret")


def test_generated_password_is_stored_not_printed(cli: Cli) -> None:
    result = cli("add", "password", "--name", "gen", "--username", "u", "--generate")
    assert result.returncode == 0
    password = cli.ok("get", "gen").strip()
    assert len(password) == 24 and password not in result.stdout + result.stderr


def test_attach_and_save(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "id_ed25519"
    source.write_bytes(os.urandom(200_000))
    cli.ok("attach", str(source), "--name", "ssh key")
    assert "id_ed25519" in cli.ok("list")
    target = tmp_path / "restored"
    cli.ok("save", "ssh key", str(target))
    assert target.read_bytes() == source.read_bytes()
    assert "already exists" in cli.fails("save", "ssh key", str(target))
    cli.ok("save", "ssh key", str(target), "--force")
    assert "is a file" in cli.fails("get", "ssh key")


def test_passwd(cli: Cli, tmp_path: Path) -> None:
    cli.ok("add", "note", "--name", "n", stdin="body")
    new = tmp_path / "new-passphrase"
    new.write_text("another strong passphrase 42\n")
    cli.ok("passwd", "--new-passphrase-file", str(new))
    assert "wrong passphrase" in cli.fails("list")
    assert cli.ok("get", "n", "--passphrase-file", str(new)) == "body\n"


def test_purge_needs_confirmation_or_yes(cli: Cli) -> None:
    cli.ok("add", "note", "--name", "old", stdin="x")
    cli.ok("rm", "old")
    assert "--yes" in cli.fails("purge", "old")
    cli.ok("purge", "old", "--yes")
    assert "No items" in cli.ok("list", "--trash")


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("get", "nothing"), "", "no item named 'nothing'"),
        (("get", "githb"), "", "did you mean Github"),
        (("get", "github", "--field", "colour"), "", "has no field 'colour'"),
        (("attach", "/no/such/file"), "", "not a readable file"),
        (("add", "password", "--name", "x", "--username", "u"), "", "standard input is empty"),
        (("add", "password", "--name", "x", "--username", "u"), "a\nb\n", "must be one line"),
        (("add", "password", "--name", "x", "--username", "u", "--totp"), "p\n!!\n", "base32"),
        (("add", "password", "--name", "x", "--username", "u", "--totp"), "p\n", "2 non-empty"),
    ],
)
def test_bad_input_is_one_clear_sentence(
    cli: Cli, args: tuple[str, ...], stdin: str, message: str
) -> None:
    cli.ok("add", "password", "--name", "Github", "--username", "u", stdin="p")
    stderr = cli.fails(*args, stdin=stdin)
    assert message in stderr and stderr.count("\n") == 1, stderr


def test_ambiguous_name(cli: Cli) -> None:
    cli.ok("add", "note", "--name", "dup", stdin="1")
    cli.ok("add", "note", "--name", "DUP", stdin="2")
    assert "matches 2 items" in cli.fails("get", "dup")


def test_wrong_passphrase_and_missing_passphrase(cli: Cli, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not it\n")
    assert cli.fails("list", "--passphrase-file", str(wrong)) == "mysafe: wrong passphrase\n"
    result = cli("list", passphrase=False)
    assert result.returncode == 1 and "--passphrase-file" in result.stderr


def test_damaged_vaults_are_named_not_tracebacks(cli: Cli) -> None:
    vault = cli.home / "default.mysafe"
    raw = vault.read_bytes()
    vault.write_bytes(raw[: len(raw) // 2])
    assert "truncated" in cli.fails("list")
    vault.write_bytes(b"this is not a vault at all" * 100)
    assert "not a mysafe vault" in cli.fails("list")


def test_no_vault_yet(tmp_path: Path) -> None:
    c = Cli(tmp_path / "empty")
    assert "mysafe init" in c.fails("list")


def test_secrets_are_never_accepted_as_arguments(cli: Cli) -> None:
    cli.fails("add", "password", "--name", "x", "--username", "u", "--password", "p", code=2)


def test_generate_and_version_need_no_vault(tmp_path: Path) -> None:
    c = Cli(tmp_path / "none")
    assert len(c.ok("generate", "--length", "40").strip()) == 40
    assert len(c.ok("generate", "--words", "5").strip().split("-")) == 5
    assert c.ok("--version").startswith("mysafe ")
    no_terminal = c()  # the UI needs a terminal: without one, help and a clear word
    assert no_terminal.returncode == 2 and "usage" in no_terminal.stdout
    assert "needs a terminal" in no_terminal.stderr


@pytest.mark.parametrize("field", sorted({name for spec in SPECS.values() for name in spec.secret}))
def test_edit_refuses_every_secret_field_on_the_command_line(cli: Cli, field: str) -> None:
    cli.ok("add", "password", "--name", "Github", "--username", "u", stdin="p")
    stderr = cli.fails("edit", "Github", "--set", f"{field}=leaked-on-argv")
    assert f"--secret {field}" in stderr and "leaked" not in stderr
    assert cli.ok("get", "Github").strip() == "p"  # nothing was changed


def test_a_weak_master_passphrase_is_refused_unless_allowed(tmp_path: Path) -> None:
    c = Cli(tmp_path / "home")
    c.passfile.write_text("P@ssw0rd123\n")
    stderr = c.fails("init", "--kdf-profile", "low-memory")
    assert "weak" in stderr and "--allow-weak" in stderr and stderr.count("\n") == 1
    assert not (tmp_path / "home" / "default.mysafe").exists()
    c.ok("init", "--kdf-profile", "low-memory", "--allow-weak")
    assert (tmp_path / "home" / "default.mysafe").exists()


def test_passwd_rotate_key_keeps_every_item(cli: Cli, tmp_path: Path) -> None:
    cli.ok("add", "password", "--name", "Github", "--username", "u", stdin="gh-pw")
    new = tmp_path / "new-pass"
    new.write_text("a different long passphrase for rotation\n")
    out = cli("passwd", "--rotate-key", "--new-passphrase-file", str(new))
    assert out.returncode == 0 and "re-encrypted" in out.stderr, out.stderr
    cli.passfile.write_text(new.read_text())
    assert cli.ok("get", "Github").strip() == "gh-pw"


def _splice_header(source: Path, target: Path) -> None:
    """An old header row (from an older copy, a backup) written into the current file."""
    import sqlite3

    row = sqlite3.connect(source).execute("SELECT format, body, checksum FROM header").fetchone()
    with sqlite3.connect(target) as conn:
        conn.execute("UPDATE header SET format = ?, body = ?, checksum = ?", row)


@pytest.mark.parametrize("keep_key", [False, True])
def test_after_passwd_an_old_header_opens_nothing_new_unless_the_key_was_kept(
    cli: Cli, tmp_path: Path, keep_key: bool
) -> None:
    """A leaked passphrase is why people run passwd: by default it replaces the vault key,
    so the old passphrase with an old copy of the header opens nothing written since."""
    cli.ok("add", "password", "--name", "Github", "--username", "u", stdin="gh-pw")
    vault = cli.home / "default.mysafe"
    cli.ok("list")  # checkpointed: the copy below is the whole file
    old = tmp_path / "old.mysafe"
    old.write_bytes(vault.read_bytes())
    new = tmp_path / "new-pass"
    new.write_text("a different long passphrase for rotation\n")
    cli.ok("passwd", "--new-passphrase-file", str(new), *(["--keep-key"] if keep_key else []))
    cli.passfile.write_text(new.read_text())
    cli.ok("add", "password", "--name", "Written since", "--username", "u", stdin="new-pw")
    cli.ok("list")
    _splice_header(old, vault)
    cli.passfile.write_text(PASSPHRASE + "\n")  # the old, leaked passphrase
    attempt = cli("get", "Written since")
    if keep_key:  # the trade --keep-key states
        assert attempt.returncode == 0 and attempt.stdout == "new-pw\n"
    else:
        assert attempt.returncode != 0 and "new-pw" not in attempt.stdout


def test_an_older_copy_of_the_vault_opens_read_only_until_accepted(cli: Cli) -> None:
    cli.ok("add", "password", "--name", "Github", "--username", "u", stdin="gh-pw")
    vault = cli.home / "default.mysafe"
    old = vault.read_bytes()
    cli.ok("add", "password", "--name", "Bank", "--username", "u", stdin="bank-pw")
    vault.write_bytes(old)  # a backup put back, or an attacker's older copy
    for leftover in ("default.mysafe-wal", "default.mysafe-shm", "default.mysafe.cache"):
        (cli.home / leftover).unlink(missing_ok=True)
    listed = cli("list")
    assert listed.returncode == 0 and "Github" in listed.stdout and "Bank" not in listed.stdout
    assert "older" in listed.stderr and "--accept-rollback" in listed.stderr
    refused = cli.fails("add", "note", "--name", "n", stdin="x")
    assert "nothing was changed" in refused and "read-only" in refused
    # A script must not take a possibly old password for today's: `get` fails, unless told.
    stale = cli("get", "Github")
    assert stale.returncode == 1 and stale.stdout == "" and "stale" in stale.stderr
    assert cli.ok("--accept-rollback", "get", "Github") == "gh-pw\n"
    cli.ok("--accept-rollback", "add", "note", "--name", "n", stdin="x")
    assert "older" not in cli("list").stderr


def test_a_passphrase_file_that_is_not_text_is_one_sentence(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "binary"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    stderr = cli.fails("list", "--passphrase-file", str(bad))
    assert "not UTF-8" in stderr and stderr.count("\n") == 1


def test_what_people_type_from_other_tools_works(cli: Cli) -> None:
    cli.ok("add", "password", "--name", "Github", "--username", "octo", stdin="gh-pw")
    cli.ok("add", "note", "--name", "Runbook", stdin="steps")
    assert "Github" in cli.ok("ls") and "Runbook" in cli.ok("search", "runb")
    assert cli.ok("show", "Github") == "gh-pw\n"
    for command in ("init", "attach", "save"):
        help_text = cli.ok(command, "--help")
        assert len(help_text.split("\n\n")[1].strip()) > 20, help_text  # a description


def test_cli_wording_says_what_is_wrong(cli: Cli) -> None:
    cli.ok("add", "password", "--name", "Github", "--username", "octo", stdin="gh-pw")
    stderr = cli.fails("save", "github", "/tmp/x")
    assert "'Github' is a password, not a file" in stderr and "mysafe get github" in stderr
    stderr = cli.fails("generate", "--words", "0")
    assert "between 3 and 20" in stderr


def test_status_says_offline_when_the_server_is_not_there(cli: Cli) -> None:
    v = Vault.open(cli.home / "default.mysafe")
    v.unlock(PASSPHRASE)
    v.write_meta("remote", {"url": "http://127.0.0.1:9", "client_id": "cid",
                            "client_secret": "x", "prefix": "/api", "ca_bundle": "",
                            "capabilities": "", "last_sync": ""})  # fmt: skip
    v.close()
    out = cli.ok("status")
    assert "OFFLINE" in out and "127.0.0.1:9" in out
    assert json.loads(cli.ok("status", "--json"))["reachable"] is False


def test_sizes_and_times_read_the_same_everywhere() -> None:
    from mysafe_tui.core.humanize import ago, size

    assert [size(n) for n in (532, 4300, 3 * 2**30)] == ["532 B", "4.2 KiB", "3.0 GiB"]
    now = 1_000_000.0
    spans = [10, 300, 7200, 86400, 3 * 86400]
    assert [ago(now - s, now=now) for s in spans] == [
        "just now", "5 min ago", "2 h ago", "1 day ago", "3 days ago"]  # fmt: skip
    assert [ago(now - s, now=now, compact=True) for s in spans] == [
        "just now", "5m ago", "2h ago", "1d ago", "3d ago"]  # fmt: skip
    assert ago(None) == "never"


def test_a_profile_name_cannot_lead_out_of_the_data_folder(cli: Cli, tmp_path: Path) -> None:
    for name in ("../outside", "a/b", ".hidden", ""):
        said = cli.fails("--profile", name, "list", code=2)
        assert "not a profile name" in said
    assert not (tmp_path / "outside.mysafe").exists()
    cli.ok("--profile", "work-2.old_1", "init", "--kdf-profile", "low-memory")


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_vault_of_another_user_is_one_sentence_naming_the_owner(cli: Cli, what: str) -> None:
    vault = cli.home / "default.mysafe"
    target = vault if what == "file" else cli.home
    os.chown(target, 65534, 65534)  # nobody
    try:
        said = cli.fails("list")
    finally:
        os.chown(target, 0, 0)
    assert "belongs to" in said and "65534" in said and "internal error" not in said
    assert said.count("\n") == 1
