"""senhasegura PAM credentials (the vault's A2A authorization): the list (never a password),
a reveal that says first that it takes custody, copy, and custody given back when the screen
closes, the vault locks or the UI quits (tui/app.py); what a UI that crashed left is given
back at the next start. Nothing from PAM is kept on disk."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from mysafe_tui.core.errors import MySafeError
from mysafe_tui.core.pam import PamCredential, PamSecret
from mysafe_tui.service import VaultService
from mysafe_tui.tui.actions import bindings
from mysafe_tui.tui.modals.confirm import ConfirmDialog
from mysafe_tui.tui.text import plain, printable

WIDE = 110  # columns from which the table shows every column


def _cut(text: str, width: int) -> str:
    """At most `width` characters as shown (escapes count), with … when cut."""
    shown = printable(text)
    return shown if len(shown) <= width else shown[: width - 1] + "…"


class PamScreen(Screen[None]):
    """Opened with 7 from the main screen; esc goes back (and gives custody back)."""

    BINDINGS = bindings("pam")

    def __init__(self, service: VaultService) -> None:
        super().__init__()
        self.service = service
        self.rows: list[PamCredential] = []
        self.revealed: dict[str, PamSecret] = {}  # by credential id: in memory only
        self.wide = True  # set by the width at mount

    def compose(self) -> ComposeResult:
        binding = self.service.a2a_binding() or {}
        where = printable(binding.get("url", "").split("://", 1)[-1])
        yield Static(Text.assemble(("PAM credentials", "bold"), f" · {where}"), id="topbar")
        yield Static("", id="pam-note")
        yield DataTable(id="pam", cursor_type="row", zebra_stripes=True)
        yield Static("", id="pam-secret")
        yield Footer()

    def on_mount(self) -> None:
        # 80 columns take the account, address, access and custody; wider ones the device
        # and when the password last changed too (nothing cut, no sideways scrolling).
        self.wide = self.app.size.width >= WIDE
        columns = ["Account", "IP", "Access", "Custody"]
        if self.wide:
            columns[2:2] = ["Device"]
            columns[-1:-1] = ["Password changed"]
        self.query_one(DataTable).add_columns(*columns)
        self.load()

    @property
    def current(self) -> PamCredential | None:
        table = self.query_one(DataTable)
        if not self.rows or not 0 <= table.cursor_row < len(self.rows):
            return None
        return self.rows[table.cursor_row]

    @work(exclusive=True, group="pam", exit_on_error=False)
    async def load(self) -> None:
        note = self.query_one("#pam-note", Static)
        try:
            self.rows = await self.service.pam_credentials()
        except MySafeError as exc:
            note.update(Text(printable(str(exc)), style="red"))
            return
        self._fill()
        count = f"{len(self.rows)} credential{'' if len(self.rows) == 1 else 's'}"
        note.update(plain(f"{count}. enter reveals (takes custody), c copies, esc gives back."))
        self.query_one(DataTable).focus()

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        for c in self.rows:
            held = "yours" if c.id in self.revealed else ""
            cells = [_cut(c.account, 36 if self.wide else 40), c.ip, c.connectivity, held]
            if self.wide:
                cells[2:2] = [_cut(c.device, 28)]
                cells[-1:-1] = [c.changed]
            table.add_row(*(Text(printable(cell)) for cell in cells))
        if self.rows:
            table.move_cursor(row=min(max(row, 0), len(self.rows) - 1))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a row (the table takes the key itself)."""
        event.stop()
        self.action_reveal()

    @work(exclusive=True, group="reveal", exit_on_error=False)
    async def action_reveal(self) -> None:
        secret = await self._secret()
        if secret is None:
            return
        shown = Text.assemble(
            (printable(f"{secret.username}@{secret.hostname}"), "bold"),
            f"  {printable(secret.ip)}:{printable(secret.port)}\n",
            ("Password  ", "dim"),
            printable(secret.password.reveal()),
        )
        self.query_one("#pam-secret", Static).update(shown)

    @work(exclusive=True, group="reveal", exit_on_error=False)
    async def action_copy(self) -> None:
        secret = await self._secret()
        if secret is None:
            return
        try:
            self.notify(await self.service.copy_text(secret.password.reveal(), "PAM password"))
        except MySafeError as exc:
            self.notify(str(exc), severity="error")

    async def _secret(self) -> PamSecret | None:
        """The highlighted credential's password: asked for once, after saying that this
        takes its custody in senhasegura."""
        credential = self.current
        if credential is None:
            return None
        if credential.id in self.revealed:
            return self.revealed[credential.id]
        question = (
            f"Reveal the password of {credential.account}? This takes its custody in "
            "senhasegura until you leave this screen or lock."
        )
        if not await self.app.push_screen_wait(ConfirmDialog(question, "Take custody")):
            return None
        try:
            secret = await self.service.pam_reveal(credential.id, ui=True)
        except MySafeError as exc:
            self.notify(str(exc), severity="error")
            return None
        self.revealed[credential.id] = secret
        self._fill()
        return secret

    @work(exit_on_error=False)
    async def action_back(self) -> None:
        """Custody back, then the lists (whatever the release said)."""
        self.query_one("#pam-secret", Static).update("")
        self.revealed.clear()
        failed = await self.service.pam_release_mine()
        if failed:
            self.notify("Custody not given back: " + "; ".join(failed), severity="error")
        self.app.pop_screen()

    def action_refresh(self) -> None:
        self.load()
