"""Share dialog: what to include, how long, how many views, an optional password; then the link,
a copy button, a QR code and a plain statement of what the recipient will see."""

from __future__ import annotations

import time

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, RadioButton, RadioSet, Static

from mysafe_tui.core.errors import MySafeError
from mysafe_tui.core.models import ItemKind, ItemSummary
from mysafe_tui.service import VaultService
from mysafe_tui.tui.actions import bindings
from mysafe_tui.tui.text import plain
from mysafe_tui.tui.widgets.note import Note
from mysafe_tui.tui.widgets.qr import qr_text

EXPIRY = [("1 h", 3600), ("24 h", 86400), ("7 days", 7 * 86400), ("30 days", 30 * 86400)]
NO_SERVER = (
    "Links are hosted by a mysafe server, which stores only ciphertext (the key stays in the "
    "link). This vault has none yet:\n\n"
    "  • log in to a mysafe serve server: press L in the main screen, or\n"
    "  • keep this vault local and name one just for links:\n"
    "      mysafe share-server https://your-server\n\n"
    "To run one yourself: pip install 'mysafe-tui[server]' && mysafe serve. A plain senhasegura "
    "server has no share API."
)


QR_CHROME = 11  # rows around the code: border, padding, title, the link, the buttons


class ShareDialog(ModalScreen[str | None]):
    """Dismisses with the share hash of the link made, or None."""

    BINDINGS = bindings("share")

    def __init__(self, service: VaultService, item: ItemSummary) -> None:
        super().__init__()
        self.service = service
        self.item = item
        self.target = service.share_target()
        self.share_hash: str | None = None
        self.link = ""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog share-dialog"):
            yield Label(plain(f"Share '{self.item.name}'"), classes="title")
            if self.target is None:
                yield Static(NO_SERVER, id="no-server")
                with Horizontal(classes="buttons"):
                    yield Button("Close (esc)", id="close")
                return
            with VerticalScroll(id="share-form"):
                if self.item.kind is ItemKind.FILE:
                    yield Label(
                        plain(f"The file {self.item.file_name} ({self.item.size} bytes)."),
                        classes="field-label",
                    )
                else:
                    yield Label("Include", classes="field-label")
                    with Horizontal(id="fields"):
                        for name, label, default in self.service.shareable_fields(self.item.kind):
                            yield Checkbox(label, default, id=f"field-{name}")
                yield Label("Link expires after", classes="field-label")
                with Horizontal(id="expiry-row"):
                    with RadioSet(id="expiry"):
                        for index, (label, _) in enumerate(EXPIRY):
                            yield RadioButton(label, value=index == 1)
                        yield RadioButton("custom")
                    yield Input(placeholder="36h, 3d", id="custom-expiry", max_length=6)
                with Horizontal(id="policy"):
                    yield Label("Views (1-100)")
                    yield Input("1", id="views", restrict=r"\d*", max_length=3)
                    yield Label("Label")
                    yield Input(placeholder="for yourself (optional)", id="label")
                yield Label(
                    "Password (optional: the recipient must type it)", classes="field-label"
                )
                yield Input(password=True, id="password")
                yield Label(
                    "Only for (optional): an e-mail address; a code mailed there opens it",
                    classes="field-label",
                )
                yield Input(placeholder="name@example.com", id="recipient", max_length=254)
                yield Note("", id="error", classes="error")
            with VerticalScroll(id="result"):
                yield Static("", id="link", markup=False)
                yield Static("", id="statement", markup=False)
                yield Static("", id="qr")
            with Horizontal(classes="buttons"):
                yield Button("Create link", id="create", variant="primary")
                yield Button("Copy link (c)", id="copy")
                yield Button("QR code (q)", id="qr-button")
                yield Button("Close", id="close")

    def on_mount(self) -> None:
        if self.target is None:
            self.query_one("#close", Button).focus()
            return
        for widget in ("#result", "#copy", "#qr-button", "#qr"):
            self.query_one(widget).display = False

    def _policy(self) -> tuple[tuple[str, ...], int, int, str | None, str, str] | None:
        error = self.query_one("#error", Note)
        fields = tuple(
            name
            for name, _, _ in self.service.shareable_fields(self.item.kind)
            if self.item.kind is not ItemKind.FILE
            and self.query_one(f"#field-{name}", Checkbox).value
        )
        if self.item.kind is not ItemKind.FILE and not fields:
            error.say("Tick at least one field to include.")
            return None
        views_text = self.query_one("#views", Input).value
        views = int(views_text) if views_text.isdigit() else 0
        if not 1 <= views <= 100:
            error.say("Views must be a number from 1 to 100.")
            return None
        index = self.query_one("#expiry", RadioSet).pressed_index
        if index == len(EXPIRY):  # custom: 90m, 36h, 3d, 2w (the server caps it at 30 days)
            try:
                expires = self.service.parse_duration(self.query_one("#custom-expiry", Input).value)
            except MySafeError as exc:
                error.say(str(exc))
                return None
        else:
            expires = EXPIRY[index if index >= 0 else 1][1]
        password = self.query_one("#password", Input).value or None
        label = self.query_one("#label", Input).value.strip()
        return fields, expires, views, password, label, self.query_one("#recipient", Input).value

    @on(Button.Pressed, "#create")
    def action_create(self) -> None:
        if self.target is not None and self.share_hash is None:
            policy = self._policy()
            if policy is not None:
                self.create(*policy)

    @work(exclusive=True, group="share", exit_on_error=False)
    async def create(
        self,
        fields: tuple[str, ...],
        expires: int,
        views: int,
        password: str | None,
        label: str,
        recipient: str,
    ) -> None:
        button = self.query_one("#create", Button)
        button.disabled = True
        try:
            created = await self.service.share_item(
                self.item.id,
                fields=fields or None,
                expires_in=expires,
                views=views,
                password=password,
                label=label,
                recipient=recipient.strip(),
            )
        except MySafeError as exc:
            self.query_one("#error", Note).say(f"No link made: {exc}")
            button.disabled = False
            return
        self.share_hash = created.share_hash
        self.link = str(created.link)
        self.query_one("#share-form").display = False
        button.display = False
        for widget in ("#result", "#copy", "#qr-button"):
            self.query_one(widget).display = True
        self.query_one("#link", Static).update(self.link)
        what = (
            ", ".join(self.query_one(f"#field-{f}", Checkbox).label.plain for f in fields)
            if (fields)
            else f"the file {self.item.file_name}"
        )
        until = time.strftime("%a %d %b %H:%M", time.localtime(created.expires_at))
        times = "once" if views == 1 else f"{views} times"
        guard = (
            " They must type the password you set; tell it to them another way."
            if (password)
            else ""
        )
        if created.recipient:
            guard += (
                f" Only {created.recipient} opens it: send them the link yourself; the server "
                "mailed them a notice, and mails them a code when they open it."
            )
            if created.mail_status.startswith("failed"):
                why = created.mail_status.removeprefix("failed: ")
                self.notify(  # the app shows every notice as plain, escaped text
                    f"The notice was not mailed ({why}): O resends", severity="warning"
                )
        self.query_one("#statement", Static).update(
            plain(
                f"The recipient sees {what} of '{self.item.name}'. The link opens {times}, "
                f"until {until}, or until you revoke it (O: your links).{guard} Opening the "
                "page spends nothing: only its Reveal button does. The server never sees the key."
            )
        )
        self.query_one("#copy", Button).focus()

    @on(Button.Pressed, "#copy")
    def action_copy(self) -> None:
        if self.share_hash is not None:
            self.copy()

    @work(exit_on_error=False)
    async def copy(self) -> None:
        assert self.share_hash is not None
        try:
            self.notify(await self.service.copy_share_link(self.share_hash))
        except MySafeError as exc:
            self.notify(str(exc), severity="error")

    @on(Button.Pressed, "#qr-button")
    def action_qr(self) -> None:
        if self.share_hash is None:
            return
        qr = self.query_one("#qr", Static)
        if not qr.display:
            code = qr_text(self.link)
            needed = len(code.plain.splitlines()) + QR_CHROME
            if needed > self.app.size.height:  # cut in half, a code cannot be scanned
                self.notify(
                    f"The QR code needs a terminal {needed} rows tall (this one has "
                    f"{self.app.size.height}): enlarge it, or press c to copy the link",
                    severity="warning",
                )
                return
            qr.update(code)
        qr.display = not qr.display
        self.query_one("#statement").display = not qr.display

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(self.share_hash)
