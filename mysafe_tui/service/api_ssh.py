"""The service's calls for SSH keys: making one, and what the SSH agent asks of the vault
(the keys it offers, a signature). The keys never leave the vault: the agent gets public
blobs and signatures (core/sshkeys.py does the cryptography)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mysafe_tui.core.errors import InvalidInput
from mysafe_tui.core.models import ItemKind, ItemSummary
from mysafe_tui.core.sanitize import printable
from mysafe_tui.service.connection import ServerConnection
from mysafe_tui.service.parts import ServiceParts

if TYPE_CHECKING:
    from mysafe_tui.core.sshkeys import Signer


@dataclass(frozen=True)
class Identity:
    """A key the SSH agent offers: its public blob, the comment ssh shows, whose it is."""

    blob: bytes
    comment: str
    item_id: str
    name: str
    forwarding: bool  # may sign through a forwarded agent (past the first hop)
    confirm: bool  # each signature is asked for first


YES = ("forwarding", "confirm")


class SshApi(ServiceParts):
    """VaultService's SSH key methods."""

    async def add_ssh_key(
        self, name: str, private: str, *, comment: str = "", agent: bool = True, tags: str = ""
    ) -> ItemSummary:
        """Keep a private key (generated, or read from a file by core/sshkeys.read)."""
        values = {"name": name, "private": private, "comment": comment, "tags": tags}
        values["agent"] = "yes" if agent else "no"
        return await self.create_item(ItemKind.SSH_KEY, values)

    async def ssh_identities(self) -> list[Identity]:
        """Every active SSH key set to be in the agent, oldest first (as ssh tries them)."""
        from mysafe_tui.core import sshkeys

        self._worker.require_unlocked()
        found = []
        keys = self._worker.index.search("", kind=ItemKind.SSH_KEY)
        for item in sorted(keys, key=lambda i: (i.created, i.id)):
            secret = await self.reveal(item.id)
            if secret.get("agent") and secret["agent"].reveal() == "no":
                continue
            # Both reach a terminal (ssh-add -L, the agent log): a name from a server may hold
            # anything, so each goes through the one sanitiser.
            comment = printable(secret["comment"].reveal() if secret.get("comment") else item.name)
            try:
                shown = sshkeys.describe(secret["private"].reveal())
            except (InvalidInput, KeyError):  # a damaged key is not offered
                continue
            said = {k: v.reveal() == "yes" for k, v in secret.items() if k in YES}
            found.append(
                Identity(
                    shown.blob,
                    comment,
                    item.id,
                    printable(item.name),
                    said.get("forwarding", False),
                    said.get("confirm", False),
                )
            )
        return found

    async def ssh_signer(self, item_id: str) -> Signer:
        """The key of `item_id`, read to sign (`Signer.sign`: as the agent protocol wants)."""
        from mysafe_tui.core.sshkeys import Signer

        secret = await self.reveal(item_id)
        return Signer(secret["private"].reveal())

    async def ssh_key_used(self, item_id: str) -> None:
        """The agent signed with this key: on a server that keeps SSH keys, a "signed" event
        in its access history (a local key, or a plain senhasegura: nothing to tell)."""
        item = self._worker.vault.summaries.get(item_id)
        if item is not None and isinstance(self._server, ServerConnection):
            await self._server.key_used(item)
