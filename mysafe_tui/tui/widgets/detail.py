"""The detail pane: every field of one item, secrets masked until revealed."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from mysafe_tui.core.extras import Extras
from mysafe_tui.core.health import TITLES, Finding
from mysafe_tui.core.humanize import moment, size
from mysafe_tui.core.models import (
    FIELDS,
    SPECS,
    ItemKind,
    ItemSummary,
    Secret,
    TotpCode,
    field_label,
)
from mysafe_tui.core.outbox import Outgoing
from mysafe_tui.tui.text import printable
from mysafe_tui.tui.widgets.item_list import describe

MASK = "••••••••••"
KEYS = {"password": "c", "username": "u", "client_secret": "c", "note": "c"}


class DetailPane(Static):
    """Shows the highlighted item; the screen feeds it summaries, secrets and TOTP codes."""

    DEFAULT_CSS = """
    DetailPane { padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.item: ItemSummary | None = None
        self.secrets: dict[str, Secret] = {}
        self.revealed = False
        self.totp: TotpCode | None = None
        self.preview: str | None = None
        self.bound = False  # the vault syncs with a server: items that do not are marked
        self.keeps_extras = False  # that server holds custom fields, more URLs, old passwords
        self.extras = Extras()
        self.findings: dict[str, list[Finding]] = {}  # the health check's, by item id

    def show_item(
        self,
        item: ItemSummary | None,
        secrets: dict[str, Secret] | None = None,
        extras: Extras | None = None,
    ) -> None:
        if item is None or self.item is None or item.id != self.item.id:
            self.revealed = False
            self.totp = None
            self.preview = None
        self.item = item
        self.secrets = secrets or {}
        self.extras = extras or Extras()
        self.update(self.render_item())

    def set_revealed(self, revealed: bool) -> None:
        self.revealed = revealed
        self.update(self.render_item())

    def set_totp(self, code: TotpCode | None) -> None:
        self.totp = code
        self.update(self.render_item())

    def set_preview(self, text: str | None) -> None:
        self.preview = text
        self.update(self.render_item())

    def render_item(self) -> RenderableType:
        item = self.item
        if item is None:
            return Text("Nothing selected.\n\nPress n to add an item.", style="dim")
        title = Text(("★ " if item.favourite else "") + printable(item.name), style="bold")
        sub = Text(item.kind.label, style="dim")
        if item.tags:
            sub.append(" · ", style="dim")
            sub.append(printable(" ".join(f"#{t}" for t in item.tags)), style="italic")
        if not item.active:
            sub.append(" · ", style="dim")
            sub.append("in the trash", style="bold red")
        waiting = Outgoing.parse(item.outbox) if item.outbox else None
        if waiting is not None:
            sub.append(" · ", style="dim")
            choose = {"": "", "refused": " (e to fix it)"}.get(waiting.problem, " (e to choose)")
            sub.append(f"⇡ {waiting.describe()}{choose}", style="red" if choose else "yellow")
        elif self.bound and not item.remote:
            sub.append(" · ", style="dim")
            sub.append("local only (not on the server)", style="yellow")
        if item.sharing_line():
            sub.append(" · ", style="dim")
            sub.append(printable(item.sharing_line()), style="cyan")
        table = Table.grid(padding=(0, 2))
        table.add_column(style="dim", no_wrap=True)
        table.add_column(overflow="fold")
        spec = SPECS[item.kind]
        for name in spec.summary:
            if name in ("name", "tags"):
                continue
            value = item.field(name)
            if name == "size":
                value = describe(item).rsplit(" · ", 1)[-1]
            if value:
                table.add_row(field_label(name), Text(printable(value)))
            if name == "url":  # a login's other URLs right after its main one
                for url in item.urls:
                    table.add_row("URL", Text(printable(url)))
        for name in spec.secret:
            secret = self.secrets.get(name)
            if name == "secret_key":
                if secret:
                    table.add_row("One-time code", self._totp_text())
                continue
            if FIELDS[name].masked:
                shown = secret.reveal() if (secret and self.revealed) else (MASK if secret else "")
                if shown:
                    style = "bold" if self.revealed else ""
                    table.add_row(field_label(name), Text(printable(shown), style=style))
            elif secret:
                table.add_row(field_label(name), Text(printable(secret.reveal(), multiline=True)))
        self._add_extras(table, item)
        for n, finding in enumerate(self.findings.get(item.id, [])):
            style = "bold red" if finding.check == "breached" else "yellow"
            line = Text(f"{TITLES[finding.check]}: ", style=style)
            line.append(printable(finding.detail))
            table.add_row("" if n else "Health", line)
        parts: list[RenderableType] = [title, sub, Text(""), table]
        if self.preview is not None:
            # A file is often a key: its text stays masked until asked for, like a password.
            preview = (
                Text(printable(self.preview, multiline=True))
                if self.revealed
                else Text(f"{MASK}  (r shows the start of the file)", style="dim")
            )
            parts += [Text(""), Text("Preview", style="dim"), preview]
        parts += [
            Text(""),
            Text(
                f"Created {moment(item.created)}  ·  updated {moment(item.updated)}  ·  "
                f"version {item.version}",
                style="dim",
            ),
            Text(self._hint(item), style="dim italic"),
        ]
        return Group(*parts)

    def _add_extras(self, table: Table, item: ItemSummary) -> None:
        """Custom fields (secret ones masked), attachments, old passwords."""
        found = self.extras
        for f in found.fields:
            shown = f.value if self.revealed or not f.secret else MASK
            style = "bold" if f.secret and self.revealed else ""
            table.add_row(Text(printable(f.label)), Text(printable(shown, multiline=True), style))
        for a in found.attachments:
            table.add_row("Attachment", Text(f"{printable(a.name)} · {size(a.size)}"))
        if found.history:
            table.add_row("Old passwords", Text(f"{len(found.history)} (m to see or restore)"))
        held = found.kept_locally(self.keeps_extras) if self.bound and item.remote else []
        if held:
            table.add_row("", Text(f"{', '.join(held)}: on this device only", style="yellow"))

    def _totp_text(self) -> Text:
        code = self.totp
        if code is None:
            return Text("…", style="dim")
        half = len(code.code) // 2
        text = Text(f"{code.code[:half]} {code.code[half:]}", style="bold")
        filled = round(10 * code.seconds_left / code.period)
        style = "green" if code.seconds_left > 5 else "red"
        text.append(f"  {'▮' * filled}{'▯' * (10 - filled)} {code.seconds_left:2d}s", style=style)
        return text

    def _hint(self, item: ItemSummary) -> str:
        if not item.active:
            return "R restore · P purge for good"
        keys = {
            ItemKind.PASSWORD: "c copy password · u username · t code · r reveal · m more",
            ItemKind.NOTE: "c copy note · m fields and files",
            ItemKind.API_SECRET: "c copy secret · x copy as env lines · r reveal",
            ItemKind.FILE: "o save to a path",
            ItemKind.SSH_KEY: "c copy public key · r reveal the private key",
        }[item.kind]
        if item.read_only:
            return f"{keys} · f favourite · view only: its owner can give you edit rights"
        return f"{keys} · e edit · f favourite · d to trash"
