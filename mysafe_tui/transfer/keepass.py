"""KeePass: a KDBX 3.1 or 4 database through pykeepass (with its password and key file), and
KeePass 2's XML export."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from mysafe_tui.core import sshkeys
from mysafe_tui.core.errors import InvalidInput
from mysafe_tui.core.extras import FieldType
from mysafe_tui.core.models import ItemKind
from mysafe_tui.transfer.common import (
    MAX_BYTES,
    MAX_NODES,
    Candidate,
    More,
    NeedsPassword,
    Report,
    as_text,
    carry_more,
    iso_date,
    login_item,
)

# TOTP seeds other KeePass plugins store (KeePassXC's own is `otp`).
_KEEPASS_TOTP = ("otp", "TOTP Seed", "TimeOtp-Secret-Base32", "TimeOtp-Secret")


def read_kdbx(
    data: bytes, password: str | None, key_file: bytes | None
) -> tuple[list[Candidate], Report]:
    try:
        from pykeepass import PyKeePass
        from pykeepass.exceptions import CredentialsError
    except ImportError:
        raise InvalidInput(
            "reading KeePass databases needs pykeepass, which mysafe installs: install "
            "mysafe again (pip install .) to bring it back"
        ) from None
    if not data.startswith(b"\x03\xd9\xa2\x9a"):
        raise InvalidInput("that file is not a KeePass database (KDBX) or KeePass XML export")
    if password is None:  # asked even with a key file: "" (nothing typed) is no password
        raise NeedsPassword("a KeePass database needs its password")
    try:
        kp = PyKeePass(
            io.BytesIO(data),
            password=password or None,
            keyfile=io.BytesIO(key_file) if key_file else None,
        )
    except CredentialsError:
        raise InvalidInput("wrong password or key file for that KeePass database") from None
    except Exception as exc:  # a damaged or truncated file: whatever the parser raised
        raise InvalidInput(f"that KeePass database cannot be read ({type(exc).__name__})") from None
    report = Report(f"keepass (KDBX {kp.version[0]}.{kp.version[1]})")
    bin_group = kp.recyclebin_group
    found: list[Candidate] = []
    for entry in kp.entries:
        if entry.is_a_history_entry:
            continue
        extras = dict(entry.custom_properties)
        history = [
            (as_text(old.password, strip=False), old.mtime.timestamp() if old.mtime else 0.0)
            for old in reversed(entry.history)
        ]  # newest first
        found.append(
            _keepass_entry(
                report,
                KeePassEntry(
                    title=as_text(entry.title),
                    username=as_text(entry.username),
                    password=as_text(entry.password, strip=False),
                    url=as_text(entry.url),
                    notes=as_text(entry.notes, strip=False),
                    otp=as_text(entry.otp),
                    extras=extras,
                    protected={k for k in extras if entry.is_custom_property_protected(k)},
                    attachments=[(a.filename, _keepass_binary(a)) for a in entry.attachments],
                    history=history,
                    expires=bool(entry.expires),
                    tags=list(entry.tags or []),
                    path=[str(g) for g in (entry.group.path or []) if g],
                    trashed=bin_group is not None and _inside(entry.group, bin_group),
                ),
            )
        )
    report.mapping.setdefault("group", "a tag with its path")
    return found, report


@dataclass
class KeePassEntry:
    """One entry as either reader (KDBX through pykeepass, KeePass 2 XML) sees it."""

    title: str
    username: str
    password: str
    url: str
    notes: str
    otp: str
    extras: dict[str, str]
    protected: set[str]
    attachments: list[tuple[str, bytes | None]]  # (name, content: None when unreadable)
    history: list[tuple[str, float]]  # older passwords with their times, newest first
    expires: bool
    tags: list[str]
    path: list[str]
    trashed: bool


def _keepass_entry(report: Report, entry: KeePassEntry) -> Candidate:
    source = "entry in the recycle bin" if entry.trashed else "entry"
    report.found[source] += 1
    name = entry.title or "(no title)"
    tags = ["/".join(entry.path)] if entry.path and not entry.trashed else []
    if tags and tags[0].count("/") >= report.mapping.get("group", "").count("/"):
        report.mapping["group"] = f"a tag with its path ({tags[0]})"  # the deepest, as example
    tags += [t.replace(",", " ") for t in entry.tags]
    common: dict[str, Any] = {"name": name, "tags": ",".join(t for t in tags if t)}
    if entry.trashed:
        common["active"] = False
        report.mapping[source] = "the trash"
    totp = entry.otp or next(
        (entry.extras[k].strip() for k in _KEEPASS_TOTP if entry.extras.get(k)), ""
    )
    keeagent = _keeagent_key(entry)
    more = More()
    if keeagent is not None:  # KeePassXC's SSH agent held this entry's key
        attachment, private, allowed = keeagent
        report.mapping.setdefault("entry with a KeeAgent key", "SSH key")
        entry.attachments = [a for a in entry.attachments if a[0] not in (attachment, _KEEAGENT)]
        for what, value in (("username", entry.username), ("URL", entry.url)):
            if value:
                report.unrepresented.append((name, f"{what} (an SSH key has none)"))
    for key, value in entry.extras.items():
        if key in _KEEPASS_TOTP:
            continue
        if key.startswith("KP2A_URL") and value.strip():  # KeePass2Android's more URLs
            more.urls.append(value.strip())
        else:
            protected = key in entry.protected
            more.add_field(key, value, FieldType.HIDDEN if protected else FieldType.TEXT)
    for attachment, data in entry.attachments:
        if data is None:
            report.unrepresented.append((name, f"attachment '{attachment}' (unreadable)"))
        else:
            more.attachments.append((attachment, data))
    for old_password, when in entry.history:
        more.add_old(old_password, when, entry.password)
    if entry.expires:
        report.unrepresented.append((name, "expiry date"))
    if keeagent is not None:
        values = {**common, "private": keeagent[1], "agent": "yes" if keeagent[2] else "no"}
        if entry.notes:
            values["notes"] = entry.notes
        values.update(carry_more(report, more, with_urls=False))
        return Candidate(ItemKind.SSH_KEY, values, source, more.attachments)
    return login_item(
        report, common, entry.username, entry.password, entry.url, totp, entry.notes, source, more
    )


_KEEAGENT = "KeeAgent.settings"


def _keeagent_key(entry: KeePassEntry) -> tuple[str, str, bool] | None:
    """The SSH key KeePassXC's agent took from this entry: its `KeeAgent.settings` names the
    attachment that holds it (encrypted, if at all, under the entry's password). (attachment,
    the key as OpenSSH text, whether the agent used it), or None: no such key, or not one
    mysafe can read (the entry then comes in as it is, attachments and all)."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    files = {name: data for name, data in entry.attachments if data is not None}
    if _KEEAGENT not in files:
        return None
    try:
        settings = fromstring(files[_KEEAGENT])
    except (ParseError, DefusedXmlException, ValueError, RecursionError):
        return None
    attachment = (settings.findtext("Location/AttachmentName") or "").strip()
    if attachment not in files:
        return None
    try:
        private = sshkeys.read(files[attachment])
    except sshkeys.NeedsPassphrase:
        try:
            private = sshkeys.read(files[attachment], entry.password)
        except InvalidInput:
            return None
    except InvalidInput:
        return None
    allowed = (settings.findtext("AllowUseOfSshKey") or "").strip().lower() == "true"
    return attachment, private, allowed


def _keepass_binary(attachment: Any) -> bytes | None:
    try:
        data = attachment.data
    except Exception:  # a reference to a binary the database does not have
        return None
    return data if isinstance(data, bytes) else None


_STANDARD = {"Title", "UserName", "Password", "URL", "Notes", "otp"}


def read_keepass_xml(data: bytes) -> tuple[list[Candidate], Report]:
    """A KeePass 2 XML export (KeePass's or KeePassXC's): plain text, so parsed as hostile
    (defusedxml: no entities, no external references)."""
    from xml.etree.ElementTree import Element, ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    if data.count(b"<") > MAX_NODES:
        raise InvalidInput(f"that XML has over {MAX_NODES:,} elements: not a KeePass export")
    try:
        root = fromstring(data)
    except (ParseError, DefusedXmlException, ValueError, RecursionError):
        raise InvalidInput("that file is not a KeePass XML export (or it is damaged)") from None
    top = root.find("Root/Group")
    if root.tag != "KeePassFile" or top is None:
        raise InvalidInput("that XML is not a KeePass export (no KeePassFile/Root/Group)")
    bin_uuid = (root.findtext("Meta/RecycleBinUUID") or "").strip()
    binaries = {b.get("ID", ""): b for b in root.findall("Meta/Binaries/Binary")}
    report = Report("keepass XML")
    found: list[Candidate] = []

    def walk(group: Element, path: list[str], trashed: bool) -> None:
        for entry in group.findall("Entry"):
            strings: dict[str, str] = {}
            protected: set[str] = set()
            for string in entry.findall("String"):
                key, value = string.findtext("Key") or "", string.find("Value")
                strings[key] = (value.text or "") if value is not None else ""
                if value is not None and value.get("ProtectInMemory") == "True":
                    protected.add(key)
            found.append(
                _keepass_entry(
                    report,
                    KeePassEntry(
                        title=strings.get("Title", "").strip(),
                        username=strings.get("UserName", "").strip(),
                        password=strings.get("Password", ""),
                        url=strings.get("URL", "").strip(),
                        notes=strings.get("Notes", ""),
                        otp=strings.get("otp", "").strip(),
                        extras={k: v for k, v in strings.items() if k not in _STANDARD},
                        protected=protected,
                        attachments=[
                            (b.findtext("Key") or "attachment", _xml_binary(b, binaries))
                            for b in entry.findall("Binary")
                        ],
                        history=[
                            (
                                _xml_password(old),
                                iso_date(old.findtext("Times/LastModificationTime")),
                            )
                            for old in reversed(entry.findall("History/Entry"))
                        ],
                        expires=(entry.findtext("Times/Expires") or "").strip() == "True",
                        tags=[
                            t
                            for t in (entry.findtext("Tags") or "").replace(";", ",").split(",")
                            if t.strip()
                        ],
                        path=path,
                        trashed=trashed,
                    ),
                )
            )
        for child in group.findall("Group"):
            inside = trashed or (child.findtext("UUID") or "").strip() == bin_uuid
            walk(child, [*path, (child.findtext("Name") or "").strip()], inside)

    walk(top, [], False)
    report.mapping.setdefault("group", "a tag with its path")
    return found, report


def _xml_password(entry: Any) -> str:
    for string in entry.findall("String"):
        if string.findtext("Key") == "Password":
            return string.findtext("Value") or ""
    return ""


def _xml_binary(binary: Any, binaries: dict[str, Any]) -> bytes | None:
    """An entry's attachment: its Value, or the Meta/Binaries one it refers to (base64,
    gzip when Compressed); None when it is missing or damaged. Bounded: no zip bomb."""
    import base64
    import binascii
    import zlib

    value = binary.find("Value")
    if value is None:
        return None
    source = binaries.get(value.get("Ref", "")) if value.get("Ref") is not None else value
    if source is None:
        return None
    try:
        data = base64.b64decode(source.text or "", validate=False)
        if source.get("Compressed") == "True":
            inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
            data = inflate.decompress(data, MAX_BYTES)
            if inflate.unconsumed_tail:
                return None
    except (binascii.Error, ValueError, zlib.error):
        return None
    return data


def _inside(group: Any, ancestor: Any) -> bool:
    while group is not None:
        if group.uuid == ancestor.uuid:
            return True
        group = group.parentgroup
    return False
