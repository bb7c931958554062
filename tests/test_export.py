"""`mysafe export`: KeePass (checked with the real keepassxc-cli), Bitwarden JSON and CSV, each
read back by `mysafe import` into a fresh vault with the same items."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from test_cli import Cli

KEY = "JBSWY3DPEHPK3PXP"


@pytest.fixture
def source(tmp_path: Path) -> Cli:
    cli = Cli(tmp_path / "from")
    cli.ok("init", "--kdf-profile", "low-memory")
    cli.ok("add", "password", "--name", "Github", "--username", "octo", "--url",
           "https://github.com", "--tags", "Work/Servers", "--totp",
           stdin=f"was-pw\n{KEY}\n")  # fmt: skip
    cli.ok("edit", "Github", "--secret", "notes", stdin="line one\n")
    cli.ok("edit", "Github", "--secret", "password", stdin="gh-S3cret-pw\n")  # after "was-pw"
    cli.ok("field", "set", "Github", "Recovery", "--type", "hidden", stdin="rc-1234\n")
    cli.ok("field", "set", "Github", "Title", stdin="a label KeePass uses itself\n")
    cli.ok("url", "add", "Github", "https://gist.github.com")
    (tmp_path / "id_ed25519").write_bytes(b"\x00binary key\xff")
    cli.ok("attach", str(tmp_path / "id_ed25519"), "--to", "Github")
    cli.ok("add", "note", "--name", "Runbook", stdin="1. ssh in\n2. restart\n")
    cli.ok("add", "password", "--name", "Old router", "--username", "admin",
           stdin="r0uter-pw-long\n")  # fmt: skip
    cli.ok("rm", "Old router")
    (tmp_path / "key.txt").write_text("a file")
    cli.ok("attach", str(tmp_path / "key.txt"), "--name", "A file")
    return cli


def fresh(tmp_path: Path, name: str) -> Cli:
    cli = Cli(tmp_path / name)
    cli.ok("init", "--kdf-profile", "low-memory")
    return cli


def same_items(source: Cli, target: Cli, trash: bool, more: bool = True) -> None:
    assert target.ok("get", "Github") == "gh-S3cret-pw\n"
    github = json.loads(target.ok("get", "Github", "--json"))
    if more:  # custom fields, more URLs and old passwords: KeePass and Bitwarden carry them
        labels = {(f["label"], f["value"], f["type"]) for f in github["custom_fields"]}
        assert ("Recovery", "rc-1234", "hidden") in labels
        assert any(f[1] == "a label KeePass uses itself" for f in labels)
        assert github["urls"] == ["https://github.com", "https://gist.github.com"]
        assert [h["value"] for h in github["password_history"]] == ["was-pw"]
    assert target.ok("get", "Github", "--field", "username") == "octo\n"
    assert target.ok("get", "Github", "--field", "url") == "https://github.com\n"
    assert "line one" in target.ok("get", "Github", "--field", "notes")
    # The same seed (two codes read apart could straddle a 30-second step)
    seed = {
        c.ok("get", "Github", "--field", "secret_key").strip().split("secret=")[-1].split("&")[0]
        for c in (source, target)
    }  # a bare seed, or one in an otpauth URI
    assert len(seed) == 1 and target.ok("totp", "Github").strip().isdigit()
    assert "1. ssh in\n2. restart" in target.ok("get", "Runbook")
    trashed = [i["name"] for i in json.loads(target.ok("list", "--trash", "--json"))]
    assert trashed == (["Old router"] if trash else [])


def test_keepass_export_opens_in_keepassxc_and_comes_back(source: Cli, tmp_path: Path) -> None:
    kx = shutil.which("keepassxc-cli")
    if kx is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install keepassxc")
        pytest.skip("keepassxc-cli is not installed")
    out = tmp_path / "out.kdbx"
    done = source("export", "keepass", str(out), stdin="kdbx-pass-123\n")
    assert done.returncode == 0, done.stderr
    assert "not carried: files (save them with 'mysafe save') (1): A file" in done.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    shown = subprocess.run([kx, "show", "-s", "-a", "Password", "-a", "otp", str(out),
                            "Work/Servers/Github"], input="kdbx-pass-123\n",
                           capture_output=True, text=True, check=True)  # fmt: skip
    assert "gh-S3cret-pw" in shown.stdout and KEY in shown.stdout
    fields = subprocess.run([kx, "show", "-s", "-a", "Recovery", "-a", "KP2A_URL", str(out),
                             "Work/Servers/Github"], input="kdbx-pass-123\n",
                            capture_output=True, text=True, check=True)  # fmt: skip
    assert "rc-1234" in fields.stdout and "https://gist.github.com" in fields.stdout
    subprocess.run([kx, "attachment-export", str(out), "Work/Servers/Github", "id_ed25519",
                    str(tmp_path / "by-keepassxc")], input="kdbx-pass-123\n", text=True,
                   capture_output=True, check=True)  # fmt: skip
    assert (tmp_path / "by-keepassxc").read_bytes() == b"\x00binary key\xff"
    target = fresh(tmp_path, "to")
    target.ok("import", "keepass", str(out), stdin="kdbx-pass-123\n")
    same_items(source, target, trash=True)
    target.ok("attachment", "save", "Github", "id_ed25519", str(tmp_path / "back"))
    assert (tmp_path / "back").read_bytes() == b"\x00binary key\xff"


@pytest.mark.parametrize("format", ["bitwarden", "csv"])
def test_plain_exports_come_back_and_say_they_are_plain(
    source: Cli, tmp_path: Path, format: str
) -> None:
    out = tmp_path / f"out.{format}"
    done = source("export", format, str(out))
    assert done.returncode == 0 and "PLAIN TEXT" in done.stderr
    assert "not carried: items in the trash (1): Old router" in done.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "already exists" in source.fails("export", format, str(out))
    assert "not carried: attachments (1): Github" in done.stderr
    if format == "csv":
        assert "not carried: custom fields (2): Github" in done.stderr
    # one line per kind of loss, never one per item
    kinds = [line.split("not carried: ")[1].split(" (")[0]
             for line in done.stderr.splitlines() if "not carried: " in line]  # fmt: skip
    assert len(kinds) == len(set(kinds))
    target = fresh(tmp_path, "to")
    target.ok("import", format, str(out))
    same_items(source, target, trash=False, more=format == "bitwarden")


def test_a_password_protected_bitwarden_export_comes_back_only_with_its_password(
    source: Cli, tmp_path: Path
) -> None:
    out = tmp_path / "bw.json"
    done = source("export", "bitwarden", str(out), "--encrypt", stdin="bw-export-pass\n")
    assert done.returncode == 0, done.stderr
    assert "PLAIN TEXT" not in done.stderr
    text = out.read_text()
    assert "gh-S3cret-pw" not in text and "Github" not in text  # nothing in the clear
    body = json.loads(text)
    assert body["passwordProtected"] is True and body["kdfIterations"] == 600_000
    target = fresh(tmp_path, "to")
    assert "wrong password" in target.fails("import", "bitwarden", str(out), stdin="nope\n")
    target.ok("import", "bitwarden", str(out), stdin="bw-export-pass\n")
    same_items(source, target, trash=False)
    assert "--encrypt is for bitwarden" in source.fails("export", "csv", str(tmp_path / "x"),
                                                        "--encrypt")  # fmt: skip


def test_an_ssh_key_goes_to_bitwarden_as_its_own_kind_and_keepass_as_protected_strings(
    tmp_path: Path,
) -> None:
    from mysafe_tui.core import sshkeys
    from mysafe_tui.core.models import ItemKind, ItemSummary
    from mysafe_tui.transfer import export

    private = sshkeys.generate()
    shown = sshkeys.describe(private, "me@host")
    item = ItemSummary("k1", ItemKind.SSH_KEY, "deploy", 1, 0.0, 0.0)
    secret = {"private": private, "public": shown.public, "fingerprint": shown.fingerprint}
    entries = [(item, secret, [])]
    body = json.loads(export.export("bitwarden", entries).data)
    [key] = body["items"]
    assert key["type"] == 5 and key["sshKey"]["privateKey"] == private
    assert key["sshKey"]["keyFingerprint"] == shown.fingerprint
    csv_out = export.export("csv", entries)
    assert private not in csv_out.data.decode() and "SSH keys" in " ".join(csv_out.not_carried)
    from pykeepass import PyKeePass

    path = tmp_path / "out.kdbx"
    path.write_bytes(export.export("keepass", entries, password="kp pass").data)
    [entry] = PyKeePass(str(path), password="kp pass").entries
    assert entry.get_custom_property("SSH private key") == private
