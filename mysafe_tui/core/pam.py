"""senhasegura beyond MySafe, as the domain sees it: PAM Core credentials (a privileged
account's password, read under custody), PAM SSH keys, and DevOps Secret Manager (DSM)
application secrets. What the A2A API sends is data from outside: every field is text,
shown only through the terminal's escapes, and never written to disk (docs/security.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mysafe_tui.core.errors import InvalidInput
from mysafe_tui.core.models import Secret

# The A2A API's business errors (its `exception.code`), as sentences.
PAM_ERRORS = {
    1007: "no credential by that id, identifier or user@host",
    1008: "that credential is inactive in senhasegura",
    1009: "this A2A authorization may not read that credential",
    1015: "no SSH key by that id",
    1016: "that item is not an SSH key",
    1018: "that credential is not in your custody (released already, or never taken)",
}


def text(value: Any, limit: int = 1024) -> str:
    """A field from the server as text, bounded (null is empty)."""
    return "" if value is None else str(value)[:limit]


@dataclass(frozen=True)
class PamCredential:
    """A credential as the list shows it: never its password."""

    id: str
    identifier: str
    username: str
    hostname: str
    ip: str
    device: str  # vendor, model and type, as one line
    connectivity: str
    expiration: str
    changed: str

    @classmethod
    def of(cls, row: dict[str, Any]) -> PamCredential:
        device = " ".join(text(row.get(k)) for k in ("device_vendor", "device_model") if row.get(k))
        return cls(
            text(row.get("id")),
            text(row.get("identifier") or row.get("tag")),
            text(row.get("username")),
            text(row.get("hostname")),
            text(row.get("management_ip") or row.get("ip")),
            device,
            text(row.get("connectivity")),
            text(row.get("expiration") or row.get("expiration_time")),
            text(row.get("change")),
        )

    @property
    def account(self) -> str:
        return f"{self.username}@{self.hostname}"

    def matches(self, query: str) -> bool:
        wanted = query.casefold()
        return any(
            wanted in value.casefold()
            for value in (
                self.id,
                self.identifier,
                self.username,
                self.hostname,
                self.ip,
                self.device,
            )
        )

    def to_json(self) -> dict[str, str]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class PamSecret:
    """A revealed credential: taken into the caller's custody by the reveal."""

    id: str
    username: str
    hostname: str
    ip: str
    port: str
    domain: str
    additional: str
    password: Secret

    FIELDS = ("password", "username", "hostname", "ip", "port", "domain", "additional")

    @classmethod
    def of(cls, row: dict[str, Any]) -> PamSecret:
        secret = row.get("password") if row.get("password") is not None else row.get("content")
        return cls(
            text(row.get("id")),
            text(row.get("username")),
            text(row.get("hostname")),
            text(row.get("ip")),
            text(row.get("port")),
            text(row.get("domain")),
            text(row.get("additional")),
            Secret(text(secret, 64 * 1024)),
        )

    def field(self, name: str) -> str:
        if name not in self.FIELDS:
            raise InvalidInput(f"a PAM credential has no field '{name}' ({', '.join(self.FIELDS)})")
        return self.password.reveal() if name == "password" else str(getattr(self, name))


@dataclass(frozen=True)
class PamKey:
    """A PAM SSH key, read under custody."""

    id: str
    username: str
    hostname: str
    name: str
    private: Secret
    public: str

    @classmethod
    def of(cls, row: dict[str, Any]) -> PamKey:
        return cls(
            text(row.get("id")),
            text(row.get("username")),
            text(row.get("hostname")),
            text(row.get("key_name")),
            Secret(text(row.get("private_key"), 64 * 1024)),
            text(row.get("public_key"), 16 * 1024),
        )


@dataclass(frozen=True)
class DsmSecret:
    """One secret of a DSM application: its identity and its data (flat maps)."""

    identity: str
    name: str
    data: tuple[dict[str, str | None], ...] = field(repr=False)  # values are secrets

    @classmethod
    def of(cls, row: dict[str, Any]) -> DsmSecret:
        maps = []
        for entry in row.get("data") or ():
            if isinstance(entry, dict):
                maps.append(
                    {
                        text(k, 256): None if v is None else text(v, 64 * 1024)
                        for k, v in entry.items()
                    }
                )
        return cls(text(row.get("identity")), text(row.get("secret_name")), tuple(maps))

    def value(self, key: str) -> str:
        """ESO's rule: the first data map holding `key` wins; no key gives the whole data
        as JSON."""
        if not key:
            return json.dumps(list(self.data))
        for entry in self.data:
            if key in entry:
                found = entry[key]
                if found is None:
                    raise InvalidInput(f"'{key}' of '{self.identity}' is empty")
                return found
        raise InvalidInput(f"the DSM secret '{self.identity}' has no '{key}'")


@dataclass(frozen=True)
class DsmApplication:
    name: str
    system: str
    environment: str
    secrets: tuple[DsmSecret, ...]

    @classmethod
    def of(cls, row: dict[str, Any]) -> DsmApplication:
        found = row.get("secrets") or ()
        return cls(
            text(row.get("name")),
            text(row.get("system")),
            text(row.get("environment")),
            tuple(DsmSecret.of(s) for s in found if isinstance(s, dict)),
        )

    def value(self, identity: str, key: str) -> str:
        for secret in self.secrets:
            if secret.identity == identity:
                return secret.value(key)
        raise InvalidInput(f"the DSM application has no secret with identity '{identity}'")
