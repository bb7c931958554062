"""Share links made from this vault (DESIGN.md §5): where they are hosted, making, listing and
revoking them. The full link (with its key) is kept encrypted in the vault's "shares" record."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mysafe_tui.core.errors import ItemNotFound, NotSupported
from mysafe_tui.core.models import SPECS, ItemKind
from mysafe_tui.service.connection import needs_server

if TYPE_CHECKING:
    import httpx

    from mysafe_tui.remote.session import RemoteSession
    from mysafe_tui.remote.shares import CreatedShare
    from mysafe_tui.service.worker import VaultWorker


class ShareLinks:
    """Links are made on the bound server when it offers them, else on the vault's own share
    server (`mysafe share-server URL`)."""

    def __init__(
        self,
        worker: VaultWorker,
        bound: Callable[[], RemoteSession | None],
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        self.worker = worker
        self._bound = bound  # the session of the server the vault syncs with, if any
        self._transport = transport
        self._own: RemoteSession | None = None  # the vault's share server

    def load(self, binding: dict[str, str] | None) -> None:
        if binding is not None:
            from mysafe_tui.remote.session import RemoteSession

            self._own = RemoteSession(binding, self._transport)

    async def aclose(self) -> None:
        if self._own is not None:
            await self._own.aclose()
        self._own = None

    def session(self, required: bool = True) -> RemoteSession | None:
        bound = self._bound()
        if bound is not None and "shares" in bound.capabilities:
            return bound
        if self._own is not None:
            return self._own
        if not required:
            return None
        if bound is not None:
            raise NotSupported(
                f"{bound.binding['url']} has no share links (a plain senhasegura server); "
                "name a mysafe serve server for links with 'mysafe share-server URL'"
            )
        raise NotSupported(
            "no server to host links: run 'mysafe serve' somewhere (or log in to one), then "
            "'mysafe share-server URL' or 'mysafe login URL'"
        )

    def _required(self) -> RemoteSession:
        session = self.session()
        assert session is not None
        return session

    async def set_server(self, url: str, client_id: str, client_secret: str) -> None:
        from mysafe_tui.remote.session import RemoteSession, new_binding

        self.worker.require_unlocked()  # before any network call
        session = RemoteSession(new_binding(url, client_id, client_secret), self._transport)
        try:
            if "shares" not in await session.probe():
                raise NotSupported(f"{url} does not host share links (no 'shares' capability)")
        except BaseException:
            await session.aclose()
            raise
        await self.worker.write_meta("share-server", session.binding)
        await self.aclose()
        self._own = session

    async def share(
        self,
        item_id: str,
        fields: tuple[str, ...] | None,
        expires_in: int,
        views: int,
        password: str | None,
        label: str,
        recipient: str = "",
    ) -> CreatedShare:
        from mysafe_tui.remote import shares

        worker = self.worker
        item = worker.get(item_id)
        session = self._required()
        chosen = SPECS[item.kind].share_default if fields is None else fields
        summary = {name: item.field(name) for name in SPECS[item.kind].summary}
        values = {**summary, **await worker.reveal(item_id)}
        content = b""
        if item.kind is ItemKind.FILE:
            vault = worker.vault
            content = await worker.run(lambda: b"".join(vault.read_file(item_id)))
        payload = shares.build_payload(item, values, tuple(chosen), content)
        with needs_server("a share link"):
            created = await session.guard(
                shares.create_share(
                    session.client,
                    payload,
                    expires_in=expires_in,
                    views=views,
                    password=password,
                    label=label,
                    public_url=session.binding["url"],
                    recipient=recipient,
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
        links = await worker.read_meta("shares") or {}
        links[created.share_hash] = json.dumps(record)
        await worker.write_meta("shares", links)
        return created

    async def list(self) -> list[dict[str, Any]]:
        from mysafe_tui.remote import shares

        session = self._required()
        rows = await session.guard(shares.list_shares(session.client))
        links = await self.worker.read_meta("shares") or {}
        for row in rows:
            local = json.loads(links.get(str(row.get("share_hash")), "{}"))
            row["item"] = local.get("item", "(unknown item)")
            row["has_link"] = "link" in local
            row.setdefault("label", local.get("label", ""))
        return rows

    async def link(self, share_hash: str) -> str:
        links = await self.worker.read_meta("shares") or {}
        if share_hash not in links:
            raise ItemNotFound("this vault has no copy of that link (made elsewhere, or lost)")
        return str(json.loads(links[share_hash])["link"])

    async def resend(self, share_hash: str) -> str:
        from mysafe_tui.remote import shares

        session = self._required()
        with needs_server("mailing a link's recipient"):
            return await session.guard(shares.resend_share(session.client, share_hash))

    async def revoke(self, share_hash: str) -> None:
        from mysafe_tui.remote import shares

        session = self._required()
        with needs_server("revoking a link"):
            await session.guard(shares.revoke_share(session.client, share_hash))
