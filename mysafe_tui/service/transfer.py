"""Import, export, backup and restore: the vault's ways in and out, for the façade
(vault_service.py). Other managers' formats are read and written in core (importing.py,
exporting.py); this part finds what is already here (duplicates.py), writes in one
transaction, keeps the import report beside the vault, and checks a backup whole before it
replaces anything."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mysafe_tui.core.errors import InvalidInput, MySafeError
from mysafe_tui.core.models import ItemKind
from mysafe_tui.service.duplicates import Duplicates
from mysafe_tui.service.files import media_type as files_media_type
from mysafe_tui.service.values import check_required, split, summary_fields
from mysafe_tui.service.worker import VaultWorker
from mysafe_tui.system.disk import write_atomic, write_new
from mysafe_tui.system.settings import Paths

if TYPE_CHECKING:
    from mysafe_tui.transfer.export import Exported
    from mysafe_tui.transfer.importing import Candidate
    from mysafe_tui.transfer.importing import Report as ImportReport
    from mysafe_tui.vault.vault import Vault


class Transfers:
    """The vault's ways in and out. `bound` says whether the vault is on a server."""

    def __init__(self, worker: VaultWorker, paths: Paths, bound: Callable[[], bool]) -> None:
        self._worker = worker
        self._paths = paths
        self._bound = bound

    async def backup(self, target: Path, *, overwrite: bool = False) -> int:
        """A consistent encrypted copy of the vault file at `target` (0600; correct while
        other processes write; no passphrase needed: it stays encrypted). Its size."""
        from mysafe_tui.vault.storage import copy_database

        return await asyncio.to_thread(
            copy_database, self._paths.vault, target, overwrite=overwrite
        )

    async def restore_backup(self, source: Path, passphrase: str) -> tuple[int, Path | None]:
        """Bring a backup back as this profile's vault. Checked first (it must open, whole,
        with `passphrase`): nothing changes otherwise. The vault it replaces is moved aside,
        never deleted; the restored state is remembered as trusted (it is older on purpose:
        no rollback warning). Returns the items it holds and where the old vault went."""
        if self._worker.is_unlocked:
            raise InvalidInput("lock the vault before restoring a backup over it")
        return await asyncio.to_thread(
            _restore, source, self._paths.vault, self._paths.seen_dir, passphrase
        )

    async def export(
        self, format: str, target: Path, *, password: str | None = None, overwrite: bool = False
    ) -> Exported:
        """Write every item (with its secrets) for another tool at `target`, 0600, never over
        a file unless `overwrite`. What the format cannot carry is in `not_carried`."""
        from mysafe_tui.transfer import export as exporting

        items = [
            item
            for hits in (self._worker.index.search(""), self._worker.index.search("", trash=True))
            for item in hits
        ]
        vault = self._worker.vault

        def gather() -> list[exporting.Entry]:  # secrets, custom fields, old passwords, files
            def content(item_id: str, attachment_id: str) -> bytes:  # only KeePass takes it
                if format != "keepass":
                    return b""
                return b"".join(vault.read_attachment(item_id, attachment_id))

            return [
                (
                    item,
                    vault.reveal(item.id),
                    [(a.name, content(item.id, a.id)) for a in vault.attachments(item.id)],
                )
                for item in items
            ]

        entries = await self._worker.run(gather)
        done = await asyncio.to_thread(exporting.export, format, entries, password)
        await asyncio.to_thread(write_atomic, target, done.data, 0o600, overwrite)
        return done

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
        """Read another manager's export (a file; for `pass` a folder) without writing
        anything: what `import_items` then writes, and the report so far."""
        from mysafe_tui.transfer import importing

        def work() -> tuple[list[Candidate], ImportReport]:
            if format == "pass":
                return importing.read_pass_store(path, progress)
            try:
                if path.stat().st_size > importing.MAX_BYTES:
                    raise InvalidInput(f"{path} is larger than {importing.MAX_BYTES >> 20} MiB")
                data = path.read_bytes()
                key = key_file.read_bytes() if key_file else None
            except OSError as exc:
                raise InvalidInput(f"cannot read {exc.filename}: {exc.strerror}") from None
            return importing.read(format, data, columns, password, key)

        return await asyncio.to_thread(work)

    async def import_items(
        self,
        found: list[Candidate],
        report: ImportReport,
        *,
        on_duplicate: str = "rename",
        tag: str = "",
        dry_run: bool = False,
    ) -> ImportReport:
        """Write what `read_import` found, in one transaction: all or nothing (an item the
        vault refuses stops it, saying which; a dry run only reports). What the vault already
        holds is found by content, never by name alone (service/duplicates.py). The report
        is saved beside the vault (no secrets)."""
        seen = Duplicates(self._worker.index.search(""), self._worker.reveal, on_duplicate)
        saves: list[tuple[ItemKind, dict[str, Any], dict[str, str], str | None]] = []
        files: dict[int, list[tuple[str, str, bytes]]] = {}
        for candidate in found:
            values = dict(candidate.values)
            if tag:
                values["tags"] = ",".join(filter(None, [str(values.get("tags") or ""), tag]))
            try:
                fields, secret = split(candidate.kind, values)
                check_required(candidate.kind, fields, secret)
            except InvalidInput as exc:
                report.refused.append(f"{candidate.name}: {exc}")
                continue
            decision = await seen.decide(candidate.kind, fields, secret)
            if decision.why:
                report.duplicates.append((candidate.name, decision.why))
            if decision.skip:
                report.skipped_count += 1
                continue
            same = decision.update
            if same is not None and same.remote:
                report.refused.append(
                    f"{candidate.name}: its copy in the vault is on the server; edit it there"
                )
                continue
            if candidate.attachments:
                files[len(saves)] = [
                    (name, files_media_type(name), data) for name, data in candidate.attachments
                ]
            if same is not None:
                old = await self._worker.reveal(same.id)
                saves.append(
                    (candidate.kind, {**summary_fields(same), **fields}, {**old, **secret}, same.id)
                )
                report.updated += 1
                continue
            if decision.name:
                fields["name"] = decision.name
            saves.append((candidate.kind, fields, secret, None))
            report.written += 1
        report.counted = True
        if report.refused and not dry_run:  # all or nothing: the report says what to fix
            first = report.refused[0]
            raise InvalidInput(
                f"{len(report.refused)} item(s) cannot be imported ({first}); nothing was "
                "written: --dry-run lists them all"
            )
        if self._bound() and report.written:
            report.warnings.append(
                "the new items are on this device only: 'mysafe push --all-local' uploads them"
            )
        if not dry_run:
            if saves:
                await self._worker.save_batch(saves, attachments=files)
            await asyncio.to_thread(self._keep_report, report)
        return report

    def _keep_report(self, report: ImportReport) -> None:

        name = f"{self._paths.vault.name}.import-{time.strftime('%Y%m%d-%H%M%S')}.txt"
        text = "\n".join(report.lines()) + "\n"
        write_new(self._paths.vault.parent, name, text.encode())  # never over an older one


def _restore(source: Path, vault: Path, seen_dir: Path, passphrase: str) -> tuple[int, Path | None]:

    from mysafe_tui.vault import summary_cache
    from mysafe_tui.vault.storage import copy_database
    from mysafe_tui.vault.vault import Vault

    if source.resolve() == vault.resolve():
        raise InvalidInput("that is the vault itself, not a backup of it")
    backup = Vault.open(source)  # whole, a mysafe vault
    try:
        kek = backup.derive_kek(passphrase)
        backup.unlock(None, kek=kek)  # WrongPassphrase here: nothing changed
        count = _verify_every_record(backup)
    finally:
        backup.close()
    kept = None
    if vault.exists():
        kept = vault.with_name(f"{vault.name}.before-restore-{time.strftime('%Y%m%d-%H%M%S')}")
        for suffix in ("", "-wal", "-shm"):  # moved, not copied: a damaged vault moves too
            if os.path.lexists(f"{vault}{suffix}"):
                os.replace(f"{vault}{suffix}", f"{kept}{suffix}")
    copy_database(source, vault)
    with contextlib.suppress(OSError):
        summary_cache.path_for(vault).unlink()
    restored = Vault.open(vault)
    try:  # the restored state becomes the newest this machine trusts
        restored.unlock(None, kek=kek, seen_dir=seen_dir, accept_rollback=True)
    finally:
        restored.close()
    return count, kept


def _verify_every_record(vault: Vault) -> int:
    """Every item of an unlocked vault decrypts and authenticates, its secrets, its file and
    each attachment chunk by chunk: the number of items, or InvalidInput naming what is
    damaged (nothing is replaced by a backup that fails here)."""
    damaged = [f"{item_id} ({why})" for item_id, why in vault.corrupt.items()]
    summaries = dict(vault.summaries)
    for item_id, item in summaries.items():
        try:
            vault.reveal(item_id)
            chunks = [vault.read_file(item_id)] if item.kind is ItemKind.FILE else []
            chunks += [vault.read_attachment(item_id, a.id) for a in vault.attachments(item_id)]
            for stream in chunks:
                for _ in stream:
                    pass
        except (MySafeError, ValueError) as exc:
            damaged.append(f"'{item.name}' ({exc})")
    if damaged:
        more = f" and {len(damaged) - 3} more" if len(damaged) > 3 else ""
        raise InvalidInput(
            f"that backup is damaged: {', '.join(damaged[:3])}{more}; nothing was restored"
        )
    return len(summaries)
