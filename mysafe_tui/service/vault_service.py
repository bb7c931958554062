"""VaultService: the one async API that the TUI and the CLI call (DESIGN.md §2).

Composed of parts, each in a file named by its job: the unlocked vault with its worker thread
and search index (worker.py, index.py), what an item may hold (values.py), the vault's server
(connection.py: `NoServer` for a local vault), share links (shares.py), import, export, backup
and restore (transfer.py), the clipboard (copying.py) and the health check (health.py).
Its public methods, a few lines each, are in sections by subject: this file (lifecycle,
reading, writing), api_extras.py, api_server.py, api_transfer.py, api_clipboard.py and
api_ssh.py, over the state they share (parts.py). Network code lives in `remote/`, imported
lazily so `mysafe --version` and the UI's first paint never load httpx.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from mysafe_tui.core import extras, filters, versions
from mysafe_tui.core.errors import (
    InvalidInput,
    WeakPassphrase,
    WrongPassphrase,
)
from mysafe_tui.core.models import (
    ItemKind,
    ItemSummary,
    Secret,
    Strength,
    TotpCode,
)
from mysafe_tui.service import files
from mysafe_tui.service.api_clipboard import ClipboardApi
from mysafe_tui.service.api_extras import ExtrasApi
from mysafe_tui.service.api_pam import PamApi
from mysafe_tui.service.api_server import ServerApi
from mysafe_tui.service.api_ssh import SshApi
from mysafe_tui.service.api_transfer import TransferApi
from mysafe_tui.service.connection import Connection, NoServer, ServerConnection
from mysafe_tui.service.copying import ClipboardKeeper
from mysafe_tui.service.health import HealthCheck
from mysafe_tui.service.pam import PamAccess
from mysafe_tui.service.shares import ShareLinks
from mysafe_tui.service.transfer import Transfers
from mysafe_tui.service.uses import LastUses
from mysafe_tui.service.values import (
    check_required,
    new_item_defaults,
    split,
    ssh_key,
    summary_fields,
)
from mysafe_tui.service.worker import VaultWorker
from mysafe_tui.system.locations import device_name
from mysafe_tui.system.settings import Paths, Settings
from mysafe_tui.vault.hits import Hits
from mysafe_tui.vault.records import Record

if TYPE_CHECKING:  # imported lazily below: cryptography and sqlite3 cost ~80 ms at launch
    import httpx

    from mysafe_tui.core.kdf import KdfParams
    from mysafe_tui.service.early_kdf import EarlyKey
    from mysafe_tui.system.clipboard import Clipboard


MIN_PASSPHRASE_SCORE = 3  # zxcvbn's 'good': 10^10 guesses and more
PREPARE_FROM = 5000  # items from which a list readies its search ahead (prepare_search)


class Narrowed(NamedTuple):
    """The last narrowing's records list and last uses (their identity is the key), the
    narrowing and its day, and the positions it kept."""

    records: list[Record]
    uses: dict[str, int]
    narrowing: filters.Narrowing
    since: int
    allowed: frozenset[int]


class VaultService(ExtrasApi, ServerApi, TransferApi, ClipboardApi, SshApi, PamApi):
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
        self._worker = VaultWorker(paths.vault)
        self._clip = ClipboardKeeper(lambda: self.settings, lambda: self.terminal_write, clipboard)
        self._transport = transport  # tests only: inject faults into the server connection
        self._narrowed: Narrowed | None = None  # it holds decrypted summaries
        # How an escape sequence reaches the terminal the user sees (OSC 52): a full-screen
        # UI sets its own writer; None writes to /dev/tty.
        self.terminal_write: Callable[[str], None] | None = None
        # Told the seconds of a pause the server asked for (Retry-After), before it starts.
        self.on_server_wait: Callable[[float], None] | None = None
        self._server: Connection = NoServer()
        self._shares = ShareLinks(self._worker, self._bound_session, transport)
        self._pam = PamAccess(self._worker, transport)
        self._health = HealthCheck(self._worker, lambda: self.settings, self._login_proxy)
        self._uses = LastUses(self._worker)
        self._transfers = Transfers(self._worker, paths, lambda: self._server.bound)
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
        return self._worker.is_unlocked

    @property
    def generation(self) -> int:
        """+1 per committed write to the vault (by anyone): what a cache of ours checks."""
        return self._worker.vault.generation if self.is_unlocked else -1

    @property
    def corrupt_items(self) -> dict[str, str]:
        """Items that could not be decrypted at unlock (id -> reason); the others work."""
        return self._worker.vault.corrupt if self.is_unlocked else {}

    @property
    def rollback(self) -> str | None:
        """Why the unlocked vault is read-only: it is older than the newest state seen."""
        return self._worker.vault.rollback if self.is_unlocked else None

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
        await self._worker.create(passphrase, profile, self._kdf_params)

    async def prepare(self) -> None:
        """Open and check the vault file before the passphrase comes (an unlock screen calls
        this as it appears): the integrity check reads the whole file, ~80 ms at 100k items,
        and a damaged vault is reported before anyone types. Raises like `unlock`."""
        await self._worker.prepare()

    async def unlock(self, passphrase: str) -> None:
        """Open the vault file (unless `prepare` did) and unlock it; raises WrongPassphrase,
        CorruptVault, ..."""
        if self.is_unlocked:
            return
        await self._worker.unlock(passphrase, self.paths.seen_dir, self.accept_rollback)
        await self._connect()

    async def derive_key(self, passphrase: str) -> bytes:
        """The vault's key-encryption key for `passphrase` (the KDF; WrongPassphrase shows
        at `unlock_with_key`). What the unlock agent keeps: a passphrase change voids it."""
        return await self._worker.derive_kek(passphrase)

    async def unlock_with_key(self, kek: bytes) -> None:
        """Unlock with a key from `derive_key` (no KDF); WrongPassphrase if it no longer
        opens the vault."""
        if self.is_unlocked:
            return
        await self._worker.unlock(None, self.paths.seen_dir, self.accept_rollback, kek=kek)
        await self._connect()

    async def unlock_early(self, early: EarlyKey) -> None:
        """Unlock with what `service.early` opened and derived while the program loaded."""
        vault, kek = await asyncio.to_thread(early.wait)
        await self._worker.keep_opened(vault)
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
        return self._worker.is_current() and await self._worker.key_opens(kek)

    async def _connect(self) -> None:
        """After an unlock: the server binding and the share server, as the vault says."""
        binding = await self._worker.read_meta("remote")
        if binding is not None:
            self._server = ServerConnection.of(
                binding, self._worker, self._transport, self._server_waits
            )
        self._shares.load(await self._worker.read_meta("share-server"))
        await self._pam.load()

    async def lock(self) -> None:
        """Drop keys and every decrypted summary and clear the clipboard at once."""
        await self.clipboard_clear()
        server, self._server = self._server, NoServer()
        await server.aclose()
        await self._shares.aclose()
        await self._pam.aclose()
        self._health.forget()
        self._uses.forget()
        self._narrowed = None
        await self._worker.lock()

    async def close(self) -> None:
        """Lock (clearing the clipboard) and stop the worker thread."""
        await self.lock()
        self._worker.shutdown()

    async def refresh(self) -> bool:
        """Pick up changes another process (a CLI call, a sync) wrote. True if there were."""
        changed = await self._worker.refresh()
        if changed:
            self._uses.forget()  # another process may have used an item
        return changed

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
        is decoded when it is looked at. The query's narrowing words (`tag:prod`,
        `shared:with-me`: core/filters.py) narrow instead of being searched for; one whose
        value means nothing is an InvalidInput."""
        self._worker.require_unlocked()
        narrowing, words = filters.split(query) if ":" in query else (None, query)
        if narrowing is not None:
            if narrowing.kind is not None and kind not in (None, narrowing.kind):
                return Hits()  # kind:note on the passwords tab
            kind = narrowing.kind or kind
            favourites_only = favourites_only or narrowing.favourite is True
        hits = self._worker.index.search(
            words, kind=kind, trash=trash, favourites_only=favourites_only
        )
        if narrowing is not None and narrowing.by_facets:
            uses = await self._uses.days() if narrowing.unused_days else {}
            return hits.within(self._allowed(hits.source, narrowing, uses))
        return hits

    def _allowed(
        self, records: list[Record], narrowing: filters.Narrowing, uses: dict[str, int]
    ) -> frozenset[int]:
        """The positions of the records a narrowing keeps: worked out once per records list,
        last uses and narrowing (~0.15 s at 100k items), then each key typed after `tag:prod`
        is free. An item never used here counts as used the day it was made."""
        since = self._uses.today() - narrowing.unused_days  # used on or before it: unused
        kept = self._narrowed
        if (
            kept is not None
            and kept.records is records
            and kept.uses is uses
            and (kept.narrowing, kept.since) == (narrowing, since)
        ):
            return kept.allowed
        people, by_item, by_use = narrowing.by_people, narrowing.by_item, narrowing.unused_days

        def unused(record: Record) -> bool:
            day = uses.get(record.id)
            return (record.created_day() if day is None else day) <= since

        allowed = frozenset(
            i
            for i, record in enumerate(records)
            if (not by_item or narrowing.allows(record.facets(people)))
            and (not by_use or unused(record))
        )
        self._narrowed = Narrowed(records, uses, narrowing, since, allowed)
        return allowed

    async def prepare_search(
        self, *, kind: ItemKind | None = None, trash: bool = False, favourites_only: bool = False
    ) -> None:
        """Ready `search` for typing in this list: in a thread, so the UI stays free (a large
        vault only: a small one searches fast enough cold)."""
        self._worker.require_unlocked()
        warm = self._worker.index.warmer(
            PREPARE_FROM, kind=kind, trash=trash, favourites_only=favourites_only
        )
        if warm is not None:
            await asyncio.to_thread(warm)

    async def search_text(
        self, query: str, *, kind: ItemKind | None = None, trash: bool = False
    ) -> Hits:
        """Items whose own text (a note's body, the notes of a login, an API secret or a file)
        holds every word of `query`, case-insensitively. Asked for explicitly: those texts
        are secrets, so they are not in the index; each is decrypted in the worker, looked
        at and dropped, never kept."""
        return await self._worker.search_text(query, kind, trash)

    def counts_now(self) -> dict[ItemKind, int]:
        """Active items per kind (for headers and tabs); in memory, no await needed."""
        self._worker.require_unlocked()
        return self._worker.index.counts()

    async def get(self, item_id: str) -> ItemSummary:
        return self._worker.get(item_id)

    async def find(
        self, name: str, kind: ItemKind | None = None, trash: bool | None = False
    ) -> ItemSummary:
        """An item by id, id prefix (6+ characters) or exact name (case-insensitive).

        `trash`: False searches active items, True deactivated ones, None both.
        """
        return self._worker.find(name, kind, trash)

    async def reveal(self, item_id: str, *, used: bool = False) -> dict[str, Secret]:
        """Decrypt an item's secret fields. Values stay wrapped in `Secret` until shown.
        `used`: a person is shown them (the UI's reveal), which `unused:` counts."""
        secrets = await self._worker.reveal_secrets(item_id)
        if used:
            await self._uses.mark(item_id)
        return secrets

    async def preview_file(self, item_id: str, limit: int = 4096) -> str | None:
        """The start of a text file item (None for binary content or other kinds)."""
        return await files.preview(self._worker, item_id, limit)

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
        self._worker.require_unlocked()  # before the server is asked
        if kind is ItemKind.FILE:
            raise InvalidInput("files are added with attach_file")
        fields, secret = split(kind, values)
        check_required(kind, fields, secret)
        new_item_defaults(kind, secret)
        fields, secret = await self._server.create(kind, fields, secret)
        return await self._worker.save_item(kind, fields, secret)

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
        old_secret = await self._worker.reveal(item_id)
        merged_secret = {**old_secret, **secret}
        if item.kind is ItemKind.SSH_KEY and "comment" in secret and "private" not in secret:
            # The public line carries the comment: shown again from the key kept.
            merged_secret.update(ssh_key({k: merged_secret[k] for k in ("private", "comment")}))
        if "password" in secret:  # the one it replaces goes to the item's password history
            merged_secret = extras.with_password_change(
                {**merged_secret, "password": old_secret.get("password", "")},
                secret["password"],
                time.time(),
                self.settings.password_history,
            )
        before = versions.snapshot(item.kind, summary_fields(item), old_secret)
        merged_secret[extras.VERSIONS] = versions.with_version(
            before,
            versions.snapshot(item.kind, merged_fields, merged_secret),
            old_secret.get(extras.VERSIONS, ""),
            time.time(),
            device_name(),
            self.settings.versions_kept,
        )
        check_required(item.kind, merged_fields, merged_secret)
        merged_fields, merged_secret = await self._server.update(
            item, merged_fields, merged_secret, force
        )
        return await self._worker.save_item(item.kind, merged_fields, merged_secret, item_id)
