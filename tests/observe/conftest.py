"""The fixture of the tests of what a run shows: a folder holding the test workers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

WORKERS_FILE = HERE / "observe_workers.py"


@pytest.fixture
def flow_folder(tmp_path: Path) -> Path:
    """A folder holding `workers.py` (the test workers), where flows and outputs go."""
    (tmp_path / "workers.py").write_text(WORKERS_FILE.read_text())
    return tmp_path
