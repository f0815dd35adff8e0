"""What an observer shows while a run lasts: a small JSON document per worker (a histogram's
counts and edges, a scope's latest traces, a rate curve) that the live page of
`flowc run --serve` reads and draws.

The supervisor gives each worker process a folder in `FLOWC_LIVE_DIR` and the worker's name in
`FLOWC_WORKER`. `publish` replaces `<folder>/<worker>.json` whole (write, then rename), so a
reader never sees half a document. Without `FLOWC_LIVE_DIR` (nobody is watching) it does nothing
and costs one dictionary look-up, so monitors may call it unconditionally, a few times a second.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

# the environment variables the supervisor sets in each worker process
LIVE_DIR_ENVIRONMENT = "FLOWC_LIVE_DIR"
WORKER_ENVIRONMENT = "FLOWC_WORKER"


def live_dir() -> Path | None:
    """The folder live documents go to, or None when the run is not watched."""
    folder = os.environ.get(LIVE_DIR_ENVIRONMENT)
    return Path(folder) if folder else None


def publish(document: dict, *, name: str | None = None) -> bool:
    """Replace this worker's live document with `document` (JSON-serialisable: lists, numbers,
    strings; numpy arrays as `.tolist()`). `kind` in the document says how to draw it
    ("histogram", "scope", "rate"). Returns whether it was written."""
    folder = live_dir()
    if folder is None:
        return False
    worker = name or os.environ.get(WORKER_ENVIRONMENT)
    if not worker:
        return False
    target = folder / f"{worker}.json"
    partial = folder / f".{worker}.{os.getpid()}.tmp"
    try:
        partial.write_text(json.dumps(document, allow_nan=False), encoding="utf-8")
        os.replace(partial, target)
    except (OSError, ValueError):
        partial.unlink(missing_ok=True)
        return False
    return True


def read_all(folder: Path) -> dict[str, dict]:
    """Every worker's latest live document in `folder`, by worker name (for the page)."""
    documents: dict[str, dict] = {}
    try:
        entries = list(folder.glob("*.json"))
    except OSError:
        return documents
    for path in entries:
        try:
            documents[path.stem] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
    return documents
