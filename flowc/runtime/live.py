"""What a run shows while it runs: a rich live view on a terminal (fill bars, rates, busy and
blocked fractions, progress and time left where an importer says how many events it makes), or
a one-line status every few seconds when stderr is a log file or CI.

The workers are other processes writing to the same terminal: while the live view is up, their
stdout and stderr (where those are the terminal) go into a pipe that `OutputRelay` reads and
prints above the view, line by line in the order written, so that nothing they print is drawn
over. The relay lives as long as the process (a forkserver started during a run keeps the pipe
as its output); between runs it writes straight to the terminal.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TextIO

from flowc.runtime.monitor import Snapshot, WorkerSnapshot
from flowc.units import format_rate

# without a terminal, a status line is written this often (seconds)
STATUS_EVERY_S = 5.0


def open_view(stream: TextIO | None = None) -> LiveView | StatusLine:
    """The live view when `stream` (default stderr) is a terminal that can move its cursor,
    else the status line."""
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty() and os.environ.get("TERM") != "dumb":
        return LiveView(stream)
    return StatusLine(stream)


def _percent(fraction: float | None) -> str:
    return "-" if fraction is None else f"{100 * fraction:.0f}%"


def progress(worker: WorkerSnapshot, elapsed: float) -> tuple[float, float | None] | None:
    """(share done, seconds left) of an importer that said how many events it makes, the time
    left from its mean rate so far (None before it has made any); None when it did not say."""
    if worker.expected is None or worker.expected <= 0:
        return None
    done = min(1.0, worker.events_out / worker.expected)
    if worker.events_out <= 0 or elapsed <= 0:
        return done, None
    rate = worker.events_out / elapsed
    return done, max(0.0, (worker.expected - worker.events_out) / rate)


def _time_left(seconds: float | None) -> str:
    if seconds is None:
        return "time left unknown"
    if seconds < 60:
        return f"{seconds:.0f} s left"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s left"
    return f"{minutes // 60} h {minutes % 60:02d} min left"


class OutputRelay:
    """Carries what the workers write to the terminal into lines printed above the live view.

    `capture(console)` turns file descriptors 1 (when it is the terminal too) and 2 of this
    process into the write end of a pipe, inherited by every worker started after it; a
    thread reads the pipe and hands each complete line to the console while a view is up, or
    writes it to the terminal when none is. `release()` gives fds 1 and 2 back (the pipe stays
    open: a forkserver may keep it as its stderr) after printing what is left."""

    _instance: OutputRelay | None = None

    def __init__(self, terminal_fd: int):
        self.terminal_fd = os.dup(terminal_fd)  # where the view draws, whatever fd 2 becomes
        self.read_fd, self.write_fd = os.pipe()
        # held while a relayed line or a frame is written: rich writes each thread's output
        # apart, and a frame drawn between a line's parts would draw over it
        self.lock = threading.RLock()
        self.console = None
        self.pending = b""
        self.saved: dict[int, int] = {}
        threading.Thread(target=self._pump, name="flowc-output-relay", daemon=True).start()

    @classmethod
    def for_terminal(cls, terminal_fd: int) -> OutputRelay:
        if cls._instance is None:
            cls._instance = cls(terminal_fd)
        return cls._instance

    def capture(self, console) -> None:
        with self.lock:
            self.console = console
        for fd in (1, 2):
            if fd == 2 or _same_terminal(1, self.terminal_fd):
                sys.stdout.flush()
                sys.stderr.flush()
                self.saved[fd] = os.dup(fd)
                os.dup2(self.write_fd, fd)

    def release(self) -> None:
        """Print what the workers wrote up to now above the view, then give fds 1 and 2 back."""
        sys.stdout.flush()
        sys.stderr.flush()
        self.drain()
        for fd, saved in self.saved.items():
            os.dup2(saved, fd)
            os.close(saved)
        self.saved.clear()
        with self.lock:
            self.console = None

    def drain(self) -> None:
        """Wait until the pipe is empty and every complete line has been printed."""
        import select

        while select.select([self.read_fd], [], [], 0.05)[0]:
            time.sleep(0.01)  # the pump is reading it
        with self.lock:
            if self.pending:
                self._emit(self.pending + b"\n")
                self.pending = b""

    def _pump(self) -> None:
        while True:
            try:
                chunk = os.read(self.read_fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self.lock:
                data = self.pending + chunk
                cut = data.rfind(b"\n") + 1
                self.pending = data[cut:]
                if cut:
                    self._emit(data[:cut])

    def _emit(self, data: bytes) -> None:
        """Lines (each ending in a line break) above the view, or straight to the terminal."""
        if self.console is None:
            os.write(self.terminal_fd, data)
            return
        from rich.text import Text

        for line in data.decode("utf-8", "replace").splitlines():
            self.console.print(Text.from_ansi(line), soft_wrap=True)


def _same_terminal(fd: int, terminal_fd: int) -> bool:
    """Whether `fd` is the terminal `terminal_fd` is (stdout and stderr on one screen)."""
    try:
        return os.isatty(fd) and os.ttyname(fd) == os.ttyname(terminal_fd)
    except OSError:
        return False


class LiveView:
    """A rich live display on a terminal, redrawn at every snapshot (four times a second), with
    what the workers print relayed above it (`OutputRelay`). The last frame stays, complete."""

    def __init__(self, stream: TextIO):
        from rich.console import Console

        self.relay = None
        try:
            fd = stream.fileno()
        except (AttributeError, OSError, ValueError):
            fd = None
        if fd == 2:  # the process's stderr: the workers write there too
            self.relay = OutputRelay.for_terminal(fd)
            stream = os.fdopen(os.dup(self.relay.terminal_fd), "w", encoding="utf-8")
        self.console = Console(file=stream)
        if self.relay is not None:
            self.relay.capture(self.console)
        self.live = None
        self.last: Snapshot | None = None

    def show(self, snapshot: Snapshot) -> None:
        self.last = snapshot
        renderable = self.render(snapshot)
        if self.relay is not None:
            with self.relay.lock:
                self._draw(renderable)
        else:
            self._draw(renderable)

    def _draw(self, renderable) -> None:
        from rich.live import Live

        if self.live is None:
            self.live = Live(
                renderable,
                console=self.console,
                auto_refresh=False,
                transient=False,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self.live.start(refresh=True)
        else:
            self.live.update(renderable, refresh=True)

    def close(self) -> None:
        """Print what the workers wrote last, draw the last frame whole (taller than the screen
        too) and leave it on the screen; safe to call again."""
        if self.console.file.closed:
            return
        if self.relay is not None:
            self.relay.release()
        if self.live is not None:
            live, self.live = self.live, None
            live.vertical_overflow = "visible"
            if self.last is not None:
                live.update(self.render(self.last), refresh=True)
            live.stop()
        self.console.file.flush()
        if self.relay is not None:
            self.relay = None
            self.console.file.close()  # our copy of the terminal's descriptor

    @staticmethod
    def render(snapshot: Snapshot):
        """The display of one snapshot: a title, a table of buffers, a table of workers."""
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        title = Text.assemble(
            ("flowc ", "bold"),
            (snapshot.pipeline or "(unnamed)", "bold cyan"),
            f"  {snapshot.elapsed:7.1f} s",
        )
        buffers = Table(box=None, pad_edge=False, header_style="bold")
        for column, justify in (
            ("buffer", "left"),
            ("fill", "left"),
            ("used", "right"),
            ("rate", "right"),
            ("written", "right"),
            ("dropped", "right"),
        ):
            buffers.add_column(column, justify=justify, no_wrap=True)
        for b in snapshot.buffers:
            style = "red" if b.fill_fraction >= 0.9 and b.consumed else "green"
            bar = ProgressBar(
                total=max(b.slots, 1),
                completed=b.fill,
                width=20,
                complete_style=style,
                finished_style=style,
            )
            used = f"{b.fill}/{b.slots}" if b.consumed else "not consumed"
            dropped = Text(str(b.dropped), style="red" if b.dropped else "")
            buffers.add_row(b.name, bar, used, format_rate(b.rate), str(b.written), dropped)
        progresses = Table.grid(padding=(0, 1))
        for w in snapshot.workers:
            known = progress(w, snapshot.elapsed)
            if known is not None:
                done, left = known
                progresses.add_row(
                    Text(w.name, style="bold"),
                    ProgressBar(total=1.0, completed=done, width=30),
                    f"{w.events_out:,} of {w.expected:,} events, {100 * done:.0f}%, "
                    f"{_time_left(left)}",
                )
        workers = Table(box=None, pad_edge=False, header_style="bold")
        workers.add_column("worker", no_wrap=True)
        workers.add_column("kind", no_wrap=True)
        for column in ("in", "out", "rate", "busy", "wait in", "wait out", "err"):
            workers.add_column(column, justify="right", no_wrap=True)
        for w in snapshot.workers:
            rate = w.rate_out if w.kind == "importer" else w.rate_in
            waits_in = w.kind not in ("importer", "observer")
            name = Text(w.name, style="" if w.running else "dim")
            workers.add_row(
                name,
                w.kind if w.processes == 1 else f"{w.kind} x{w.processes}",
                "-" if w.kind == "importer" else str(w.events_in),
                "-" if w.kind == "observer" else str(w.events_out),
                format_rate(rate),
                Text(
                    "-" if w.kind == "observer" else _percent(w.busy),
                    style="bold red" if w.kind != "observer" and (w.busy or 0.0) >= 0.9 else "",
                ),
                _percent(w.waiting_in) if waits_in else "-",
                "-" if w.kind == "observer" else _percent(w.waiting_out),
                Text(str(w.errors), style="red" if w.errors else ""),
            )
        note = Text(
            "rate: events in (importers: out) per second; busy: share of time in the worker's "
            "code; wait out: estimated while an output is full; dim: finished",
            style="dim",
        )
        shown = [title, Text("")]
        if progresses.row_count:
            shown += [progresses, Text("")]
        return Group(*shown, buffers, Text(""), workers, note)


class StatusLine:
    """One line on a non-terminal stream every STATUS_EVERY_S seconds: events and rates."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.next_at = STATUS_EVERY_S

    def show(self, snapshot: Snapshot) -> None:
        if snapshot.elapsed < self.next_at:
            return
        self.next_at = snapshot.elapsed + STATUS_EVERY_S
        self.stream.write(self.format(snapshot) + "\n")
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()

    @staticmethod
    def format(snapshot: Snapshot) -> str:
        """`flowc: NAME 12 s | src 6000 out 500/s | cut 5990 in 499/s busy 80% | raw 25% full`"""
        parts = [f"flowc: {snapshot.pipeline or '(unnamed)'} {snapshot.elapsed:.0f} s"]
        for w in snapshot.workers:
            if w.kind == "importer":
                text = f"{w.name} {w.events_out} out {format_rate(w.rate_out)}"
                known = progress(w, snapshot.elapsed)
                if known is not None:
                    text += f" ({100 * known[0]:.0f}% of {w.expected}, {_time_left(known[1])})"
                parts.append(text)
            else:
                text = f"{w.name} {w.events_in} in {format_rate(w.rate_in)} busy {_percent(w.busy)}"
                if w.errors:
                    text += f" errors {w.errors}"
                parts.append(text)
        for b in snapshot.buffers:
            if b.consumed:
                text = f"{b.name} {_percent(b.fill_fraction)} full"
                if b.dropped:
                    text += f" dropped {b.dropped}"
                parts.append(text)
        return " | ".join(parts)
