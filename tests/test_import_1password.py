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
    assert report["kept"] == {"custom fields": 3, "more URLs": 1, "attachments": 1}
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
    assert "Password: password-only" in cli.ok("get", "Password")  # no username: a note
    assert [i["name"] for i in json.loads(cli.ok("list", "--trash", "--json"))] == [
        "Login Archived"]  # fmt: skip


def test_not_a_1pux(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "home")
    cli.ok("init", "--kdf-profile", "low-memory")
    bad = tmp_path / "x.1pux"
    bad.write_bytes(b"PK\x03\x04 not really")
    assert "not a 1Password export" in cli.fails("import", "1password", str(bad))
