"""`mysafe import`: a real Bitwarden export (from KeePassXC's test data, verbatim) and CSV as the
browsers write it; a report of everything that did not fit; all or nothing."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pytest

from test_cli import Cli

DATA = Path(__file__).parent / "data" / "import"
BITWARDEN = DATA / "bitwarden_export.json"

FIREFOX = (
    '"url","username","password","httpRealm","formActionOrigin","guid","timeCreated",'
    '"timeLastUsed","timePasswordChanged"\n'
    '"chrome://FirefoxAccounts","a1b2","{""version"":1}",,"","{d61e37fa}","1612345678900",'
    '"1612345678900","1612345678900"\n'
    '"https://example.com","foo","bar",,"","{d61e37fa}","1612345678900","1612345678900",'
    '"1612345678900"\n'
)
CHROME = (
    "name,url,username,password,note\n"
    "Github,https://github.com/login,octo,gh-Very-Long-pw,my notes\n"
    "Router,http://192.0.2.1,admin,admin,\n"
    "Other router,http://192.0.2.2,admin,admin,\n"
)
SAFARI = (
    "Title,URL,Username,Password,Notes,OTPAuth\n"
    "Bank,https://bank.example,me,b4nk-S3cret-pw,,otpauth://totp/Bank?secret=JBSWY3DPEHPK3PXP\n"
)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    c = Cli(tmp_path / "home")
    c.ok("init", "--kdf-profile", "low-memory")
    return c


def listed(cli: Cli) -> dict[str, dict[str, object]]:
    return {item["name"]: item for item in json.loads(cli.ok("list", "--json"))}


@pytest.mark.parametrize(
    ("name", "sha256"),
    [
        ("bitwarden_export.json",
         "458c3696d4d2a723830e5d13779432f4734733aa1c98af11a5e29578baab9050"),
        ("bitwarden_encrypted_export.json",
         "20ce61501ec461dbcb4a92c927de86084fb987af033355f57b166ec0d0ca054f"),
        ("bitwarden_encrypted_argon2id_export.json",
         "b5efdfc300dea061aaed6f76c882a0e0b9b86126db59f92e621f9c723d643c4a"),
    ],
)  # fmt: skip
def test_the_samples_are_the_real_exports(name: str, sha256: str) -> None:
    assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == sha256


def test_a_bitwarden_export_comes_in_with_a_report_of_what_did_not_fit(cli: Cli) -> None:
    dry = json.loads(cli.ok("import", "bitwarden", str(BITWARDEN), "--dry-run", "--json"))
    assert dry["found"] == {"login": 1, "secure note": 1, "card": 1, "identity": 1}
    assert dry["mapping"]["card"] == "secure note, one labelled line per field"
    # Custom fields (3 on each of 4 items) and the login's 2 extra URLs come along.
    assert dry["kept"] == {"custom fields": 12, "extra URLs": 2} and dry["unrepresented"] == []
    assert dry["written"] == 4 and listed(cli) == {}  # a dry run writes nothing

    said = cli.ok("import", "bitwarden", str(BITWARDEN), "--tag", "from-bw")
    assert "wrote 4 new item(s)" in said
    items = listed(cli)
    login = items["Login Name"]
    assert login["kind"] == "password" and login["favourite"] is True
    assert login["url"] == "https://mail.google.com" and login["username"] == "myusername@gmail.com"
    assert set(login["tags"]) == {"My Folder", "from-bw"}  # type: ignore[arg-type]
    assert cli.ok("get", "Login Name") == "mypassword\n"
    assert cli.ok("totp", "Login Name").strip().isdigit()
    full = json.loads(cli.ok("get", "Login Name", "--json"))
    assert full["urls"] == ["https://mail.google.com", "https://google.com", "https://gmail.com"]
    assert full["custom_fields"] == [
        {"label": "Text Field", "value": "text-field-value", "type": "text"},
        {"label": "Hidden Field", "value": "hidden-field-value", "type": "hidden"},
        {"label": "Boolean Field", "value": "true", "type": "text"},
    ]
    assert cli.ok("get", "Card Name", "--field", "hidden field") == "hidden-field-value\n"
    card = cli.ok("get", "Card Name")
    assert "Number: 1234567891011121" in card and "Security code: 123" in card
    assert "1st line of note text" in card
    identity = cli.ok("get", "My Identity")
    assert "Address:  1 North Calle Cesar Chavez " in identity  # its spaces kept
    [saved] = (cli.home).glob("default.mysafe.import-*.txt")
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    text = saved.read_text()
    assert "Kept beside the usual fields: 12 custom fields, 2 extra URLs" in text
    assert (
        "mypassword" not in text
        and "hidden-field-value" not in text
        and "1234567891011121" not in text
    )  # never a secret

    again = json.loads(cli.ok("import", "bitwarden", str(BITWARDEN), "--json"))
    assert again["written"] == 0 and again["skipped_items"] == 4
    assert sorted(d["item"] for d in again["duplicates"]) == sorted(items)
    assert {d["outcome"] for d in again["duplicates"]} == {
        "skipped: the same item is already in the vault"}  # fmt: skip
    both = json.loads(cli.ok("import", "bitwarden", str(BITWARDEN), "--json",
                             "--on-duplicate", "keep-both"))  # fmt: skip
    assert both["written"] == 4 and len(json.loads(cli.ok("list", "--json"))) == 8


# The shape of the Bitwarden SDK's own sample export: a note and an identity whose names
# differ from KeePassXC's sample only in case, and whose contents differ altogether.
SDK_SAMPLE = {
    "encrypted": False,
    "folders": [],
    "items": [
        {"id": "n1", "name": "My secure note", "notes": "Very secure!", "type": 2,
         "secureNote": {"type": 0}, "favorite": False},
        {"id": "i1", "name": "My identity", "notes": None, "type": 4, "favorite": False,
         "identity": {"title": "Mr", "firstName": "John", "lastName": "Doe",
                      "username": "JDoe", "company": "Bitwarden"}},
    ],
}  # fmt: skip


def test_two_exports_with_the_same_names_in_other_case_keep_everything(
    cli: Cli, tmp_path: Path
) -> None:
    """Duplicates are found by content, never by name alone: KeePassXC's sample, then one
    shaped like the Bitwarden SDK's, brings all six items in; the same file again brings none."""
    sdk = tmp_path / "json_export.json"
    sdk.write_text(json.dumps(SDK_SAMPLE))
    cli.ok("import", "bitwarden", str(BITWARDEN))
    second = json.loads(cli.ok("import", "bitwarden", str(sdk), "--json"))
    assert second["written"] == 2 and second["skipped_items"] == 0
    names = {i["name"] for i in json.loads(cli.ok("list", "--json"))}
    assert {"My Secure Note", "My secure note (imported)", "My Identity",
            "My identity (imported)"} <= names  # fmt: skip
    assert cli.ok("get", "My secure note (imported)") == "Very secure!\n"
    assert "John" in cli.ok("get", "My identity (imported)")
    text = cli.ok("import", "bitwarden", str(sdk), "--dry-run")
    lines = text.splitlines()
    assert lines[1] == "2 items found: 0 written, 0 updated, 2 skipped"  # the first lines
    assert (
        "Already there: My secure note: skipped: the same item is already here as "
        "'My secure note (imported)'"
    ) in text
    skip = json.loads(cli.ok("import", "bitwarden", str(BITWARDEN), "--json",
                             "--on-duplicate", "skip", "--tag", "again"))  # fmt: skip
    assert skip["written"] == 0  # the same items, whatever the tag says


def test_browser_csvs(cli: Cli, tmp_path: Path) -> None:
    for name, text in (("firefox", FIREFOX), ("chrome", CHROME), ("safari", SAFARI)):
        (tmp_path / f"{name}.csv").write_text(text)
    firefox = json.loads(cli.ok("import", "csv", str(tmp_path / "firefox.csv"), "--json"))
    assert firefox["written"] == 1 and "Firefox's internal account row" in firefox["skipped"][0]
    assert firefox["unrepresented"] == []  # its bookkeeping columns are named, not kept:
    assert "guid" in firefox["mapping"]["columns left out (the exporter's bookkeeping)"]
    assert cli.ok("get", "example.com") == "bar\n"  # named after its host

    chrome = json.loads(cli.ok("import", "csv", str(tmp_path / "chrome.csv"), "--json"))
    assert chrome["written"] == 3
    assert "one password used by 2 items: Router, Other router" in chrome["warnings"]
    assert "Router: its URL is plain http://" in chrome["warnings"]
    assert "Router: a password under 8 characters" in chrome["warnings"]
    assert cli.ok("get", "Github", "--field", "notes") == "my notes\n"

    cli.ok("import", "csv", str(tmp_path / "safari.csv"))
    assert cli.ok("totp", "Bank").strip().isdigit()


def test_bitwardens_own_csv(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "bitwarden.csv"
    path.write_text(
        "folder,favorite,type,name,notes,fields,reprompt,login_uri,login_username,"
        "login_password,login_totp\n"
        "Work,1,login,Github,my notes,recovery: 1234,0,https://github.com,octo,gh-S3cret-pw,"
        "JBSWY3DPEHPK3PXP\n"
    )
    report = json.loads(cli.ok("import", "csv", str(path), "--json"))
    assert report["kept"] == {"custom fields": 1} and report["unrepresented"] == []
    assert cli.ok("get", "Github", "--field", "recovery") == "1234\n"
    [item] = json.loads(cli.ok("list", "--json"))
    assert item["favourite"] is True and "Work" in item["tags"]
    assert cli.ok("totp", "Github").strip().isdigit()


def test_a_csv_without_known_columns_needs_them_named(cli: Cli, tmp_path: Path) -> None:
    odd = tmp_path / "odd.csv"
    odd.write_text("site,who,secret\nhttps://a.example,me,pw-123456789\n")
    assert "--columns" in cli.fails("import", "csv", str(odd))
    done = cli.ok("import", "csv", str(odd), "--columns", "url,username,password")
    assert "wrote 1 new item(s)" in done  # its own header line is not an item
    assert cli.ok("get", "a.example") == "pw-123456789\n"


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b'{"items": [{"type": 1, "name": "cut', "not JSON"),
        (b'{"encrypted": true, "items": []}', "account key"),
        (b"\xff\xfe\x00garbage", "not JSON"),
        (b"[1, 2, 3]", "no 'items'"),
    ],
)
def test_a_bad_file_is_one_sentence_and_writes_nothing(
    cli: Cli, tmp_path: Path, content: bytes, said: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    assert said in cli.fails("import", "bitwarden", str(bad))
    assert listed(cli) == {} and not list(cli.home.glob("*.import-*"))


def test_a_hostile_name_stops_the_whole_import(cli: Cli, tmp_path: Path) -> None:
    """A name holding an escape sequence is refused (it would be shown, escaped, forever):
    nothing is written, and the message says which and how to see them all."""
    export = {"items": [
        {"type": 2, "name": "fine", "notes": "a"},
        {"type": 2, "name": "evil\x1b]52;c;ZXZpbA==\x07", "notes": "b"},
    ]}  # fmt: skip
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(export))
    said = cli.fails("import", "bitwarden", str(path))
    assert "1 item(s) cannot be imported" in said and "nothing was written" in said
    assert "\x1b" not in said  # shown escaped
    assert listed(cli) == {}


@pytest.mark.parametrize(
    "sample", ["bitwarden_encrypted_export.json", "bitwarden_encrypted_argon2id_export.json"]
)
def test_a_password_protected_bitwarden_export(cli: Cli, sample: str) -> None:
    """KeePassXC's samples (PBKDF2 and Argon2id; password 'a'): the password asked for (here
    piped), the MAC checked before anything is decrypted."""
    path = DATA / sample
    said = cli.fails("import", "bitwarden", str(path), stdin="not a\n")
    assert "wrong password for that Bitwarden export" in said
    report = json.loads(cli.ok("import", "bitwarden", str(path), "--json", stdin="a\n"))
    assert report["written"] == 1
    assert cli.ok("get", "KeePassXC") == "TYsbQUyeD3qrav\n"
    assert cli.ok("get", "KeePassXC", "--field", "url") == "https://keepassxc.org\n"
    notes = cli.ok("get", "KeePassXC", "--field", "notes")
    assert "KeePassXC password manager" in notes and "fsfsfsfsefefef" in notes  # not lost
