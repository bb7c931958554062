"""One input model for the whole UI: every key lands where it was meant, in arrival order.

Why this exists. Textual posts a key to the focused widget's queue. An Input takes a printable
character there, but a key it only knows as a binding (backspace, ctrl+k, enter) is not handled
there: it bubbles from queue to queue up to the App, whose binding pass finally runs it. By
then the keys behind it in a burst (a paste, a fast typist, a laggy SSH link, tmux send-keys)
have already been typed into the field, or into the next one if a tab moved the focus:
"Gitx", backspace, "hub" saved "Gitxhu".

So the App hands every key and paste to `KeyRouter.route`, one at a time, in arrival order,
and each is handled to the end before the next one is looked at, in Textual's own order
without the hops between queues: priority bindings (tab, ctrl+q...); the handlers of the
focused widget and of each container up to the screen (an Input takes printable text); the
line-editing keys of a text field (FIELD_KEYS in tui/actions.py); the bindings from the
focused widget up; the App's. Before a key is given to a widget, that widget's own queue is
let run dry, so a focus that just arrived (which selects a field's text) comes first.

Type-ahead: keys that arrive before a new screen has its focus (before the first paint, or
right behind the key that opened a dialog) are kept, a bounded number, and replayed into it
once the focus is there. A key whose binding starts work in the background (a worker: most
dialogs open from one, a save ends in one) holds the keys behind it until that work has
opened its screen or ended, as a slow typist would have waited for it. A screen that takes
early keys itself says so (TAKES_KEYS_AHEAD).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any
from weakref import WeakSet

from textual import events
from textual.app import App
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input
from textual.worker import Worker

from mysafe_tui.tui.actions import FIELD_KEYS

if TYPE_CHECKING:
    from textual.timer import Timer

AHEAD_LIMIT = 1024  # keys kept for a screen that has no focus yet; more are dropped
RELEASE_AFTER = 2.0  # seconds: a screen that never takes the focus gets the keys anyway
SETTLE_LIMIT = 1.0  # seconds at most to let a widget's own queue run dry (a safety valve)
FOCUS_TURNS = 50  # turns of the App's queue a mounted screen gets for its focus to land
FIELD_ACTIONS = {key: spec.action for spec in FIELD_KEYS for key in spec.keys.split(",")}

TypedEvent = events.Key | events.Paste


class KeyRouter:
    """Routes the App's keys and pastes (see the module's docstring)."""

    def __init__(self, app: App[Any]) -> None:
        self.app = app
        self.ahead: deque[TypedEvent] = deque()
        self._open: WeakSet[Screen[Any]] = WeakSet()  # screens that have taken keys
        self._release: Timer | None = None
        # Work started by a key, and the screen it was typed on: keys wait behind it.
        self._waiting: tuple[Screen[Any] | None, list[Worker[Any]]] = (None, [])
        self._watched: WeakSet[Screen[Any]] = WeakSet()  # screens awaited to mount
        self._tasks: set[asyncio.Task[None]] = set()

    async def route(self, event: TypedEvent) -> None:
        if isinstance(event, events.Key) and event.key == "ctrl+j":
            # A newline is Enter: the terminal turns Enter into one while the program has
            # not yet put it in raw mode (keys typed before the first paint), as readline does.
            event = events.Key("enter", "\r")
        if self.ahead or not self._ready():
            if len(self.ahead) < AHEAD_LIMIT:
                self.ahead.append(event)
            if self._release is None:
                self._release = self.app.set_timer(RELEASE_AFTER, self._release_all)
            await self.flush()
            return
        await self._deliver(event)

    async def flush(self) -> None:
        """Replay what was typed ahead, once the screen can take it."""
        while self.ahead and self._ready():
            await self._deliver(self.ahead.popleft())
        if not self.ahead and self._release is not None:
            self._release.stop()
            self._release = None

    async def _release_all(self) -> None:
        """Nothing opened in time: the screen gets the keys as it is."""
        self._release = None
        self._open.add(self.app.screen)
        self._waiting = (None, [])
        await self.flush()

    def _ready(self) -> bool:
        screen = self.app.screen
        typed_on, work = self._waiting
        if work:
            if screen is typed_on and not all(worker.is_finished for worker in work):
                return False
            self._waiting = (None, [])
        if screen in self._open:
            return True
        if getattr(screen, "TAKES_KEYS_AHEAD", False):
            self._open.add(screen)
            return True
        if screen not in self._watched:
            self._watched.add(screen)
            self._spawn(self._open_when_mounted(screen))
        return False

    async def _open_when_mounted(self, screen: Screen[Any]) -> None:
        with contextlib.suppress(TimeoutError):  # never mounted (dismissed at once): let go
            await asyncio.wait_for(screen._mounted_event.wait(), RELEASE_AFTER)
        # What the screen asked for as it mounted (its focus: Widget.focus is a call_later of
        # the App's) is in the App's queue now; this goes behind it.
        self.app.call_later(self._opened, screen)

    async def _opened(self, screen: Screen[Any], turns: int = 0) -> None:
        # On a loaded machine a screen can be mounted, even painted, before its focus request
        # has run: keys handed to a screen with nothing focused would go nowhere. A few more
        # turns of the App's queue let that focus land first.
        waiting = screen is self.app.screen and self.app.focused is None and screen.focus_chain
        if waiting and turns < FOCUS_TURNS:
            self.app.call_later(self._opened, screen, turns + 1)
            return
        if screen.id != "_default":  # the app's first, empty screen: keys wait for the next
            self._open.add(screen)
        await self.flush()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)  # a task nothing refers to may be collected
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, event: TypedEvent) -> None:
        app = self.app
        app.app_focus = True
        if isinstance(event, events.Key) and await app._check_bindings(event.key, priority=True):
            return
        focused = app.focused
        if focused is not None:
            await _settle(focused)
        event._set_forwarded()  # as Textual marks a key it hands down
        # We carry it up ourselves, now, instead of queue by queue.
        event.bubble = False  # type: ignore[misc]
        node: Widget | None = focused or app.screen
        while node is not None:
            with node._context():
                await node._dispatch_message(event)
            if event._stop_propagation:
                return
            parent = node.parent
            node = parent if isinstance(parent, Widget) else None
        if not isinstance(event, events.Key):
            return
        action = FIELD_ACTIONS.get(event.key)
        if isinstance(focused, Input) and action is not None:
            await focused.run_action(action)
            return
        started = set(app.workers)
        await app._dispatch_message(event)  # bindings from the focused widget up, the App's
        work = [worker for worker in app.workers if worker not in started]
        if work:
            self._waiting = (app.screen, work)
            for worker in work:
                self._spawn(self._flush_after(worker))

    async def _flush_after(self, worker: Worker[Any]) -> None:
        with contextlib.suppress(Exception):
            await worker.wait()
        self.app.call_later(self.flush)


async def _settle(widget: Widget) -> None:
    """Let `widget` first handle what is already in its queue (a Focus that selects its text)."""
    if widget._message_queue.empty():
        return
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    widget.call_later(lambda: done.done() or done.set_result(None))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done, SETTLE_LIMIT)
