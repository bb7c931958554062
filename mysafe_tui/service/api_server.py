"""The service's calls for a MySafe server (login, sync, conflicts, status: connection.py)
and for share links (shares.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from mysafe_tui.core.errors import (
    EncryptedSecrets,
    InvalidInput,
    MySafeError,
)
from mysafe_tui.core.models import (
    SPECS,
    ItemKind,
    ItemSummary,
    field_label,
)
from mysafe_tui.core.outbox import Outgoing
from mysafe_tui.service.connection import NoServer, ServerConnection
from mysafe_tui.service.parts import ServiceParts
from mysafe_tui.service.values import split, summary_fields

if TYPE_CHECKING:  # imported lazily below: cryptography and sqlite3 cost ~80 ms at launch
    from mysafe_tui.core.sharecrypto import SharePayload
    from mysafe_tui.remote.session import RemoteSession
    from mysafe_tui.remote.shares import CreatedShare
    from mysafe_tui.remote.status import RemoteStatus
    from mysafe_tui.remote.sync import PullResult, SyncProgress


class ServerApi(ServiceParts):
    """VaultService's server and share-link methods."""

    # --- a MySafe server (DESIGN.md §4) ------------------------------------------------------

    def remote_status(self) -> RemoteStatus:
        return self._server.status()

    def server_keeps_extras(self) -> bool:
        """Whether the bound server holds custom fields, more URLs and old passwords
        (`mysafe serve` does; a plain senhasegura has no place for them)."""
        return "extras" in self.remote_status().capabilities

    async def check_server(self) -> str | None:
        """Ask a bound vault's server whether it answers and takes the key: None when it
        does, else why not (also in `remote_status()`). Never raises."""
        if not isinstance(self._server, ServerConnection):
            return None
        try:
            await self._server.probe()
        except MySafeError as exc:
            return str(exc)
        return None

    async def login(
        self,
        url: str,
        client_id: str,
        client_secret: str,
        *,
        prefix: str = "/api",
        ca_bundle: str | None = None,
        insecure: bool = False,
        tenant: str | None = None,
        proxy: str | None = None,
        timeout: float | None = None,
        progress: SyncProgress | None = None,
    ) -> PullResult:
        """Bind this vault to a server: check the access key, keep it inside the vault, pull.
        `tenant` names the tenant of a multi-tenant senhasegura (sent with the token request);
        `proxy` overrides the environment's proxy settings; `timeout` is per request."""
        from mysafe_tui.remote.session import new_binding

        self._worker.require_unlocked()
        if isinstance(self._server, ServerConnection):
            raise InvalidInput(
                f"this vault is already logged in to {self._server.url}; log out first"
            )
        binding = new_binding(
            url, client_id, client_secret, prefix, ca_bundle, insecure, tenant, proxy, timeout
        )
        server = await ServerConnection.login(
            binding, self._worker, self._transport, self._server_waits
        )
        self._server = server
        try:
            return await server.pull(progress, probe=False)  # the key was just checked
        except EncryptedSecrets:
            await self.logout()  # a key that can never give a secret: not kept
            raise

    async def logout(self) -> int:
        """Forget the server and drop its items from the cache; local-only items stay."""
        removed = await self._require_server().forget()
        self._server = NoServer()
        return removed

    async def sync(self, progress: SyncProgress | None = None) -> PullResult:
        """Pull the server's items into the encrypted cache (incremental after the first),
        and trade the days items were used with the account's other devices."""
        server = self._require_server()
        result = await server.pull(progress, probe=True)
        if "uses" in server.session.capabilities:
            with contextlib.suppress(MySafeError):  # only notes for `unused:`: the sync is done
                await self._uses.exchange(server.session)
        return result

    async def resolve_conflict(
        self, item_id: str, values: dict[str, Any], choice: str
    ) -> ItemSummary:
        """After `RemoteConflict` on `update_item(item_id, values)`: "mine" overwrites the
        server copy, "theirs" takes it into the cache, "both" takes theirs and adds mine as a
        new item named "... (my copy)". Returns the item now shown for `item_id`'s place."""
        if choice == "mine":
            return await self.update_item(item_id, values, force=True)
        if choice not in ("theirs", "both"):
            raise InvalidInput(f"unknown conflict choice {choice!r}")
        server = self._require_server()
        item = self._worker.get(item_id)
        fields, secret = split(item.kind, values)
        mine = {**summary_fields(item), **await self._worker.reveal(item_id), **fields, **secret}
        theirs = await server.take_theirs(item)
        if choice == "both":
            keep = {f.name for f in SPECS[item.kind].typed}
            copy = {k: v for k, v in mine.items() if k in keep and v not in ("", ())}
            copy["name"] = f"{item.name} (my copy)"
            await self.create_item(item.kind, copy)
        return theirs

    def waiting(self) -> list[tuple[ItemSummary, Outgoing]]:
        """Changes made while the server could not be reached, oldest first, with what waits
        (service/outbox.py); empty for a local vault."""
        if not isinstance(self._server, ServerConnection):
            return []
        return [
            (item, Outgoing.parse(item.outbox) or Outgoing(0))
            for item in self._server.outbox.waiting()
        ]

    async def server_copy(self, item_id: str) -> dict[str, Any]:
        """The server's copy of an item now, for a person choosing between it and theirs."""
        return await self._require_server().server_copy(self._worker.get(item_id))

    async def settle(self, item_id: str, choice: str) -> ItemSummary | None:
        """A waiting item the server's answer stopped: "mine", "theirs" or "both" (see
        `Outbox.settle`); the item in its place, or None when it left the vault."""
        server = self._require_server()
        return await server.outbox.settle(self._worker.get(item_id), choice)

    async def push(self, item_id: str) -> ItemSummary:
        """Upload an item made before login ("local only") to the server: created there,
        then synced like every other item of the server."""
        return await self._require_server().push(self._worker.get(item_id))

    async def kept_here(self) -> list[tuple[ItemSummary, list[str]]]:
        """Items on the server with things its copy cannot hold (attachments; on a plain
        senhasegura also custom fields, more URLs, old passwords), and what they are. Reads
        every item's secret part: `mysafe status` asks, the UI does not."""
        if not isinstance(self._server, ServerConnection):
            return []
        vault, keeps = self._worker.vault, self.server_keeps_extras()
        server = self._server

        def work() -> list[tuple[ItemSummary, list[str]]]:
            active = [i for i in vault.summaries.values() if i.active]
            on_server = (i for i in active if i.remote)
            held = ((i, vault.extras(i.id, i.urls).kept_locally(keeps)) for i in on_server)
            # A plain senhasegura keeps no SSH keys: each one is kept here whole.
            ssh = [(i, ["the SSH key"]) for i in active if not server.keeps(i.kind)]
            return [(item, what) for item, what in held if what] + ssh

        return await self._worker.run(work)

    def local_only(self) -> list[ItemSummary]:
        """Active items of a bound vault that live here only (made before login; not SSH
        keys when the server has no place for them, nor items waiting to be sent)."""
        vault, server = self._worker.vault, self._server
        if not isinstance(server, ServerConnection):
            return []
        return [
            s
            for s in vault.summaries.values()
            if not s.remote and not s.outbox and s.active and server.keeps(s.kind)
        ]

    def _server_waits(self, seconds: float) -> None:
        if self.on_server_wait is not None:  # whoever shows it now (the UI, the CLI)
            self.on_server_wait(seconds)

    def _bound_session(self) -> RemoteSession | None:
        return self._server.session if isinstance(self._server, ServerConnection) else None

    # --- share links (DESIGN.md §5; shares.py) -------------------------------------------------

    @staticmethod
    def shareable_fields(kind: ItemKind) -> list[tuple[str, str, bool]]:
        """(field, label, included by default) of what a link to `kind` can carry."""
        spec = SPECS[kind]
        return [(f, field_label(f), f in spec.share_default) for f in spec.shareable]

    @staticmethod
    def parse_duration(text: str) -> int:
        """'90m', '36h', '7d', '2w' as seconds, within the 30 days a link may live."""
        from mysafe_tui.remote.shares import parse_duration

        return parse_duration(text)

    def share_target(self) -> str | None:
        """Where links are made: the bound server if it offers shares, else the vault's share
        server; None when there is neither (the UI explains how to get one)."""
        session = self._shares.session(required=False)
        return session.binding["url"] if session is not None else None

    async def set_share_server(self, url: str, client_id: str, client_secret: str) -> None:
        """Name a server that hosts this vault's links (its access key stays in the vault)."""
        await self._shares.set_server(url, client_id, client_secret)

    async def share_item(
        self,
        item_id: str,
        *,
        fields: tuple[str, ...] | None = None,
        expires_in: int = 24 * 3600,
        views: int = 1,
        password: str | None = None,
        label: str = "",
        recipient: str = "",
    ) -> CreatedShare:
        """Encrypt the chosen fields (or the file) under a fresh key, upload the ciphertext,
        keep the full link encrypted in the vault, and return it. With a `recipient`, the
        server mails them a notice, and a code when they open the link."""
        return await self._shares.share(
            item_id, fields, expires_in, views, password, label, recipient
        )

    async def list_shares(self) -> list[dict[str, Any]]:
        """Every outgoing link as the server counts it, with the item and label kept here."""
        return await self._shares.list()

    async def share_link(self, share_hash: str) -> str:
        """The full link (with its key) of a share made from this vault."""
        return await self._shares.link(share_hash)

    async def copy_share_link(self, share_hash: str) -> str:
        link = await self._shares.link(share_hash)
        return await self._clip.copy(link, "Share link")

    async def resend_share(self, share_hash: str) -> str:
        """Mail a link's recipient its notice again (they may ask for codes anew)."""
        return await self._shares.resend(share_hash)

    async def revoke_share(self, share_hash: str) -> None:
        """Kill a link at once: the server deletes its ciphertext."""
        await self._shares.revoke(share_hash)

    @staticmethod
    async def open_share(
        url: str,
        ask_password: Callable[[], Awaitable[str]],
        before_reveal: Callable[[dict[str, Any]], None] | None = None,
        ask_code: Callable[[str], Awaitable[str]] | None = None,
    ) -> SharePayload:
        """The recipient's side: needs no vault. Spends one view, after `before_reveal` (given
        the link's public status: kind, size) had its chance to refuse."""
        from mysafe_tui.remote.shares import open_link

        return await open_link(url, ask_password, before_reveal=before_reveal, ask_code=ask_code)
