"""The main screen: kinds as tabs, filter-as-you-type, the virtual list and the detail pane."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Mapping
from typing import TypeVar

from textual import events, on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.css.query import NoMatches
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Footer, Input, Tab, Tabs

from mysafe_tui.core.errors import InvalidInput, MySafeError
from mysafe_tui.core.health import Report, marked
from mysafe_tui.core.models import ItemKind, ItemSummary
from mysafe_tui.service import VaultService
from mysafe_tui.service.index import Hits
from mysafe_tui.tui.actions import BY_NAME, bindings
from mysafe_tui.tui.screens.main_items import ItemActions
from mysafe_tui.tui.screens.main_server import ServerActions
from mysafe_tui.tui.widgets.detail import DetailPane
from mysafe_tui.tui.widgets.filter_box import FilterBox
from mysafe_tui.tui.widgets.item_list import ItemList
from mysafe_tui.tui.widgets.topbar import RECONNECT_SECONDS, OfflineBanner, TopBar

TABS = [
    ("password", "1 Passwords", ItemKind.PASSWORD),
    ("note", "2 Notes", ItemKind.NOTE),
    ("file", "3 Files", ItemKind.FILE),
    ("secretapi", "4 API Secrets", ItemKind.API_SECRET),
    ("sshkey", "5 SSH Keys", ItemKind.SSH_KEY),
    ("trash", "6 Trash", None),
]
# Short names for the tabs whose full names do not fit a narrow terminal (80 columns).
SHORT = {"4 API Secrets": "4 API", "5 SSH Keys": "5 SSH"}


def tab_labels(counts: Mapping[ItemKind, int], width: int) -> list[str]:
    """The tabs' labels, as full as the width allows: full names with counts, short names
    with counts, short names alone. Each tab takes its label and a column either side."""

    def labelled(short: bool, counted: bool) -> list[str]:
        names = [(SHORT.get(label, label) if short else label, kind) for _, label, kind in TABS]
        return [f"{name} ({counts[kind]})" if counted and kind else name for name, kind in names]

    tries = [labelled(False, True), labelled(True, True), labelled(True, False)]
    for labels in tries:
        if sum(len(label) + 2 for label in labels) <= width:
            return labels
    return tries[-1]


T = TypeVar("T")
WIDE = 100  # columns from which the detail pane sits beside the list
WATCH_SECONDS = 2  # how often to look for writes by another process (one small query)
PANE_PAUSE = 0.15  # seconds without a key in the filter before the pane follows the cursor
# Filter changes closer than this are a burst (nobody types 50 keys a second): each search
# waits as long for the next key, and only the newest text is searched.
BURST_GAP = 0.02


class MainScreen(ItemActions, ServerActions, Screen[None]):
    """Everything after unlock. State goes down into the list and pane; messages come up."""

    CSS_PATH = "main.tcss"
    BINDINGS = bindings("main")
    # Keys typed before the list has the focus come here (on_key): a "/query" filters, the
    # rest is dropped, never taken as the list's one-key commands.
    TAKES_KEYS_AHEAD = True

    # What the list shows; a change searches again (the watchers below).
    tab = reactive("password", init=False, repaint=False)  # a kind's value, or "trash"
    favourites_only = reactive(False, init=False, repaint=False)
    query_text = reactive("", init=False, repaint=False)  # no repaint of every widget

    def __init__(self, service: VaultService, typed_ahead: list[str] | None = None) -> None:
        super().__init__()
        self.service = service
        # Keys typed while the vault unlocked, and until something here has focus: they are
        # filter text ("/git"), never the list's one-key commands (t copies, d trashes).
        self.typed_ahead: list[str] | None = typed_ahead
        self.filter_ahead = False
        self.first_focus: Widget | None = None  # where typing ahead ends
        self.health: Report | None = None  # the last health check: the list's marks
        self._health_generation = -1  # the vault generation it saw
        # The generation a running check looks at: searching again (each keystroke) must not
        # start it over (at 100k items each start decodes every summary again).
        self._health_checking = -1
        self._footer_for: tuple[bool, ...] = ()  # what applied when the footer was drawn
        self._pane_timer: Timer | None = None
        self._typed_at = 0.0  # when the filter last changed
        self._burst = False  # and whether it changed a moment before that too

    def compose(self) -> ComposeResult:
        yield TopBar(id="topbar")
        yield OfflineBanner(id="banner")
        yield Tabs(*[Tab(label, id=f"tab-{key}") for key, label, _ in TABS], id="tabs")
        yield FilterBox(placeholder="/ filter (fuzzy) · esc clears", id="filter")
        with Horizontal(id="body"):
            yield ItemList(id="list")
            with VerticalScroll(id="detail-scroll"):
                yield DetailPane(id="detail")
        yield Footer()

    def on_mount(self) -> None:
        typed = "".join(self.typed_ahead or ())
        self.filter_ahead = typed.startswith("/")
        if self.filter_ahead:  # "/git" typed before the list was there
            self.query_text = typed[1:]
            flt = self.query_one("#filter", Input)
            flt.insert_text_at_cursor(self.query_text)
            # Typing goes on after it: not selected (and replaced) when the filter gets focus.
            # Restored once the filter has handled its Focus event (its queue runs in order).
            flt.select_on_focus = False
            self.first_focus = flt
            self.app.call_later(flt.call_later, setattr, flt, "select_on_focus", True)
        else:
            self.first_focus = self.query_one(ItemList)
        # At once, not deferred: a "/" arriving meanwhile must not have its focus taken away.
        self.set_focus(self.first_focus)
        self.set_timer(1, self.end_typing_ahead)  # in case that focus never comes
        self.refresh_list()
        self.update_topbar()
        self.set_interval(1, self._tick_totp)
        self.set_interval(RECONNECT_SECONDS, self.sync_when_due)
        self.set_interval(WATCH_SECONDS, self.pick_up_changes)
        self.service.on_server_wait = lambda seconds: self.notify(
            f"The server asks for a pause: trying again in {seconds:.0f} s"
        )
        if self.service.remote_status().bound:
            self.background_sync()

    def on_key(self, event: events.Key) -> None:
        """A key that reaches the screen itself before anything here has focus."""
        if self.typed_ahead is None or not (event.is_printable and event.character):
            return
        event.stop()
        event.prevent_default()
        self.typed_ahead.append(event.character)
        if self.filter_ahead:
            self.query_one("#filter", Input).insert_text_at_cursor(event.character)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if event.widget is self.first_focus:  # not a widget focused by default before it
            self.end_typing_ahead()

    def end_typing_ahead(self) -> None:
        self.typed_ahead = None  # from now on keys go where the focus is

    def on_resize(self) -> None:
        self.set_class(self.size.width >= WIDE, "wide")
        self.update_topbar()  # the tabs' labels fit the width

    # --- state -> widgets -----------------------------------------------------------------

    @property
    def kind(self) -> ItemKind | None:
        return next(kind for key, _, kind in TABS if key == self.tab)

    @property
    def current(self) -> ItemSummary | None:
        return self.query_one(ItemList).current

    @work(exclusive=True, group="search", exit_on_error=False)
    async def refresh_list(self, keep: str | None = None, top: bool = False) -> None:
        """Search again; the cursor stays on `keep` (else the current item) unless `top`."""
        if self._burst:  # keys are arriving in a burst (a paste, a laggy link): let it land
            await asyncio.sleep(BURST_GAP)
        if self.query_one("#filter", Input).value != self.query_text:
            return  # more keys came meanwhile: the search for the newest text is on its way
        unclear = ""
        try:
            items = await self.service.search(
                self.query_text,
                kind=self.kind,
                trash=self.tab == "trash",
                favourites_only=self.favourites_only,
            )
        except InvalidInput as exc:  # `shared:maybe`: said where the list would be
            items, unclear = Hits(), f"{exc}. Esc clears the filter; ? lists the filter words."
        listing = self.query_one(ItemList)
        listing.show_kind = self.tab == "trash"
        if not top:
            keep = keep or (listing.current.id if listing.current else None)
        empty = unclear or self._empty_text()
        if not items and self.query_text and self.kind is not None and not unclear:
            empty += await self._elsewhere()
        listing.show(items, keep=keep, empty=empty)
        if not items:
            self.query_one(DetailPane).show_item(None)
        self.update_topbar()
        if not self.query_text:  # a list opened: ready its search for the first key
            self.run_worker(
                self.service.prepare_search(
                    kind=self.kind, trash=self.tab == "trash", favourites_only=self.favourites_only
                ),
                group="prepare-search",
                exclusive=True,
                exit_on_error=False,
            )
        if self.service.generation not in (self._health_generation, self._health_checking):
            self.check_health()  # after the list is drawn: never before its first paint

    @work(exclusive=True, group="health-marks", exit_on_error=False)
    async def check_health(self) -> None:
        """The list's marks (weak, reused, breached) and the pane's reasons, in the
        background after each change; breaches from the local copy only (online lookups
        only when the Health report is opened)."""
        generation = self._health_checking = self.service.generation
        try:
            report = await self.service.health(online=False)
        except MySafeError:
            return  # the Health report says why when it is opened
        finally:  # cancelled: a newer check (after a write) took over
            if self._health_checking == generation:
                self._health_checking = -1
        self._health_generation = generation
        self.take_health(report)

    def take_health(self, report: Report) -> None:
        self.health = report
        listing = self.query_one(ItemList)
        listing.marks = marked(report)
        listing.refresh()
        pane = self.query_one(DetailPane)
        pane.findings = report.by_item()
        pane.update(pane.render_item())

    async def _elsewhere(self) -> str:
        """Nothing matches in this tab: say where something does ("2 in Notes: press 2")."""
        if not any(n for kind, n in self.service.counts_now().items() if kind is not self.kind):
            return ""  # nothing is anywhere else (no search of every item needed to say so)
        found = await self.service.search(self.query_text, favourites_only=self.favourites_only)
        counts: dict[ItemKind, int] = {}
        for item in found:
            counts[item.kind] = counts.get(item.kind, 0) + 1
        places = [
            f"{counts[kind]} in {label[2:]} (press {label[0]})"
            for _, label, kind in TABS
            if kind in counts
        ]
        return f" Found {', '.join(places)}." if places else ""

    def _empty_text(self) -> str:
        if self.query_text:
            return (
                f"Nothing matches '{self.query_text}'. Esc clears the filter; ctrl+f looks "
                "inside the notes' text."
            )
        if self.tab == "trash":
            return "The trash is empty."
        if self.favourites_only:
            return "No favourites here. Press f on an item to add one; * shows all."
        kind = self.kind
        assert kind is not None
        verb = "attach" if kind is ItemKind.FILE else "add"
        plural = kind.label + "s" if kind is ItemKind.API_SECRET else kind.label.lower() + "s"
        return f"No {plural} yet. Press n to {verb} one."

    def update_topbar(self) -> None:
        """Counts in the tabs; profile, filters and the two countdowns in the top bar."""
        if not self.is_mounted or not self.service.is_unlocked:
            return
        # Called by the app's 1 s tick and on a resize, also while the screen composes or
        # closes (after a lock, before the unlock screen replaces it).
        with contextlib.suppress(NoMatches):
            self._update_topbar()

    def _update_topbar(self) -> None:
        counts = self.service.counts_now()
        for (key, _, _), text in zip(TABS, tab_labels(counts, self.size.width), strict=True):
            tab = self.query_one(f"#tab-{key}", Tab)
            if str(tab.label) != text:  # called every second: relayout only on change
                tab.label = text
        status = self.service.remote_status()
        self.query_one(DetailPane).bound = status.bound
        bar = self.query_one(TopBar)
        bar.profile = self.service.paths.profile
        bar.server = status.url.split("://", 1)[-1] if status.bound else ""
        bar.state, bar.last_sync, bar.insecure = status.state, status.last_sync, status.insecure
        bar.unreadable = len(status.unreadable)
        bar.waiting = len(self.service.waiting()) if status.bound else 0
        bar.favourites_only = self.favourites_only
        bar.clipboard_in = self.service.clipboard_seconds_left
        bar.lock_in = self.app.seconds_until_lock()  # type: ignore[attr-defined]
        banner = self.query_one(OfflineBanner)
        banner.state, banner.last_sync = status.state, status.last_sync
        banner.refresh_text()

    # --- messages up ----------------------------------------------------------------------

    def watch_tab(self, key: str) -> None:
        self.query_one(Tabs).active = f"tab-{key}"
        self.refresh_list()

    def watch_favourites_only(self) -> None:
        self.refresh_list()

    def watch_query_text(self) -> None:
        self.refresh_list(top=True)  # a new filter puts the cursor on its best match

    @on(Tabs.TabActivated)
    def tab_changed(self, event: Tabs.TabActivated) -> None:
        self.tab = (event.tab.id or "tab-password").removeprefix("tab-")

    @on(Input.Changed, "#filter")
    def filter_changed(self, event: Input.Changed) -> None:
        now = time.monotonic()
        self._burst, self._typed_at = now - self._typed_at < BURST_GAP, now
        self.query_text = event.value

    @on(Input.Submitted, "#filter")
    def filter_done(self) -> None:
        self.query_one(ItemList).focus()

    @on(ItemList.Highlighted)
    def highlighted(self, event: ItemList.Highlighted) -> None:
        # The footer follows what applies to this item (redrawn only when that changes).
        applies = self._applies(event.item)
        if applies != self._footer_for:
            self._footer_for = applies
            self.refresh_bindings()
        if self._pane_timer is not None:
            self._pane_timer.stop()
            self._pane_timer = None
        if self.focused is self.query_one("#filter"):
            # While typing, each key repaints the list alone; the pane follows the cursor
            # once the typing pauses (its text changes its height: a layout of the screen).
            self._pane_timer = self.set_timer(PANE_PAUSE, lambda: self._show_in_pane(event.item))
        else:
            self._show_in_pane(event.item)

    def _show_in_pane(self, item: ItemSummary | None) -> None:
        self._pane_timer = None
        pane = self.query_one(DetailPane)
        if item is not None and pane.item is not None and pane.item.id == item.id and pane.secrets:
            self.load_detail(reveal=pane.revealed)  # open, and changed: shown again, fresh
        elif item is None or pane.item is None or item != pane.item:
            pane.show_item(item)

    def _applies(self, item: ItemSummary | None) -> tuple[bool, ...]:
        bound = self.service.remote_status().bound
        return tuple(known.applies(item, bound) for known in BY_NAME.values() if known.needs)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """An action that does not apply to the highlighted item is greyed out in the
        footer, left out of the palette, and its key does nothing."""
        known = BY_NAME.get(action)
        if known is None or not known.needs or not self.is_mounted:
            return True
        with contextlib.suppress(NoMatches):
            bound = self.service.remote_status().bound
            return True if known.applies(self.current, bound) else None
        return True

    @on(ItemList.Chosen)
    def chosen(self, event: ItemList.Chosen) -> None:
        self.action_open()

    # --- actions --------------------------------------------------------------------------

    def action_kind(self, key: str) -> None:
        self.tab = key

    def action_filter(self) -> None:
        if isinstance(self.focused, Input):  # "/" typed into a field is just a "/"
            raise SkipAction()
        self.set_focus(self.query_one("#filter", Input))  # now, not after a refresh

    def action_search_text(self) -> None:
        # After the filter box has taken every key typed before this one (a burst).
        flt = self.query_one("#filter", Input)
        flt.call_later(lambda: self.search_text(flt.value))

    @work(exclusive=True, group="search", exit_on_error=False)
    async def search_text(self, query: str) -> None:
        """The filter's words inside notes' text (decrypted on request, not kept)."""
        if not query.strip():
            self.notify("Type a filter first (/), then ctrl+f looks for it inside the text")
            return
        items = await self.service.search_text(query, kind=self.kind, trash=self.tab == "trash")
        listing = self.query_one(ItemList)
        listing.show(items, empty=f"No text here holds '{query}'.")
        self.notify(f"{len(items)} item(s) hold '{query}' in their text")
        self.set_focus(listing)

    def action_back(self) -> None:
        if self.has_class("detail-open"):
            self.remove_class("detail-open")
            self.query_one(ItemList).focus()
            return
        flt = self.query_one("#filter", Input)
        if flt.value:
            flt.value = ""
        self.query_one(ItemList).focus()

    def action_favourites(self) -> None:
        self.favourites_only = not self.favourites_only

    def action_open(self) -> None:
        if self.current is None:
            return
        if not self.has_class("wide"):
            self.add_class("detail-open")
        self.load_detail(reveal=False)

    def action_reveal(self) -> None:
        pane = self.query_one(DetailPane)
        if pane.revealed and pane.item == self.current:
            pane.set_revealed(False)
        else:
            self.load_detail(reveal=True)

    @work(exclusive=True, group="detail", exit_on_error=False)
    async def load_detail(self, reveal: bool) -> None:
        """Decrypt the current item's secret fields (masked unless `reveal`), TOTP, preview."""
        item = self.current
        pane = self.query_one(DetailPane)
        if item is None:
            return
        try:
            secrets = await self.service.reveal(item.id, used=reveal)
            extras = await self.service.extras(item.id)
            preview = None
            if item.kind is ItemKind.FILE:
                preview = await self.service.preview_file(item.id)
        except MySafeError as exc:
            self.notify(str(exc), severity="error")
            return
        pane.keeps_extras = self.service.server_keeps_extras()
        pane.show_item(item, secrets, extras)
        pane.set_preview(preview)
        pane.set_revealed(reveal)
        await self._refresh_totp()

    async def _refresh_totp(self) -> None:
        pane = self.query_one(DetailPane)
        item = pane.item
        if item is None or "secret_key" not in pane.secrets:
            return
        if not pane.secrets["secret_key"]:
            return
        try:
            pane.set_totp(await self.service.totp(item.id))
        except MySafeError as exc:
            pane.set_totp(None)
            self.notify(str(exc), severity="warning")

    @work(exclusive=True, group="totp", exit_on_error=False)
    async def _tick_totp(self) -> None:
        await self._refresh_totp()

    def action_health(self) -> None:
        from mysafe_tui.tui.screens.health import HealthScreen

        self.app.push_screen(HealthScreen(self.service, self))

    def _target(self, action: str) -> ItemSummary | None:
        """The highlighted item when `action` applies to it (tui/actions.py says when): the
        footer and the key already follow that rule; a worker that starts later checks again."""
        item = self.current
        bound = self.service.remote_status().bound
        return item if BY_NAME[action].applies(item, bound) else None

    async def _call(self, call: Awaitable[T]) -> T | None:
        """Await a service call; a refusal becomes an error notification and None."""
        try:
            return await call
        except MySafeError as exc:
            self.notify(str(exc), severity="error")
            return None

    def jump_to(self, item: ItemSummary) -> None:
        """From the command palette: show the item's kind, clear the filter, select it."""
        self.tab = "trash" if not item.active else item.kind.value
        self.query_one("#filter", Input).value = ""
        self.query_text = ""
        self.refresh_list(keep=item.id)  # the last search started: it wins
        self.query_one(ItemList).focus()
