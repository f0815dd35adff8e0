"""`flowc import mimocorb2` end to end: convert a setup, check it, and run it with the original
worker files (through flowc.compat.mimocorb2), in a subprocess as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from flowc.stdlib.mimo import read_mimo

SETUPS = Path(__file__).resolve().parent / "setups"


def flowc(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    return subprocess.run(
        [sys.executable, "-m", "flowc", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def imported(setup: str, tmp_path: Path) -> Path:
    out = tmp_path / "out.flow"
    done = flowc("import", "mimocorb2", str(SETUPS / setup), "-o", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    return out


@pytest.mark.runtime
def test_muon_setup_runs_with_its_original_workers(tmp_path):
    out = imported("muon/spin_setup.yaml", tmp_path)
    checked = flowc("check", str(out), cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    run_dir = tmp_path / "run"
    stats = tmp_path / "stats.json"
    ran = flowc(
        "run",
        str(out),
        "--set",
        f"RUN_DIR={run_dir}",
        "--stats",
        str(stats),
        "--quiet",
        cwd=tmp_path,
    )
    assert ran.returncode == 0, ran.stderr
    # the simulated source puts a second pulse on every other trace: 100 of 200 are decays
    assert json.loads((run_dir / "pulses.json").read_text()) == {"count": 100}
    decays = np.load(run_dir / "decays.npy")
    assert decays.shape == (100, 2)
    assert set(decays[:, 0] % 2) == {0}  # the even-numbered events, metadata counter kept
    assert ((decays[:, 1] >= 10) & (decays[:, 1] <= 200)).all()
    report = json.loads(stats.read_text())
    assert report["workers"]["filter_"]["events_in"] == 200
    assert report["buffers"]["PulseParameters"]["written"] == 100
    assert 1 <= json.loads((run_dir / "watched.json").read_text())["seen"] <= 200


@pytest.mark.runtime
def test_raw_context_manager_workers_and_library_replacements_run(tmp_path):
    out = imported("library/setup.yaml", tmp_path)
    run_dir = tmp_path / "run"
    ran = flowc(
        "run",
        str(out),
        "--quiet",
        "--set",
        f"RUN_DIR={run_dir}",
        "--set",
        f"SAVE_PATH={tmp_path / 'save.mimo'}",
        "--set",
        f"HISTOGRAM_PATH={tmp_path / 'histograms'}",
        "--set",
        f"SCOPE_PATH={tmp_path / 'scope.png'}",
        cwd=tmp_path,
    )
    assert ran.returncode == 0, ran.stderr
    info, saved, metadata = read_mimo(tmp_path / "save.mimo")
    assert (info["data_length"], saved.shape, metadata.shape) == (32, (50, 32), (50,))
    assert saved["ch1"][:, 0].tolist() == list(range(50))
    assert metadata["counter"].tolist() == list(range(50))
    assert (tmp_path / "histograms" / "info.csv").read_text().splitlines() == [
        "Channel,Min,Max,NBins",
        "height,0.0,2.0,20",
    ]
    assert np.load(tmp_path / "histograms" / "height.npy").shape == (19,)  # 20 edges
    assert not (SETUPS / "library" / "target").exists()


def test_broken_setups_are_reported_by_check_with_positions_in_the_generated_file(tmp_path):
    for setup, code, fragment in (
        ("broken/unread_buffer.yaml", "W301", "buffer kept "),
        ("broken/filter_mismatch.yaml", "E201", "filter positive ="),
    ):
        out = imported(setup, tmp_path)
        checked = flowc("check", str(out), "--format", "json", cwd=tmp_path)
        report = json.loads(checked.stdout)
        (problem,) = report["diagnostics"]
        lines = out.read_text().splitlines()
        assert problem["code"] == code
        assert problem["file"] == str(out)
        assert fragment in lines[problem["line"] - 1]
        start, end = problem["column"] - 1, problem["end_column"] - 1
        assert lines[problem["line"] - 1][start:end] == "kept"
        assert checked.returncode == (1 if code.startswith("E") else 0)


def test_without_output_the_flow_goes_to_stdout_and_diagnostics_to_stderr(tmp_path):
    done = flowc("import", "mimocorb2", str(SETUPS / "muon" / "spin_setup.yaml"), cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.startswith("# Converted from the mimoCoRB2 setup spin_setup.yaml")
    assert "warning[M003]: worker `filter` is written as `filter_`" in done.stderr
    assert "spin_setup.yaml:32:3" in done.stderr


def test_errors_exit_1_and_still_write_what_could_be_converted(tmp_path):
    out = tmp_path / "odd.flow"
    done = flowc(
        "import", "mimocorb2", str(SETUPS / "odd" / "setup.yaml"), "-o", str(out), cwd=tmp_path
    )
    assert done.returncode == 1
    assert "error[M102]" in done.stderr and "found 12 errors and 1 warning" in done.stderr
    assert "buffer raw : {x: f8} slots=4" in out.read_text()


@pytest.mark.parametrize(
    "args,message",
    [
        (("import", "mimocorb2", "absent.yaml"), "absent.yaml: no such file"),
        (("import", "km3pipe", "x.yaml"), "invalid choice: 'km3pipe'"),
        (("import", "mimocorb2"), "the following arguments are required: SETUP.yaml"),
    ],
)
def test_usage_errors_exit_2(tmp_path, args, message):
    done = flowc(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_a_file_that_is_not_yaml_is_an_M001_with_its_position(tmp_path):
    (tmp_path / "bad.yaml").write_text("Buffers:\n  a: [1, 2\nWorkers: {}\n")
    done = flowc("import", "mimocorb2", "bad.yaml", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    assert "error[M001]: the setup is not valid YAML" in done.stderr
    assert "--> bad.yaml:3:" in done.stderr
