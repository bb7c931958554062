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
    for name, text in (("Email/gmail.com", GMAIL), ("wifi", "w1fi-pass\n")):
        subprocess.run(["pass", "insert", "-m", name], input=text.encode(), env=env,
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
        assert report["found"] == {"entry": 2} and report["written"] == 2
        assert cli.ok("get", "Email/gmail.com") == "gm41l-S3cret-pw\n"
        assert cli.ok("get", "Email/gmail.com", "--field", "username") == "me@gmail.com\n"
        assert cli.ok("get", "Email/gmail.com", "--field", "url") == "https://mail.google.com\n"
        assert cli.ok("totp", "Email/gmail.com").strip().isdigit()
        assert cli.ok("get", "Email/gmail.com", "--field", "security question") == "first pet\n"
        items = {i["name"]: i for i in json.loads(cli.ok("list", "--json"))}
        assert "Email" in items["Email/gmail.com"]["tags"]  # type: ignore[operator]
        assert "Password: w1fi-pass" in cli.ok("get", "wifi")  # no username: a note
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
