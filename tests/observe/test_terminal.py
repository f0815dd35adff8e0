"""The terminal as a user sees it after `flowc run` (a pseudo-terminal read by pexpect, drawn
by pyte): what the workers print stays on the screen, in order, above the live view; the last
frame is whole, with the progress of an importer that said how many events it makes; the
footnotes wrap at the terminal's width between words."""

from __future__ import annotations

import sys

import pytest
from observe_helpers import environment

pexpect = pytest.importorskip("pexpect")
pyte = pytest.importorskip("pyte")

COLUMNS, ROWS = 80, 400
FLOW = """
pipeline loud
type XY = {x: f8, y: f8}
buffer raw : XY slots=8
buffer out : XY slots=8
importer src  = workers:count(n=300, delay=0.004) -> raw
processor say = workers:shout(every=60) raw -> out
exporter  bye = workers:Farewell() out
"""


def screen_after_run(folder, *args: str) -> tuple[list[str], int]:
    """The lines of the screen once `flowc run` has ended, and its exit status."""
    child = pexpect.spawn(
        sys.executable,
        ["-m", "flowc", "run", *args],
        cwd=str(folder),
        env=environment(TERM="xterm", PYTHONPATH=str(folder), COLUMNS=str(COLUMNS)),
        dimensions=(ROWS, COLUMNS),
        timeout=120,
    )
    output = child.read()
    child.close()
    screen = pyte.Screen(COLUMNS, ROWS)
    pyte.ByteStream(screen).feed(
        output.replace(b"\n", b"\r\n") if b"\r\n" not in output else output
    )
    return [line.rstrip() for line in screen.display], child.exitstatus


def test_worker_output_stays_above_the_live_view_and_the_last_frame_is_whole(flow_folder):
    (flow_folder / "loud.flow").write_text(FLOW)
    lines, status = screen_after_run(flow_folder, "loud.flow")
    assert status == 0, "\n".join(lines)
    text = "\n".join(lines)
    said = [line for line in lines if line.startswith(("shout ", "farewell"))]
    assert said == [f"shout {x}" for x in range(0, 300, 60)] + ["farewell after 300 events"]
    # the last frame: its title, every buffer and worker, the progress done
    frame = lines.index(next(line for line in lines if line.startswith("flowc loud")))
    assert frame > lines.index("farewell after 300 events"), "the output is above the view"
    shown = "\n".join(lines[frame : frame + 20])
    for name in ("raw", "out", "src", "say", "bye"):
        assert f"\n{name} " in shown, (name, shown)
    assert "300 of 300 events, 100%" in shown
    assert "pipeline loud: completed" in text
    assert "call times were off" not in text


def test_footnotes_wrap_between_words_at_the_terminal_width(flow_folder):
    (flow_folder / "loud.flow").write_text(FLOW)
    lines, status = screen_after_run(flow_folder, "loud.flow")
    assert status == 0
    start = next(k for k, line in enumerate(lines) if line.startswith("blocked: seconds"))
    footnote = []
    for line in lines[start:]:
        if not line:
            break
        footnote.append(line)
    assert len(footnote) >= 2 and all(len(line) < COLUMNS for line in footnote)
    assert " ".join(footnote) == (
        "blocked: seconds waiting for events (in) and for room in outputs (out), and the share "
        "of the worker's time"
    )
    start = next(k for k, line in enumerate(lines) if line.startswith("bottleneck: `src`"))
    bottleneck = lines[start : lines.index("", start)]
    assert len(bottleneck) >= 2 and all(len(line) < COLUMNS for line in bottleneck)
    assert "is paced at" in " ".join(bottleneck) and "keeps up" in " ".join(bottleneck)


def test_progress_and_time_left_where_the_importer_says_how_many():
    from flowc.runtime.live import StatusLine, progress
    from flowc.runtime.monitor import Snapshot, WorkerSnapshot

    def importer(done, expected):
        return WorkerSnapshot(
            "src", "importer", 1, 1, 0, done, 0, 0.0, 100.0, 0.5, 0.0, 0.0, expected=expected
        )

    assert progress(importer(250, 1000), 5.0) == (0.25, 15.0)
    assert progress(importer(0, 1000), 1.0) == (0.0, None)
    assert progress(importer(250, None), 5.0) is None
    line = StatusLine.format(Snapshot("p", 5.0, (importer(250, 1000),), ()))
    assert "src 250 out 100/s (25% of 1000, 15 s left)" in line
