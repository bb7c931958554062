"""`mysafe import 1password`: a 1PUX laid out as 1Password 8 writes it (and as KeePassXC's
reader reads it: accounts, vaults with attrs and items, overview, details, files/), holding
what KeePassXC's real test export holds (its binary is not in reach here: the manifest in
../shared describes it)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from test_cli import Cli


def item(
    category: str, title: str, details: dict[str, object], **extra: object
) -> dict[str, object]:
    return {"uuid": title.lower().replace(" ", ""), "favIndex": extra.pop("fav", 0),
            "createdAt": 1670261400, "updatedAt": 1670261400,
            "state": extra.pop("state", "active"), "categoryUuid": category,
            "overview": {"title": title, **extra}, "details": details}  # fmt: skip


EXPORT = {"accounts": [{"attrs": {"accountName": "KeePassXC"}, "vaults": [
    {"attrs": {"uuid": "p", "name": "Personal"}, "items": [
        item("001", "Login", {
            "loginFields": [{"value": "team@keepassxc.org", "designation": "username"},
                            {"value": "password", "designation": "password"}],
            "notesPlain": "Note to self",
            "sections": [
                {"title": "", "fields": [{"title": "one-time password", "id": "TOTP_1",
                                          "value": {"totp": "DFDFDEFD"}},
                                         {"title": "one-time password", "id": "TOTP_2",
                                          "value": {"totp": "DFDFDEFDEF"}}]},
                {"title": "Extra Data", "fields": [
                    {"title": "phone", "value": {"phone": "555-123-45678"}},
                    {"title": "email", "value": {"email": {"email_address": "team@keepassxc.org",
                                                           "provider": None}}}]}]},
             url="https://keepassxc.org", tags=["website"], fav=1,
             urls=[{"label": "", "url": "https://keepassxc.org"},
                   {"label": "", "url": "https://twitter.com"}]),
        item("002", "Credit Card", {"sections": [{"title": "Credit Card Fields", "fields": [
            {"title": "cardholder name", "value": {"string": "KeePassXC"}},
            {"title": "number", "value": {"creditCardNumber": "1234567890"}},
            {"title": "verification number", "value": {"concealed": "123"}}]}]}),
        item("003", "Secure Note", {"notesPlain": "Secret Text"}),
        item("001", "Login Archived", {"loginFields": [
            {"value": "archived", "designation": "username"},
            {"value": "archived-pw", "designation": "password"}]}, state="archived"),
        item("006", "KeePassXC Logo", {"documentAttributes": {
            "fileName": "keepassxc.png", "documentId": "oakiw7lqbp53fgqrxrk63su2gu"}}),
        item("005", "Password", {"password": "password-only"}),
    ]},
]}]}  # fmt: skip


@pytest.fixture
def onepux(tmp_path: Path) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("export.attributes", json.dumps(
            {"version": 3, "description": "1Password Unencrypted Export"}))  # fmt: skip
        archive.writestr("export.data", json.dumps(EXPORT))
        archive.writestr("files/oakiw7lqbp53fgqrxrk63su2gu__keepassxc.png", b"\x89PNG...")
    path = tmp_path / "1PasswordExport.1pux"
    path.write_bytes(buffer.getvalue())
    return path


def test_a_1pux_comes_in_with_its_report(tmp_path: Path, onepux: Path) -> None:
    cli = Cli(tmp_path / "home")
    cli.ok("init", "--kdf-profile", "low-memory")
    report = json.loads(cli.ok("import", "1password", str(onepux), "--json"))
    assert report["found"] == {"login": 2, "credit card": 1, "secure note": 1, "document": 1,
                               "password": 1}  # fmt: skip
    assert report["unrepresented"] == []  # everything has a place now
    assert report["kept"] == {"custom fields": 3, "extra URLs": 1, "attachments": 1}
    login = json.loads(cli.ok("get", "Login", "--json"))
    assert "https://twitter.com" in login["urls"]
    assert {"label": "Extra Data: phone", "value": "555-123-45678", "type": "text"} in login[
        "custom_fields"
    ]
    assert [f["type"] for f in login["custom_fields"] if f["type"] == "totp"] == ["totp"]
    cli.ok("attachment", "save", "KeePassXC Logo", "keepassxc.png", str(tmp_path))
    assert (tmp_path / "keepassxc.png").read_bytes() == b"\x89PNG..."
    items = {i["name"]: i for i in json.loads(cli.ok("list", "--json"))}
    assert items["Login"]["favourite"] is True
    assert set(items["Login"]["tags"]) >= {"Personal", "website"}  # type: ignore[arg-type]
    assert cli.ok("get", "Login") == "password\n" and cli.ok("totp", "Login").strip().isdigit()
    card = cli.ok("get", "Credit Card")
    assert "Credit Card Fields: number: 1234567890" in card
    assert "Credit Card Fields: verification number: 123" in card
    assert cli.ok("get", "Secure Note") == "Secret Text\n"
    # 1Password's Password kind: a password with no username, a login all the same
    assert cli.ok("get", "Password") == "password-only\n"
    assert items["Password"]["kind"] == "password"
    assert [i["name"] for i in json.loads(cli.ok("list", "--trash", "--json"))] == [
        "Login Archived"]  # fmt: skip


def test_not_a_1pux(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "home")
    cli.ok("init", "--kdf-profile", "low-memory")
    bad = tmp_path / "x.1pux"
    bad.write_bytes(b"PK\x03\x04 not really")
    assert "not a 1Password export" in cli.fails("import", "1password", str(bad))


def test_a_1password_7_windows_csv(tmp_path: Path) -> None:
    """1Password 7 for Windows: no type column (kinds from what is filled in), section
    columns ("SECTION 1: ID" titles, "ID 1: LABEL" values)."""
    cli = Cli(tmp_path / "home")
    cli.ok("init", "--kdf-profile", "low-memory")
    sample = Path(__file__).parent / "data" / "import" / "onepassword7_windows.csv"
    report = json.loads(cli.ok("import", "1password", str(sample), "--json"))
    assert report["format"] == "1password 7 CSV (Windows)"
    assert report["found"] == {"login": 1, "identity": 1, "credit card": 1, "secure note": 1}
    login = json.loads(cli.ok("get", "1Password Account", "--json"))
    assert login["password"] == "the account's password"
    assert login["url"] == "https://my.1password.com" and "urls" not in login  # the same one
    fields = {f["label"]: (f["value"], f["type"]) for f in login["custom_fields"]}
    assert fields["SECRET KEY"] == ("the account's secret key", "hidden")
    assert fields["ACCOUNT-KEY"][1] == "hidden" and fields["EMAIL"][1] == "text"
    assert "Identification" not in str(fields)  # a section's title is not a field
    card = cli.ok("get", "test card")
    assert "NUMBER: 4111111111111111" in card and "VERIFICATION NUMBER: 111" in card
    assert "FIRST NAME: first name" in cli.ok("get", "Identity Item")
    items = {i["name"]: i for i in json.loads(cli.ok("list", "--json"))}
    assert "Starter Kit" in items["Identity Item"]["tags"]


MAC_HEADER = ('"Created Date","First One-time Password","Modified Date","Notes","Password",'
              '"PIN(pin)","Scope","Tags","Title","Type","URL","Username",'
              '"number(ccnum)","verification number(cvv)","first name(firstname)"')  # fmt: skip


def test_a_1password_7_mac_csv_with_backslash_escaped_quotes(tmp_path: Path) -> None:
    """1Password 7 for Mac: a Type column, "label(key)" columns, tags as {( "a" )} and quotes
    inside values escaped with a backslash (the layout of bitwarden's Mac sample)."""
    rows = [
        '"1606971011","JBSWY3DPEHPK3PXP","1606971011","He said \\"hi\\", then left","pa\\"ss",'
        '"4711","Default","{(\n    \\"Starter Kit\\",\n    Work\n)}","Bank","Login",'
        '"https://bank.example","me","","",""',
        '"1606971011","","1606971011","","","","Default","","test card","Credit Card","","",'
        '"4111111111111111","111",""',
        '"1606971011","","1606971011","Follow these steps.","","","Default","","Welcome",'
        '"Secure Note","","","","",""',
    ]
    path = tmp_path / "mac.csv"
    path.write_text(MAC_HEADER + "\n" + "\n".join(rows) + "\n")
    cli = Cli(tmp_path / "home")
    cli.ok("init", "--kdf-profile", "low-memory")
    report = json.loads(cli.ok("import", "1password", str(path), "--json"))
    assert report["format"] == "1password 7 CSV (Mac)"
    assert report["found"] == {"login": 1, "credit card": 1, "secure note": 1}
    assert cli.ok("get", "Bank") == 'pa"ss\n'
    assert cli.ok("get", "Bank", "--field", "notes") == 'He said "hi", then left\n'
    assert cli.ok("get", "Bank", "--field", "PIN") == "4711\n"
    assert cli.ok("totp", "Bank").strip().isdigit()
    bank = json.loads(cli.ok("get", "Bank", "--json"))
    assert bank["custom_fields"] == [{"label": "PIN", "value": "4711", "type": "hidden"}]
    assert "number: 4111111111111111" in cli.ok("get", "test card")
    assert cli.ok("get", "Welcome") == "Follow these steps.\n"
    tags = {i["name"]: i["tags"] for i in json.loads(cli.ok("list", "--json"))}
    assert {"Starter Kit", "Work"} <= set(tags["Bank"])


def test_a_1password_ssh_key_comes_in_as_an_ssh_key(tmp_path: Path) -> None:
    """1Password 8 keeps an SSH key (category 114) as a section field of type sshKey whose
    privateKey is PKCS#8; what it shows of it (public key, fingerprint) is worked out again."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    pkcs8 = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    field = {
        "title": "private key",
        "id": "private_key",
        "value": {"sshKey": {"privateKey": pkcs8, "metadata": {"keyType": "ed25519"}}},
    }
    details = {"notesPlain": "prod box", "sections": [{"title": "", "fields": [field]}]}
    export = {"accounts": [{"attrs": {"accountName": "A"}, "vaults": [
        {"attrs": {"uuid": "p", "name": "Personal"},
         "items": [item("114", "Deploy key", details)]}]}]}  # fmt: skip
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("export.data", json.dumps(export))
    path = tmp_path / "ssh.1pux"
    path.write_bytes(buffer.getvalue())
    cli = Cli(tmp_path / "home")
    cli.ok("init", "--kdf-profile", "low-memory")
    report = json.loads(cli.ok("import", "1password", str(path), "--json"))
    assert report["found"] == {"ssh key": 1} and "ssh key" in report["mapping"]
    assert cli.ok("get", "Deploy key").split()[:2] == public.decode().split()[:2]
    assert cli.ok("get", "Deploy key", "--field", "agent").strip() == "no"
    assert cli.ok("get", "Deploy key", "--field", "notes").strip() == "prod box"
