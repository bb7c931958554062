"""The wheel `pip install .` builds carries everything the app needs at run time."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_ships_the_stylesheet(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("mysafe_tui-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "mysafe_tui/tui/app.tcss" in names
    assert "mysafe_tui/tui/screens/main.tcss" in names
    assert "mysafe_tui/vault/vault.py" in names
    # Every format the README names imports from `pip install .`: what the readers load is
    # required by the wheel itself, under no extra.
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    required = [line.split(":", 1)[1].strip() for line in
                zipfile.ZipFile(wheel).read(metadata).decode().splitlines()
                if line.startswith("Requires-Dist:") and "extra ==" not in line]  # fmt: skip
    for package in ("pykeepass", "defusedxml", "cryptography"):
        assert any(r.startswith(package) for r in required), (package, required)


def test_every_relative_link_in_the_readme_and_docs_resolves() -> None:
    """The product's docs stand on their own: no link out of the repository, none broken."""
    root = Path(__file__).resolve().parent.parent
    for doc in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text()):
            if "://" in target:
                continue
            resolved = (doc.parent / target).resolve()
            assert resolved.is_relative_to(root), (doc.name, target)
            assert resolved.exists(), (doc.name, target)
