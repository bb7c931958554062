"""A change made while the server could not be reached: kept on the item it changed (its
`outbox` summary field), written in the same transaction as the change itself, and sent when
the server answers again (service/outbox.py).

The item as cached is what is sent: a change queued twice is sent once, with what the item
holds by then. What is recorded is what the server still needs to hear: that the item is new
(with the key that makes its creation happen once), that its fields changed, that it moved to
or from the trash, and, when the server answered in a way only a person can settle, why.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

PROBLEMS = {
    "conflict": "changed on the server too since your last sync",
    "gone": "deleted on the server (or no longer shared with you) since your last sync",
    "inactive": "moved to the trash on the server since your last sync",
    "refused": "refused by the server ('mysafe sync' says why)",
}

SETTLED = {  # what a person's choice did
    "mine": "this device's copy goes to the server",
    "theirs": "the server's copy is kept; the change made here is dropped",
    "both": "the server's copy is kept, and this one is sent as a new item",
}


@dataclass(frozen=True)
class Outgoing:
    """What the server has not heard of an item yet."""

    seq: int  # when it was first queued (ns): the outbox is sent in this order
    create: bool = False  # not on the server yet
    content: bool = False  # its fields changed here
    active: bool = False  # moved to or from the trash here
    key: str = ""  # the create's idempotency key (a server that keeps them makes it once)
    sent: bool = False  # a create went out and its answer was not recorded: look first
    problem: str = ""  # "" or a PROBLEMS key: a person chooses what happens

    _FLAGS = (("c", "create"), ("u", "content"), ("a", "active"), ("s", "sent"))

    def encode(self) -> str:
        flags = "".join(letter for letter, name in self._FLAGS if getattr(self, name))
        return f"{self.seq}:{flags}:{self.key}:{self.problem}"

    @classmethod
    def parse(cls, text: str) -> Outgoing | None:
        parts = text.split(":")
        if len(parts) != 4 or not parts[0].isdigit():
            return None
        seq, flags, key, problem = parts
        on = {name: letter in flags for letter, name in cls._FLAGS}
        return cls(int(seq), key=key, problem=problem if problem in PROBLEMS else "", **on)

    def but(self, **changes: object) -> Outgoing:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def describe(self) -> str:
        """What is waiting, for the detail pane and `mysafe status`."""
        if self.problem:
            return f"not sent: {PROBLEMS[self.problem]}"
        if self.create:
            return "new, waiting to be sent"
        what = [w for w, on in (("changed", self.content), ("trash", self.active)) if on]
        return ("moved to or from the trash" if what == ["trash"] else "changed") + (
            ", waiting to be sent"
        )
