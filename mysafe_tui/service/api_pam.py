"""The service's calls for senhasegura's A2A API (service/pam.py): the authorization, PAM
credentials under custody, DSM application secrets."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from mysafe_tui.service.parts import ServiceParts

if TYPE_CHECKING:
    from mysafe_tui.core.pam import DsmApplication, PamCredential, PamKey, PamSecret


class PamApi(ServiceParts):
    """VaultService's A2A methods."""

    async def a2a_login(
        self,
        url: str,
        client_id: str,
        client_secret: str,
        *,
        prefix: str = "/iso",
        ca_bundle: str | None = None,
        insecure: bool = False,
        tenant: str | None = None,
        proxy: str | None = None,
        timeout: float | None = None,
    ) -> None:
        """Keep an A2A authorization (PAM and DSM) in this vault, once the server issues it a
        token. The same options as the MySafe login."""
        from mysafe_tui.remote.session import new_binding

        self._worker.require_unlocked()
        binding = new_binding(
            url, client_id, client_secret, prefix, ca_bundle, insecure, tenant, proxy, timeout
        )
        await self._pam.login(binding)

    async def a2a_logout(self) -> None:
        """Release what is in custody and forget the A2A authorization."""
        await self._pam.logout()

    def a2a_binding(self) -> dict[str, str] | None:
        """The A2A authorization's URL and client id (never its secret), or None."""
        binding = self._pam.binding
        if binding is None:
            return None
        return {k: binding.get(k, "") for k in ("url", "client_id", "prefix", "tenant")}

    async def pam_credentials(self, query: str = "") -> list[PamCredential]:
        found = await self._pam.credentials()
        return [c for c in found if c.matches(query)] if query.strip() else found

    async def pam_reveal(self, ref: str, ui: bool = False) -> PamSecret:
        """A PAM credential's password: this takes its custody in senhasegura (the CLI's
        until 'mysafe pam release'; the UI's until it closes or locks)."""
        return await self._pam.reveal(ref, f"ui:{os.getpid()}" if ui else "cli")

    async def pam_ssh_key(self, key_id: str, holder: str = "cli") -> PamKey:
        """A PAM SSH key (its custody taken for `holder`: the unlock agent lends it to the
        SSH agent, agent/pam_keys.py)."""
        return await self._pam.ssh_key(key_id, holder)

    async def pam_release(self, ref: str) -> str:
        return await self._pam.release(ref)

    async def pam_release_all(self) -> list[str]:
        """Release every custody this vault took; what could not be released."""
        return await self._pam.release_all()

    async def pam_release_mine(self) -> list[str]:
        """The UI leaving (close, lock, quit) or starting: what it took goes back, and what a
        UI or an unlock agent that crashed left (its process gone)."""
        me = f"ui:{os.getpid()}"

        def gone_or_mine(holder: str) -> bool:
            if holder == me:
                return True
            kind, _, pid = holder.partition(":")
            if kind not in ("ui", "agent") or not pid.isdigit():
                return False  # the CLI's: until 'mysafe pam release'
            return not os.path.exists(f"/proc/{pid}")

        return await self._pam.release_held(gone_or_mine)

    async def pam_in_custody(self) -> dict[str, dict[str, str]]:
        """What this vault holds in custody: reference -> {"id", "holder"}."""
        return await self._pam.ledger()

    async def dsm_application(self) -> DsmApplication:
        return await self._pam.application()
