"""Keystroke to painted frame: what a person typing into the filter sees, timed the same way for
mysafe and for a bare Textual app (an Input and a Static that echoes it).

The app runs headless at 120x36, but every frame Textual hands its driver is rendered to the
escape sequences a terminal would get (`render_segments`, what the real driver writes), so the
compositor's work is counted. A key is posted as the driver posts it; its clock stops at the
first frame painted after the list was handed the key's answer. CPU is the whole process's
(`process_time`: the search's worker thread included) beside wall time.

    .venv/bin/python bench/frames.py [--items 100000] [--home DIR] [--who mysafe|bare]
    .venv/bin/python bench/frames.py --paint 15 [--python /path/to/installed/python]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

# Nine queries, typed letter by letter, then cleared: 73 keys in all.
QUERIES = ["github", "prod", "mail", "user12", "server", "bank", "db", "travel", "zzq"]


class Painted:
    """Renders every frame as the terminal driver would, and wakes the typist at the first
    frame painted after the app answered the last key (`answered` is bumped by the app's
    side of the harness). No polling: a loop that wakes every millisecond would compete with
    the app for the CPU and be measured with it."""

    def __init__(self, app: Any) -> None:
        from textual._compositor import CompositorUpdate

        self.answered = 0
        self.waiting_for = -1
        self.done = asyncio.Event()
        self.at = (0.0, 0.0)
        display = app._display

        def painted(screen: Any, renderable: Any) -> None:
            display(screen, renderable)
            if isinstance(renderable, CompositorUpdate):
                renderable.render_segments(app.console)
                if self.answered > self.waiting_for >= 0:
                    self.at = (time.perf_counter(), time.process_time())
                    self.waiting_for = -1
                    self.done.set()

        app._display = painted

    async def type_keys(self, app: Any, keys: list[str]) -> list[tuple[float, float]]:
        """Post each key as the driver would; (wall, cpu) from the post to the frame."""
        from textual import events

        out = []
        for key in keys:
            await asyncio.sleep(0.12)  # a fast typist's pace; the app is idle again by then
            self.done.clear()
            self.waiting_for = self.answered
            t0, c0 = time.perf_counter(), time.process_time()
            name = "backspace" if key == "\b" else key
            app.post_message(events.Key(name, None if key == "\b" else key))
            await self.done.wait()
            out.append((self.at[0] - t0, self.at[1] - c0))
        return out


async def settled() -> None:
    """Until the machine is idle (the health check's rating processes too): less than 5% of
    its CPU busy over a quarter of a second."""

    def busy_idle() -> tuple[int, int]:
        fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]
        return sum(fields) - idle, idle

    while True:
        b0, i0 = busy_idle()
        await asyncio.sleep(0.25)
        b1, i1 = busy_idle()
        if b1 - b0 <= 0.05 * ((b1 - b0) + (i1 - i0)):
            return


def typing(queries: list[str]) -> list[str]:
    keys: list[str] = []
    for q in queries:
        keys += list(q) + ["\b"] * len(q)
    return keys


def summary(samples: list[tuple[float, float]]) -> dict[str, float]:
    walls = sorted(w for w, _ in samples)
    cpus = sorted(c for _, c in samples)

    def p95(values: list[float]) -> float:
        return values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]

    return {
        "keys": len(samples),
        "wall_median": statistics.median(walls),
        "wall_p95": p95(walls),
        "wall_max": walls[-1],
        "cpu_median": statistics.median(cpus),
        "cpu_p95": p95(cpus),
        "cpu_max": cpus[-1],
    }


async def mysafe_typing(home: Path, passphrase: str, keys: list[str]) -> dict[str, float]:
    from textual.widgets import Input

    from mysafe_tui.service import VaultService
    from mysafe_tui.system.settings import Paths
    from mysafe_tui.tui.app import MySafeApp
    from mysafe_tui.tui.screens.main import MainScreen
    from mysafe_tui.tui.screens.unlock import UnlockScreen
    from mysafe_tui.tui.widgets.item_list import ItemList

    app = MySafeApp(VaultService(Paths(home, home)))
    show = ItemList.show
    harness: Painted | None = None

    def counted(self: ItemList, *args: Any, **kwargs: Any) -> None:
        show(self, *args, **kwargs)
        if harness is not None:
            harness.answered += 1

    ItemList.show = counted  # type: ignore[method-assign]
    async with app.run_test(size=(120, 36)):
        harness = Painted(app)
        while not isinstance(app.screen, UnlockScreen) or not app.screen.is_mounted:
            await asyncio.sleep(0.005)
        box = app.screen.query_one("#passphrase", Input)
        box.value = passphrase
        await box.action_submit()
        while not (isinstance(app.screen, MainScreen) and harness.answered):
            await asyncio.sleep(0.01)
        app.screen.query_one("#filter", Input).focus()
        await settled()  # the health marks (4 s of the vault thread at 100k items)
        return summary(await harness.type_keys(app, keys))


async def bare_typing(keys: list[str]) -> dict[str, float]:
    from textual.app import App, ComposeResult
    from textual.widgets import Input, Static

    class Bare(App[None]):
        harness: Painted | None = None

        def compose(self) -> ComposeResult:
            yield Input(id="q")
            yield Static(id="echo")

        def on_input_changed(self, event: Input.Changed) -> None:
            self.query_one(Static).update(f"filter: {event.value}")
            if self.harness is not None:
                self.harness.answered += 1

    app = Bare()
    async with app.run_test(size=(120, 36)):
        app.harness = harness = Painted(app)
        app.query_one(Input).focus()
        await asyncio.sleep(0.3)
        return summary(await harness.type_keys(app, keys))


# First paint: from the process's spawn to the first frame painted (rendered as a terminal
# driver would), with the CPU the process used by then. The same probe shape for mysafe (the
# console script's own path up to its unlock screen) and for a bare Textual app.
_PAINT = """
import asyncio, importlib.abc, importlib.util, os, sys, time

def painted_first(app):
    from textual._compositor import CompositorUpdate
    display = app._display
    def first(screen, renderable):
        display(screen, renderable)
        if isinstance(renderable, CompositorUpdate) and ready(app):
            renderable.render_segments(app.console)
            took = f"{time.time() - float(os.environ['BENCH_T0'])} {time.process_time()}"
            os.write(int(os.environ["BENCH_FD"]), took.encode())
            os._exit(0)
    app._display = first

def headless(App):
    def run(self, *args, **kwargs):
        async def go():
            async with self.run_test(size=(120, 36)):
                painted_first(self)
                await asyncio.sleep(30)
        asyncio.run(go())
    App.run = run

class Hook(importlib.abc.MetaPathFinder):
    # Textual's App is made headless (and its frames timed) as it is first imported: nothing
    # is imported ahead of what the program itself imports.
    def find_spec(self, name, path, target=None):
        if name != "textual.app":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        load = spec.loader.exec_module
        def exec_module(module):
            load(module)
            headless(module.App)
        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, Hook())
"""
_MYSAFE_PAINT = (
    _PAINT
    + """
def ready(app):
    return type(app.screen).__name__ == "UnlockScreen"

sys.argv = ["mysafe"]
from mysafe_tui.__main__ import main
main()
"""
)
_BARE_PAINT = (
    _PAINT
    + """
def ready(app):
    return True

from textual.app import App
from textual.containers import Center, Middle, Vertical
from textual.widgets import Input, Label

class Bare(App):
    def compose(self):
        with Middle(), Center(), Vertical():
            yield Label("minimal")
            yield Input(placeholder="Passphrase", password=True)

Bare().run()
"""
)


def first_paint(python: str, home: Path | None) -> tuple[float, float]:
    """(wall, cpu) seconds from spawn to the first painted frame; `home` None: the bare app.
    The probe runs on a pseudo-terminal (`mysafe` starts its UI only on a terminal) and
    reports on a pipe of its own."""
    import os
    import pty
    import subprocess
    import tempfile

    read, write = os.pipe()
    leader, follower = pty.openpty()
    env = {**os.environ, "BENCH_T0": repr(time.time()), "BENCH_FD": str(write)}
    if home is not None:
        env["MYSAFE_HOME"] = str(home)
    probe = _BARE_PAINT if home is None else _MYSAFE_PAINT
    try:
        subprocess.run(
            [python, "-c", probe],
            # Not the checkout: `-c` puts the working directory first on sys.path, and the
            # source tree there would stand in for the install being timed.
            cwd=tempfile.gettempdir(),
            env=env,
            stdin=follower,
            stdout=follower,
            stderr=subprocess.DEVNULL,
            pass_fds=(write,),
            check=True,
            timeout=60,
        )
        os.close(write)
        wall, cpu = os.read(read, 200).split()
    finally:
        for fd in (read, leader, follower):
            os.close(fd)
    return float(wall), float(cpu)


def build(home: Path, n: int) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from benchmark import build_ui_vault

    home.mkdir(parents=True, exist_ok=True)
    if not (home / "default.mysafe").exists():
        build_ui_vault(n, home / "default.mysafe")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--home", type=Path, help="a folder to keep the vault in between runs")
    parser.add_argument("--who", choices=["mysafe", "bare"], default="mysafe")
    parser.add_argument("--paint", type=int, metavar="N", help="first paint, N interleaved pairs")
    parser.add_argument("--python", default=sys.executable, help="the install to time")
    args = parser.parse_args()
    if args.paint:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="mysafe-paint-") as tmp:
            build(Path(tmp), 10)
            pairs = [
                (first_paint(args.python, Path(tmp)), first_paint(args.python, None))
                for _ in range(args.paint)
            ]
        for what, at in (("wall", 0), ("cpu", 1)):
            mine = statistics.median(m[at] for m, _ in pairs)
            bare = statistics.median(b[at] for _, b in pairs)
            print(
                f"first paint {what}: mysafe {mine * 1000:.0f} ms, "
                f"bare Textual {bare * 1000:.0f} ms, {mine / bare:.2f}x"
            )
        return
    keys = typing(QUERIES)
    if args.who == "bare":
        print(json.dumps(asyncio.run(bare_typing(keys))))
        return
    import tempfile

    with tempfile.TemporaryDirectory(prefix="mysafe-frames-") as tmp:
        home = args.home or Path(tmp)
        build(home, args.items)
        print(json.dumps(asyncio.run(mysafe_typing(home, "bench passphrase", keys))))


if __name__ == "__main__":
    main()
