"""Scoped access keys: what a key may do beyond being valid (senhasegura's access key limits).

A key may be limited to client addresses (CIDR blocks), an expiry date, chosen items (by id or
tag: its data scope; without any, "full access") and reading only. A request outside them is
refused with the MySafe envelope (code 1006, the reason in words) and counted on the key;
`mysafe serve key list` shows each key's limits, refusals and last use.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from typing import Any

from mysafe_tui.server.errors import NO_ACCESS, ApiError

READS = frozenset({"GET", "HEAD"})
LAST_USE_EVERY = 60.0  # seconds: a key's last use is written at most this often


@dataclass(frozen=True)
class KeyLimits:
    addresses: tuple[str, ...] = ()  # CIDR blocks; none: any address
    expires_at: float = 0.0  # epoch seconds; 0: never
    items: tuple[str, ...] = ()  # item ids and tags; none: every item the user may open
    read_only: bool = False

    @classmethod
    def parse(
        cls, addresses: list[str], expires: str, items: list[str], read_only: bool
    ) -> KeyLimits:
        """From `key create`'s options; ValueError with the reason for a bad one."""
        blocks = []
        for block in addresses:
            try:
                blocks.append(str(ipaddress.ip_network(block.strip(), strict=False)))
            except ValueError:
                raise ValueError(f"not an address or CIDR block: {block!r}") from None
        when = 0.0
        if expires:
            try:
                when = time.mktime(time.strptime(expires.strip(), "%Y-%m-%d")) + 86400
            except ValueError:
                raise ValueError(f"--expires wants a date as YYYY-MM-DD, not {expires!r}") from None
        chosen = tuple(dict.fromkeys(i.strip() for i in items if i.strip()))
        return cls(tuple(blocks), when, chosen, read_only)

    @classmethod
    def of_row(cls, row: Any) -> KeyLimits:
        return cls(
            tuple(b for b in str(row["allow_ips"] or "").split(",") if b),
            float(row["expires_at"] or 0),
            tuple(i for i in str(row["scope"] or "").split(",") if i),
            bool(row["read_only"]),
        )

    def columns(self) -> tuple[str, float, str, int]:
        """(allow_ips, expires_at, scope, read_only) as stored."""
        return ",".join(self.addresses), self.expires_at, ",".join(self.items), int(self.read_only)

    def expired(self, now: float) -> bool:
        return bool(self.expires_at) and now >= self.expires_at

    def refusal(self, address: str, method: str, now: float) -> str:
        """Why this request may not be made with the key ("" when it may)."""
        if self.expired(now):
            return f"this access key expired on {_day(self.expires_at)}"
        if self.addresses and not _within(address, self.addresses):
            return f"this access key may not be used from {address or 'an unknown address'}"
        if self.read_only and method not in READS:
            return "this access key may only read"
        return ""

    def covers(self, item_id: Any, tags: Any) -> bool:
        """Whether an item is in the key's data scope (by its id or one of its tags)."""
        if not self.items:
            return True
        names = tags if isinstance(tags, list | tuple) else str(tags or "").split(",")
        return str(item_id) in self.items or any(t.strip() in self.items for t in names)

    def describe(self) -> str:
        """The limits in words, for `key list`."""
        parts = [f"from {', '.join(self.addresses)}"] if self.addresses else []
        if self.expires_at:
            parts.append(f"until {_day(self.expires_at)}")
        parts.append(f"items {', '.join(self.items)}" if self.items else "full access")
        if self.read_only:
            parts.append("read only")
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "allow_ips": list(self.addresses),
            "expires_at": self.expires_at or None,
            "items": list(self.items),
            "read_only": self.read_only,
        }


class KeyRefused(ApiError):
    """A request the key's limits do not allow: answered as the MySafe "no access" (1006)
    with the reason, and counted on the key."""

    def __init__(self, reason: str) -> None:
        super().__init__(NO_ACCESS, f"{NO_ACCESS}: User does not have access: {reason}")


def out_of_scope() -> KeyRefused:
    return KeyRefused("the item is outside this access key's scope")


class LastUses:
    """When each key's last use was written: at most once a LAST_USE_EVERY (every request
    writing it would double a plain sync's server work)."""

    def __init__(self) -> None:
        self._written: dict[str, float] = {}

    def due(self, client_id: str, now: float) -> bool:
        if now - self._written.get(client_id, -LAST_USE_EVERY) < LAST_USE_EVERY:
            return False
        self._written[client_id] = now
        return True


def _within(address: str, blocks: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(block) for block in blocks)


def _day(when: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(when - 1))
