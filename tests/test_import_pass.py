"""`mysafe import pass`: a password store made by the real `pass` and `gpg` in the test."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from test_cli import Cli

if shutil.which("pass") is None or shutil.which("gpg") is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI must install pass and gpg (.ci/run does)")
    pytest.skip("pass or gpg is not installed", allow_module_level=True)

GMAIL = (
    "gm41l-S3cret-pw\nlogin: me@gmail.com\nurl: https://mail.google.com\n"
    "otpauth://totp/Google?secret=JBSWY3DPEHPK3PXP\nsecurity question: first pet\n"
)
# What pass users keep: mostly a password alone (`pass insert`, `pass generate`), some with
# lines under it, folders several deep, and the odd document.
ENTRIES = {
    "Email/gmail.com": GMAIL,
    "wifi": "w1fi-pass\n",
    "home/router": "  spaced out pw  \n",  # its spaces are part of it, as `pass -c` copies
    "work/aws/prod/root": "Zq9#rootpw\nuser: root\nThe break-glass account.\nCall ops first.\n",
    "bank": "b4nk pw\nusername: 12345\nwebsite: https://bank.example\npin: 0000\n",
    "notes/ssh-config": "\nHost prod\n  User deploy\n",  # a first line left empty on purpose
    "docs/letter": "Dear team, "
    + "this letter is long enough to be no password at all " * 3
    + "\nSecond paragraph.\nThird.\n",
}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    gnupg, store = tmp_path / "gnupg", tmp_path / "store"
    gnupg.mkdir(mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(gnupg), "PASSWORD_STORE_DIR": str(store)}
    subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key",
                    "mysafe-test@example.invalid", "default", "default", "never"],
                   env=env, capture_output=True, check=True)  # fmt: skip
    subprocess.run(["pass", "init", "mysafe-test@example.invalid"], env=env,
                   capture_output=True, check=True)  # fmt: skip
    for name, text in ENTRIES.items():
        subprocess.run(["pass", "insert", "-m", name], input=text.encode(), env=env,
                       capture_output=True, check=True)  # fmt: skip
    subprocess.run(["pass", "generate", "gen/made-by-pass", "20"], env=env,
                   capture_output=True, check=True)  # fmt: skip
    yield store, env
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, capture_output=True)


def test_a_pass_store_comes_in(tmp_path: Path, store: tuple[Path, dict[str, str]]) -> None:
    folder, env = store
    os.environ["GNUPGHOME"] = env["GNUPGHOME"]  # gpg, run by mysafe, finds the key there
    try:
        cli = Cli(tmp_path / "home")
        cli.ok("init", "--kdf-profile", "low-memory")
        report = json.loads(cli.ok("import", "pass", str(folder), "--json"))
        assert report["found"] == {"entry": 8} and report["written"] == 8
        assert cli.ok("get", "Email/gmail.com", "--field", "username") == "me@gmail.com\n"
        assert cli.ok("get", "Email/gmail.com", "--field", "url") == "https://mail.google.com\n"
        assert cli.ok("totp", "Email/gmail.com").strip().isdigit()
        assert cli.ok("get", "Email/gmail.com", "--field", "security question") == "first pet\n"
        assert cli.ok("get", "bank", "--field", "username") == "12345\n"
        assert cli.ok("get", "bank", "--field", "pin") == "0000\n"
        assert "break-glass" in cli.ok("get", "work/aws/prod/root", "--field", "notes")
        items = {i["name"]: i for i in json.loads(cli.ok("list", "--json"))}
        assert "Email" in items["Email/gmail.com"]["tags"]  # type: ignore[operator]
        # Every entry that has a password is a login, and `mysafe get` prints exactly what
        # `pass show NAME | head -1` does: a pass user's scripts go on working.
        notes = {"notes/ssh-config", "docs/letter"}
        for name in [*ENTRIES, "gen/made-by-pass"]:
            if name in notes:
                continue
            assert items[name]["kind"] == "password", name
            shown = subprocess.run(["pass", "show", name], env=env, capture_output=True,
                                   text=True, check=True).stdout  # fmt: skip
            assert cli.ok("get", name) == shown.split("\n")[0] + "\n", name
        # ... and a secure note only where there is no password, each named with its reason
        assert {items[name]["kind"] for name in notes} == {"note"}
        assert {entry["item"] for entry in report["as_notes"]} == notes
        assert cli.ok("get", "notes/ssh-config") == "Host prod\n  User deploy\n"
        assert report["mapping"]["first line"].startswith("the password")
    finally:
        del os.environ["GNUPGHOME"]


def test_a_store_gpg_cannot_decrypt_writes_nothing(
    tmp_path: Path, store: tuple[Path, dict[str, str]]
) -> None:
    folder, _ = store
    other = tmp_path / "empty-gnupg"
    other.mkdir(mode=0o700)
    os.environ["GNUPGHOME"] = str(other)  # no key here
    try:
        cli = Cli(tmp_path / "home")
        cli.ok("init", "--kdf-profile", "low-memory")
        said = cli.fails("import", "pass", str(folder))
        assert "could not decrypt" in said and "nothing was imported" in said
        assert json.loads(cli.ok("list", "--json")) == []
    finally:
        del os.environ["GNUPGHOME"]
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env={**os.environ,
                       "GNUPGHOME": str(other)}, capture_output=True)  # fmt: skip
