"""The clipboard's keeper for the façade (vault_service.py): one clipboard, built from settings
when first used, every operation in a thread and one at a time (a backend may run tmux or
xclip, or wait on the terminal; never on the caller's event loop), the clear timer, and the
hand-over of a pending clear to another process. What is copied is decided by the façade;
the copied text goes nowhere else."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from mysafe_tui.system.settings import Settings

if TYPE_CHECKING:
    from mysafe_tui.system.clipboard import Clipboard

T = TypeVar("T")


class ClipboardKeeper:
    def __init__(
        self,
        settings: Callable[[], Settings],
        terminal_write: Callable[[], Callable[[str], None] | None],
        clipboard: Clipboard | None = None,
    ) -> None:
        self._settings = settings
        self._terminal_write = terminal_write  # how OSC 52 reaches the user's terminal
        self._clipboard = clipboard  # built from settings on first use unless given
        self._lock = asyncio.Lock()

    @property
    def clipboard(self) -> Clipboard:
        if self._clipboard is None:
            from mysafe_tui.system.clipboard import Clipboard, choose_backend

            settings = self._settings()
            backend = choose_backend(settings.clipboard, write=self._terminal_write())
            self._clipboard = Clipboard(backend, settings.clear_seconds)
        return self._clipboard

    async def run(self, work: Callable[[Clipboard], T]) -> T:
        clipboard = self.clipboard
        async with self._lock:
            return await asyncio.to_thread(work, clipboard)

    async def copy(self, value: str, label: str) -> str:
        """Copy and arm the clear timer; the sentence to show the user."""
        return await self.run(lambda clipboard: clipboard.copy(value, label))

    @property
    def seconds_left(self) -> int | None:
        return self._clipboard.seconds_left if self._clipboard else None

    def hand_over(self) -> dict[str, object] | None:
        clipboard, self._clipboard = self._clipboard, None
        return clipboard.handover() if clipboard is not None else None

    async def tick(self) -> str | None:
        if self._clipboard is None or self._clipboard.seconds_left is None:
            return None
        return await self.run(lambda clipboard: clipboard.tick())

    async def clear(self) -> str | None:
        if self._clipboard is None:
            return None
        return await self.run(lambda clipboard: clipboard.clear_now())

    async def reset(self) -> None:
        """New settings: clear what is pending, build the next clipboard from them."""
        await self.clear()
        self._clipboard = None
