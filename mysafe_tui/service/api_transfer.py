"""The service's ways in and out, its public calls: backup and restore, export, import (read,
then write), the health check. The work is done in transfer.py and health.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mysafe_tui.service.files import Progress
from mysafe_tui.service.parts import ServiceParts

if TYPE_CHECKING:  # imported lazily below: cryptography and sqlite3 cost ~80 ms at launch
    from mysafe_tui.core.health import Report as HealthReport
    from mysafe_tui.transfer.export import Exported
    from mysafe_tui.transfer.importing import Candidate
    from mysafe_tui.transfer.importing import Report as ImportReport


class TransferApi(ServiceParts):
    """VaultService's backup, export, import and health methods."""

    # --- ways in and out (service/transfer.py) -------------------------------------------

    async def backup(self, target: Path, *, overwrite: bool = False) -> int:
        """A consistent encrypted copy of the vault file at `target` (0600); its size."""
        return await self._transfers.backup(target, overwrite=overwrite)

    async def restore_backup(self, source: Path, passphrase: str) -> tuple[int, Path | None]:
        """Bring a backup back as this profile's vault, checked whole first; the items it
        holds and where the replaced vault went."""
        return await self._transfers.restore_backup(source, passphrase)

    async def export(
        self, format: str, target: Path, *, password: str | None = None, overwrite: bool = False
    ) -> Exported:
        """Every item, with its secrets, for another tool at `target` (0600)."""
        return await self._transfers.export(format, target, password=password, overwrite=overwrite)

    async def read_import(
        self,
        format: str,
        path: Path,
        *,
        password: str | None = None,
        key_file: Path | None = None,
        columns: list[str] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> tuple[list[Candidate], ImportReport]:
        """Another manager's export, read without writing anything."""
        return await self._transfers.read_import(
            format,
            path,
            password=password,
            key_file=key_file,
            columns=columns,
            progress=progress,
        )

    async def import_items(
        self,
        found: list[Candidate],
        report: ImportReport,
        *,
        on_duplicate: str = "rename",
        tag: str = "",
        dry_run: bool = False,
    ) -> ImportReport:
        """Write what `read_import` found, in one transaction (all or nothing)."""
        return await self._transfers.import_items(
            found, report, on_duplicate=on_duplicate, tag=tag, dry_run=dry_run
        )

    async def health(
        self,
        *,
        breach_data: Path | None = None,
        online: bool | None = None,
        max_age_days: int | None = None,
        progress: Progress | None = None,
    ) -> HealthReport:
        """Weak, reused, old, breached and insecure secrets (service/health.py): breaches from
        `breach_data` (else the setting), online only with `online` (else the setting);
        `progress` hears (rated, to rate) while passwords not rated before are."""
        return await self._health.run(
            breach_data=breach_data, online=online, max_age_days=max_age_days, progress=progress
        )

    async def _login_proxy(self) -> str:
        binding = await self._worker.read_meta("remote")
        return (binding or {}).get("proxy", "")
