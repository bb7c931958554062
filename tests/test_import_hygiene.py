"""The layer rules of DESIGN.md §2, checked at run time in a clean interpreter."""

from __future__ import annotations

import subprocess
import sys

import pytest


def loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {name.split(".")[0] for name in out.stdout.split()}


@pytest.mark.parametrize(
    "module",
    [
        "mysafe_tui.core",
        "mysafe_tui.vault.vault",
        "mysafe_tui.vault.search",
        "mysafe_tui.system.settings",
        "mysafe_tui.core.totp",
        "mysafe_tui.core.generator",
    ],
)
def test_core_loads_no_ui_and_no_network(module: str) -> None:
    loaded = loaded_after(f"import {module}")
    assert not loaded & {"textual", "rich", "httpx"}, loaded & {"textual", "rich", "httpx"}


def test_service_loads_no_textual() -> None:
    loaded = loaded_after("import mysafe_tui.service")
    assert "textual" not in loaded and "rich" not in loaded


def test_version_command_imports_neither_crypto_nor_ui() -> None:
    """`mysafe --version` must stay fast: no cryptography, no Textual (DESIGN.md §8)."""
    statement = (
        "from mysafe_tui.cli import run\ntry:\n    run(['--version'])\nexcept SystemExit:\n    pass"
    )
    code = f"import sys\n{statement}\nprint('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = {name.split(".")[0] for name in out.stdout.split()}
    assert not loaded & {"cryptography", "textual", "httpx", "sqlite3"}


def test_the_ui_reaches_its_first_paint_without_the_heavy_parts() -> None:
    """What `mysafe` imports before the unlock screen is drawn (DESIGN.md §8: first paint):
    the vault's crypto and SQLite, the network, the strength estimator, KeePass and the
    server's stack load later, where they are used. Moving one of those imports back to the top
    of a module on that path fails here."""
    loaded = loaded_after("import mysafe_tui.tui.app")
    heavy = {
        "cryptography",
        "sqlite3",
        "httpx",
        "truststore",
        "zxcvbn",
        "pykeepass",
        "starlette",
        "uvicorn",
        "psycopg",
        "argon2",
    }
    assert not loaded & heavy, loaded & heavy
    out = subprocess.run(
        [sys.executable, "-c", "import sys, mysafe_tui.tui.app; print('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    )
    ours = set(out.stdout.split())
    assert (
        not {
            "mysafe_tui.vault.vault",
            "mysafe_tui.vault.storage",
            "mysafe_tui.remote",
            "mysafe_tui.transfer.importing",
            "mysafe_tui.tui.screens.main",
            "mysafe_tui.service.vault_service",  # built by the door after the first frame
        }
        & ours
    )


HEAVY = {
    "cryptography",
    "argon2",
    "sqlite3",
    "asyncio",
    "httpx",
    "truststore",
    "textual",
    "rich",
    "zxcvbn",
    "pykeepass",
    "pyperclip",
    "segno",
    "starlette",
    "uvicorn",
    "psycopg",
}


def test_the_command_line_builds_every_command_without_the_heavy_parts() -> None:
    """What every `mysafe COMMAND` loads before its command runs (the whole parser: usage
    errors, --help, completion): each command imports what it needs when it runs. A command
    module that moves the service, the vault's crypto, the network or the UI back to its top
    fails here."""
    loaded = loaded_after("from mysafe_tui.cli.parser import build_parser; build_parser()")
    assert not loaded & HEAVY, loaded & HEAVY


def test_the_agents_fast_path_loads_only_the_wire() -> None:
    """`mysafe get` through an unlocked agent: `__main__` hands argv to the agent before
    argparse, asyncio or crypto load (DESIGN.md §8); the wire is the standard library only."""
    code = "import sys, mysafe_tui.__main__, mysafe_tui.agent.wire; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    names = set(out.stdout.split())
    assert not {name.split(".")[0] for name in names} & (HEAVY | {"argparse"})
    ours = {name for name in names if name.startswith("mysafe_tui")}
    assert ours <= {
        "mysafe_tui",
        "mysafe_tui.__main__",
        "mysafe_tui.agent",
        "mysafe_tui.agent.wire",
        "mysafe_tui.system",
        "mysafe_tui.system.locations",
    }, ours
