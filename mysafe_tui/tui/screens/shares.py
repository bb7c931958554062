"""The shares cockpit: every outgoing link, its recipient, views and expiry; revoke, copy
again, mail the recipient again, refresh."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from mysafe_tui.core.errors import MySafeError
from mysafe_tui.core.humanize import ago
from mysafe_tui.service import VaultService
from mysafe_tui.tui.actions import bindings
from mysafe_tui.tui.modals.confirm import ConfirmDialog
from mysafe_tui.tui.text import plain, printable

# Cells are rich Text, never markup strings: an item name like "[red]" must show as typed.
STATUS = {
    "active": ("active", "green"),
    "used_up": ("used up", "dim"),
    "expired": ("expired", "dim"),
    "revoked": ("revoked", "red"),
}


class SharesScreen(Screen[None]):
    """Opened with O from the main screen; esc goes back."""

    BINDINGS = bindings("shares")

    def __init__(self, service: VaultService) -> None:
        super().__init__()
        self.service = service
        self.rows: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield Static("[b]Your share links[/b]", id="topbar")
        yield Static("", id="shares-note")
        yield DataTable(id="shares", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(
            "Item", "Label", "Status", "To", "Views", "Expires", "Last opened", "Created"
        )
        self.load()

    @property
    def current(self) -> dict[str, Any] | None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row < 0 or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    @work(exclusive=True, group="shares", exit_on_error=False)
    async def load(self) -> None:
        note = self.query_one("#shares-note", Static)
        try:
            self.rows = await self.service.list_shares()
        except MySafeError as exc:
            note.update(Text(printable(str(exc)), style="red"))
            return
        table = self.query_one(DataTable)
        table.clear()
        for row in self.rows:
            views = f"{row['views_used']}/{row['max_views']}"
            status, style = STATUS.get(row["status"], (row["status"], ""))
            cells = [
                row["item"],
                row.get("label") or "",
                status,
                _recipient(row),
                views,
                _until(row["expires_at"], row["status"]),
                ago(_when(row.get("last_access_at"))),
                ago(_when(row.get("created_at"))),
            ]
            table.add_row(
                *(
                    Text(printable(str(c)), style=style if i == 2 else "")
                    for i, c in enumerate(cells)
                )
            )
        target = self.service.share_target() or ""
        count = f"{len(self.rows)} link{'' if len(self.rows) == 1 else 's'}"
        if self.rows:
            note.update(
                plain(
                    f"{count} on {target}. x revokes (the content is deleted at once), "
                    "c copies a link again, m mails its recipient again, r refreshes."
                )
            )
        else:
            note.update("No links yet: press S on an item to share it.")
        table.focus()

    def action_refresh(self) -> None:
        self.load()

    @work(exit_on_error=False)
    async def action_revoke(self) -> None:
        row = self.current
        if row is None or row["status"] != "active":
            return
        question = f"Revoke the link to '{row['item']}'? It stops working at once."
        if not await self.app.push_screen_wait(ConfirmDialog(question, "Revoke", danger=True)):
            return
        try:
            await self.service.revoke_share(row["share_hash"])
        except MySafeError as exc:
            self.notify(str(exc), severity="error")
            return
        self.notify(f"Revoked the link to '{row['item']}'")
        self.load()

    @work(exit_on_error=False)
    async def action_resend(self) -> None:
        row = self.current
        if row is None:
            return
        if not row.get("recipient"):
            self.notify("That link is for anyone who has it: there is nobody to mail.")
            return
        try:
            said = await self.service.resend_share(row["share_hash"])
        except MySafeError as exc:
            self.notify(str(exc), severity="error")
            return
        self.notify(said)
        self.load()

    @work(exit_on_error=False)
    async def action_copy(self) -> None:
        row = self.current
        if row is None:
            return
        try:
            self.notify(await self.service.copy_share_link(row["share_hash"]))
        except MySafeError as exc:
            self.notify(str(exc), severity="error")


def _recipient(row: dict[str, Any]) -> str:
    """Whom a link is for, and what became of the last mail to them ("—": anyone)."""
    to = str(row.get("recipient") or "")
    if not to:
        return "—"
    mail = str(row.get("mail_status") or "")
    return f"{to} (mail failed)" if mail.startswith("failed") else to


def _when(iso: str | None) -> float | None:
    if not iso:
        return None
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _until(iso: str, status: str) -> str:
    when = _when(iso)
    if when is None or status != "active":
        return "—"
    left = int(when - time.time())
    if left < 3600:
        return f"in {max(left, 0) // 60} min"
    if left < 2 * 86400:
        return f"in {left // 3600} h"
    return f"in {left // 86400} days"
