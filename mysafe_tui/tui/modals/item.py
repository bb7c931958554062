"""New / edit dialog for every kind, with validation beside the fields and a password generator.

The dialog saves through the service itself, so a refusal (bad TOTP seed, a field too long)
shows here and nothing the user typed is lost.
"""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, TextArea

from mysafe_tui.core.errors import MySafeError, RemoteConflict
from mysafe_tui.core.models import SPECS, Field, ItemKind, ItemSummary, Secret
from mysafe_tui.service import VaultService
from mysafe_tui.tui.actions import bindings
from mysafe_tui.tui.modals.confirm import ConfirmDialog
from mysafe_tui.tui.widgets.note import Note


class ItemDialog(ModalScreen[ItemSummary | None]):
    """Create (`item=None`) or edit an item of `kind`. Dismisses with the saved summary."""

    BINDINGS = bindings("item")

    def __init__(
        self,
        service: VaultService,
        kind: ItemKind,
        item: ItemSummary | None = None,
        secrets: dict[str, Secret] | None = None,
        *,
        generate: bool = False,
    ) -> None:
        super().__init__()
        self.service = service
        self.generate_at_start = generate  # the health report's "generate a new password"
        self.kind = kind
        self.item = item
        self.initial: dict[str, str] = {}
        self.spec = SPECS[kind]
        self.fields: tuple[Field, ...] = self.spec.typed
        for spec in self.fields:
            if item is not None and spec.name in self.spec.summary:
                self.initial[spec.name] = item.field(spec.name)
            elif secrets and spec.name in secrets:
                self.initial[spec.name] = secrets[spec.name].reveal()
            else:
                self.initial[spec.name] = ""

    def compose(self) -> ComposeResult:
        verb = "Edit" if self.item else "New"
        with Vertical(classes="dialog item-dialog"):
            yield Label(f"{verb} {self.kind.label.lower()}", classes="title")
            yield Note("", id="form-error", classes="error")
            with VerticalScroll(id="fields"):
                for spec in self.fields:
                    required = spec.name in self.spec.required
                    yield Label(spec.label + (" *" if required else ""), classes="field-label")
                    value = self.initial[spec.name]
                    if spec.multiline:
                        yield TextArea(value, id=f"f-{spec.name}", soft_wrap=True)
                    else:
                        placeholder = self.spec.placeholder(spec.name)
                        yield Input(
                            value,
                            id=f"f-{spec.name}",
                            placeholder=placeholder,
                            password=spec.masked,
                        )
                    if spec.name == "password":
                        yield Note("", id="strength")
                    yield Note("", id=f"e-{spec.name}", classes="field-error")
                if self.kind is ItemKind.PASSWORD:
                    # Last in the form, so that tab goes from the password to the URL, the
                    # order people fill a login in; ctrl+g generates from anywhere.
                    yield Label("Password generator (ctrl+g)", classes="field-label")
                    with Horizontal(classes="generator"):
                        yield Button("Generate", id="generate", variant="primary")
                        yield Input("24", id="gen-length", type="integer", max_length=3)
                        yield Checkbox("Words", id="gen-words")
            yield Label(
                "ctrl+s save · esc cancel · ctrl+g generate · ctrl+r show/hide", classes="hint"
            )

    def on_mount(self) -> None:
        self.query_one(f"#f-{self.fields[0].name}").focus()
        if self.generate_at_start:
            self.action_generate()
            self.query_one("#f-password").focus()
        self._update_strength()

    def values(self) -> dict[str, str]:
        out = {}
        for spec in self.fields:
            widget = self.query_one(f"#f-{spec.name}")
            out[spec.name] = widget.text if isinstance(widget, TextArea) else widget.value  # type: ignore[attr-defined]
        return out

    @property
    def dirty(self) -> bool:
        return self.values() != self.initial

    @on(Input.Changed, "#f-password")
    def _password_changed(self) -> None:
        self._update_strength()

    def _update_strength(self) -> None:
        if self.kind is not ItemKind.PASSWORD:
            return
        value = self.query_one("#f-password", Input).value
        note = self.query_one("#strength", Note)
        if not value:
            note.say("")  # no blank row under an empty password
            return
        strength = self.service.estimate_strength(value)
        note.say(f"{strength.label} · {strength.bits:.0f} bits", f"strength-{strength.score}")

    @on(Button.Pressed, "#generate")
    def action_generate(self) -> None:
        if self.kind is not ItemKind.PASSWORD:
            return
        words = self.query_one("#gen-words", Checkbox).value
        length_text = self.query_one("#gen-length", Input).value
        try:
            if words:
                value = self.service.generate_passphrase(max(3, min(20, int(length_text or 5))))
            else:
                value = self.service.generate_password(int(length_text or 24))
        except (ValueError, MySafeError) as exc:
            self.query_one("#e-password", Note).say(str(exc))
            return
        self.query_one("#f-password", Input).value = value
        self.query_one("#e-password", Note).say("")

    def action_toggle_mask(self) -> None:
        for spec in self.fields:
            if spec.masked:
                widget = self.query_one(f"#f-{spec.name}", Input)
                widget.password = not widget.password

    def _check(self, values: dict[str, str]) -> bool:
        ok = True
        for spec in self.fields:
            error = ""
            if spec.name in self.spec.required and not values[spec.name].strip():
                error = f"{spec.label} is required"
                ok = False
            self.query_one(f"#e-{spec.name}", Note).say(error)
        return ok

    def action_save(self) -> None:
        values = self.values()
        if self._check(values):
            self._save(values)

    @work(exclusive=True, group="save", exit_on_error=False)
    async def _save(self, values: dict[str, str]) -> None:
        error = self.query_one("#form-error", Note)
        try:
            if self.item is None:
                saved = await self.service.create_item(self.kind, values)
            else:
                changed: dict[str, Any] = {
                    k: v for k, v in values.items() if v != self.initial.get(k)
                }
                saved = await self.service.update_item(self.item.id, changed)
        except RemoteConflict as conflict:
            assert self.item is not None
            resolved = await self._resolve(changed, conflict.current)
            if resolved is not None:
                self.dismiss(resolved)
            return
        except MySafeError as exc:
            error.say(f"Not saved: {exc}")
            return
        self.dismiss(saved)

    async def _resolve(
        self, changed: dict[str, Any], current: dict[str, object]
    ) -> ItemSummary | None:
        """The server copy changed since the last sync: show both, let the user choose."""
        from mysafe_tui.tui.modals.remote import ConflictDialog

        assert self.item is not None
        rows = []
        for spec in self.fields:
            mine = self.values()[spec.name]
            raw = current.get(spec.name, "")
            theirs = ",".join(map(str, raw)) if isinstance(raw, tuple | list) else str(raw or "")
            differs = mine.strip() != theirs.strip()
            if spec.masked:  # never on screen unasked: say only whether it differs
                mine, theirs = ("••••••" if mine else ""), ("••••••" if theirs else "")
            rows.append((spec.label, mine, theirs, differs))
        choice = await self.app.push_screen_wait(ConflictDialog(self.item.name, rows))
        if choice is None:
            self.query_one("#form-error", Note).say(
                "Not saved: the server copy changed. Save again to choose, or Esc to discard."
            )
            return None
        try:
            return await self.service.resolve_conflict(self.item.id, changed, choice)
        except MySafeError as exc:
            self.query_one("#form-error", Note).say(f"Not saved: {exc}")
            return None

    @work
    async def action_cancel(self) -> None:
        if not self.dirty or await self.app.push_screen_wait(
            ConfirmDialog("Discard your changes?", yes="Discard", danger=True)
        ):
            self.dismiss(None)
