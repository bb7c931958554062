"""VaultService: the one async API that the TUI and the CLI call (DESIGN.md §2).

Composed of parts, each in a file named by its job: the unlocked vault with its worker thread
and search index (store.py, index.py), what an item may hold (values.py), the vault's server
(connection.py: `NoServer` for a local vault), share links (links.py), import, export, backup
and restore (transfer.py), the clipboard (copying.py) and the health check (health.py).
Network code lives in `remote/`, imported lazily so `mysafe --version` and the UI's first
paint never load httpx.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mysafe_tui.core import extras
from mysafe_tui.core.errors import (
    EncryptedSecrets,
    InvalidInput,
    MySafeError,
    WeakPassphrase,
    WrongPassphrase,
)
from mysafe_tui.core.extras import Attachment, Extras
from mysafe_tui.core.models import (
    SPECS,
    HistoryEvent,
    ItemKind,
    ItemSummary,
    Secret,
    Strength,
    TotpCode,
    field_label,
)
from mysafe_tui.service import files
from mysafe_tui.service.connection import Connection, NoServer, ServerConnection
from mysafe_tui.service.copying import ClipboardKeeper
from mysafe_tui.service.health import HealthCheck
from mysafe_tui.service.links import ShareLinks
from mysafe_tui.service.store import VaultStore
from mysafe_tui.service.transfer import Transfers
from mysafe_tui.service.values import check_required, split, summary_fields
from mysafe_tui.system.settings import Paths, Settings
from mysafe_tui.vault.search import Hits

if TYPE_CHECKING:  # imported lazily below: cryptography and sqlite3 cost ~80 ms at launch
    import httpx

    from mysafe_tui.core.health import Report as HealthReport
    from mysafe_tui.core.kdf import KdfParams
    from mysafe_tui.core.sharecrypto import SharePayload
    from mysafe_tui.remote.session import RemoteSession
    from mysafe_tui.remote.shares import CreatedShare
    from mysafe_tui.remote.status import RemoteStatus
    from mysafe_tui.remote.sync import PullResult, SyncProgress
    from mysafe_tui.service.early import EarlyKey
    from mysafe_tui.system.clipboard import Clipboard
    from mysafe_tui.transfer.export import Exported
    from mysafe_tui.transfer.importing import Candidate
    from mysafe_tui.transfer.importing import Report as ImportReport

Progress = Callable[[int, int], None]  # (bytes done, bytes total); called from the worker thread

MIN_PASSPHRASE_SCORE = 3  # zxcvbn's 'good': 10^10 guesses and more
_TEXT_TYPES = {"application/json", "application/xml", "application/x-yaml", "application/toml"}


class VaultService:
    """One vault, local or bound to a MySafe server. Construct it, then `await` its methods."""

    def __init__(
        self,
        paths: Paths,
        settings: Settings | None = None,
        *,
        kdf_params: KdfParams | None = None,
        clipboard: Clipboard | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.paths = paths
        self.settings = settings or Settings()
        self._kdf_params = kdf_params  # tests and benchmarks only: explicit KDF parameters
        self._store = VaultStore(paths.vault)
        self._clip = ClipboardKeeper(lambda: self.settings, lambda: self.terminal_write, clipboard)
        self._transport = transport  # tests only: inject faults into the server connection
        # How an escape sequence reaches the terminal the user sees (OSC 52): a full-screen
        # UI sets its own writer; None writes to /dev/tty.
        self.terminal_write: Callable[[str], None] | None = None
        # Told the seconds of a pause the server asked for (Retry-After), before it starts.
        self.on_server_wait: Callable[[float], None] | None = None
        self._server: Connection = NoServer()
        self._links = ShareLinks(self._store, self._bound_session, transport)
        self._health = HealthCheck(self._store, lambda: self.settings, self._login_proxy)
        self._transfers = Transfers(self._store, paths, lambda: self._server.bound)
        # Open a vault older than the newest state seen here as it is (a backup restored on
        # purpose) instead of read-only.
        self.accept_rollback = False

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def vault_path(self) -> Path:
        return self.paths.vault

    def vault_exists(self) -> bool:
        return self.paths.vault.exists()

    @property
    def is_unlocked(self) -> bool:
        return self._store.is_unlocked

    @property
    def generation(self) -> int:
        """+1 per committed write to the vault (by anyone): what a cache of ours checks."""
        return self._store.vault.generation if self.is_unlocked else -1

    @property
    def corrupt_items(self) -> dict[str, str]:
        """Items that could not be decrypted at unlock (id -> reason); the others work."""
        return self._store.vault.corrupt if self.is_unlocked else {}

    @property
    def rollback(self) -> str | None:
        """Why the unlocked vault is read-only: it is older than the newest state seen."""
        return self._store.vault.rollback if self.is_unlocked else None

    def check_new_passphrase(
        self, passphrase: str, confirmation: str, *, allow_weak: bool = False
    ) -> Strength:
        """Refuse a mismatch or a weak passphrase (`WeakPassphrase`, with the estimator's
        warning and suggestion) unless `allow_weak`; return its strength."""
        if passphrase != confirmation:
            raise InvalidInput("the two passphrases differ")
        if not passphrase:
            raise InvalidInput("the passphrase is empty")
        strength = self.estimate_strength(passphrase)
        if not allow_weak and (len(passphrase) < 8 or strength.score < MIN_PASSPHRASE_SCORE):
            advice = strength.advice() or f"Only about {strength.bits:.0f} bits."
            raise WeakPassphrase(f"that passphrase is {strength.label}. {advice}")
        return strength

    async def create(self, passphrase: str, kdf_profile: str | None = None) -> None:
        """Create the vault (KDF in the worker thread) and leave it unlocked."""
        profile = kdf_profile or self.settings.kdf_profile
        await self._store.create(passphrase, profile, self._kdf_params)

    async def prepare(self) -> None:
        """Open and check the vault file before the passphrase comes (an unlock screen calls
        this as it appears): the integrity check reads the whole file, ~80 ms at 100k items,
        and a damaged vault is reported before anyone types. Raises like `unlock`."""
        await self._store.prepare()

    async def unlock(self, passphrase: str) -> None:
        """Open the vault file (unless `prepare` did) and unlock it; raises WrongPassphrase,
        CorruptVault, ..."""
        if self.is_unlocked:
            return
        await self._store.unlock(passphrase, self.paths.seen_dir, self.accept_rollback)
        await self._connect()

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
        binding = await self._store.read_meta("remote")
        return (binding or {}).get("proxy", "")

    async def derive_key(self, passphrase: str) -> bytes:
        """The vault's key-encryption key for `passphrase` (the KDF; WrongPassphrase shows
        at `unlock_with_key`). What the unlock agent keeps: a passphrase change voids it."""
        return await self._store.derive_kek(passphrase)

    async def unlock_with_key(self, kek: bytes) -> None:
        """Unlock with a key from `derive_key` (no KDF); WrongPassphrase if it no longer
        opens the vault."""
        if self.is_unlocked:
            return
        await self._store.unlock(None, self.paths.seen_dir, self.accept_rollback, kek=kek)
        await self._connect()

    async def unlock_early(self, early: EarlyKey) -> None:
        """Unlock with what `service.early` opened and derived while the program loaded."""
        vault, kek = await asyncio.to_thread(early.wait)
        await self._store.keep_opened(vault)
        await self.unlock_with_key(kek)

    async def unlock_from_agent(self, command: str) -> bool:
        """Unlock with the key an unlocked agent (`mysafe unlock`) holds for this vault,
        without a passphrase, for `command` (one of agent_wire.KEY_COMMANDS, "ui" for the
        UI). False when there is no such agent, it keeps its key from that command, or the
        key is stale."""
        from mysafe_tui.agent import wire as agent_wire

        answer = await asyncio.to_thread(
            agent_wire.ask, str(self.vault_path), "key", command=command
        )
        key = answer.get("key") if answer else None
        if not isinstance(key, str):
            return False
        try:
            await self.unlock_with_key(bytes.fromhex(key))
        except (WrongPassphrase, ValueError):
            return False
        return True

    async def key_still_opens(self, kek: bytes) -> bool:
        """For the agent: the vault file is the one unlocked and `kek` still opens it."""
        return self._store.is_current() and await self._store.key_opens(kek)

    async def _connect(self) -> None:
        """After an unlock: the server binding and the share server, as the vault says."""
        binding = await self._store.read_meta("remote")
        if binding is not None:
            self._server = ServerConnection.of(
                binding, self._store, self._transport, self._server_waits
            )
        self._links.load(await self._store.read_meta("share-server"))

    async def lock(self) -> None:
        """Drop keys and every decrypted summary and clear the clipboard at once."""
        await self.clipboard_clear()
        server, self._server = self._server, NoServer()
        await server.aclose()
        await self._links.aclose()
        self._health.forget()
        await self._store.lock()

    async def close(self) -> None:
        """Lock (clearing the clipboard) and stop the worker thread."""
        await self.lock()
        self._store.shutdown()

    async def refresh(self) -> bool:
        """Pick up changes another process (a CLI call, a sync) wrote. True if there were."""
        return await self._store.refresh()

    # --- reading --------------------------------------------------------------------------

    async def search(
        self,
        query: str = "",
        *,
        kind: ItemKind | None = None,
        trash: bool = False,
        favourites_only: bool = False,
    ) -> Hits:
        """Items matching `query` (fuzzy, ranked), from the in-memory index; each summary
        is decoded when it is looked at."""
        self._store.require_unlocked()
        return self._store.index.search(
            query, kind=kind, trash=trash, favourites_only=favourites_only
        )

    async def search_text(
        self, query: str, *, kind: ItemKind | None = None, trash: bool = False
    ) -> Hits:
        """Items whose own text (a note's body, the notes of a login, an API secret or a file)
        holds every word of `query`, case-insensitively. Asked for explicitly: those texts
        are secrets, so they are not in the index; each is decrypted in the worker, looked
        at and dropped, never kept."""
        return await self._store.search_text(query, kind, trash)

    def counts_now(self) -> dict[ItemKind, int]:
        """Active items per kind (for headers and tabs); in memory, no await needed."""
        self._store.require_unlocked()
        return self._store.index.counts()

    async def get(self, item_id: str) -> ItemSummary:
        return self._store.get(item_id)

    async def find(
        self, name: str, kind: ItemKind | None = None, trash: bool | None = False
    ) -> ItemSummary:
        """An item by id, id prefix (6+ characters) or exact name (case-insensitive).

        `trash`: False searches active items, True deactivated ones, None both.
        """
        return self._store.find(name, kind, trash)

    async def reveal(self, item_id: str) -> dict[str, Secret]:
        """Decrypt an item's secret fields. Values stay wrapped in `Secret` until shown."""
        return await self._store.reveal_secrets(item_id)

    async def preview_file(self, item_id: str, limit: int = 4096) -> str | None:
        """The start of a text file item (None for binary content or other kinds)."""
        return await files.preview(self._store, item_id, limit)

    async def totp(self, item_id: str, at: float | None = None) -> TotpCode:
        """The item's current one-time code and seconds left (RFC 6238)."""
        seed = (await self.reveal(item_id)).get("secret_key")
        if not seed:
            raise InvalidInput("this item has no TOTP seed")
        from mysafe_tui.core import totp  # hmac and hashlib: not at start-up

        return totp.totp(totp.parse_seed(seed.reveal()), at)

    # --- writing: the server first (when the item lives there), then the vault ---------------

    async def create_item(self, kind: ItemKind, values: dict[str, Any]) -> ItemSummary:
        """Validate and store a new item of `kind` from field values (MySafe field names)."""
        self._store.require_unlocked()  # before the server is asked
        if kind is ItemKind.FILE:
            raise InvalidInput("files are added with attach_file")
        fields, secret = split(kind, values)
        check_required(kind, fields, secret)
        fields, secret = await self._server.create(kind, fields, secret)
        return await self._store.save_item(kind, fields, secret)

    async def update_item(
        self, item_id: str, values: dict[str, Any], *, force: bool = False
    ) -> ItemSummary:
        """Change some fields (the others stay as they are); version + 1.

        For an item from the server: the server first, then the cache. `RemoteConflict` when
        the server copy changed since the last sync, unless `force` overwrites it.
        """
        item = self._writable(item_id)
        fields, secret = split(item.kind, values)
        merged_fields = {**summary_fields(item), **fields}
        old_secret = await self._store.reveal(item_id)
        merged_secret = {**old_secret, **secret}
        if "password" in secret:  # the one it replaces goes to the item's password history
            merged_secret = extras.with_password_change(
                {**merged_secret, "password": old_secret.get("password", "")},
                secret["password"],
                time.time(),
                self.settings.password_history,
            )
        check_required(item.kind, merged_fields, merged_secret)
        merged_fields, merged_secret = await self._server.update(
            item, merged_fields, merged_secret, force
        )
        return await self._store.save_item(item.kind, merged_fields, merged_secret, item_id)

    # --- what an item holds beyond its kind's fields (core/extras.py) ------------------------

    async def extras(self, item_id: str) -> Extras:
        """Custom fields, more URLs, old passwords and attachments (decrypted; keep them off
        the screen until asked, like any secret)."""
        urls = self._store.get(item_id).urls
        return await self._store.run(self._store.vault.extras, item_id, urls)

    async def set_field(
        self, item_id: str, label: str, value: str, type: str | None = None
    ) -> ItemSummary:
        """Add a custom field, or change the value (and type, if given) of the one so labelled."""
        current = await self.extras(item_id)
        old = current.field(label)
        if old is None:
            fields = [*current.fields, extras.custom_field(label, value, type or "text")]
        else:  # its label's spelling stays
            new = extras.custom_field(old.label, value, type or old.type)
            fields = [new if f is old else f for f in current.fields]
        return await self.update_item(item_id, {extras.CUSTOM: fields})

    async def remove_field(self, item_id: str, label: str) -> ItemSummary:
        current = await self.extras(item_id)
        gone = current.field(label)
        if gone is None:
            raise InvalidInput(f"the item has no field '{label.strip()}'")
        return await self.update_item(
            item_id, {extras.CUSTOM: [f for f in current.fields if f is not gone]}
        )

    async def restore_password(self, item_id: str, index: int) -> ItemSummary:
        """Make an old password (0: the newest old one) the password again; the current one
        goes to the history in its place."""
        history = (await self.extras(item_id)).history
        if not 0 <= index < len(history):
            raise InvalidInput(f"the item has {len(history)} old passwords")
        chosen = history[index]
        others = [h for n, h in enumerate(history) if n != index]  # the current one joins them
        return await self.update_item(item_id, {"password": chosen.value, extras.HISTORY: others})

    async def add_attachment(
        self, item_id: str, path: Path, progress: Progress | None = None
    ) -> Attachment:
        """Keep a file on any item, encrypted like a file item; on this device only."""
        self._writable(item_id)
        return await files.add_attachment(self._store, item_id, Path(path), progress)

    async def save_attachment(
        self,
        item_id: str,
        name: str,
        destination: Path,
        *,
        overwrite: bool = False,
        progress: Progress | None = None,
    ) -> Path:
        found = (await self.extras(item_id)).attachment(name)
        if found is None:
            raise InvalidInput(f"the item has no attachment '{name.strip()}'")
        return await files.save(self._store, item_id, Path(destination), overwrite, progress, found)

    async def remove_attachment(self, item_id: str, name: str) -> None:
        self._writable(item_id)
        found = (await self.extras(item_id)).attachment(name)
        if found is None:
            raise InvalidInput(f"the item has no attachment '{name.strip()}'")
        vault = self._store.vault
        await self._store.run(vault.remove_attachment, item_id, found.id)
        await self._store.index.wrote(vault, [item_id])

    async def deactivate(self, item_id: str) -> ItemSummary:
        """MySafe semantics: move to the trash (restorable), never delete."""
        return await self._set_active(item_id, False)

    async def restore(self, item_id: str) -> ItemSummary:
        return await self._set_active(item_id, True)

    async def _set_active(self, item_id: str, active: bool) -> ItemSummary:
        item = self._writable(item_id)
        flags = await self._server.set_active(item, active)
        return await self._store.set_flags(item_id, active=active, **flags)

    def _writable(self, item_id: str) -> ItemSummary:
        """The item, unless another person shared it with us to view only."""
        item = self._store.get(item_id)
        if item.read_only:
            owner = item.people.owner
            by = f" by {owner}" if owner else ""
            raise InvalidInput(
                f"'{item.name}' was shared with you{by} to view only: its owner can give you "
                "edit rights"
            )
        return item

    async def share_with(
        self,
        item_id: str,
        users: Sequence[str] = (),
        groups: Sequence[str] = (),
        *,
        edit: bool = False,
        remove: bool = False,
    ) -> tuple[ItemSummary, list[str]]:
        """Share an item on its server with MySafe users and groups (view only, or `edit`),
        or stop (`remove`): MySafe's internal sharing. Returns the item as it is now and what
        the server refused ("user zed not found")."""
        from mysafe_tui.core.sanitize import forbidden_char

        item = self._store.get(item_id)
        if item.access:
            raise InvalidInput(
                f"'{item.name}' was shared with you: only its owner decides who else has it"
            )
        who = [("user", name.strip()) for name in users] + [
            ("group", name.strip()) for name in groups
        ]
        for principal, name in who:
            if not name or forbidden_char(name):
                raise InvalidInput(f"not a {principal} name: {name!r}")
        server = self._require_server()
        return await server.reshare(
            item, lambda sharing: sharing.changed(who, edit=edit, remove=remove)
        )

    async def history(self, item_id: str) -> list[HistoryEvent]:
        """The item's access history on its server, newest first. NotSupported from a server
        that keeps none this client can read (a plain senhasegura)."""
        return await self._require_server().history(self._store.get(item_id))

    async def toggle_favourite(self, item_id: str) -> ItemSummary:
        item = self._store.get(item_id)
        return await self._store.set_flags(item_id, favourite=not item.favourite)

    async def purge(self, item_id: str) -> None:
        """Delete an item (and its file content) for good. Works on damaged items too."""
        item = self._store.vault.summaries.get(item_id)
        if item is not None:
            self._server.check_purge(item)
        await self._store.purge(item_id)

    async def attach_file(
        self,
        path: Path,
        *,
        name: str | None = None,
        tags: str | list[str] = "",
        notes: str = "",
        progress: Progress | None = None,
    ) -> ItemSummary:
        """Encrypt a file from disk into the vault, streamed in 64 KiB chunks (the server
        first, when the vault has one that keeps files)."""
        return await files.attach(
            self._store, self._server, Path(path), name, tags, notes, progress
        )

    async def save_file(
        self,
        item_id: str,
        destination: Path,
        *,
        overwrite: bool = False,
        progress: Progress | None = None,
    ) -> Path:
        """Decrypt a file item to `destination` (a directory means: under its file name).

        Written to a temporary file and renamed, 0600: a failure leaves nothing behind."""
        return await files.save(self._store, item_id, Path(destination), overwrite, progress)

    async def change_passphrase(self, old: str, new: str, kdf_profile: str | None = None) -> None:
        """Re-wrap the vault key only (O(1) bytes written)."""
        vault = self._store.vault
        await self._store.run(vault.change_passphrase, old, new, kdf_profile)

    async def rotate_key(self, passphrase: str, progress: Progress | None = None) -> int:
        """A new vault key and new item keys, every record re-encrypted in one transaction
        (`Vault.rotate_key`); `progress(done, total)`. Returns the number of records."""
        vault = self._store.vault
        total = vault.row_count
        report = (lambda done: progress(done, total)) if progress else None
        return await self._store.run(vault.rotate_key, passphrase, report)

    # --- clipboard ------------------------------------------------------------------------

    @property
    def idle_lock_seconds(self) -> int:
        """How long the UI may sit idle before it locks: shorter over SSH (settings)."""
        over_ssh = bool(os.environ.get("SSH_CONNECTION") or os.environ.get("SSH_TTY"))
        minutes = self.settings.ssh_autolock_minutes if over_ssh else self.settings.autolock_minutes
        return minutes * 60

    @property
    def clipboard_seconds_left(self) -> int | None:
        """Seconds until the clipboard is cleared, None when nothing is pending."""
        return self._clip.seconds_left

    async def field_value(self, item_id: str, field: str) -> tuple[str, str]:
        """One field's value and label: a secret (decrypted), a summary field, `id`, or
        `totp` (the current code). Copying, `mysafe get` and references all read fields here."""
        item = self._store.get(item_id)
        spec = SPECS[item.kind]
        if field == "totp":
            return (await self.totp(item_id)).code, "One-time code"
        if field in spec.secret:
            return (await self.reveal(item_id))[field].reveal(), field_label(field)
        if field in spec.summary or field == "id":
            return item.field(field), field_label(field)
        custom = await self.extras(item_id)
        found = custom.field(field)
        if found is not None:  # a custom field, by its label
            return found.value, found.label
        known = ", ".join(
            ("id", *spec.summary, *spec.secret, "totp", *(f.label for f in custom.fields))
        )
        raise InvalidInput(f"{item.kind.noun} has no field '{field}' ({known})")

    async def copy_field(self, item_id: str, field: str) -> str:
        """Copy one field (see `field_value`) and arm the clear timer. Returns the sentence
        to show the user; the value itself never leaves the service."""
        value, label = await self.field_value(item_id, field)
        if not value:
            name = self._store.get(item_id).name
            raise InvalidInput(f"'{name}' has no {field.replace('_', ' ')}")
        return await self._clip.copy(value, label)

    async def copy_env_lines(self, item_id: str) -> str:
        """Copy an API secret as `export NAME_CLIENT_ID=...` lines for a shell."""
        item = self._store.get(item_id)
        if item.kind is not ItemKind.API_SECRET:
            raise InvalidInput("only API secrets can be copied as environment lines")
        secrets = await self.reveal(item_id)
        prefix = "".join(c if c.isalnum() else "_" for c in item.name.upper()).strip("_") or "API"
        lines = [
            f"export {prefix}_URL={shlex.quote(item.url)}",
            f"export {prefix}_CLIENT_ID={shlex.quote(secrets['client_id'].reveal())}",
            f"export {prefix}_CLIENT_SECRET={shlex.quote(secrets['client_secret'].reveal())}",
        ]
        text = "\n".join(lines) + "\n"
        return await self._clip.copy(text, "Environment lines")

    def hand_over_clipboard(self) -> dict[str, object] | None:
        """The pending copy, for a clearer in another process (`mysafe copy` exits before
        the clear time): never the copied text, only its digest. This service will not
        clear it any more."""
        return self._clip.hand_over()

    async def clipboard_tick(self) -> str | None:
        """Call about once a second: clears the clipboard when its time is up, and says what
        was cleared (None when nothing was due)."""
        return await self._clip.tick()

    async def clipboard_clear(self) -> str | None:
        return await self._clip.clear()

    async def save_settings(self, settings: Settings) -> None:
        """Validate, persist (atomically) and apply new settings."""
        settings.validate().save(self.paths.settings)
        await self._clip.reset()
        self.settings = settings

    # --- generation (pure, no vault needed) ------------------------------------------------

    # (generator.py loads `secrets` and its word list: imported when first used, not at start)

    @staticmethod
    def generate_password(*args: Any, **kwargs: Any) -> str:
        """See core.generator.generate_password."""
        from mysafe_tui.core.generator import generate_password

        return generate_password(*args, **kwargs)

    @staticmethod
    def generate_passphrase(*args: Any, **kwargs: Any) -> str:
        """See core.generator.generate_passphrase."""
        from mysafe_tui.core.generator import generate_passphrase

        return generate_passphrase(*args, **kwargs)

    @staticmethod
    def estimate_strength(passphrase: str) -> Strength:
        from mysafe_tui.core.generator import estimate_strength

        return estimate_strength(passphrase)

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

        self._store.require_unlocked()
        if isinstance(self._server, ServerConnection):
            raise InvalidInput(
                f"this vault is already logged in to {self._server.url}; log out first"
            )
        binding = new_binding(
            url, client_id, client_secret, prefix, ca_bundle, insecure, tenant, proxy, timeout
        )
        server = await ServerConnection.login(
            binding, self._store, self._transport, self._server_waits
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
        """Pull the server's items into the encrypted cache (incremental after the first)."""
        return await self._require_server().pull(progress, probe=True)

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
        item = self._store.get(item_id)
        fields, secret = split(item.kind, values)
        mine = {**summary_fields(item), **await self._store.reveal(item_id), **fields, **secret}
        theirs = await server.take_theirs(item)
        if choice == "both":
            keep = {f.name for f in SPECS[item.kind].typed}
            copy = {k: v for k, v in mine.items() if k in keep and v not in ("", ())}
            copy["name"] = f"{item.name} (my copy)"
            await self.create_item(item.kind, copy)
        return theirs

    async def push(self, item_id: str) -> ItemSummary:
        """Upload an item made before login ("local only") to the server: created there,
        then synced like every other item of the server."""
        return await self._require_server().push(self._store.get(item_id))

    async def kept_here(self) -> list[tuple[ItemSummary, list[str]]]:
        """Items on the server with things its copy cannot hold (attachments; on a plain
        senhasegura also custom fields, more URLs, old passwords), and what they are. Reads
        every item's secret part: `mysafe status` asks, the UI does not."""
        if not isinstance(self._server, ServerConnection):
            return []
        vault, keeps = self._store.vault, self.server_keeps_extras()

        def work() -> list[tuple[ItemSummary, list[str]]]:
            on_server = (i for i in vault.summaries.values() if i.remote and i.active)
            held = ((i, vault.extras(i.id, i.urls).kept_locally(keeps)) for i in on_server)
            return [(item, what) for item, what in held if what]

        return await self._store.run(work)

    def local_only(self) -> list[ItemSummary]:
        """Active items of a bound vault that live here only (made before login)."""
        vault = self._store.vault
        if not isinstance(self._server, ServerConnection):
            return []
        return [s for s in vault.summaries.values() if not s.remote and s.active]

    def _server_waits(self, seconds: float) -> None:
        if self.on_server_wait is not None:  # whoever shows it now (the UI, the CLI)
            self.on_server_wait(seconds)

    def _require_server(self) -> ServerConnection:
        if not isinstance(self._server, ServerConnection):
            raise InvalidInput("this vault is not logged in to a server; use 'mysafe login URL'")
        return self._server

    def _bound_session(self) -> RemoteSession | None:
        return self._server.session if isinstance(self._server, ServerConnection) else None

    # --- share links (DESIGN.md §5; links.py) -------------------------------------------------

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
        session = self._links.session(required=False)
        return session.binding["url"] if session is not None else None

    async def set_share_server(self, url: str, client_id: str, client_secret: str) -> None:
        """Name a server that hosts this vault's links (its access key stays in the vault)."""
        await self._links.set_server(url, client_id, client_secret)

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
        return await self._links.share(item_id, fields, expires_in, views, password, label)

    async def list_shares(self) -> list[dict[str, Any]]:
        """Every outgoing link as the server counts it, with the item and label kept here."""
        return await self._links.list()

    async def share_link(self, share_hash: str) -> str:
        """The full link (with its key) of a share made from this vault."""
        return await self._links.link(share_hash)

    async def copy_share_link(self, share_hash: str) -> str:
        link = await self._links.link(share_hash)
        return await self._clip.copy(link, "Share link")

    async def revoke_share(self, share_hash: str) -> None:
        """Kill a link at once: the server deletes its ciphertext."""
        await self._links.revoke(share_hash)

    @staticmethod
    async def open_share(
        url: str,
        ask_password: Callable[[], Awaitable[str]],
        before_reveal: Callable[[dict[str, Any]], None] | None = None,
    ) -> SharePayload:
        """The recipient's side: needs no vault. Spends one view, after `before_reveal` (given
        the link's public status: kind, size) had its chance to refuse."""
        from mysafe_tui.remote.shares import open_link

        return await open_link(url, ask_password, before_reveal=before_reveal)
