"""The top bar (profile, server state, filters, the two countdowns) and the offline banner.

Both take plain values as reactive attributes: the app's one-second tick sets them, and only a
change repaints (a countdown) or relays out (the banner appearing)."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from mysafe_tui.core.humanize import ago
from mysafe_tui.tui.text import markup_safe

RECONNECT_SECONDS = 30  # while offline, the main screen tries the server again this often
_STATES = {
    "synced": "[$success]● [/]synced",
    "syncing": "[$accent]◌ [/]syncing…",
    "offline": "[$warning]▲ [/]offline",
    "error": "[$error]✖ [/]error",
    "cached": "[$text-muted]○ [/]not synced yet",
}


class TopBar(Static):
    """`mysafe · profile │ server │ ★ favourites │ clipboard clears in 12s │ locks in 4:59`."""

    profile = reactive("")
    server = reactive("")  # the server's host, "" for a local vault
    state = reactive("local")  # local, cached, syncing, synced, offline, error
    last_sync: reactive[float | None] = reactive(None)
    insecure = reactive(False)
    unreadable = reactive(0)  # items the last sync could not read
    waiting = reactive(0)  # changes made here the server has not heard of yet
    favourites_only = reactive(False)
    clipboard_in: reactive[int | None] = reactive(None)
    lock_in: reactive[int | None] = reactive(None)

    def render_text(self) -> str:
        """The whole line, or its short form when that would not fit the width."""
        full = self._line(short=False)
        width = self.size.width
        if not width or Content.from_markup(full).cell_length <= width:
            return full
        return self._line(short=True)

    def _line(self, short: bool) -> str:
        parts = [f"[b]mysafe[/b] · {markup_safe(self.profile)}", self._server_text(short)]
        if self.favourites_only:
            parts.append("★" if short else "★ favourites")
        if self.clipboard_in is not None:
            parts.append(f"{'clip' if short else 'clipboard clears in'} {self.clipboard_in}s")
        if self.lock_in is not None:
            parts.append(
                f"{'lock' if short else 'locks in'} {self.lock_in // 60}:{self.lock_in % 60:02d}"
            )
        return (" │ " if short else "  │  ").join(parts)

    def _server_text(self, short: bool = False) -> str:
        if not self.server:
            return "local vault"
        state = _STATES.get(self.state, markup_safe(self.state))
        if self.state == "synced" and self.last_sync:
            state += f" {ago(self.last_sync)}"
        unverified = " [$error]TLS NOT VERIFIED[/]" if self.insecure else ""
        unread = f" [$warning]{self.unreadable} unread[/]" if self.unreadable else ""
        plural = "change" if self.waiting == 1 else "changes"
        said = f"⇡{self.waiting}" if short else f"⇡ {self.waiting} {plural} waiting"
        waiting = f" [$warning]{said}[/]" if self.waiting else ""
        return f"{markup_safe(self.server)} {state}{waiting}{unread}{unverified}"

    def _repaint(self) -> None:
        self.update(self.render_text())

    def on_resize(self) -> None:
        self._repaint()

    watch_profile = watch_server = watch_state = watch_last_sync = _repaint
    watch_insecure = watch_unreadable = watch_waiting = watch_favourites_only = (
        watch_clipboard_in
    ) = watch_lock_in = _repaint


class OfflineBanner(Static):
    """Shown while the server cannot be reached: what the screen shows, and what happens."""

    DEFAULT_CSS = """
    OfflineBanner {
        display: none;
        height: auto;
        padding: 0 1;
        background: $warning 25%;
        color: $text;
    }
    """
    state = reactive("local")
    last_sync: reactive[float | None] = reactive(None)
    _shown = ""

    def refresh_text(self) -> None:
        offline = self.state in ("offline", "error")
        self.display = offline
        if offline:
            what = "Offline" if self.state == "offline" else "Server error"
            text = (
                f"{what}: showing the copy synced {ago(self.last_sync)}. Changes are kept "
                f"here and sent when the server answers; retrying every {RECONNECT_SECONDS} s "
                "(s: now)."
            )
            if text != self._shown:  # "synced 5 minutes ago" ages: the tick calls this too
                self._shown = text
                self.update(text)

    watch_state = watch_last_sync = refresh_text
