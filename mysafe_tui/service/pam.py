"""senhasegura's A2A API for this vault: PAM Core credentials under custody, PAM SSH keys and
DSM application secrets (remote/a2a.py speaks it).

The A2A authorization (URL, client id and secret, TLS, proxy, tenant) is kept inside the
vault ("a2a" record), as the MySafe binding is. Nothing the A2A API sends is kept: a PAM
password lives in memory for as long as it is shown or used. What is kept is the custody
ledger ("custody" record): a reveal is written there before it is asked for, and leaves it
when the custody is released, so that custody taken and not released (a crash, a kill) is
released at the next start.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from mysafe_tui.core.errors import InvalidInput, RemoteRejected
from mysafe_tui.core.pam import DsmApplication, PamCredential, PamKey, PamSecret

if TYPE_CHECKING:
    import httpx

    from mysafe_tui.remote.session import RemoteSession
    from mysafe_tui.service.worker import VaultWorker

T = TypeVar("T")
NOT_FOUND, NOT_IN_CUSTODY = 1007, 1018


class PamAccess:
    """The vault's A2A authorization, and what it was used for."""

    def __init__(
        self, worker: VaultWorker, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.worker = worker
        self.transport = transport
        self.binding: dict[str, str] | None = None
        self._session: RemoteSession | None = None

    async def load(self) -> None:
        """After an unlock: the authorization, as the vault holds it."""
        self.binding = await self.worker.read_meta("a2a")

    @property
    def session(self) -> RemoteSession:
        if self.binding is None:
            raise InvalidInput(
                "no A2A authorization in this vault: 'mysafe login URL --a2a' adds one"
            )
        if self._session is None:
            from mysafe_tui.remote.session import RemoteSession

            self._session = RemoteSession(self.binding, self.transport)
        return self._session

    async def call(self, make: Callable[[Any], Awaitable[T]]) -> T:
        session = self.session
        return await session.guard(make(session.client))

    async def login(self, binding: dict[str, str]) -> None:
        """Check the authorization (a token), then keep it in the vault."""
        if self.binding is not None and await self.ledger():  # custody held on the old one
            raise InvalidInput(
                "credentials are in custody through the A2A authorization this vault has: "
                "'mysafe pam release --all' first"
            )
        await self.aclose()
        self.binding = binding
        try:
            await self.call(lambda client: client.check_key())
        except BaseException:
            await self.aclose()
            self.binding = await self.worker.read_meta("a2a")
            raise
        await self.worker.write_meta("a2a", binding)

    async def logout(self) -> None:
        """Release what is in custody, then forget the authorization (refused, naming them,
        while anything could not be released)."""
        failed = await self.release_all() if self.binding else []
        if failed:
            raise InvalidInput(
                "custody of " + ", ".join(failed) + " could not be released: the A2A "
                "authorization stays until 'mysafe pam release --all' succeeds"
            )
        await self.worker.run(self.worker.vault.delete_meta, "a2a")
        await self.aclose()
        self.binding = None

    # --- PAM ----------------------------------------------------------------------------------

    async def credentials(self) -> list[PamCredential]:
        from mysafe_tui.remote import a2a

        return await self.call(a2a.credentials)

    async def reveal(self, ref: str, holder: str = "cli") -> PamSecret:
        """The credential's password, taken into custody for `holder` ("cli": until 'mysafe
        pam release'; "ui:PID": until that UI closes or locks, or its next start after a
        crash). Written in the ledger before it is asked for."""
        from mysafe_tui.remote import a2a

        ref = ref.strip()
        if not ref:
            raise InvalidInput("name a credential: its id, identifier or user@host")
        await self._hold(ref, "", holder)
        try:
            secret = await self.call(lambda client: a2a.reveal(client, ref))
        except RemoteRejected:  # the server answered no: nothing was taken
            await self._forget(ref)
            raise
        await self._hold(ref, secret.id or ref, holder)
        return secret

    async def ssh_key(self, key_id: str, holder: str = "cli") -> PamKey:
        """A PAM SSH key, taken into custody as a credential is."""
        from mysafe_tui.remote import a2a

        await self._hold(key_id, key_id, holder)
        try:
            return await self.call(lambda client: a2a.ssh_key(client, key_id))
        except RemoteRejected:
            await self._forget(key_id)
            raise

    async def release(self, ref: str) -> str:
        """Give the custody of one credential back; its id. One not in custody any more
        (released elsewhere, or never taken) leaves the ledger all the same."""
        from mysafe_tui.remote import a2a

        ledger = await self.ledger()
        held = ledger.get(ref)
        cid = (held or {}).get("id") or await self._id_of(ref)
        try:
            await self.call(lambda client: a2a.release(client, cid))
        except RemoteRejected as exc:
            if exc.code not in (NOT_FOUND, NOT_IN_CUSTODY):  # else: nothing to give back
                raise
        await self._forget(ref, cid)
        return cid

    async def release_held(self, wanted: Callable[[str], bool]) -> list[str]:
        """Release what the ledger holds for the holders `wanted` picks; what could not be
        released, with why."""
        failed = []
        for ref, held in (await self.ledger()).items():
            if not wanted(held.get("holder", "cli")):
                continue
            try:
                await self.release(ref)
            except Exception as exc:  # noqa: BLE001 - each one on its own; said by the caller
                failed.append(f"{ref} ({exc})")
        return failed

    async def release_all(self) -> list[str]:
        return await self.release_held(lambda holder: True)

    async def ledger(self) -> dict[str, dict[str, str]]:
        """Credentials taken into custody and not released yet: reference -> {"id" ("" while
        the reveal's answer is not recorded), "holder"}."""
        found = await self.worker.read_meta("custody")
        try:
            ledger = json.loads((found or {}).get("refs", "{}"))
        except ValueError:
            return {}
        if not isinstance(ledger, dict):
            return {}
        return {
            str(k): {"id": str(v.get("id", "")), "holder": str(v.get("holder", "cli"))}
            for k, v in ledger.items()
            if isinstance(v, dict)
        }

    async def _hold(self, ref: str, cid: str, holder: str) -> None:
        ledger = await self.ledger()
        ledger[ref] = {"id": cid, "holder": holder}
        await self._write(ledger)

    async def _forget(self, ref: str, cid: str = "") -> None:
        ledger = await self.ledger()
        for key in [k for k, v in ledger.items() if k == ref or (cid and cid in (k, v["id"]))]:
            ledger.pop(key)
        await self._write(ledger)

    async def _write(self, ledger: dict[str, dict[str, str]]) -> None:
        await self.worker.write_meta("custody", {"refs": json.dumps(ledger)})

    async def _id_of(self, ref: str) -> str:
        """A credential's id from its identifier or user@host (the list has them)."""
        for credential in await self.credentials():
            if ref in (credential.id, credential.identifier, credential.account):
                return credential.id
        return ref

    # --- DSM ----------------------------------------------------------------------------------

    async def application(self) -> DsmApplication:
        from mysafe_tui.remote import a2a

        return await self.call(a2a.application)

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.aclose()
