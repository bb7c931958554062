"""`mysafe import keepass`: databases made by the real keepassxc-cli (KDBX 3.1: what its 2.7
`import` and `db-create` write) and a KDBX 4 with a key file that keepassxc-cli opens."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from test_cli import Cli

KX = shutil.which("keepassxc-cli")
if KX is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI must install keepassxc (.ci/run does)")
    pytest.skip("keepassxc-cli is not installed", allow_module_level=True)

PASSWORD = "kx-database-pass"
XML = """<?xml version="1.0" encoding="utf-8" standalone="yes"?>
<KeePassFile><Meta><Generator>test</Generator><RecycleBinEnabled>True</RecycleBinEnabled>
<RecycleBinUUID>AAAAAAAAAAAAAAAAAAAAAg==</RecycleBinUUID></Meta><Root>
<Group><UUID>AAAAAAAAAAAAAAAAAAAAAA==</UUID><Name>Root</Name>
 <Group><UUID>AAAAAAAAAAAAAAAAAAAAAQ==</UUID><Name>Work</Name>
  <Group><UUID>AAAAAAAAAAAAAAAAAAAAAw==</UUID><Name>Servers</Name>
   <Entry><UUID>AAAAAAAAAAAAAAAAAAAAEA==</UUID>
    <String><Key>Title</Key><Value>Github</Value></String>
    <String><Key>UserName</Key><Value>octo</Value></String>
    <String><Key>Password</Key><Value ProtectInMemory="True">gh-S3cret-pw</Value></String>
    <String><Key>URL</Key><Value>https://github.com</Value></String>
    <String><Key>Notes</Key><Value>line one</Value></String>
    <String><Key>otp</Key><Value>otpauth://totp/Github?secret=JBSWY3DPEHPK3PXP</Value></String>
    <String><Key>Recovery code</Key><Value ProtectInMemory="True">rc-1234</Value></String>
    <String><Key>Account</Key><Value>personal</Value></String>
    <History><Entry><UUID>AAAAAAAAAAAAAAAAAAAAEA==</UUID>
     <String><Key>Title</Key><Value>Github</Value></String>
     <String><Key>UserName</Key><Value>octo</Value></String>
     <String><Key>Password</Key><Value ProtectInMemory="True">old-pw</Value></String>
    </Entry></History>
   </Entry>
  </Group>
  <Entry><UUID>AAAAAAAAAAAAAAAAAAAAEg==</UUID>
   <String><Key>Title</Key><Value>Door code</Value></String>
   <String><Key>Password</Key><Value>4711</Value></String>
  </Entry>
 </Group>
 <Group><UUID>AAAAAAAAAAAAAAAAAAAAAg==</UUID><Name>Recycle Bin</Name>
  <Entry><UUID>AAAAAAAAAAAAAAAAAAAAEQ==</UUID>
   <String><Key>Title</Key><Value>Old router</Value></String>
   <String><Key>UserName</Key><Value>admin</Value></String>
   <String><Key>Password</Key><Value>r0uter-pw-long</Value></String>
  </Entry>
 </Group>
</Group></Root></KeePassFile>
"""


def kx(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    assert KX is not None
    done = subprocess.run([KX, *args], input=stdin, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture
def kdbx31(tmp_path: Path) -> Path:
    """Made by keepassxc-cli itself: `import` from KeePass XML, then an attachment."""
    xml, db = tmp_path / "db.xml", tmp_path / "db.kdbx"
    xml.write_text(XML)
    kx("import", "-p", str(xml), str(db), stdin=f"{PASSWORD}\n{PASSWORD}\n")
    key = tmp_path / "id_ed25519"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nnot a real key\n")
    kx("attachment-import", str(db), "Work/Servers/Github", "id_ed25519", str(key),
       stdin=f"{PASSWORD}\n")  # fmt: skip
    return db


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    c = Cli(tmp_path / "home")
    c.ok("init", "--kdf-profile", "low-memory")
    return c


def test_a_keepassxc_database_comes_in_with_its_groups_trash_totp_and_a_report(
    cli: Cli, kdbx31: Path
) -> None:
    report = json.loads(cli.ok("import", "keepass", str(kdbx31), "--json",
                               stdin=f"{PASSWORD}\n"))  # fmt: skip
    assert report["format"] == "keepass (KDBX 3.1)"
    assert report["found"] == {"entry": 2, "entry in the recycle bin": 1}
    assert report["unrepresented"] == []
    assert report["kept"] == {"custom fields": 2, "attachments": 1, "old passwords": 1}
    assert not any("without" in kind for kind in report["mapping"])  # every entry a login

    items = {i["name"]: i for i in json.loads(cli.ok("list", "--json"))}
    assert set(items["Github"]["tags"]) >= {"Work/Servers"}  # type: ignore[arg-type]
    assert cli.ok("get", "Github") == "gh-S3cret-pw\n"
    assert cli.ok("totp", "Github").strip().isdigit()
    github = json.loads(cli.ok("get", "Github", "--json"))
    assert github["custom_fields"] == [  # protected -> hidden; the TOTP seed is not repeated
        {"label": "Account", "value": "personal", "type": "text"},
        {"label": "Recovery code", "value": "rc-1234", "type": "hidden"},
    ] or github["custom_fields"] == [
        {"label": "Recovery code", "value": "rc-1234", "type": "hidden"},
        {"label": "Account", "value": "personal", "type": "text"},
    ]
    assert [h["value"] for h in github["password_history"]] == ["old-pw"]
    cli.ok("attachment", "save", "Github", "id_ed25519", str(kdbx31.parent / "out"))
    saved = (kdbx31.parent / "out").read_text()
    assert saved == "-----BEGIN OPENSSH PRIVATE KEY-----\nnot a real key\n"
    assert cli.ok("get", "Door code") == "4711\n"  # no username: a login all the same
    trash = json.loads(cli.ok("list", "--trash", "--json"))
    assert [i["name"] for i in trash] == ["Old router"]  # the recycle bin -> the trash


def test_a_wrong_password_is_one_sentence_and_writes_nothing(cli: Cli, kdbx31: Path) -> None:
    said = cli.fails("import", "keepass", str(kdbx31), stdin="not it\n")
    assert said.strip() == "mysafe: wrong password or key file for that KeePass database"
    truncated = kdbx31.with_name("cut.kdbx")
    truncated.write_bytes(kdbx31.read_bytes()[:300])
    assert "cannot be read" in cli.fails("import", "keepass", str(truncated),
                                         stdin=f"{PASSWORD}\n")  # fmt: skip
    assert json.loads(cli.ok("list", "--json")) == []


def test_a_kdbx4_with_a_key_file(cli: Cli, tmp_path: Path) -> None:
    """Written by pykeepass (Argon2, KDBX 4), checked by keepassxc-cli, read by mysafe."""
    from pykeepass import create_database

    key_file = tmp_path / "db.key"
    key_file.write_bytes(os.urandom(64))
    db = tmp_path / "db4.kdbx"
    kp = create_database(str(db), password=PASSWORD, keyfile=str(key_file))
    kp.add_entry(kp.root_group, "Mail", "me@example.com", "m41l-S3cret-pw", url="https://mail")
    kp.save()
    listed = kx("ls", "-k", str(key_file), str(db), stdin=f"{PASSWORD}\n")
    assert "Mail" in listed.stdout  # the real tool opens it
    assert "wrong password" in cli.fails("import", "keepass", str(db), stdin=f"{PASSWORD}\n")
    report = json.loads(cli.ok("import", "keepass", str(db), "--key-file", str(key_file),
                               "--json", stdin=f"{PASSWORD}\n"))  # fmt: skip
    assert report["format"] == "keepass (KDBX 4.0)" and report["written"] == 1
    assert cli.ok("get", "Mail") == "m41l-S3cret-pw\n"


def test_a_keepass_xml_export_and_a_hostile_one(cli: Cli, kdbx31: Path, tmp_path: Path) -> None:
    """keepassxc-cli's own XML export reads like the database; entity tricks are refused."""
    xml = tmp_path / "export.xml"
    xml.write_text(kx("export", "-f", "xml", str(kdbx31), stdin=f"{PASSWORD}\n").stdout)
    report = json.loads(cli.ok("import", "keepass", str(xml), "--json"))
    assert report["format"] == "keepass XML" and report["written"] == 3
    assert report["kept"] == {"custom fields": 2, "attachments": 1, "old passwords": 1}
    assert cli.ok("get", "Github") == "gh-S3cret-pw\n"
    out = tmp_path / "out"
    out.mkdir()
    cli.ok("attachment", "save", "Github", "id_ed25519", str(out))  # from Meta/Binaries
    assert (out / "id_ed25519").read_text().endswith("not a real key\n")
    assert [i["name"] for i in json.loads(cli.ok("list", "--trash", "--json"))] == ["Old router"]
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
                    '<!ENTITY b "&a;&a;&a;&a;&a;">]><KeePassFile>&b;</KeePassFile>')  # fmt: skip
    assert "not a KeePass XML export" in cli.fails("import", "keepass", str(bomb))


KEEAGENT = """<?xml version="1.0" encoding="UTF-16"?>
<EntrySettings xmlns:xsd="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <AllowUseOfSshKey>true</AllowUseOfSshKey>
  <AddAtDatabaseOpen>true</AddAtDatabaseOpen>
  <RemoveAtDatabaseClose>true</RemoveAtDatabaseClose>
  <Location>
    <SelectedType>attachment</SelectedType>
    <AttachmentName>id_ed25519</AttachmentName>
    <SaveAttachmentToTempFile>false</SaveAttachmentToTempFile>
    <FileName />
  </Location>
</EntrySettings>
"""


SSH_XML = """<?xml version="1.0" encoding="utf-8" standalone="yes"?>
<KeePassFile><Meta><Generator>test</Generator></Meta><Root>
<Group><UUID>AAAAAAAAAAAAAAAAAAAAAA==</UUID><Name>Root</Name>
 <Entry><UUID>AAAAAAAAAAAAAAAAAAAAIA==</UUID>
  <String><Key>Title</Key><Value>deploy key</Value></String>
  <String><Key>UserName</Key><Value>git</Value></String>
  <String><Key>Password</Key><Value ProtectInMemory="True">key pass</Value></String>
 </Entry>
</Group></Root></KeePassFile>
"""


def test_a_keepassxc_ssh_agent_entry_comes_in_as_an_ssh_key(cli: Cli, tmp_path: Path) -> None:
    """KeePassXC keeps an SSH key as an attachment that its KeeAgent.settings names, encrypted
    under the entry's password: it comes in as the key, decrypted, in the agent as it was."""
    xml, db = tmp_path / "ssh.xml", tmp_path / "ssh.kdbx"
    xml.write_text(SSH_XML)
    kx("import", "-p", str(xml), str(db), stdin=f"{PASSWORD}\n{PASSWORD}\n")
    key = tmp_path / "id_ed25519"
    keygen = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "key pass", "-C", "ci@deploy"]
    subprocess.run([*keygen, "-f", str(key)], check=True)
    settings = tmp_path / "KeeAgent.settings"
    settings.write_bytes(KEEAGENT.encode("utf-16"))  # as KeePassXC writes it
    for name, path in (("id_ed25519", key), ("KeeAgent.settings", settings)):
        kx("attachment-import", str(db), "deploy key", name, str(path), stdin=f"{PASSWORD}\n")
    listed = subprocess.run(["ssh-keygen", "-lf", f"{key}.pub"], capture_output=True, text=True)
    fingerprint = listed.stdout.split()[1]

    report = json.loads(cli.ok("import", "keepass", str(db), "--json", stdin=f"{PASSWORD}\n"))
    assert report["mapping"]["entry with a KeeAgent key"] == "SSH key"
    said = {"item": "deploy key", "field": "username (an SSH key has none)"}
    assert report["unrepresented"] == [said]
    [item] = json.loads(cli.ok("list", "--kind", "ssh", "--json"))
    assert item["name"] == "deploy key"
    assert cli.ok("get", "deploy key", "--field", "fingerprint").strip() == fingerprint
    assert cli.ok("get", "deploy key", "--field", "agent").strip() == "yes"
    private = cli.ok("get", "deploy key", "--field", "private")
    from cryptography.hazmat.primitives.serialization import load_ssh_private_key

    load_ssh_private_key(private.encode(), None)  # kept decrypted: no passphrase needed
