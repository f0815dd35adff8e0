"""Keyboard control of `flowc run` on a terminal: `p` pauses, `r` resumes, `q` drains and
quits; the live view's footer shows the keys and whether the run is paused.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import termios
import threading
import tty
from typing import TextIO

from flowc.plan import Plan
from flowc.runtime.live import LiveView
from flowc.runtime.result import RunResult

# the keys and what they do
KEYS = {"p": "pause", "r": "resume", "q": "drain and quit"}
# how often the terminal is looked at for keys while the run goes on (seconds)
KEY_LOOK_S = 0.1


def keyboard_usable(stdin: TextIO, stderr: TextIO) -> bool:
    """Keys can steer a run: stdin and stderr are terminals, this process is in the terminal's
    foreground (changing a background terminal's mode would stop it) and runs the main thread."""
    try:
        if not (stdin.isatty() and stderr.isatty()):
            return False
        fd = stdin.fileno()
        return os.tcgetpgrp(fd) == os.getpgrp() and (
            threading.current_thread() is threading.main_thread()
        )
    except (AttributeError, OSError, ValueError):
        return False


def footer(state: str) -> str:
    """`running   p pause · r resume · q drain and quit`"""
    keys = " · ".join(f"{key} {action}" for key, action in KEYS.items())
    return f"{state:<9} {keys}"


class KeyboardLiveView(LiveView):
    """The live view with a footer: the run's state and the keys that steer it."""

    def __init__(self, stream: TextIO):
        super().__init__(stream)
        self.handle = None  # the RunHandle, once started

    def state(self) -> str:
        handle = self.handle
        if handle is None:
            return "starting"
        if handle.stopping:
            return "stopping"
        return "paused" if handle.paused else "running"

    def render(self, snapshot):
        from rich.console import Group
        from rich.text import Text

        state = self.state()
        style = "bold yellow" if state == "paused" else "bold"
        return Group(super().render(snapshot), Text(footer(state), style=style))


@contextlib.contextmanager
def keys_one_at_a_time(fd: int):
    """The terminal hands over each key as it is pressed, without echo; Ctrl-C still signals.
    The terminal's settings come back afterwards."""
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd, termios.TCSANOW)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def steer(handle, fd: int, say=None) -> None:
    """Read keys from `fd` until the run ends and apply them to `handle`; `say(text)` tells
    what a key did (when no live view shows it)."""
    reading = True
    while handle.running:
        if not reading:
            handle.wait(KEY_LOOK_S)
            continue
        ready, _, _ = select.select([fd], [], [], KEY_LOOK_S)
        if not ready:
            continue
        data = os.read(fd, 64)
        if not data:  # end of input: the run goes on without keys
            reading = False
            continue
        for key in data.decode("ascii", "ignore").lower():
            said = _apply(handle, key)
            if said and say is not None:
                say(said)


def _apply(handle, key: str) -> str | None:
    if key == "p" and not handle.paused:
        handle.pause()
        return "paused (r resumes, q drains and quits)"
    if key == "r" and handle.paused:
        handle.resume()
        return "resumed"
    if key == "q":
        handle.stop(drain=True)
        return "stopping: the graph drains"
    return None


def run_with_keyboard(
    plan: Plan, *, quiet: bool = False, stdin: TextIO | None = None, **options
) -> RunResult:
    """Run `plan` (options as `flowc.runtime.run`) steered by keys on the terminal `stdin`;
    the live view on stderr unless quiet. Never raises for a failed worker: see the result."""
    stdin = stdin if stdin is not None else sys.stdin
    stderr = sys.stderr
    view = None if quiet else KeyboardLiveView(stderr)
    fd = stdin.fileno()

    def say(text: str) -> None:
        print(f"flowc: {text}", file=stderr, flush=True)

    with keys_one_at_a_time(fd):
        from flowc.runtime.handle import RunHandle

        with RunHandle(plan, quiet=quiet, view=view, **options) as handle:
            if view is not None:
                view.handle = handle
            else:
                say(f"keys: {footer('').strip()}")
            steer(handle, fd, say=say if view is None else None)
            return handle.wait()
