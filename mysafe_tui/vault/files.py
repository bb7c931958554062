"""File items and attachments (DESIGN.md §3): content in encrypted chunks under a file key
FK kept in the item's secret; a chunk's associated data binds its file and position."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator

from mysafe_tui.core.crypto import (
    CHUNK_SIZE,
    AuthenticationFailed,
    decrypt_chunks,
    encrypt_chunks,
    random_key,
)
from mysafe_tui.core.errors import (
    CorruptRecord,
    ItemNotFound,
)
from mysafe_tui.core.extras import (
    ATTACHMENTS,
    Attachment,
    encode_attachments,
    parse_attachments,
)
from mysafe_tui.core.extras import file_name as attachment_name
from mysafe_tui.core.models import ItemKind, ItemSummary
from mysafe_tui.vault.manifest import Pending
from mysafe_tui.vault.state import (
    Progress,
    SummaryFields,
    VaultState,
)


class FileParts(VaultState):
    """File items and attachments: their content in encrypted chunks, keyed per file."""

    def attachments(self, item_id: str) -> tuple[Attachment, ...]:
        """The files kept on an item (with the keys that open them)."""
        return parse_attachments(self._open_secret(item_id).get(ATTACHMENTS, ""))

    def read_file(self, item_id: str) -> Iterator[bytes]:
        """Stream a file item's plaintext by chunks, each authenticated before it is yielded."""
        secret = self._open_secret(item_id)
        if "file_key" not in secret:
            raise ItemNotFound(f"item {item_id} has no file content")
        return self._chunks(item_id, secret["file_id"], secret["file_key"])

    def read_attachment(self, item_id: str, attachment_id: str) -> Iterator[bytes]:
        """Stream one attachment's plaintext, each chunk authenticated before it is yielded."""
        found = next((a for a in self.attachments(item_id) if a.id == attachment_id), None)
        if found is None:
            raise ItemNotFound("the item has no such attachment")
        return self._chunks(item_id, found.file_id, found.file_key)

    def _chunks(self, item_id: str, file_id: str, file_key: str) -> Iterator[bytes]:
        rows = self._conn.execute(
            "SELECT data FROM chunks WHERE item_id = ? AND file_id = ? ORDER BY seq",
            (item_id, file_id),
        )
        try:
            yield from decrypt_chunks(bytes.fromhex(file_key), file_id, (r[0] for r in rows))
        except AuthenticationFailed as exc:
            raise CorruptRecord(item_id, f"its file content is damaged ({exc})") from None

    # --- writing --------------------------------------------------------------------------

    def save_file(
        self,
        fields: SummaryFields,
        secret: dict[str, str],
        chunks: Iterable[bytes],
        item_id: str | None = None,
        progress: Progress | None = None,
    ) -> ItemSummary:
        """Store file content (64 KiB STREAM chunks under a fresh FK) and its item atomically."""
        target = item_id or uuid.uuid4().hex
        internal = self._open_secret(item_id) if item_id is not None else {}
        with self._writing() as pending:
            file_id, file_key, _ = self._write_chunks(target, chunks, progress)
            if internal.get("file_id"):
                self._conn.execute(
                    "DELETE FROM chunks WHERE item_id = ? AND file_id = ?",
                    (target, internal["file_id"]),
                )
            kept = {ATTACHMENTS: internal[ATTACHMENTS]} if ATTACHMENTS in internal else {}
            full = {**secret, **kept, "file_id": file_id, "file_key": file_key}
            return self._put(pending, ItemKind.FILE, fields, full, item_id, new_id=target)

    def add_attachment(
        self,
        item_id: str,
        name: str,
        media_type: str,
        chunks: Iterable[bytes],
        progress: Progress | None = None,
    ) -> Attachment:
        """Keep a file on an item: its content encrypted like a file item's, under a key of
        its own, and the item's list of attachments, in one transaction."""
        with self._writing() as pending:
            item, internal, current = self._attachments_of(pending, item_id)
            added = self._attachment(item_id, name, media_type, chunks, progress)
            self._set_attachments(pending, item, internal, (*current, added))
        return added

    def _attachment(
        self,
        item_id: str,
        name: str,
        media_type: str,
        chunks: Iterable[bytes] | bytes,
        progress: Progress | None = None,
    ) -> Attachment:
        """Content written (inside a write scope) for an attachment the caller then lists."""
        if isinstance(chunks, bytes):
            data = chunks
            chunks = (data[i : i + CHUNK_SIZE] for i in range(0, len(data), CHUNK_SIZE))
        file_id, file_key, size = self._write_chunks(item_id, chunks, progress)
        return Attachment(
            uuid.uuid4().hex[:12], attachment_name(name), size, media_type, file_id, file_key
        )

    def remove_attachment(self, item_id: str, attachment_id: str) -> None:
        with self._writing() as pending:
            item, internal, current = self._attachments_of(pending, item_id)
            for gone in (a for a in current if a.id == attachment_id):
                self._conn.execute(
                    "DELETE FROM chunks WHERE item_id = ? AND file_id = ?", (item_id, gone.file_id)
                )
            kept = tuple(a for a in current if a.id != attachment_id)
            self._set_attachments(pending, item, internal, kept)

    def _attachments_of(
        self, pending: Pending, item_id: str
    ) -> tuple[ItemSummary, dict[str, str], tuple[Attachment, ...]]:
        """Inside a write: the item, its whole secret part and its attachments."""
        item = self._known(pending, item_id)
        if item is None:
            raise ItemNotFound(f"no item with id {item_id}")
        internal = self._internal(pending, item_id)
        return item, internal, parse_attachments(internal.get(ATTACHMENTS, ""))

    def _set_attachments(
        self,
        pending: Pending,
        item: ItemSummary,
        internal: dict[str, str],
        attachments: tuple[Attachment, ...],
    ) -> None:
        secret = {**internal, ATTACHMENTS: encode_attachments(attachments)}
        fields = {
            k: v
            for k, v in item._asdict().items()
            if k not in ("id", "kind", "version", "created", "updated")
        }
        self._put(pending, item.kind, fields, secret, item.id, new_id=item.id)

    def _write_chunks(
        self, item_id: str, chunks: Iterable[bytes], progress: Progress | None
    ) -> tuple[str, str, int]:
        """Encrypt and insert content under a fresh file id and key: (id, key hex, size)."""
        file_id = uuid.uuid4().hex
        file_key = random_key()
        done = 0
        for seq, blob in enumerate(encrypt_chunks(file_key, file_id, chunks)):
            self._conn.execute(
                "INSERT INTO chunks (item_id, file_id, seq, data) VALUES (?, ?, ?, ?)",
                (item_id, file_id, seq, blob),
            )
            done += len(blob) - 16
            if progress is not None:
                progress(done)
        return file_id, file_key.hex(), done
