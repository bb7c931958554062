"""The service's calls for what an item holds beyond its kind's fields (custom fields, old
passwords, attachments), its file, the trash, and sharing it with people on its server."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mysafe_tui.core import extras
from mysafe_tui.core.errors import (
    InvalidInput,
)
from mysafe_tui.core.extras import Attachment, Extras
from mysafe_tui.core.models import (
    HistoryEvent,
    ItemSummary,
)
from mysafe_tui.core.sanitize import forbidden_char
from mysafe_tui.core.versions import Version, changed, parse_versions, restoring, snapshot
from mysafe_tui.service import files
from mysafe_tui.service.files import Progress
from mysafe_tui.service.parts import ServiceParts
from mysafe_tui.service.values import summary_fields

if TYPE_CHECKING:  # imported lazily below: cryptography and sqlite3 cost ~80 ms at launch
    pass


class ExtrasApi(ServiceParts):
    """VaultService's methods for an item's extras, files, trash and people."""

    # --- what an item holds beyond its kind's fields (core/extras.py) ------------------------

    async def extras(self, item_id: str) -> Extras:
        """Custom fields, more URLs, old passwords and attachments (decrypted; keep them off
        the screen until asked, like any secret)."""
        urls = self._worker.get(item_id).urls
        return await self._worker.run(self._worker.vault.extras, item_id, urls)

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
        return await files.add_attachment(self._worker, item_id, Path(path), progress)

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
        return await files.save(
            self._worker, item_id, Path(destination), overwrite, progress, found
        )

    async def remove_attachment(self, item_id: str, name: str) -> None:
        self._writable(item_id)
        found = (await self.extras(item_id)).attachment(name)
        if found is None:
            raise InvalidInput(f"the item has no attachment '{name.strip()}'")
        vault = self._worker.vault
        await self._worker.run(vault.remove_attachment, item_id, found.id)
        await self._worker.index.wrote(vault, [item_id])

    async def deactivate(self, item_id: str) -> ItemSummary:
        """MySafe semantics: move to the trash (restorable), never delete."""
        return await self._set_active(item_id, False)

    async def restore(self, item_id: str) -> ItemSummary:
        return await self._set_active(item_id, True)

    async def _set_active(self, item_id: str, active: bool) -> ItemSummary:
        item = self._writable(item_id)
        flags = await self._server.set_active(item, active)
        return await self._worker.set_flags(item_id, active=active, **flags)

    def _writable(self, item_id: str) -> ItemSummary:
        """The item, unless another person shared it with us to view only."""
        item = self._worker.get(item_id)
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
        or stop (`remove`): MySafe's internal sharing. A group name is one of the owner's
        personal groups when there is one so named, else the server's user group (mysafe
        serve has both; a senhasegura, user groups). Returns the item as it is now and what
        the server refused ("user zed not found")."""
        personal: set[str] = set()
        if groups and "groups" in self._require_server().session.capabilities:
            personal = {g["name"] for g in await self.groups() if g.get("mine")}
        who = [("user", name.strip()) for name in users] + [
            ("personal" if name.strip() in personal else "group", name.strip()) for name in groups
        ]
        return await self.share_exactly(item_id, who, edit=edit, remove=remove)

    async def share_exactly(
        self, item_id: str, who: Sequence[tuple[str, str]], *, edit: bool, remove: bool
    ) -> tuple[ItemSummary, list[str]]:
        """`share_with` for (principal, name) pairs as `Sharing.entries` name them ("user",
        "group", "personal"): the People dialog removes the very entry it lists."""
        item = self._worker.get(item_id)
        if item.access:
            raise InvalidInput(
                f"'{item.name}' was shared with you: only its owner decides who else has it"
            )
        for principal, name in who:
            if not name or forbidden_char(name):
                raise InvalidInput(f"not a {principal} name: {name!r}")
        server = self._require_server()
        return await server.reshare(
            item, lambda sharing: sharing.changed(list(who), edit=edit, remove=remove)
        )

    # --- earlier versions (core/versions.py) -------------------------------------------------

    async def versions(self, item_id: str) -> list[tuple[Version, list[str]]]:
        """The item's earlier versions, newest first (decrypted: secrets included), each
        with the names of the fields the next save changed."""
        item = self._worker.get(item_id)
        secret = await self._worker.reveal(item_id)
        found = parse_versions(secret.get(extras.VERSIONS, ""))
        newer = [snapshot(item.kind, summary_fields(item), secret), *(v.fields for v in found)]
        return [(v, changed(v.fields, newer[n])) for n, v in enumerate(found)]

    async def restore_version(self, item_id: str, number: int) -> ItemSummary:
        """Bring the item back to its earlier version `number` (1: the newest); what it holds
        now becomes a version in turn."""
        item = self._writable(item_id)
        secret = await self._worker.reveal(item_id)
        found = parse_versions(secret.get(extras.VERSIONS, ""))
        if not 1 <= number <= len(found):
            have = f"1 to {len(found)}" if found else "none yet"
            raise InvalidInput(f"'{item.name}' has no version {number} (it has {have})")
        now = snapshot(item.kind, summary_fields(item), secret)
        return await self.update_item(item_id, restoring(item.kind, found[number - 1], now))

    # --- personal groups (mysafe serve) --------------------------------------------------------

    async def groups(self) -> list[dict[str, Any]]:
        """Your personal groups (`mine`, with members) and those others put you in."""
        from mysafe_tui.remote import groups

        session = self._require_server().session
        return await session.guard(groups.list_groups(session.client))

    async def save_group(self, name: str, description: str, members: Sequence[str]) -> list[str]:
        """Make or replace one of your personal groups; the member names nobody has."""
        from mysafe_tui.remote import groups

        for text in (name, description, *members):
            if forbidden_char(text):
                raise InvalidInput(f"not a name: {text!r}")
        if not name.strip():
            raise InvalidInput("a group needs a name")
        session = self._require_server().session
        clean = [m.strip() for m in members if m.strip()]
        call = groups.save_group(session.client, name.strip(), description.strip(), clean)
        return await session.guard(call)

    async def delete_group(self, name: str) -> None:
        """One of your personal groups, and every share with it."""
        from mysafe_tui.remote import groups

        session = self._require_server().session
        await session.guard(groups.delete_group(session.client, name))

    async def history(self, item_id: str) -> list[HistoryEvent]:
        """The item's access history on its server, newest first. NotSupported from a server
        that keeps none this client can read (a plain senhasegura)."""
        return await self._require_server().history(self._worker.get(item_id))

    async def toggle_favourite(self, item_id: str) -> ItemSummary:
        item = self._worker.get(item_id)
        return await self._worker.set_flags(item_id, favourite=not item.favourite)

    async def purge(self, item_id: str) -> None:
        """Delete an item (and its file content) for good. Works on damaged items too."""
        item = self._worker.vault.summaries.get(item_id)
        if item is not None:
            self._server.check_purge(item)
        await self._worker.purge(item_id)

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
            self._worker, self._server, Path(path), name, tags, notes, progress
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

        Written to a temporary file and renamed, 0600: a failure leaves nothing behind. A
        use of the item (`unused:`)."""
        saved = await files.save(self._worker, item_id, Path(destination), overwrite, progress)
        await self._uses.mark(item_id)
        return saved

    async def change_passphrase(self, old: str, new: str, kdf_profile: str | None = None) -> None:
        """Re-wrap the vault key only (O(1) bytes written)."""
        vault = self._worker.vault
        await self._worker.run(vault.change_passphrase, old, new, kdf_profile)

    async def rotate_key(self, passphrase: str, progress: Progress | None = None) -> int:
        """A new vault key and new item keys, every record re-encrypted in one transaction
        (`Vault.rotate_key`); `progress(done, total)`. Returns the number of records."""
        vault = self._worker.vault
        total = vault.row_count
        report = (lambda done: progress(done, total)) if progress else None
        return await self._worker.run(vault.rotate_key, passphrase, report)
