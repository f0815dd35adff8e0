"""The live view renders on a terminal (rich), a status line appears without one, and
--quiet shows neither."""

from __future__ import annotations

import io
import re

from observe_helpers import flowc_run, flowc_run_on_a_terminal
from rich.console import Console

from flowc.runtime.live import STATUS_EVERY_S, LiveView, StatusLine, open_view
from flowc.runtime.monitor import BufferSnapshot, Snapshot, WorkerSnapshot
from flowc.units import format_rate

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

FLOW = """
pipeline watched
const N = 300
type XY = {x: f8, y: f8}
buffer raw : XY slots=8
buffer out : XY slots=8
importer  src  = "workers.py":count(n=N) -> raw
processor mid  = "workers.py":slow(delay=0.004) raw -> out
exporter  keep = "workers.py":take() out
"""


def snapshot(elapsed: float = 1.5) -> Snapshot:
    return Snapshot(
        "watched",
        elapsed,
        (
            WorkerSnapshot("src", "importer", 1, 1, 0, 120, 0, 0.0, 80.0, 0.1, 0.0, 0.9),
            WorkerSnapshot("mid", "processor", 2, 2, 112, 111, 3, 75.0, 75.0, 0.97, 0.0, 0.0),
            WorkerSnapshot("look", "observer", 1, 0, 40, 0, 0, 20.0, 0.0, 0.0, 0.0, 0.0),
        ),
        (
            BufferSnapshot("raw", 8, 8, True, 120, 0, 80.0),
            BufferSnapshot("spill", 4, 4, False, 50, 46, 10.0),
        ),
    )


def test_the_live_view_shows_every_buffer_and_worker():
    out = io.StringIO()
    Console(file=out, width=100, color_system=None).print(LiveView.render(snapshot()))
    text = out.getvalue()
    assert "flowc watched" in text
    assert re.search(r"raw .* 8/8 +80/s +120 +0", text)
    assert re.search(r"spill .* not consumed .* 46", text)
    assert re.search(r"mid +processor x2 +112 +111 +75/s +97% +0% +0% +3", text)
    assert re.search(r"src +importer +- +120 +80/s +10% +- +90%", text)


def test_with_call_times_off_the_busy_share_is_not_made_up():
    untimed = WorkerSnapshot("mid", "processor", 1, 1, 112, 111, 0, 75.0, 75.0, None, 0.02, None)
    plain = Snapshot("watched", 1.5, (untimed,), ())
    out = io.StringIO()
    Console(file=out, width=100, color_system=None).print(LiveView.render(plain))
    assert re.search(r"mid +processor +112 +111 +75/s +- +2% +- +0", out.getvalue())


def test_the_status_line_comes_every_few_seconds():
    out = io.StringIO()
    line = StatusLine(out)
    for elapsed in (0.25, 1.0, STATUS_EVERY_S, STATUS_EVERY_S + 1, 2 * STATUS_EVERY_S + 0.5):
        line.show(snapshot(elapsed))
    line.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"flowc: watched {STATUS_EVERY_S:.0f} s | src 120 out 80/s")
    assert "mid 112 in 75/s busy 97% errors 3" in lines[0]
    assert "raw 100% full" in lines[0] and "spill" not in lines[0]


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_view_is_chosen_by_whether_the_stream_is_a_terminal(monkeypatch):
    assert isinstance(open_view(io.StringIO()), StatusLine)
    monkeypatch.setenv("TERM", "xterm")
    assert isinstance(open_view(FakeTerminal()), LiveView)
    monkeypatch.setenv("TERM", "dumb")  # cannot redraw in place
    assert isinstance(open_view(FakeTerminal()), StatusLine)
    assert [format_rate(r) for r in (0, 950, 12345, 2.5e6)] == [
        "0/s",
        "950/s",
        "12.3k/s",
        "2.50M/s",
    ]


def test_the_live_view_renders_under_a_pseudo_terminal(flow_folder):
    (flow_folder / "watched.flow").write_text(FLOW)
    completed = flowc_run_on_a_terminal(flow_folder, "watched.flow")
    assert completed.exit == 0, completed.stderr
    plain = ANSI.sub("", completed.stderr)
    assert "Traceback" not in plain
    # frames of the live view, then the summary below them
    assert "flowc watched" in plain
    assert re.search(r"buffer +fill +used +rate +written +dropped", plain)
    assert re.search(r"worker +kind +in +out +rate +busy +wait in +wait out +err", plain)
    assert "pipeline watched: completed" in plain
    assert "bottleneck: `mid` (busy)" in plain
    assert plain.index("flowc watched") < plain.index("pipeline watched: completed")


def test_quiet_shows_no_live_view_and_no_summary(flow_folder):
    (flow_folder / "watched.flow").write_text(FLOW)
    quiet = flowc_run_on_a_terminal(flow_folder, "watched.flow", "--quiet", "--set", "N=50")
    assert quiet.exit == 0
    assert ANSI.sub("", quiet.stderr).strip() == ""


def test_without_a_terminal_the_summary_has_no_escape_codes(flow_folder):
    (flow_folder / "watched.flow").write_text(FLOW)
    completed = flowc_run(flow_folder, "watched.flow", "--set", "N=50")
    assert completed.exit == 0, completed.stderr
    assert "\x1b" not in completed.stderr
    assert completed.stderr.startswith("pipeline watched: completed")
