#!/usr/bin/env python3
"""Regenerate screenshots/*.svg: the app on sample data, the same scenes the snapshot tests use.

.venv/bin/python scripts/screenshots.py
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from test_snapshots import SCREENS, make_app  # noqa: E402

SHOTS = [
    ("main", (120, 36)),
    ("detail", (120, 36)),
    ("new_password", (120, 36)),
    ("main", (80, 24)),
    ("unlock", (80, 24)),
    ("help", (80, 24)),
    ("people", (80, 24)),
    ("history", (120, 36)),
    ("import_report", (80, 24)),
    ("extras", (80, 24)),
    ("extras", (120, 36)),
    ("health", (120, 36)),
]


async def shoot(app: Any, name: str, size: tuple[int, int], out: Path) -> Path:
    _, run_before = SCREENS[name]
    async with app.run_test(size=size) as pilot:
        if run_before:
            await run_before(pilot)
        await pilot.pause(0.3)
        return Path(app.save_screenshot(f"{name}-{size[0]}x{size[1]}.svg", str(out)))


def main() -> None:
    out = ROOT / "screenshots"
    out.mkdir(exist_ok=True)
    for name, size in SHOTS:
        with tempfile.TemporaryDirectory() as home:  # a home of its own, shown as "~"
            os.environ["HOME"] = home
            os.chdir(home)
            app = make_app(SCREENS[name][0])
            print(asyncio.run(shoot(app, name, size, out)))


if __name__ == "__main__":
    main()
