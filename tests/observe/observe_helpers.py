"""flowc run in a subprocess for the tests of what a run shows, optionally with stderr on a
pseudo-terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass
class Completed:
    exit: int
    stdout: str
    stderr: str


def environment(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("FLOWC_PLAN", None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE), env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def flowc_run(folder: Path, *args: str, **env: str) -> Completed:
    completed = subprocess.run(
        [sys.executable, "-m", "flowc", "run", *args],
        cwd=folder,
        env=environment(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Completed(completed.returncode, completed.stdout, completed.stderr)


def flowc_run_on_a_terminal(folder: Path, *args: str, **env: str) -> Completed:
    """flowc run with stderr on a pseudo-terminal (80 columns); stdout captured apart."""
    controller, terminal = pty.openpty()
    chunks = []
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "flowc", "run", *args],
            cwd=folder,
            env=environment(COLUMNS="80", LINES="40", TERM="xterm", **env),
            stdout=subprocess.PIPE,
            stderr=terminal,
            text=True,
        )
        os.close(terminal)
        terminal = -1
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO once the terminal side is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
        stdout, _ = process.communicate(timeout=120)
    finally:
        os.close(controller)
        if terminal != -1:
            os.close(terminal)
    return Completed(process.returncode, stdout, b"".join(chunks).decode("utf-8", "replace"))
