"""Which imported items are already in the vault: by content, never by name alone.

Identical content (kind, name ignoring case, username, the main secret, URL) is skipped and
named in the report. An item with a name the vault already has but other content is kept: by
default under a marked name ("GitHub (imported)"), or as the person asks (`on_duplicate`):
skipped, kept under the same name, or written over the vault's local copy.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from mysafe_tui.core.models import SPECS, ItemKind, ItemSummary

POLICIES = ("rename", "skip", "keep-both", "update")
MARK = " (imported)"

Content = tuple[str, str, str]


@dataclass
class Decision:
    skip: bool = False
    why: str = ""  # for the report; "" when nothing was the matter
    name: str = ""  # the name to write it under, when it changes
    update: ItemSummary | None = None  # the vault's item to write over


@dataclass
class _Known:
    item: ItemSummary | None  # None: written earlier in this same import
    content: Content | None  # None until asked for (a vault item's secret is decrypted then)


def content_of(kind: ItemKind, fields: dict[str, Any], secret: dict[str, str]) -> Content:
    primary = SPECS[kind].primary
    return (
        str(fields.get("username") or "").strip().casefold(),
        str(secret.get(primary) or fields.get(primary) or ""),
        str(fields.get("url") or "").strip(),
    )


class Duplicates:
    """Decides, item by item, what an import does with what the vault (or the import itself)
    already holds. `reveal` decrypts a vault item's secrets, only for names that match."""

    def __init__(
        self,
        vault: Iterable[ItemSummary],
        reveal: Callable[[str], Awaitable[dict[str, str]]],
        policy: str = "rename",
    ) -> None:
        if policy not in POLICIES:
            raise ValueError(policy)
        self.policy = policy
        self._reveal = reveal
        self._by_name: dict[tuple[ItemKind, str], list[_Known]] = {}
        for item in vault:
            self._remember(item.kind, item.name, _Known(item, None))

    async def decide(
        self, kind: ItemKind, fields: dict[str, Any], secret: dict[str, str]
    ) -> Decision:
        name = str(fields.get("name") or "")
        mine = content_of(kind, fields, secret)
        same_name = self._by_name.get((kind, _fold(name)), [])
        if self.policy != "keep-both":  # the same item already here: under its name, or
            places = [
                (k, "in the vault" if k.item else "earlier in this import") for k in same_name
            ]
            if same_name and self.policy == "rename":  # ... under a name an import gave it
                places += [
                    (k, f"here as '{marked}'")
                    for marked in self._marked(kind, name)
                    for k in self._by_name[(kind, _fold(marked))]
                ]
            for known, where in places:
                if await self._content(kind, known) == mine:
                    return Decision(skip=True, why=f"skipped: the same item is already {where}")
        decision = Decision()
        if same_name:
            in_vault = next((k.item for k in same_name if k.item is not None), None)
            if self.policy == "skip":
                return Decision(
                    skip=True, why="skipped: an item of that name exists (--on-duplicate skip)"
                )
            if self.policy == "update" and in_vault is not None:
                return Decision(update=in_vault, why="updated the item of that name")
            if self.policy == "rename":
                decision.name = self._free_name(kind, name)
                decision.why = (
                    f"imported as '{decision.name}': the item of that name holds something else"
                )
            else:
                decision.why = "imported beside the item of that name"
        self._remember(kind, decision.name or name, _Known(None, mine))
        return decision

    async def _content(self, kind: ItemKind, known: _Known) -> Content:
        if known.content is None:
            assert known.item is not None
            secret = await self._reveal(known.item.id)
            fields = {"username": known.item.username, "url": known.item.url}
            known.content = content_of(kind, fields, secret)
        return known.content

    def _marked(self, kind: ItemKind, name: str) -> list[str]:
        """The names an import gave this name's items before: "NAME (imported)", "... 2"."""
        found, n, candidate = [], 2, f"{name}{MARK}"
        while (kind, _fold(candidate)) in self._by_name:
            found.append(candidate)
            candidate, n = f"{name} (imported {n})", n + 1
        return found

    def _free_name(self, kind: ItemKind, name: str) -> str:
        taken = len(self._marked(kind, name))
        return f"{name}{MARK}" if not taken else f"{name} (imported {taken + 1})"

    def _remember(self, kind: ItemKind, name: str, known: _Known) -> None:
        self._by_name.setdefault((kind, _fold(name)), []).append(known)


def _fold(name: str) -> str:
    return name.strip().casefold()
