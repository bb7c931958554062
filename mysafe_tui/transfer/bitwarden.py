"""Bitwarden's JSON export, plain or password-protected (bitwarden_crypto.py): logins, notes,
cards, identities and SSH keys, their custom fields, URIs, password history and folders."""

from __future__ import annotations

from typing import Any

from mysafe_tui.core.errors import InvalidInput
from mysafe_tui.core.extras import FieldType
from mysafe_tui.core.models import ItemKind
from mysafe_tui.transfer.common import (
    LABELLED,
    Candidate,
    More,
    NeedsPassword,
    Report,
    as_dict,
    as_list,
    as_text,
    bounded_json,
    carry_more,
    iso_date,
    labelled_note,
    login_item,
)

_BW_TYPES: dict[Any, str] = {1: "login", 2: "secure note", 3: "card", 4: "identity", 5: "ssh key"}
_BW_FIELD_TYPES: dict[Any, str] = {0: "text", 1: "hidden", 2: "boolean", 3: "linked"}
_CARD = (
    ("cardholderName", "Cardholder"),
    ("brand", "Brand"),
    ("number", "Number"),
    ("expMonth", "Expiry month"),
    ("expYear", "Expiry year"),
    ("code", "Security code"),
)
_IDENTITY = (
    ("title", "Title"),
    ("firstName", "First name"),
    ("middleName", "Middle name"),
    ("lastName", "Last name"),
    ("username", "Username"),
    ("company", "Company"),
    ("email", "Email"),
    ("phone", "Phone"),
    ("address1", "Address"),
    ("address2", "Address 2"),
    ("address3", "Address 3"),
    ("city", "City"),
    ("state", "State"),
    ("postalCode", "Postal code"),
    ("country", "Country"),
    ("ssn", "SSN"),
    ("passportNumber", "Passport number"),
    ("licenseNumber", "Licence number"),
)
_SSH = (
    ("privateKey", "Private key"),
    ("publicKey", "Public key"),
    ("keyFingerprint", "Fingerprint"),
)


def read_bitwarden(data: bytes, password: str | None) -> tuple[list[Candidate], Report]:
    export = bounded_json(data, "that file is not JSON: not a Bitwarden export")
    protected = isinstance(export, dict) and export.get("passwordProtected") is True
    if protected:
        export = _bitwarden_decrypted(export, password)
    elif isinstance(export, dict) and export.get("encrypted") is True:
        raise InvalidInput(
            "this Bitwarden export is encrypted with your Bitwarden account key, which only "
            "Bitwarden holds: export again as 'JSON' or as a password-protected file"
        )
    if not isinstance(export, dict) or not isinstance(export.get("items"), list):
        raise InvalidInput("that JSON has no 'items' list: not a Bitwarden export")
    folders = {
        str(f.get("id")): str(f.get("name") or "")
        for f in export.get("folders") or []
        if isinstance(f, dict)
    }
    report = Report("bitwarden")
    found: list[Candidate] = []
    for raw in export["items"]:
        if not isinstance(raw, dict):
            continue
        kind_name = _BW_TYPES.get(raw.get("type"), f"type {raw.get('type')}")
        report.found[kind_name] += 1
        name = as_text(raw.get("name")) or "(no name)"
        tags = [folders[str(raw.get("folderId"))]] if str(raw.get("folderId")) in folders else []
        common = {
            "name": name,
            "tags": ",".join(t for t in tags if t),
            "favourite": bool(raw.get("favorite")),
        }
        notes = as_text(raw.get("notes"), strip=False)
        more = More()
        for extra in as_list(raw.get("fields")):
            extra = as_dict(extra)
            label, kind_label = as_text(extra.get("name")), _BW_FIELD_TYPES.get(extra.get("type"))
            if kind_label in ("text", "hidden", "boolean"):
                hidden = FieldType.HIDDEN if kind_label == "hidden" else FieldType.TEXT
                more.add_field(label, as_text(extra.get("value"), strip=False), hidden)
            else:  # a linked field points at another field: nothing of its own to keep
                report.unrepresented.append((name, f"{kind_label or 'unknown'} field '{label}'"))
        if raw.get("attachments"):  # an export carries their names, never their content
            report.unrepresented.append(
                (name, f"attachments ({len(raw['attachments'])}): not in Bitwarden exports")
            )
        login = as_dict(raw.get("login"))
        for old in as_list(raw.get("passwordHistory")):
            old = as_dict(old)
            more.add_old(
                as_text(old.get("password"), strip=False),
                iso_date(old.get("lastUsedDate")),
                as_text(login.get("password"), strip=False),
            )
        if kind_name == "login":
            uris = [as_text(u.get("uri")) for u in login.get("uris") or [] if isinstance(u, dict)]
            uris = list(dict.fromkeys(u for u in uris if u))
            more.urls = uris[1:]
            if login.get("fido2Credentials"):
                report.unrepresented.append((name, "passkey"))
            found.append(
                login_item(
                    report,
                    common,
                    as_text(login.get("username")),
                    as_text(login.get("password"), strip=False),
                    uris[0] if uris else "",
                    as_text(login.get("totp")),
                    notes,
                    "login",
                    more,
                )
            )
            continue
        if more.history:
            report.unrepresented.append((name, f"password history ({len(more.history)})"))
        extra_values = carry_more(report, more, with_urls=False)
        if kind_name == "secure note":
            report.mapping.setdefault(kind_name, "secure note")
            found.append(
                Candidate(
                    ItemKind.NOTE, {**common, "note": notes or "(empty)", **extra_values}, kind_name
                )
            )
        elif kind_name == "ssh key" and as_dict(raw.get("sshKey")).get("privateKey"):
            report.mapping.setdefault(kind_name, "SSH key (not in the agent until you say so)")
            private = as_text(as_dict(raw.get("sshKey")).get("privateKey"), strip=False)
            values = {**common, "private": private, "agent": "no", **extra_values}
            if notes:
                values["notes"] = notes
            found.append(Candidate(ItemKind.SSH_KEY, values, kind_name))
        elif kind_name in ("card", "identity", "ssh key"):
            section, labels = {
                "card": ("card", _CARD),
                "identity": ("identity", _IDENTITY),
                "ssh key": ("sshKey", _SSH),
            }[kind_name]
            block = as_dict(raw.get(section))
            report.mapping.setdefault(kind_name, LABELLED)
            body = labelled_note(block, labels, notes)
            found.append(
                Candidate(ItemKind.NOTE, {**common, "note": body, **extra_values}, kind_name)
            )
        else:
            report.skipped.append(f"{name}: a Bitwarden {kind_name} item mysafe does not know")
    return found, report


def _bitwarden_decrypted(export: dict[str, Any], password: str | None) -> Any:
    """A password-protected export opened: its key from the password (PBKDF2-SHA256 or
    Argon2id over the export's salt), stretched to an AES and an HMAC key (HKDF-Expand "enc",
    "mac"), the `data` EncString ("2.iv|ciphertext|mac": AES-256-CBC, HMAC-SHA256 checked
    first) decrypted to the unencrypted export."""
    if not password:
        raise NeedsPassword("this Bitwarden export is password-protected: give its password")
    salt = str(export.get("salt") or "").encode()
    kdf, iterations = export.get("kdfType"), export.get("kdfIterations")
    if not isinstance(iterations, int) or not salt:
        raise InvalidInput("that Bitwarden export names no key derivation it can be opened with")
    import hashlib

    if kdf == 0:
        if not 5000 <= iterations <= 10_000_000:
            raise InvalidInput("that Bitwarden export's PBKDF2 iterations are out of bounds")
        key = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations, 32)
    elif kdf == 1:
        memory, lanes = export.get("kdfMemory"), export.get("kdfParallelism")
        if not (
            isinstance(memory, int)
            and isinstance(lanes, int)
            and 1 <= iterations <= 10
            and 16 <= memory <= 1024
            and 1 <= lanes <= 16
        ):
            raise InvalidInput("that Bitwarden export's Argon2id parameters are out of bounds")
        from mysafe_tui.core.crypto import argon2id

        key = argon2id(
            password.encode(),
            hashlib.sha256(salt).digest(),
            memory_kib=memory * 1024,
            iterations=iterations,
            lanes=lanes,
        )
    else:
        raise InvalidInput(f"that Bitwarden export uses an unknown key derivation ({kdf})")
    from mysafe_tui.transfer.bitwarden_crypto import open_enc_string, stretch

    enc, mac = stretch(key)
    open_enc_string(str(export.get("encKeyValidation_DO_NOT_EDIT") or ""), enc, mac)
    inner = open_enc_string(str(export.get("data") or ""), enc, mac)
    return bounded_json(inner, "that Bitwarden export opened, but holds no JSON")
