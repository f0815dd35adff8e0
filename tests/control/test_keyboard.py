"""Keyboard control of `flowc run` under a pseudo-terminal: p pauses, r resumes, q drains and
quits; the live view's footer shows the keys and the state."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from control_helpers import HERE, collected

from flowc.runtime.keyboard import KEYS, footer, keyboard_usable

FLOW = """
pipeline keys
type X = {x: f8}
buffer a : X slots=4
buffer b : X slots=4
importer  src  = "control_workers.py":count_forever(delay=0.002) -> a
processor mid  = "control_workers.py":identity() a -> b
exporter  save = "control_workers.py":Collect(path="out") b
"""
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """`flowc run` as the foreground process of a pseudo-terminal (its stdin, stdout, stderr)."""

    def __init__(self, folder: Path, *args: str):
        env = dict(os.environ, COLUMNS="100", LINES="40", TERM="xterm")
        env.pop("FLOWC_PLAN", None)
        pid, fd = pty.fork()
        if pid == 0:  # the child: becomes flowc
            os.chdir(folder)
            os.execve(sys.executable, [sys.executable, "-m", "flowc", "run", *args], env)
        self.pid, self.fd = pid, fd
        self.output = ""
        self.exit: int | None = None

    def read(self, timeout: float) -> bool:
        """Read what came within `timeout`; False at the end of output."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        if not chunk:
            return False
        self.output += ANSI.sub("", chunk.decode("utf-8", "replace"))
        return True

    def expect(self, text: str, after: int = 0, limit: float = 20.0) -> int:
        """Wait for `text` in the output after offset `after`; the offset past it."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            at = self.output.find(text, after)
            if at >= 0:
                return at + len(text)
            if not self.read(0.1):
                break
        raise AssertionError(
            f"{text!r} did not appear; the terminal showed:\n{self.output[-3000:]}"
        )

    def press(self, key: str) -> int:
        """Press a key; the output offset at that moment."""
        os.write(self.fd, key.encode())
        return len(self.output)

    def finish(self, limit: float = 30.0) -> int:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline and self.read(0.2):
            pass
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        self.exit = os.waitstatus_to_exitcode(status)
        return self.exit

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        try:
            os.close(self.fd)
        except OSError:
            pass


@pytest.fixture
def flow_folder(tmp_path: Path) -> Path:
    shutil.copy(HERE / "control_workers.py", tmp_path / "control_workers.py")
    (tmp_path / "keys.flow").write_text(FLOW)
    return tmp_path


def check_run(folder: Path, paused_for: float) -> None:
    saved = collected(folder)
    assert saved is not None, "finish() was not called"
    n = len(saved["x"])
    assert n > 0 and np.array_equal(saved["x"], np.arange(n)), "events lost or repeated"
    assert saved["deadtime"].max() >= paused_for, "the pause is not in the deadtime"


def test_keys_pause_resume_and_quit_the_live_view(flow_folder):
    terminal = Terminal(flow_folder, "keys.flow", "--stats", "stats.json")
    try:
        start = terminal.expect(footer("running"))
        at = terminal.press("p")
        terminal.expect(footer("paused"), after=at)
        time.sleep(0.8)
        at = terminal.press("r")
        terminal.expect(footer("running"), after=at)
        time.sleep(0.3)
        terminal.press("q")
        exit_code = terminal.finish()
    finally:
        terminal.kill()
    assert exit_code == 130, terminal.output[-2000:]
    assert start > 0
    stats = json.loads((flow_folder / "stats.json").read_text())
    assert stats["stopped"] == "interrupted"
    check_run(flow_folder, paused_for=0.7)
    assert "flowc keys" in terminal.output  # the live view itself


def test_keys_work_with_the_live_view_off(flow_folder):
    terminal = Terminal(flow_folder, "keys.flow", "--quiet")
    try:
        terminal.expect("keys: p pause")
        time.sleep(0.5)  # the workers start
        at = terminal.press("p")
        terminal.expect("flowc: paused", after=at)
        time.sleep(0.6)
        at = terminal.press("r")
        terminal.expect("flowc: resumed", after=at)
        time.sleep(0.3)
        terminal.press("q")
        terminal.expect("flowc: stopping")
        exit_code = terminal.finish()
    finally:
        terminal.kill()
    assert exit_code == 130
    check_run(flow_folder, paused_for=0.5)


def test_ctrl_c_still_drains_under_keyboard_control(flow_folder):
    terminal = Terminal(flow_folder, "keys.flow", "--quiet")
    try:
        terminal.expect("keys: p pause")
        time.sleep(0.3)
        terminal.press("\x03")  # the terminal turns it into SIGINT
        exit_code = terminal.finish()
    finally:
        terminal.kill()
    assert exit_code == 130
    saved = collected(flow_folder)
    assert saved is not None and np.array_equal(saved["x"], np.arange(len(saved["x"])))


def test_no_keyboard_without_a_terminal(tmp_path):
    with open(os.devnull) as stdin, open(os.devnull, "w") as stderr:
        assert not keyboard_usable(stdin, stderr)
    assert list(KEYS) == ["p", "r", "q"]
