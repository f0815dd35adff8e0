"""Fixtures for end-to-end tests: run the real `flowc` command and write small flow projects."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

# worker code the test flows call by file: `"workers.py":name`
WORKERS_PY = '''
"""Small workers for the command-line tests."""

import numpy as np


def count(n=5):
    """Importer: n events of 4 float64 values, event i filled with i."""
    for i in range(n):
        yield np.full(4, float(i))


def double(data):
    """Processor: every value twice."""
    return data * 2


def save_lines(data, *, path):
    """Exporter: appends the event's first value to a text file, one line per event."""
    with open(path, "a") as out:
        out.write(f"{float(data[0])}\\n")


def explode(data):
    """Processor that always fails."""
    raise ValueError("explode was asked to fail")
'''


@dataclass
class Completed:
    """What one `flowc` invocation did."""

    args: tuple[str, ...]
    exit: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return (
            f"flowc {' '.join(self.args)} -> exit {self.exit}\n"
            f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"
        )


class Flowc:
    """Runs `python -m flowc` in a project folder with a clean, colourless environment."""

    def __init__(self, folder: Path):
        self.folder = folder

    def environment(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("NO_COLOR", None)
        env.update(extra)
        return env

    def __call__(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 120
    ) -> Completed:
        return self.command([sys.executable, "-m", "flowc"], *args, env=env, timeout=timeout)

    def command(
        self, prefix: list[str], *args: str, env: dict[str, str] | None = None, timeout: float = 120
    ) -> Completed:
        completed = subprocess.run(
            [*prefix, *args],
            cwd=self.folder,
            env=env or self.environment(),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        return Completed(
            tuple(args),
            completed.returncode,
            completed.stdout.decode("utf-8", "replace"),
            completed.stderr.decode("utf-8", "replace"),
        )

    def write(self, name: str, text: str) -> Path:
        """Write a file into the project folder, dedented; returns its path."""
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path


@pytest.fixture
def flowc(tmp_path: Path) -> Flowc:
    """A project folder holding `workers.py`, and a runner of `flowc` inside it."""
    (tmp_path / "workers.py").write_text(WORKERS_PY)
    return Flowc(tmp_path)
