"""Settings: clipboard backend and clear time, auto-lock, theme, KDF profile for new vaults,
the health check's limits and breach data."""

from __future__ import annotations

from dataclasses import replace

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select

from mysafe_tui.core.errors import MySafeError
from mysafe_tui.service import VaultService
from mysafe_tui.system.settings import Settings
from mysafe_tui.tui.actions import bindings
from mysafe_tui.tui.widgets.note import Note

CLIPBOARD = [
    ("auto (OSC 52 over SSH, else system)", "auto"),
    ("system clipboard", "system"),
    ("terminal (OSC 52)", "osc52"),
    ("off", "off"),
]
KDF = [("default (Argon2id 256 MiB)", "default"), ("low memory (64 MiB)", "low-memory")]


class SettingsDialog(ModalScreen[bool]):
    """Dismisses with True when settings were saved."""

    BINDINGS = bindings("settings")

    def __init__(self, service: VaultService) -> None:
        super().__init__()
        self.service = service

    def compose(self) -> ComposeResult:
        s = self.service.settings
        themes = sorted(self.app.available_themes)
        with Vertical(classes="dialog settings"):
            yield Label("Settings", classes="title")
            with VerticalScroll(id="settings-fields"):
                yield from self._fields(s, themes)
            yield Note("", id="error", classes="error")
            with Horizontal(classes="buttons"):
                yield Label("ctrl+s save · esc cancel", classes="hint")
                yield Button("Save", id="save", variant="primary")
                yield Button("Cancel", id="cancel")

    def _fields(self, s: Settings, themes: list[str]) -> ComposeResult:
        """Scrolled at 80x24, where the buttons below must stay in sight."""
        yield Label("Clipboard", classes="field-label")
        yield Select(CLIPBOARD, value=s.clipboard, allow_blank=False, id="clipboard")
        yield Label("Clear the clipboard after (seconds, 5-120)", classes="field-label")
        yield Input(str(s.clear_seconds), id="clear", type="integer")
        yield Label("Lock after idle minutes (1-240): here · over SSH", classes="field-label")
        with Horizontal(id="autolock-row"):
            yield Input(str(s.autolock_minutes), id="autolock", type="integer")
            yield Input(str(s.ssh_autolock_minutes), id="ssh-autolock", type="integer")
        yield Label("Sync with the server every N minutes (0: when asked)", classes="field-label")
        yield Input(str(s.sync_minutes), id="sync-minutes", type="integer")
        yield Label("Theme", classes="field-label")
        yield Select(
            [(t, t) for t in themes],
            value=s.theme if s.theme in themes else themes[0],
            allow_blank=False,
            id="theme",
        )
        yield Label("Key derivation for new vaults", classes="field-label")
        yield Select(KDF, value=s.kdf_profile, allow_blank=False, id="kdf")
        yield Checkbox(
            "No passphrase while 'mysafe unlock' holds the vault",
            s.use_agent,
            id="use-agent",
        )
        yield Label("Health: days before a password counts as old", classes="field-label")
        yield Input(str(s.health_max_age_days), id="max-age", type="integer")
        yield Label("Health: Pwned Passwords copy (folder or sorted file)", classes="field-label")
        yield Input(s.breach_data, id="breach-data", placeholder="none: breaches not checked")
        # Five hex digits of each password's SHA-1 leave the machine (docs/health.md).
        yield Checkbox(
            "Health report: also ask the online range API", s.breach_online, id="breach-online"
        )

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        else:
            self.dismiss(False)

    @work(exclusive=True, exit_on_error=False)
    async def action_save(self) -> None:

        try:
            settings = replace(
                self.service.settings,
                clipboard=str(self.query_one("#clipboard", Select).value),
                clear_seconds=int(self.query_one("#clear", Input).value or 0),
                autolock_minutes=int(self.query_one("#autolock", Input).value or 0),
                ssh_autolock_minutes=int(self.query_one("#ssh-autolock", Input).value or 0),
                sync_minutes=int(self.query_one("#sync-minutes", Input).value or 0),
                theme=str(self.query_one("#theme", Select).value),
                kdf_profile=str(self.query_one("#kdf", Select).value),
                use_agent=self.query_one("#use-agent", Checkbox).value,
                health_max_age_days=int(self.query_one("#max-age", Input).value or 0),
                breach_data=self.query_one("#breach-data", Input).value.strip(),
                breach_online=self.query_one("#breach-online", Checkbox).value,
            )
            await self.service.save_settings(settings)
        except (ValueError, MySafeError) as exc:
            self.query_one("#error", Note).say(f"Not saved: {exc}")
            return
        self.app.theme = settings.theme
        self.dismiss(True)
