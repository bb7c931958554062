"""The local half of VaultService: the vault, its items, files, clipboard and passphrase.

`server.py` adds what a MySafe server brings (sync, share links) on top. Every vault operation
runs on one dedicated worker thread: SQLite, the KDF and file encryption never block an event
loop, and the vault (which is not thread-safe) only ever sees one thread. Searching reads the
in-memory index and needs no thread.
"""

from __future__ import annotations

import asyncio
import gc
import mimetypes
import os
import shlex
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..core import generator, totp
from ..core.clipboard import Clipboard, choose_backend
from ..core.errors import (
    AmbiguousName,
    InvalidInput,
    ItemNotFound,
    MySafeError,
    StorageError,
    VaultLocked,
    VaultNotFound,
    WeakPassphrase,
    WrongPassphrase,
)
from ..core.fsutil import write_chunks_atomic
from ..core.models import (
    FIELDS,
    SPECS,
    ItemKind,
    ItemSummary,
    Secret,
    Strength,
    TotpCode,
    field_label,
    parse_tags,
)
from ..core.sanitize import forbidden_char, safe_filename
from ..core.search import Hits, SearchIndex
from ..core.settings import Paths, Settings

if TYPE_CHECKING:  # imported lazily below: cryptography and sqlite3 cost ~80 ms at launch
    import httpx

    from ..core.kdf import KdfParams
    from ..core.vault import Vault
    from ..remote.session import RemoteSession

T = TypeVar("T")
Progress = Callable[[int, int], None]  # (bytes done, bytes total); called from the worker thread

MIN_PASSPHRASE_SCORE = 3  # zxcvbn's 'good': 10^10 guesses and more
_FOLLOW_LIMIT = 64  # changed items past which the search index is rebuilt, not patched
_TEXT_TYPES = {"application/json", "application/xml", "application/x-yaml", "application/toml"}


class LocalService:
    """Create, unlock and use one local vault (see `VaultService` for the whole API)."""

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
        self._vault: Vault | None = None
        self._opened: Vault | None = None  # opened by `prepare`, not unlocked yet
        self._index = SearchIndex()
        self._index_generation = -1
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mysafe-vault")
        self._clipboard = clipboard  # built from settings on first use unless given
        self._transport = transport  # tests only: inject faults into the server connection
        self._remote: RemoteSession | None = None
        self._share_server: RemoteSession | None = None  # a local vault's server for links
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
        return self._vault is not None and self._vault.unlocked

    @property
    def corrupt_items(self) -> dict[str, str]:
        """Items that could not be decrypted at unlock (id -> reason); the others work."""
        return self._vault.corrupt if self._vault else {}

    @property
    def rollback(self) -> str | None:
        """Why the unlocked vault is read-only: it is older than the newest state seen."""
        return self._vault.rollback if self._vault else None

    def check_new_passphrase(
        self, passphrase: str, confirmation: str, *, allow_weak: bool = False
    ) -> Strength:
        """Refuse a mismatch or a weak passphrase (`WeakPassphrase`, with the estimator's
        warning and suggestion) unless `allow_weak`; return its strength."""
        if passphrase != confirmation:
            raise InvalidInput("the two passphrases differ")
        if not passphrase:
            raise InvalidInput("the passphrase is empty")
        strength = generator.estimate_strength(passphrase)
        if not allow_weak and (len(passphrase) < 8 or strength.score < MIN_PASSPHRASE_SCORE):
            advice = strength.advice() or f"Only about {strength.bits:.0f} bits."
            raise WeakPassphrase(f"that passphrase is {strength.label}. {advice}")
        return strength

    async def create(self, passphrase: str, kdf_profile: str | None = None) -> None:
        """Create the vault (KDF in the worker thread) and leave it unlocked."""
        from ..core.vault import Vault

        profile = kdf_profile or self.settings.kdf_profile
        vault = await self._run(
            partial(
                Vault.create, self.paths.vault, passphrase, profile=profile, params=self._kdf_params
            )
        )
        await self._attach(vault)

    async def _load_binding(self) -> None:
        vault = self._require()
        self._remote = self._session(await self._run(vault.read_meta, "remote"))
        self._share_server = self._session(await self._run(vault.read_meta, "share-server"))

    def _session(self, binding: dict[str, str] | None) -> RemoteSession | None:
        if binding is None:
            return None
        from ..remote.session import RemoteSession  # httpx: ~100 ms, only for a bound vault

        return RemoteSession(self._require(), self._run, binding, self._transport)

    async def prepare(self) -> None:
        """Open and check the vault file before the passphrase comes (an unlock screen calls
        this as it appears): the integrity check reads the whole file, ~80 ms at 100k items,
        and a damaged vault is reported before anyone types. Raises like `unlock`."""
        if self._opened is None and self._vault is None:
            from ..core.vault import Vault

            await self._keep_opened(await self._run(Vault.open, self.paths.vault))

    async def _keep_opened(self, vault: Vault) -> None:
        """Hold a checked, still locked vault for the next unlock; close a spare one (a
        check that finished after an unlock had begun)."""
        if self._opened is None and self._vault is None:
            self._opened = vault
        else:
            await self._run(vault.close)

    async def unlock(self, passphrase: str) -> None:
        """Open the vault file (unless `prepare` did) and unlock it; raises WrongPassphrase,
        CorruptVault, ..."""
        if self.is_unlocked:
            return
        from ..core.vault import Vault

        opened, self._opened = self._opened, None
        used: list[Vault] = []

        def work() -> Vault:
            vault = opened if opened is not None and opened.is_current() else None
            if vault is None:
                if opened is not None:
                    opened.close()
                vault = Vault.open(self.paths.vault)
            used.append(vault)
            try:
                vault.unlock(
                    passphrase,
                    seen_dir=self.paths.seen_dir,
                    accept_rollback=self.accept_rollback,
                )
            except WrongPassphrase:
                raise  # the file stays open for a retry (below)
            except BaseException:
                vault.close()
                raise
            return vault

        try:
            vault = await self._run(work)
        except WrongPassphrase:
            await self._keep_opened(used[0])  # checked and still good: a retry starts at the KDF
            raise
        await self._attach(vault)
        await self._load_binding()

    async def lock(self) -> None:
        """Drop keys and every decrypted summary and clear the clipboard at once."""
        self.clipboard_clear()
        vault, self._vault = self._vault, None
        index = self._index
        for remote in (self._remote, self._share_server):
            if remote is not None:
                await remote.aclose()
        self._remote = self._share_server = None
        self._index = SearchIndex()
        opened, self._opened = self._opened, None

        def save_cache(vault: Vault) -> None:  # so that the next unlock is quicker
            if vault.cache_stale:
                vault.save_cache(index.records, index.state())

        try:
            if vault is not None:
                await self._run(save_cache, vault)
        finally:
            for handle in (vault, opened):
                if handle is not None:
                    await self._run(handle.close)
            gc.unfreeze()

    async def close(self) -> None:
        """Lock (clearing the clipboard) and stop the worker thread."""
        await self.lock()
        self._executor.shutdown(wait=True)

    async def refresh(self) -> bool:
        """Pick up changes another process (a CLI call, a sync) wrote. True if there were."""
        vault = self._require()
        changed = await self._run(vault.refresh)
        # Also when an earlier call was cancelled between the vault's reload and the index's.
        if changed or vault.generation != self._index_generation:
            await self._follow(vault)
            return True
        return False

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
        self._require()
        return self._index.search(query, kind=kind, trash=trash, favourites_only=favourites_only)

    async def search_text(
        self, query: str, *, kind: ItemKind | None = None, trash: bool = False
    ) -> Hits:
        """Items whose own text (a note's body, the notes of a login, an API secret or a file)
        holds every word of `query`, case-insensitively. Asked for explicitly: those texts
        are secrets, so they are not in the index; each is decrypted in the worker, looked
        at and dropped, never kept."""
        vault = self._require()
        words = query.casefold().split()
        if not words:
            return Hits([])

        def work() -> Hits:
            found = []
            for item_id, record in vault.records.items():
                if kind is not None and record.kind is not kind:
                    continue
                summary = record.summary()
                if summary.active == trash:
                    continue
                try:
                    secret = vault.reveal(item_id)
                except MySafeError:
                    continue  # a damaged item is reported elsewhere
                text = "\n".join(secret.get(f, "") for f in ("note", "notes")).casefold()
                if all(word in text for word in words):
                    found.append(record)
            return Hits(found)

        return await self._run(work)

    def counts_now(self) -> dict[ItemKind, int]:
        """Active items per kind (for headers and tabs); in memory, no await needed."""
        self._require()
        return self._index.counts()

    async def get(self, item_id: str) -> ItemSummary:
        vault = self._require()
        item = vault.summaries.get(item_id)
        if item is None:
            raise ItemNotFound(f"no item with id {item_id}")
        return item

    async def find(
        self, name: str, kind: ItemKind | None = None, trash: bool | None = False
    ) -> ItemSummary:
        """An item by id, id prefix (6+ characters) or exact name (case-insensitive).

        `trash`: False searches active items, True deactivated ones, None both.
        """
        records = self._require().records

        def fits(item: ItemSummary) -> bool:
            return (kind is None or item.kind is kind) and (trash is None or item.active != trash)

        record = records.get(name)
        if record is not None and fits(item := record.summary()):
            return item
        named = [s for r in self._index.named(name) if fits(s := r.summary())]
        prefix = name.strip().casefold()
        if not named and len(prefix) >= 6:
            candidates = (r.summary() for r in records.values() if r.id.startswith(prefix))
            named = [s for s in candidates if fits(s)]
        if len(named) == 1:
            return named[0]
        if named:
            raise AmbiguousName(name, [f"{i.name} ({i.kind.label}, id {i.id[:8]})" for i in named])
        where = "in the trash" if trash else "in the vault"
        close = [i.name for i in self._index.search(name, kind=kind, trash=bool(trash))[:3]]
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ItemNotFound(f"no item named '{name}' {where}{hint}")

    async def reveal(self, item_id: str) -> dict[str, Secret]:
        """Decrypt an item's secret fields. Values stay wrapped in `Secret` until shown."""
        vault = self._require()
        data = await self._run(vault.reveal, item_id)
        kind = (await self.get(item_id)).kind
        return {name: Secret(data.get(name, "")) for name in SPECS[kind].secret}

    async def preview_file(self, item_id: str, limit: int = 4096) -> str | None:
        """The start of a text file item (None for binary content or other kinds)."""
        vault = self._require()
        item = await self.get(item_id)
        textual_type = item.media_type.startswith("text/") or item.media_type in _TEXT_TYPES
        if item.kind is not ItemKind.FILE or not textual_type:
            return None

        def work() -> bytes:
            out = b""
            for chunk in vault.read_file(item_id):
                out += chunk
                if len(out) >= limit:
                    break
            return out[:limit]

        text = (await self._run(work)).decode(errors="replace")  # a cut may split a character
        return text + ("\n…" if item.size > limit else "")

    async def totp(self, item_id: str, at: float | None = None) -> TotpCode:
        """The item's current one-time code and seconds left (RFC 6238)."""
        seed = (await self.reveal(item_id)).get("secret_key")
        if not seed:
            raise InvalidInput("this item has no TOTP seed")
        return totp.totp(totp.parse_seed(seed.reveal()), at)

    # --- writing --------------------------------------------------------------------------

    async def create_item(self, kind: ItemKind, values: dict[str, Any]) -> ItemSummary:
        """Validate and store a new item of `kind` from field values (MySafe field names)."""
        vault = self._require()
        if kind is ItemKind.FILE:
            raise InvalidInput("files are added with attach_file")
        fields, secret = _split(kind, values)
        _check_required(kind, fields, secret)
        if self._remote is not None:  # the server first, then the cache
            remote = self._remote
            fields, secret = await remote.guard(remote.engine.create(kind, fields, secret))
        saved = await self._run(vault.save_item, kind, fields, secret)
        return await self._indexed(saved)

    async def update_item(
        self, item_id: str, values: dict[str, Any], *, force: bool = False
    ) -> ItemSummary:
        """Change some fields (the others stay as they are); version + 1.

        For an item from the server: the server first, then the cache. `RemoteConflict` when
        the server copy changed since the last sync, unless `force` overwrites it.
        """
        vault = self._require()
        item = await self.get(item_id)
        old_secret = await self._run(vault.reveal, item_id)
        fields, secret = _split(item.kind, values)
        merged_fields = {**_summary_fields(item), **fields}
        merged_secret = {**old_secret, **secret}
        _check_required(item.kind, merged_fields, merged_secret)
        if self._remote is not None and item.remote:
            remote = self._remote
            merged_fields, merged_secret = await remote.guard(
                remote.engine.update(item, merged_fields, merged_secret, force)
            )
        saved = await self._run(vault.save_item, item.kind, merged_fields, merged_secret, item_id)
        return await self._indexed(saved)

    async def deactivate(self, item_id: str) -> ItemSummary:
        """MySafe semantics: move to the trash (restorable), never delete."""
        return await self._set_active(item_id, False)

    async def restore(self, item_id: str) -> ItemSummary:
        return await self._set_active(item_id, True)

    async def _set_active(self, item_id: str, active: bool) -> ItemSummary:
        item = await self.get(item_id)
        if self._remote is not None and item.remote:
            remote = self._remote
            ref = await remote.guard(remote.engine.set_active(item, active))
            return await self._set_flags(item_id, active=active, remote=ref)
        return await self._set_flags(item_id, active=active)

    async def toggle_favourite(self, item_id: str) -> ItemSummary:
        item = await self.get(item_id)
        return await self._set_flags(item_id, favourite=not item.favourite)

    async def purge(self, item_id: str) -> None:
        """Delete an item (and its file content) for good. Works on damaged items too."""
        vault = self._require()
        item = vault.summaries.get(item_id)
        if item is not None and item.remote and self._remote is not None:
            raise InvalidInput(
                "items on the server cannot be deleted, only deactivated "
                "(MySafe keeps them restorable)"
            )
        await self._run(vault.purge, item_id)
        self._index.remove(item_id)
        await self._sync_index()

    async def attach_file(
        self,
        path: Path,
        *,
        name: str | None = None,
        tags: str | list[str] = "",
        notes: str = "",
        progress: Progress | None = None,
    ) -> ItemSummary:
        """Encrypt a file from disk into the vault, streamed in 64 KiB chunks."""
        vault = self._require()
        path = Path(path).expanduser()
        if not path.is_file():
            raise InvalidInput(f"{path} is not a readable file")
        total = path.stat().st_size
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        fields = {
            "name": _text("name", name or path.name),
            "file_name": path.name,
            "size": total,
            "media_type": media_type,
            "tags": parse_tags(tags),
        }
        report = (lambda done: progress(done, total)) if progress else None
        remote = self._remote
        if remote is not None and "files" in remote.capabilities:  # the server first
            fields["remote"] = await remote.guard(remote.engine.upload(path, fields, notes))

        def work() -> ItemSummary:
            try:
                with open(path, "rb") as handle:
                    return vault.save_file(
                        fields, {"notes": notes}, _read_chunks(handle), progress=report
                    )
            except OSError as exc:
                raise StorageError(f"cannot read {path}: {exc.strerror}") from None

        return await self._indexed(await self._run(work))

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
        vault = self._require()
        item = await self.get(item_id)
        if item.kind is not ItemKind.FILE:
            raise InvalidInput(f"'{item.name}' is {item.kind.noun}, not a file")
        target = Path(destination).expanduser()
        if target.is_dir():  # the file's name was chosen by whoever made it: one safe base name
            target = target / safe_filename(item.file_name or item.name)

        def work() -> Path:
            done = 0

            def chunks() -> Iterator[bytes]:
                nonlocal done
                for chunk in vault.read_file(item_id):
                    done += len(chunk)
                    if progress:
                        progress(done, item.size)
                    yield chunk

            write_chunks_atomic(target, chunks(), overwrite=overwrite)
            return target

        return await self._run(work)

    async def change_passphrase(self, old: str, new: str, kdf_profile: str | None = None) -> None:
        """Re-wrap the vault key only (O(1) bytes written)."""
        vault = self._require()
        await self._run(vault.change_passphrase, old, new, kdf_profile)

    async def rotate_key(self, passphrase: str, progress: Progress | None = None) -> int:
        """A new vault key and new item keys, every record re-encrypted in one transaction
        (`Vault.rotate_key`); `progress(done, total)`. Returns the number of records."""
        vault = self._require()
        total = vault.row_count
        report = (lambda done: progress(done, total)) if progress else None
        return await self._run(vault.rotate_key, passphrase, report)

    # --- clipboard ------------------------------------------------------------------------

    @property
    def clipboard(self) -> Clipboard:
        if self._clipboard is None:
            backend = choose_backend(self.settings.clipboard)
            self._clipboard = Clipboard(backend, self.settings.clear_seconds)
        return self._clipboard

    @property
    def idle_lock_seconds(self) -> int:
        """How long the UI may sit idle before it locks: shorter over SSH (settings)."""
        over_ssh = bool(os.environ.get("SSH_CONNECTION") or os.environ.get("SSH_TTY"))
        minutes = self.settings.ssh_autolock_minutes if over_ssh else self.settings.autolock_minutes
        return minutes * 60

    @property
    def clipboard_seconds_left(self) -> int | None:
        """Seconds until the clipboard is cleared, None when nothing is pending."""
        return self._clipboard.seconds_left if self._clipboard else None

    async def copy_field(self, item_id: str, field: str) -> str:
        """Copy one field (a secret, a summary field, or 'totp') and arm the clear timer.
        Returns the sentence to show the user; the value itself never leaves the service."""
        item = await self.get(item_id)
        if field == "totp":
            value, label = (await self.totp(item_id)).code, "One-time code"
        elif field in SPECS[item.kind].secret:
            value = (await self.reveal(item_id))[field].reveal()
            label = field_label(field)
        elif field in SPECS[item.kind].summary:
            value, label = item.field(field), field_label(field)
        else:
            raise InvalidInput(f"{item.kind.noun} has no field '{field}'")
        if not value:
            raise InvalidInput(f"'{item.name}' has no {field.replace('_', ' ')}")
        return self.clipboard.copy(value, label)

    async def copy_env_lines(self, item_id: str) -> str:
        """Copy an API secret as `export NAME_CLIENT_ID=...` lines for a shell."""
        item = await self.get(item_id)
        if item.kind is not ItemKind.API_SECRET:
            raise InvalidInput("only API secrets can be copied as environment lines")
        secrets = await self.reveal(item_id)
        prefix = "".join(c if c.isalnum() else "_" for c in item.name.upper()).strip("_") or "API"
        lines = [
            f"export {prefix}_URL={shlex.quote(item.url)}",
            f"export {prefix}_CLIENT_ID={shlex.quote(secrets['client_id'].reveal())}",
            f"export {prefix}_CLIENT_SECRET={shlex.quote(secrets['client_secret'].reveal())}",
        ]
        return self.clipboard.copy("\n".join(lines) + "\n", "Environment lines")

    def clipboard_tick(self) -> str | None:
        """Call about once a second: clears the clipboard when its time is up, and says what
        was cleared (None when nothing was due)."""
        return self._clipboard.tick() if self._clipboard else None

    def clipboard_clear(self) -> str | None:
        return self._clipboard.clear_now() if self._clipboard else None

    def save_settings(self, settings: Settings) -> None:
        """Validate, persist (atomically) and apply new settings."""
        settings.validate().save(self.paths.settings)
        self.clipboard_clear()
        self.settings = settings
        self._clipboard = None

    # --- generation (pure, no vault needed) ------------------------------------------------

    generate_password = staticmethod(generator.generate_password)
    generate_passphrase = staticmethod(generator.generate_passphrase)
    estimate_strength = staticmethod(generator.estimate_strength)

    # --- internals ------------------------------------------------------------------------

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(fn, *args))

    def _require(self) -> Vault:
        if self._vault is None or not self._vault.unlocked:
            if not self.vault_exists():
                raise VaultNotFound(
                    f"no vault at {self.paths.vault}; create one with 'mysafe init'"
                )
            raise VaultLocked("the vault is locked")
        return self._vault

    async def _attach(self, vault: Vault) -> None:
        """Make `vault` current, with its search index built in the worker thread (0.3 s at
        100k items, unless the vault's summary cache holds it: not on the event loop)."""

        def build() -> SearchIndex:
            vault.take_changes()  # all of them are in the new index
            return SearchIndex.of(vault.records, vault.take_index_state())

        index = await self._run(build)
        self._vault, self._index, self._index_generation = vault, index, vault.generation
        # 100k summaries live as long as the vault is unlocked and hold no cycles: out of the
        # garbage collector's sight until `lock`, or each full collection walks them again
        # (~150 ms). (Whatever else is alive now is frozen with them: freed by reference
        # counting as usual, but a cycle among it waits for `lock` to be collected.)
        gc.freeze()

    async def _indexed(self, saved: ItemSummary) -> ItemSummary:
        self._index.upsert(self._require().records[saved.id])
        await self._sync_index()
        return saved

    async def _sync_index(self) -> None:
        """One write moves the generation by one; more means another process wrote too."""
        vault = self._require()
        if vault.generation != self._index_generation + 1:
            await self._follow(vault)
        self._index_generation = vault.generation

    async def _follow(self, vault: Vault) -> None:
        """The index after writes by another process that `vault.refresh` picked up: item by
        item when few changed (a CLI call: ms, where rebuilding 100k items takes 0.3 s)."""
        changed = await self._run(vault.take_changes)
        if changed is None or len(changed) > _FOLLOW_LIMIT:
            await self._attach(vault)
            return
        records = vault.records
        for item_id in changed:
            record = records.get(item_id)
            if record is None:
                self._index.remove(item_id)
            else:
                self._index.upsert(record)
        self._index_generation = vault.generation

    async def _set_flags(self, item_id: str, **flags: Any) -> ItemSummary:
        vault = self._require()
        item = await self.get(item_id)
        secret = await self._run(vault.reveal, item_id)
        fields = {**_summary_fields(item), **flags}
        saved = await self._run(vault.save_item, item.kind, fields, secret, item_id)
        return await self._indexed(saved)


def _summary_fields(item: ItemSummary) -> dict[str, Any]:
    keep = ("favourite", "active", "remote", *SPECS[item.kind].summary)
    return {name: getattr(item, name) for name in keep}


def _text(name: str, value: Any) -> str:
    text = str(value).strip()
    limit = FIELDS[name].max_len
    if limit and len(text) > limit:
        raise InvalidInput(f"{name} is longer than {limit} characters")
    bad = forbidden_char(text) if limit else None
    if bad is not None:
        what = "a single line" if bad in ("\\n", "\\r") else f"free of control characters ({bad})"
        raise InvalidInput(f"{name} must be {what}")
    return text


def _split(kind: ItemKind, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Sort user values into summary and secret fields; refuse unknown names."""
    spec = SPECS[kind]
    fields: dict[str, Any] = {}
    secret: dict[str, str] = {}
    for name, value in values.items():
        if name == "tags":
            fields["tags"] = parse_tags(value)
        elif name in ("favourite", "active"):
            fields[name] = bool(value)
        elif name in spec.summary and not FIELDS[name].computed:
            fields[name] = _text(name, value)
        elif name in spec.secret:
            secret[name] = str(value)
        else:
            raise InvalidInput(f"{kind.noun} has no field '{name}'")
    if secret.get("secret_key"):
        totp.parse_seed(secret["secret_key"])  # refuse a bad seed now, not at first use
    return fields, secret


def _check_required(kind: ItemKind, fields: dict[str, Any], secret: dict[str, str]) -> None:
    missing = [name for name in SPECS[kind].required if not (fields.get(name) or secret.get(name))]
    if missing:
        raise InvalidInput(f"{kind.noun} needs {', '.join(missing)}")


def _read_chunks(handle: Any) -> Iterator[bytes]:
    from ..core.crypto import CHUNK_SIZE

    while chunk := handle.read(CHUNK_SIZE):
        yield chunk
