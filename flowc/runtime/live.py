"""What a run shows while it runs: a rich live view on a terminal (fill bars, rates, busy and
blocked fractions), or a one-line status every few seconds when stderr is a log file or CI.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

from flowc.runtime.monitor import Snapshot
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


class LiveView:
    """A rich live display on a terminal, redrawn at every snapshot (four times a second)."""

    def __init__(self, stream: TextIO):
        from rich.console import Console

        self.console = Console(file=stream)
        self.live = None

    def show(self, snapshot: Snapshot) -> None:
        from rich.live import Live

        renderable = self.render(snapshot)
        if self.live is None:
            self.live = Live(
                renderable,
                console=self.console,
                auto_refresh=False,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self.live.start(refresh=True)
        else:
            self.live.update(renderable, refresh=True)

    def close(self) -> None:
        if self.live is not None:
            live, self.live = self.live, None
            live.stop()

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
                Text(_percent(w.busy), style="bold red" if (w.busy or 0.0) >= 0.9 else ""),
                _percent(w.waiting_in) if waits_in else "-",
                "-" if w.kind == "observer" else _percent(w.waiting_out),
                Text(str(w.errors), style="red" if w.errors else ""),
            )
        note = Text(
            "rate: events in (importers: out) per second; busy: share of time in the worker's "
            "code; wait out: estimated while an output is full; dim: finished",
            style="dim",
        )
        return Group(title, Text(""), buffers, Text(""), workers, note)


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
                parts.append(f"{w.name} {w.events_out} out {format_rate(w.rate_out)}")
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
