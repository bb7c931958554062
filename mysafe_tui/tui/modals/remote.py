"""Dialogs for a MySafe server: log in, sync with a progress bar, resolve a conflict."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Collapsible, Input, Label, ProgressBar, Static

from mysafe_tui.core.errors import MySafeError
from mysafe_tui.service import VaultService
from mysafe_tui.tui.actions import bindings
from mysafe_tui.tui.forms import move_on
from mysafe_tui.tui.text import plain, printable
from mysafe_tui.tui.widgets.note import Note


class _Progress:
    """Feeds a ProgressBar from the sync's (done, total) callback (called on the app's loop)."""

    def __init__(self, bar: ProgressBar, label: Note) -> None:
        self.bar = bar
        self.label = label

    def __call__(self, done: int, total: int) -> None:
        self.bar.display = True
        self.bar.update(total=max(total, 1), progress=done if total else 1)
        text = f"Fetching {done} of {total} changed items…" if total else "Nothing changed."
        self.label.say(text)


class LoginDialog(ModalScreen[bool]):
    """Server URL and access key; checks the key, keeps it inside the vault, first sync."""

    BINDINGS = [*bindings("login"), *bindings("form")]

    def __init__(self, service: VaultService) -> None:
        super().__init__()
        self.service = service

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog remote-dialog"):
            yield Label("Log in to a MySafe server", classes="title")
            with VerticalScroll(id="login-fields"):  # the Advanced part scrolls at 80x24
                yield Label("Server URL", classes="field-label")
                yield Input(placeholder="https://vault.example.com", id="url")
                yield Label("Client ID", classes="field-label")
                yield Input(placeholder="from your MySafe access key", id="client-id")
                yield Label("Client secret", classes="field-label")
                yield Input(password=True, id="client-secret")
                with Collapsible(title="Advanced: private CA, tenant, proxy, timeout"):
                    yield Label("CA bundle (PEM) for a private CA", classes="field-label")
                    yield Input(placeholder="/etc/ssl/company-ca.pem", id="ca-bundle")
                    yield Label("Tenant (a multi-tenant senhasegura)", classes="field-label")
                    yield Input(id="tenant")
                    yield Label("Proxy (else HTTPS_PROXY)", classes="field-label")
                    yield Input(placeholder="http://proxy.example:3128", id="proxy")
                    yield Label("Timeout per request, seconds", classes="field-label")
                    yield Input(placeholder="15", id="timeout", type="number")
                    yield Checkbox("Do not check the TLS certificate (insecure)", id="insecure")
            yield Note("", id="error", classes="error")
            yield Note("", id="progress-label", classes="hint")
            yield ProgressBar(id="progress", show_eta=False)
            yield Static(
                "The key is kept inside the encrypted vault; items stay readable offline.",
                classes="hint",
            )
            with Horizontal(classes="buttons"):
                yield Button("Log in", id="login", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one(ProgressBar).display = False
        self.query_one("#url", Input).focus()

    def action_next_field(self) -> None:
        move_on(self, ("url", "client-id", "client-secret"))

    @on(Input.Submitted, "#client-secret")
    @on(Button.Pressed, "#login")
    def pressed_login(self) -> None:
        self.login()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.workers.cancel_group(self, "login")
        self.dismiss(False)

    @work(exclusive=True, group="login", exit_on_error=False)
    async def login(self) -> None:
        error = self.query_one("#error", Note)
        error.say("")
        values = [
            self.query_one(f"#{name}", Input).value.strip()
            for name in ("url", "client-id", "client-secret")
        ]
        if not all(values):
            error.say("Fill in the URL, the client ID and the client secret.")
            return
        advanced = {
            name: self.query_one(f"#{name}", Input).value.strip()
            for name in ("ca-bundle", "tenant", "proxy", "timeout")
        }
        try:
            timeout = float(advanced["timeout"]) if advanced["timeout"] else None
        except ValueError:
            error.say("The timeout is a number of seconds.")
            return
        button = self.query_one("#login", Button)
        button.disabled = True
        label = self.query_one("#progress-label", Note)
        label.say("Checking the access key…")
        try:
            await self.service.login(
                *values,
                ca_bundle=advanced["ca-bundle"] or None,
                tenant=advanced["tenant"] or None,
                proxy=advanced["proxy"] or None,
                timeout=timeout,
                insecure=self.query_one("#insecure", Checkbox).value,
                progress=_Progress(self.query_one(ProgressBar), label),
            )
        except MySafeError as exc:
            error.say(f"Not logged in: {exc}")
            label.say("")
            self.query_one(ProgressBar).display = False
            button.disabled = False
            return
        self.dismiss(True)


class SyncDialog(ModalScreen[Any]):
    """Runs one sync with a progress bar; dismisses with the result, or None on failure."""

    BINDINGS = bindings("sync")

    def __init__(self, service: VaultService) -> None:
        super().__init__()
        self.service = service

    def compose(self) -> ComposeResult:
        url = self.service.remote_status().url
        with Vertical(classes="dialog remote-dialog"):
            yield Label(plain(f"Syncing with {url}"), classes="title")
            yield Note("Asking the server what changed…", id="progress-label")
            yield ProgressBar(id="progress", show_eta=False)
            yield Note("", id="error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Close", id="close")

    def on_mount(self) -> None:
        self.run_sync()

    @work(exclusive=True, group="sync", exit_on_error=False)
    async def run_sync(self) -> None:
        label = self.query_one("#progress-label", Note)
        try:
            result = await self.service.sync(_Progress(self.query_one(ProgressBar), label))
        except MySafeError as exc:
            label.say("")
            self.query_one("#error", Note).say(f"Sync failed: {exc}")
            return
        self.dismiss(result)

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.workers.cancel_group(self, "sync")
        self.dismiss(None)


class ConflictDialog(ModalScreen[str | None]):
    """Field by field, the server's copy against yours: keep mine, keep theirs, keep both."""

    BINDINGS = bindings("conflict")

    def __init__(
        self,
        name: str,
        rows: list[tuple[str, str, str, bool]],
        what: str = "changed on the server",
        lead: str = "Someone changed this item since your last sync. Nothing is saved until "
        "you choose.",
    ) -> None:
        super().__init__()
        self.item_name = name
        self.rows = rows
        self.what = what
        self.lead = lead

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog conflict-dialog"):
            yield Label(plain(f"'{self.item_name}' {self.what}"), classes="title")
            yield Static(self.lead, classes="lead")
            with VerticalScroll(id="diff"):
                yield Static(self._table(), id="diff-table")
            with Horizontal(classes="buttons"):
                yield Button("Keep mine (m)", id="mine", variant="primary")
                yield Button("Keep theirs (t)", id="theirs")
                yield Button("Keep both (b)", id="both")
                yield Button("Cancel", id="cancel")

    def _table(self) -> Content:
        """Built as Content, never markup: both sides hold text someone else wrote."""
        width = max([len(label) for label, *_ in self.rows] + [5])
        parts: list[str | tuple[str, str]] = [
            (f"{'field':<{width}}   {'yours':<26}  server", "bold")
        ]
        for label, mine, theirs, differs in self.rows:
            parts += [
                f"\n{label:<{width}} ",
                ("≠" if differs else " ", "$warning"),
                f" {printable(_cut(mine)):<26}  {printable(_cut(theirs))}",
            ]
        return Content.assemble(*parts)

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None if event.button.id == "cancel" else event.button.id)

    def action_choose(self, choice: str | None) -> None:
        self.dismiss(choice)


def _cut(text: str, width: int = 26) -> str:
    flat = text.replace("\n", " ⏎ ")
    return flat if len(flat) <= width else flat[: width - 1] + "…"
