"""Every endpoint of the live page over HTTP (127.0.0.1 only): the page and its assets, the
graph, the event stream, /metrics (parsed with prometheus_client, equal to --stats at the
end), the controls with and without the token, a wrong path, and a port in use."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import time
from urllib.parse import urlsplit

import pytest
from prometheus_client.parser import text_string_to_metric_families
from serve_helpers import frame, get, wait_for

import flowc
from flowc.serve import ServeError, bind, parse_address
from flowc.serve.graph import graph_svg, layered_svg, page_dot

ASSETS = ("index.html", "page.js", "page.css")


@pytest.fixture
def live(write_flow):
    """An endless run served on a free port; stopped at once after the test."""
    plan = flowc.compile_file(str(write_flow()))
    handle = plan.start(serve="127.0.0.1:0")
    try:
        yield handle
    finally:
        handle.stop(drain=False)
        handle.wait(30)
        handle.server.close()


def metrics(base: str) -> dict[str, dict[tuple, float]]:
    """/metrics parsed: sample name -> {label values: value}."""
    status, headers, body = get(f"{base}/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain")
    found: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.values()))] = sample.value
    return found


def test_the_page_and_its_assets_come_from_flowc_alone(live):
    base = live.server.address
    status, headers, body = get(f"{base}/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    page = body.decode()
    for name in ASSETS[1:]:
        assert f'"/static/{name}"' in page
        status, _, asset = get(f"{base}/static/{name}")
        assert status == 200 and len(asset) > 1000
    for name in ASSETS:  # no CDN: nothing is fetched from another host
        _, _, text = get(f"{base}/" if name == "index.html" else f"{base}/static/{name}")
        for url in re.findall(r"""(?:src|href)=["']([^"']+)""", text.decode()):
            assert url.startswith(("/", "#", "data:")), url
        assert "cdn" not in text.decode().lower()


def test_the_graph_names_every_worker_and_buffer(live):
    status, headers, body = get(f"{live.server.address}/graph.svg")
    assert status == 200 and headers["Content-Type"].startswith("image/svg+xml")
    svg = body.decode()
    assert svg.startswith("<svg")
    for name in ("source", "copy", "save", "heights", "scope", "rate", "raw", "kept"):
        assert f"<title>{name}</title>" in svg
    assert "<title>raw&#45;&gt;copy</title>" in svg or "<title>raw->copy</title>" in svg


def test_without_graphviz_the_page_gets_the_built_in_layout(write_flow, monkeypatch):
    plan = flowc.compile_file(str(write_flow()))
    monkeypatch.setattr("flowc.serve.graph.shutil.which", lambda name: None)
    assert graph_svg(plan) == layered_svg(plan)


def test_the_page_dot_keeps_room_for_the_figures(write_flow):
    dot = page_dot(flowc.compile_file(str(write_flow())))
    assert 'label="raw\\n0000/0000 full"' in dot
    assert 'label="copy\\n000.0 k/s · busy 100 %"' in dot
    assert 'label="heights\\n000.0 k/s"' in dot
    assert dot.count('label="000.0 k/s"') == 7  # one per edge


def test_the_built_in_layout_draws_the_same_nodes_and_edges(write_flow):
    plan = flowc.compile_file(str(write_flow()))
    svg = layered_svg(plan)
    assert svg.count('class="node"') == 8
    assert svg.count('class="edge"') == 7
    assert "<title>source-&gt;raw</title>" in svg and 'stroke-dasharray="5,3"' in svg


def test_the_event_stream_sends_several_frames_a_second_as_the_run_goes_on(live):
    address = urlsplit(live.server.address)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    connection.request("GET", "/events")
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type").startswith("text/event-stream")
    frames, started = [], time.monotonic()
    while len(frames) < 8 and time.monotonic() - started < 10:
        line = response.readline().decode()
        if line.startswith("data: "):
            frames.append((time.monotonic(), json.loads(line[6:])))
    connection.close()
    assert len(frames) == 8
    assert (frames[-1][0] - frames[0][0]) / 7 <= 0.5, "fewer than 2 updates a second"
    assert frames[-1][1]["state"] == "running" and frames[-1][1]["running"]
    out = [next(w["events_out"] for w in f["workers"] if w["name"] == "source") for _, f in frames]
    assert out[-1] > out[0]
    latest = frames[-1][1]
    assert {b["name"] for b in latest["buffers"]} == {"raw", "kept"}
    assert all(0 <= b["fill_ratio"] <= 1 for b in latest["buffers"])
    assert {(e["from"], e["to"]) for e in latest["edges"]} >= {("source", "raw"), ("raw", "copy")}
    assert latest["bottleneck"] is None or latest["bottleneck"]["worker"] in {
        w["name"] for w in latest["workers"]
    }


def test_observers_publish_into_the_runs_live_folder_and_the_frames_carry_their_plots(live):
    folder = live.server.live_dir
    assert os.path.isdir(folder)
    plots = wait_for(
        lambda: (
            (p := frame(live.server.address)["plots"]).keys() >= {"heights", "scope", "rate"} and p
        ),
        10,
        "the three observers' documents",
    )
    assert plots["heights"]["kind"] == "histogram" and sum(plots["heights"]["counts"]) > 0
    assert plots["scope"]["kind"] == "scope" and len(plots["scope"]["traces"][0]) == 64
    assert plots["rate"]["kind"] == "rate" and plots["rate"]["series"]
    assert {p.name for p in os.scandir(folder)} >= {"heights.json", "scope.json", "rate.json"}


def test_metrics_while_running_count_up(live):
    base = live.server.address
    first = wait_for(
        lambda: (m := metrics(base))["flowc_worker_events_out_total"][("source",)] > 0 and m,
        10,
        "events counted",
    )
    assert first["flowc_run_running"][()] == 1
    assert set(first["flowc_buffer_fill_ratio"]) == {("raw",), ("kept",)}
    assert all(0 <= v <= 1 for v in first["flowc_buffer_fill_ratio"].values())
    for name in (
        "flowc_worker_events_in_total",
        "flowc_worker_errors_total",
        "flowc_worker_busy_seconds_total",
        "flowc_worker_blocked_seconds_total",
    ):
        assert set(first[name]) == {
            (w,) for w in ("source", "copy", "save", "heights", "scope", "rate")
        }
    time.sleep(0.5)
    later = metrics(base)
    assert (
        later["flowc_worker_events_out_total"][("source",)]
        > first["flowc_worker_events_out_total"][("source",)]
    )
    assert (
        later["flowc_buffer_written_total"][("raw",)]
        >= first["flowc_buffer_written_total"][("raw",)]
    )


def test_controls_need_the_token(live):
    base, token = live.server.address, live.server.token
    for headers, url in (
        ({}, f"{base}/control/pause"),
        ({}, f"{base}/control/pause?token=wrong"),
        ({"Authorization": "token wrong"}, f"{base}/control/pause"),
        ({"Authorization": f"bearer {token}"}, f"{base}/control/pause"),
    ):
        status, _, body = get(url, method="POST", headers=headers)
        assert status == 403, (url, headers)
        assert "token" in json.loads(body)["error"]
        assert not live.paused
    status, _, body = get(f"{base}/control/pause?token={token}", method="POST")
    assert status == 200 and json.loads(body)["paused"] is True
    assert live.paused
    wait_for(lambda: frame(base)["state"] == "paused", 5, "the page says paused")
    headers = {"Authorization": f"token {token}"}
    status, _, _ = get(f"{base}/control/resume", method="POST", headers=headers)
    assert status == 200 and not live.paused
    status, _, _ = get(f"{base}/control/stop", method="POST")
    assert status == 403 and live.running
    status, _, _ = get(f"{base}/control/stop", method="POST", headers=headers)
    assert status == 200
    result = live.wait(30)
    assert result is not None and result.stats["stopped"] == "interrupted"
    status, _, body = get(f"{base}/control/pause", method="POST", headers=headers)
    assert status == 409  # the run has ended: nothing to pause


def test_wrong_paths_and_methods(live):
    base, token = live.server.address, live.server.token
    assert get(f"{base}/nope")[0] == 404
    assert get(f"{base}/static/nope.js")[0] == 404
    assert get(f"{base}/control/explode?token={token}", method="POST")[0] == 404
    assert get(f"{base}/control/pause?token={token}")[0] == 405  # a GET never steers
    assert not live.paused


def test_after_the_run_the_page_keeps_the_final_figures_until_the_linger_ends(write_flow):
    plan = flowc.compile_file(str(write_flow(n=300, delay=0)))
    handle = plan.start(serve="127.0.0.1:0", serve_linger=2.0)
    base = handle.server.address
    result = handle.wait(30)
    assert result.exit == 0
    final = wait_for(lambda: (f := frame(base))["summary"] and f, 5, "the final frame")
    assert final["state"] == "completed" and final["exit"] == 0 and not final["running"]
    workers = {w["name"]: w for w in final["workers"]}
    assert workers["save"]["events_in"] == result.stats["workers"]["save"]["events_in"] == 300
    assert "pipeline live: completed" in final["summary"]
    assert final["plots"]["heights"]["kind"] == "histogram"  # kept after the folder is gone
    wait_for(lambda: not os.path.exists(handle.server.live_dir), 2, "the live folder removed")
    assert metrics(base)["flowc_run_running"][()] == 0
    started = time.monotonic()
    handle.server.wait_closed()
    assert time.monotonic() - started <= 3.0
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", urlsplit(base).port), timeout=1).close()


def test_metrics_at_the_end_equal_the_stats_file(write_flow, serve_cli, tmp_path):
    flow = write_flow(n=2000, delay=0)
    stats_path = tmp_path / "stats.json"
    served = serve_cli(str(flow), "--quiet", "--stats", str(stats_path), "--serve-linger", "30")
    wait_for(lambda: stats_path.exists() and stats_path.stat().st_size > 0, 30, "--stats written")
    stats = json.loads(stats_path.read_text())
    found = wait_for(
        lambda: (m := metrics(served.base))["flowc_run_running"][()] == 0 and m, 5, "run ended"
    )
    for name, entry in stats["workers"].items():
        assert found["flowc_worker_events_in_total"][(name,)] == entry["events_in"]
        assert found["flowc_worker_events_out_total"][(name,)] == entry["events_out"]
        assert found["flowc_worker_errors_total"][(name,)] == entry["errors"]
        assert found["flowc_worker_busy_seconds_total"][(name,)] == pytest.approx(entry["call_s"])
        blocked = entry["blocked_in_s"] + entry["blocked_out_s"]
        assert found["flowc_worker_blocked_seconds_total"][(name,)] == pytest.approx(blocked)
    for name, entry in stats["buffers"].items():
        assert found["flowc_buffer_written_total"][(name,)] == entry["written"]
        assert found["flowc_buffer_dropped_total"][(name,)] == entry["dropped"]
    assert stats["workers"]["save"]["events_in"] == 2000
    served.interrupt()  # Ctrl-C ends the linger at once; the run's own exit code stays
    code, err = served.stop(timeout=10)
    assert code == 0, err
    assert "its page stays at" in err


def test_a_port_in_use_is_a_usage_error_before_the_run(write_flow, tmp_path):
    import subprocess
    import sys

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    stats_path = tmp_path / "stats.json"
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "flowc", "run", str(write_flow(n=10)), "--quiet"]
            + ["--serve", str(port), "--stats", str(stats_path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        with pytest.raises(ServeError, match="in use"):
            bind(f"127.0.0.1:{port}")
    finally:
        taken.close()
    assert completed.returncode == 2, completed.stderr
    assert f"--serve 127.0.0.1:{port}: cannot listen there: the port is in use" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert not stats_path.exists()  # nothing ran


@pytest.mark.parametrize(
    "text,expected",
    [
        ("8000", ("127.0.0.1", 8000)),
        (":8000", ("127.0.0.1", 8000)),
        ("0.0.0.0:80", ("0.0.0.0", 80)),
        ("localhost:0", ("localhost", 0)),
        ("[::1]:9000", ("::1", 9000)),
        (8000, ("127.0.0.1", 8000)),
    ],
)
def test_addresses(text, expected):
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "127.0.0.1:", "1:2:3", "70000", "host:-1"])
def test_bad_addresses(text):
    with pytest.raises(ServeError, match="--serve"):
        parse_address(text)


def test_a_bad_address_or_a_stray_linger_is_a_usage_error(write_flow):
    import subprocess
    import sys

    flow = str(write_flow(n=10))
    for extra, message in (
        (["--serve", "nonsense"], "expected [HOST:]PORT"),
        (["--serve-linger", "5"], "--serve-linger is for --serve"),
        (["--serve", "0", "--serve-linger", "-1"], "0 or more seconds"),
    ):
        completed = subprocess.run(
            [sys.executable, "-m", "flowc", "run", flow, "--quiet", *extra],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert completed.returncode == 2 and message in completed.stderr, completed.stderr


def test_binds_loopback_unless_told_otherwise():
    server = bind(0)
    try:
        assert server.socket.getsockname()[0] == "127.0.0.1"
        assert server.url.startswith("http://127.0.0.1:") and f"?token={server.token}" in server.url
        assert len(server.token) >= 32
    finally:
        server.close()
    assert not os.path.exists(server.live_dir)


def test_without_call_times_busy_is_not_reported(write_flow, monkeypatch):
    monkeypatch.setenv("FLOWC_CALL_TIMES", "off")
    plan = flowc.compile_file(str(write_flow(n=0)))
    handle = plan.start(serve="127.0.0.1:0")
    try:
        base = handle.server.address
        found = wait_for(
            lambda: (m := metrics(base))["flowc_worker_events_out_total"][("source",)] > 0 and m,
            10,
            "events counted",
        )
        assert "flowc_worker_busy_seconds_total" not in found  # not measured: not shown as 0
        assert ("source",) in found["flowc_worker_blocked_seconds_total"]
        assert all(w["busy"] is None for w in frame(base)["workers"])
    finally:
        handle.stop(drain=False)
        handle.wait(30)
        handle.server.close()


def test_a_failed_run_is_shown_with_the_worker_that_failed(write_flow, tmp_path):
    text = write_flow(n=0).read_text().replace(":identity()", ":FailAfter(n=50)")
    path = tmp_path / "failing.flow"
    path.write_text(text)
    handle = flowc.compile_file(str(path)).start(serve="127.0.0.1:0", serve_linger=5.0)
    try:
        result = handle.wait(30)
        assert result.exit == 1
        final = wait_for(lambda: (f := frame(handle.server.address))["summary"] and f, 5, "final")
        assert final["state"] == "failed" and final["exit"] == 1
        assert final["failure"]["worker"] == "copy"
        assert "the detector caught fire" in final["failure"]["message"]
    finally:
        handle.server.close()
