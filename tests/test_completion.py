"""`mysafe completion SHELL`: scripts the real shells load and complete with."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

MYSAFE = str(Path(sys.executable).parent / "mysafe")


def script(shell: str, tmp_path: Path) -> Path:
    done = subprocess.run([MYSAFE, "completion", shell], capture_output=True, text=True,
                          env={**os.environ, "MYSAFE_HOME": str(tmp_path)}, check=True)  # fmt: skip
    path = tmp_path / f"mysafe.{shell}"
    path.write_text(done.stdout)
    return path


def shell(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing: .ci/run installs it")
        pytest.skip(f"{name} is not installed")
    return found


def test_bash_completes_commands_then_a_commands_options(tmp_path: Path) -> None:
    path = script("bash", tmp_path)

    def complete(*words: str) -> list[str]:
        line = " ".join(words)
        program = (
            f"source {path}; COMP_WORDS=(mysafe {line}); COMP_CWORD={len(words)}; "
            'COMPREPLY=(); _mysafe; printf "%s\\n" "${COMPREPLY[@]}"'
        )
        out = subprocess.run([shell("bash"), "-c", program], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return out.stdout.split()

    assert {"get", "generate"} <= set(complete("ge"))
    assert complete("get", "github", "--fi") == ["--field"]
    assert complete("push", "--a") == ["--all-local"]


def test_zsh_loads_it_through_bashcompinit(tmp_path: Path) -> None:
    path = script("zsh", tmp_path)
    program = f"autoload -U compinit && compinit -u -D; source {path}; print -r -- $_comps[mysafe]"
    out = subprocess.run([shell("zsh"), "-f", "-c", program], capture_output=True, text=True)
    assert out.returncode == 0 and "_mysafe" in out.stdout, (out.stdout, out.stderr)


def test_fish_completes_commands_and_options(tmp_path: Path) -> None:
    path = script("fish", tmp_path)

    def complete(line: str) -> list[str]:
        program = f"source {path}; complete -C '{line}'"
        out = subprocess.run([shell("fish"), "--no-config", "-c", program],
                             capture_output=True, text=True)  # fmt: skip
        assert out.returncode == 0, out.stderr
        return [row.split("\t")[0] for row in out.stdout.splitlines()]

    assert {"get", "generate"} <= set(complete("mysafe ge"))
    assert "--field" in complete("mysafe get github --fi")
