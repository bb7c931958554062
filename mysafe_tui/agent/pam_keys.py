"""PAM SSH keys lent to the SSH agent for a while (`mysafe pam ssh-add ID --for 15m`).

The unlock agent fetches the key from senhasegura itself (its custody taken, in the vault's
custody ledger under this agent's pid), keeps it in memory only, offers it with the vault's
keys, and drops it at its time, when the agent locks, or when it is asked to; each time its
custody is given back. A key whose custody could not be given back stays in the ledger, and
the next UI start or 'mysafe pam release --all' gives it back.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mysafe_tui.core.sshkeys import Signer
    from mysafe_tui.service import VaultService
    from mysafe_tui.service.api_ssh import Identity

MAX_SECONDS = 24 * 3600


@dataclass
class Lent:
    key_id: str
    identity: Identity
    signer: Signer
    until: float  # time.monotonic()


class LentKeys:
    """The PAM keys this agent holds, by their item id in the agent ("pam:ID")."""

    def __init__(self, service: VaultService) -> None:
        self.service = service
        self.keys: dict[str, Lent] = {}

    async def add(self, key_id: object, seconds: object) -> Lent:
        """Fetch the key (custody taken) and hold it for `seconds` (as a request gave them)."""
        from mysafe_tui.core import sshkeys
        from mysafe_tui.core.errors import InvalidInput
        from mysafe_tui.core.sanitize import printable
        from mysafe_tui.service.api_ssh import Identity

        if not isinstance(key_id, str) or not key_id:
            raise InvalidInput("name the PAM key by its id")
        if not isinstance(seconds, int) or not 1 <= seconds <= MAX_SECONDS:
            raise InvalidInput("a PAM key is lent for 1 second to 24 hours")
        key = await self.service.pam_ssh_key(key_id, holder=f"agent:{os.getpid()}")
        try:
            private = sshkeys.read(key.private.reveal().strip().encode() + b"\n")
            shown = sshkeys.describe(private)
        except InvalidInput:
            await self.service.pam_release(key_id)
            raise InvalidInput(f"PAM key {key_id} holds no SSH key mysafe can use") from None
        name = printable(f"PAM {key.username}@{key.hostname}")[:255]  # the server's words
        comment = printable(f"pam:{key_id} {name}")
        identity = Identity(shown.blob, comment, f"pam:{key_id}", name, False, False)
        lent = Lent(key_id, identity, sshkeys.Signer(private), time.monotonic() + seconds)
        self.keys[identity.item_id] = lent
        return lent

    def identities(self) -> list[Identity]:
        now = time.monotonic()
        return [lent.identity for lent in self.keys.values() if lent.until > now]

    def signer(self, item_id: str) -> Signer | None:
        lent = self.keys.get(item_id)
        return lent.signer if lent is not None and lent.until > time.monotonic() else None

    async def expire(self, everything: bool = False) -> list[str]:
        """Drop the keys whose time is up (every key, when the agent locks) and give their
        custody back; what could not be given back."""
        now = time.monotonic()
        failed = []
        for item_id, lent in list(self.keys.items()):
            if not everything and lent.until > now:
                continue
            del self.keys[item_id]
            try:
                await self.service.pam_release(lent.key_id)
            except Exception as exc:  # noqa: BLE001 - each on its own; the ledger keeps it
                failed.append(f"{lent.key_id} ({type(exc).__name__})")
        return failed

    async def give_back(self, log: Callable[[str], None], everything: bool = False) -> None:
        """`expire`, in at most 10 s, and a log line for what could not be given back."""
        if not self.keys:
            return
        try:
            failed = await asyncio.wait_for(self.expire(everything), 10)
        except TimeoutError:
            failed = ["(no answer in 10 s)"]
        if failed:
            log("PAM custody not given back: " + ", ".join(failed))
