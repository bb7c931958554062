"""VaultService: the one async API that the TUI and the CLI call (DESIGN.md §2).

`LocalService` (core.py) holds the vault; this adds a MySafe server: login, sync and conflicts
(DESIGN.md §4), and share links (§5). Network code lives in `remote/`, imported lazily so
`mysafe --version` and the UI's first paint never load httpx.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..core.errors import InvalidInput, ItemNotFound, MySafeError
from ..core.models import SPECS, ItemKind, ItemSummary, field_label
from .core import LocalService, _split, _summary_fields

if TYPE_CHECKING:
    from ..core.sharecrypto import SharePayload
    from ..remote.session import RemoteSession
    from ..remote.shares import CreatedShare
    from ..remote.status import RemoteStatus
    from ..remote.sync import PullResult, SyncProgress


class VaultService(LocalService):
    """One vault, local or bound to a MySafe server. Construct it, then `await` its methods."""

    # --- a MySafe server (DESIGN.md §4) ------------------------------------------------------

    def remote_status(self) -> RemoteStatus:
        from ..remote.status import RemoteStatus

        return self._remote.status() if self._remote is not None else RemoteStatus(False)

    async def check_server(self) -> str | None:
        """Ask a bound vault's server whether it answers and takes the key: None when it
        does, else why not (also in `remote_status()`). Never raises."""
        if self._remote is None:
            return None
        try:
            await self._remote.probe()
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
        progress: SyncProgress | None = None,
    ) -> PullResult:
        """Bind this vault to a server: check the access key, keep it inside the vault, pull."""
        from ..remote.session import RemoteSession, new_binding

        vault = self._require()
        if self._remote is not None:
            raise InvalidInput(
                f"this vault is already logged in to {self._remote.binding['url']}; log out first"
            )
        binding = new_binding(url, client_id, client_secret, prefix, ca_bundle, insecure)
        session = RemoteSession(vault, self._run, binding, self._transport)
        try:
            await session.probe()
        except BaseException:
            await session.aclose()
            raise
        await self._run(vault.write_meta, "remote", session.binding)
        self._remote = session
        return await self._pull(progress, probe=False)  # the key and features were just checked

    async def logout(self) -> int:
        """Forget the server and drop its items from the cache; local-only items stay."""
        vault = self._require()
        session = self._require_remote()
        cached = [s.id for s in vault.summaries.values() if s.remote]
        await self._run(vault.save_batch, [], cached)
        await self._run(vault.delete_meta, "remote")
        self._remote = None
        await session.aclose()
        await self._attach(vault)
        return len(cached)

    async def sync(self, progress: SyncProgress | None = None) -> PullResult:
        """Pull the server's items into the encrypted cache (incremental after the first)."""
        return await self._pull(progress, probe=True)

    async def _pull(self, progress: SyncProgress | None, probe: bool) -> PullResult:
        vault = self._require()
        session = self._require_remote()
        previous = session.state
        session.state = "syncing"
        try:
            if probe:  # the server may have gained or lost features since
                await session.probe()
            result = await session.guard(session.engine.pull(progress))
        except BaseException:
            if session.state == "syncing":
                session.state = previous
            raise
        session.mark_synced()
        await self._run(vault.write_meta, "remote", session.binding)
        await self._attach(vault)
        return result

    async def resolve_conflict(
        self, item_id: str, values: dict[str, Any], choice: str
    ) -> ItemSummary:
        """After `RemoteConflict` on `update_item(item_id, values)`: "mine" overwrites the
        server copy, "theirs" takes it into the cache, "both" takes theirs and adds mine as a
        new item named "... (my copy)". Returns the item now shown for `item_id`'s place."""
        from ..remote.sync import RemoteRef, cached

        if choice == "mine":
            return await self.update_item(item_id, values, force=True)
        if choice not in ("theirs", "both"):
            raise InvalidInput(f"unknown conflict choice {choice!r}")
        vault, session = self._require(), self._require_remote()
        item = await self.get(item_id)
        ref = RemoteRef.parse(item.remote)
        if ref is None:
            raise InvalidInput(f"'{item.name}' is not on the server: there is nothing to resolve")
        old_secret = await self._run(vault.reveal, item_id)
        fields, secret = _split(item.kind, values)
        mine = {**_summary_fields(item), **old_secret, **fields, **secret}
        current = await session.guard(session.client.get_item(item.kind.value, ref.remote_id))
        theirs_fields, theirs_secret = cached(item.kind, current, ref.remote_id, item.favourite)
        theirs = await self._indexed(
            await self._run(vault.save_item, item.kind, theirs_fields, theirs_secret, item_id)
        )
        if choice == "both":
            keep = {f.name for f in SPECS[item.kind].typed}
            copy = {k: v for k, v in mine.items() if k in keep and v not in ("", ())}
            copy["name"] = f"{item.name} (my copy)"
            await self.create_item(item.kind, copy)
        return theirs

    # --- share links (DESIGN.md §5) ----------------------------------------------------------

    @staticmethod
    def shareable_fields(kind: ItemKind) -> list[tuple[str, str, bool]]:
        """(field, label, included by default) of what a link to `kind` can carry."""

        return [(f, field_label(f), f in SPECS[kind].share_default) for f in SPECS[kind].shareable]

    @staticmethod
    def parse_duration(text: str) -> int:
        """'90m', '36h', '7d', '2w' as seconds, within the 30 days a link may live."""
        from ..remote.shares import parse_duration

        return parse_duration(text)

    def share_target(self) -> str | None:
        """Where links are made: the bound server if it offers shares, else the vault's share
        server; None when there is neither (the UI explains how to get one)."""
        session = self._share_session(required=False)
        return session.binding["url"] if session is not None else None

    def _share_session(self, required: bool = True) -> RemoteSession | None:
        from ..core.errors import NotSupported

        if self._remote is not None and "shares" in self._remote.capabilities:
            return self._remote
        if self._share_server is not None:
            return self._share_server
        if not required:
            return None
        if self._remote is not None:
            raise NotSupported(
                f"{self._remote.binding['url']} has no share links (a plain senhasegura server); "
                "name a mysafe serve server for links with 'mysafe share-server URL'"
            )
        raise NotSupported(
            "no server to host links: run 'mysafe serve' somewhere (or log in to one), then "
            "'mysafe share-server URL' or 'mysafe login URL'"
        )

    async def set_share_server(self, url: str, client_id: str, client_secret: str) -> None:
        """Name a server that hosts this vault's links (its access key stays in the vault)."""
        from ..core.errors import NotSupported
        from ..remote.session import RemoteSession, new_binding

        vault = self._require()
        session = RemoteSession(
            vault, self._run, new_binding(url, client_id, client_secret), self._transport
        )
        try:
            if "shares" not in await session.probe():
                raise NotSupported(f"{url} does not host share links (no 'shares' capability)")
        except BaseException:
            await session.aclose()
            raise
        await self._run(vault.write_meta, "share-server", session.binding)
        if self._share_server is not None:
            await self._share_server.aclose()
        self._share_server = session

    async def share_item(
        self,
        item_id: str,
        *,
        fields: tuple[str, ...] | None = None,
        expires_in: int = 24 * 3600,
        views: int = 1,
        password: str | None = None,
        label: str = "",
    ) -> CreatedShare:
        """Encrypt the chosen fields (or the file) under a fresh key, upload the ciphertext,
        keep the full link encrypted in the vault, and return it."""
        from ..remote import shares

        vault = self._require()
        session = self._share_session()
        assert session is not None
        item = await self.get(item_id)
        chosen = SPECS[item.kind].share_default if fields is None else fields
        summary = {name: item.field(name) for name in SPECS[item.kind].summary}
        values = {**summary, **await self._run(vault.reveal, item_id)}
        content = b""
        if item.kind is ItemKind.FILE:
            content = await self._run(lambda: b"".join(vault.read_file(item_id)))
        payload = shares.build_payload(item, values, tuple(chosen), content)
        created = await session.guard(
            shares.create_share(
                session.client,
                payload,
                expires_in=expires_in,
                views=views,
                password=password,
                label=label,
                public_url=session.binding["url"],
            )
        )
        record = {
            "link": str(created.link),
            "item": item.name,
            "item_id": item.id,
            "kind": item.kind.value,
            "label": label,
            "server": session.binding["url"],
        }
        links = await self._run(vault.read_meta, "shares") or {}
        links[created.share_hash] = json.dumps(record)
        await self._run(vault.write_meta, "shares", links)
        return created

    async def list_shares(self) -> list[dict[str, Any]]:
        """Every outgoing link as the server counts it, with the item and label kept here."""
        from ..remote import shares

        vault = self._require()
        session = self._share_session()
        assert session is not None
        rows = await session.guard(shares.list_shares(session.client))
        links = await self._run(vault.read_meta, "shares") or {}
        for row in rows:
            local = json.loads(links.get(str(row.get("share_hash")), "{}"))
            row["item"] = local.get("item", "(unknown item)")
            row["has_link"] = "link" in local
            row.setdefault("label", local.get("label", ""))
        return rows

    async def share_link(self, share_hash: str) -> str:
        """The full link (with its key) of a share made from this vault."""
        vault = self._require()
        links = await self._run(vault.read_meta, "shares") or {}
        if share_hash not in links:
            raise ItemNotFound("this vault has no copy of that link (made elsewhere, or lost)")
        return str(json.loads(links[share_hash])["link"])

    async def copy_share_link(self, share_hash: str) -> str:
        link = await self.share_link(share_hash)
        return self.clipboard.copy(link, "Share link")

    async def revoke_share(self, share_hash: str) -> None:
        """Kill a link at once: the server deletes its ciphertext."""
        from ..remote import shares

        session = self._share_session()
        assert session is not None
        await session.guard(shares.revoke_share(session.client, share_hash))

    @staticmethod
    async def open_share(
        url: str,
        ask_password: Callable[[], Awaitable[str]],
        before_reveal: Callable[[dict[str, Any]], None] | None = None,
    ) -> SharePayload:
        """The recipient's side: needs no vault. Spends one view, after `before_reveal` (given
        the link's public status: kind, size) had its chance to refuse."""
        from ..remote.shares import open_link

        return await open_link(url, ask_password, before_reveal=before_reveal)

    def _require_remote(self) -> RemoteSession:
        if self._remote is None:
            raise InvalidInput("this vault is not logged in to a server; use 'mysafe login URL'")
        return self._remote
