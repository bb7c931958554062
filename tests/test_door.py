"""The vault's door (service/door.py): the UI's first frame is painted before the vault service
is loaded; the service is built after it, and the unlock goes on as before."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path

    from mysafe_tui.service.door import VaultDoor
    from mysafe_tui.system.settings import Paths, Settings
    from mysafe_tui.tui.app import MySafeApp

    SERVICE = "mysafe_tui.service.vault_service"

    started = MySafeApp._started

    def watched(self):
        print("loaded at the first frame:", SERVICE in sys.modules, self.door.is_open)
        started(self)
        print("loaded after it:", SERVICE in sys.modules, self.door.is_open)

    MySafeApp._started = watched

    async def main():
        home = Path(sys.argv[1])
        app = MySafeApp(VaultDoor(Paths(home, home), Settings()))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            print("first screen:", type(app.screen).__name__)
            await pilot.press(*"correct horse battery", "enter")
            for _ in range(500):
                await pilot.pause(0.01)
                if type(app.screen).__name__ == "MainScreen":
                    break
            print("then:", type(app.screen).__name__)
            names = [item.name for item in await app.service.search()]
            print("items:", names)

    asyncio.run(main())
    """
)


def test_the_first_frame_comes_before_the_vault_service_and_unlock_goes_on(
    tmp_path: Path,
) -> None:
    import asyncio

    from conftest import FLOOR
    from mysafe_tui.core.models import ItemKind
    from mysafe_tui.service import VaultService
    from mysafe_tui.system.settings import Paths

    async def seed() -> None:
        service = VaultService(Paths(tmp_path, tmp_path), kdf_params=FLOOR)
        await service.create("correct horse battery")
        await service.create_item(ItemKind.NOTE, {"name": "hello", "note": "x"})
        await service.close()

    asyncio.run(seed())
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert "loaded at the first frame: False False" in lines
    assert "loaded after it: True True" in lines
    assert "first screen: UnlockScreen" in lines
    assert "then: MainScreen" in lines
    assert "items: ['hello']" in lines
