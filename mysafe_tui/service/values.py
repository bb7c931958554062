"""What a person may put in an item: values sorted into summary and secret fields and checked
against the field table (core/models.FIELDS) before anything is written."""

from __future__ import annotations

from typing import Any

from mysafe_tui.core import extras
from mysafe_tui.core.errors import InvalidInput
from mysafe_tui.core.models import FIELDS, SPECS, ItemKind, ItemSummary, parse_tags
from mysafe_tui.core.sanitize import forbidden_char


def text(name: str, value: Any) -> str:
    """A summary field: trimmed; a single-line field within its length and free of controls."""
    result = str(value).strip()
    limit = FIELDS[name].max_len
    if limit and len(result) > limit:
        raise InvalidInput(f"{name} is longer than {limit} characters")
    bad = forbidden_char(result) if limit else None
    if bad is not None:
        what = "a single line" if bad in ("\\n", "\\r") else f"free of control characters ({bad})"
        raise InvalidInput(f"{name} must be {what}")
    return result


def split(kind: ItemKind, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Sort user values into summary and secret fields; refuse unknown names."""
    spec = SPECS[kind]
    fields: dict[str, Any] = {}
    secret: dict[str, str] = {}
    for name, value in values.items():
        if name == "tags":
            fields["tags"] = parse_tags(value)
        elif name in ("favourite", "active"):
            fields[name] = bool(value)
        elif name == "urls" and "url" in spec.fields:  # more URLs than the first
            fields["urls"] = extras.checked_urls(value.split() if isinstance(value, str) else value)
        elif name == extras.CUSTOM:
            if isinstance(value, str):
                raise InvalidInput("custom fields are set one by one: mysafe field set")
            secret[name] = extras.encode_fields(extras.checked_fields(value))
        elif name == extras.HISTORY:  # an import's old passwords
            if isinstance(value, str) or not all(isinstance(h, extras.OldPassword) for h in value):
                raise InvalidInput("old passwords are kept by mysafe as passwords change")
            secret[name] = extras.encode_history(value)
        elif name in spec.summary and not FIELDS[name].computed:
            fields[name] = text(name, value)
        elif name in spec.secret and not FIELDS[name].computed:
            secret[name] = str(value)
        else:
            raise InvalidInput(f"{kind.noun} has no field '{name}'")
    if secret.get("secret_key"):
        from mysafe_tui.core import totp

        totp.parse_seed(secret["secret_key"])  # refuse a bad seed now, not at first use
    if kind is ItemKind.SSH_KEY:
        secret.update(ssh_key(secret))
    return fields, secret


YES_NO = ("agent", "confirm", "forwarding")


def ssh_key(secret: dict[str, str]) -> dict[str, str]:
    """An SSH key's settings as "yes"/"no", and, for a new private key, the key as unencrypted
    OpenSSH text (the vault encrypts it) with what is shown of it: type, fingerprint, public
    line (with the comment: a new comment alone is worked in by `VaultService.update_item`,
    which has the key)."""
    out = {}
    for name in YES_NO:
        if name in secret:
            answer = secret[name].strip().lower()
            if answer not in ("yes", "no", "y", "n", "true", "false", "on", "off"):
                raise InvalidInput(f"{FIELDS[name].label.lower()}: yes or no, not {answer!r}")
            out[name] = "yes" if answer in ("yes", "y", "true", "on") else "no"
    if "comment" in secret:  # shown in the public line and by ssh-add: one clean line
        out["comment"] = text("comment", secret["comment"])
    if "private" in secret:
        from mysafe_tui.core import sshkeys

        try:
            private = sshkeys.read(secret["private"].strip().encode() + b"\n")
        except sshkeys.NeedsPassphrase:
            raise InvalidInput(
                "that key is protected by a passphrase: bring it in with 'mysafe add ssh-key "
                "--import PATH', which asks for it once"
            ) from None
        shown = sshkeys.describe(private, out.get("comment", ""))
        out.update(
            private=private,
            key_type=shown.key_type,
            fingerprint=shown.fingerprint,
            public=shown.public,
        )
    return out


def new_item_defaults(kind: ItemKind, secret: dict[str, str]) -> None:
    """What a new item has unless told: an SSH key is offered by the agent without asking, and
    not through a forwarded one."""
    if kind is ItemKind.SSH_KEY:
        secret.setdefault("agent", "yes")
        secret.setdefault("confirm", "no")
        secret.setdefault("forwarding", "no")


def check_required(kind: ItemKind, fields: dict[str, Any], secret: dict[str, str]) -> None:
    missing = [name for name in SPECS[kind].required if not (fields.get(name) or secret.get(name))]
    if missing:
        raise InvalidInput(f"{kind.noun} needs {', '.join(missing)}")


def summary_fields(item: ItemSummary) -> dict[str, Any]:
    """An item's summary fields and flags as `Vault.save_item` takes them."""
    keep = (
        "favourite",
        "active",
        "remote",
        "access",
        "sharing",
        "urls",
        "custom",
        "outbox",
        *SPECS[item.kind].summary,
    )
    return {name: getattr(item, name) for name in keep}


def checked_key(
    kind: ItemKind, fields: dict[str, Any], secret: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """An SSH key from a server as this device shows it: type, fingerprint and public line
    worked out again from the private key (the server's word on them is not taken), the
    settings yes or no, the comment one clean line. `secret` is changed in place;
    InvalidInput when the server's copy holds no key mysafe can read."""
    if kind is ItemKind.SSH_KEY:
        wanted = ("private", "comment", *YES_NO)
        secret.update(ssh_key({name: secret[name] for name in wanted if name in secret}))
        new_item_defaults(kind, secret)
    return fields, secret
