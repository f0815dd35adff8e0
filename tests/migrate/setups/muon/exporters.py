"""Exporters and an observer written on mimoCoRB2's templates and context managers."""

import json

import numpy as np
from mimocorb2 import Exporter, Observer


def count_events(buffer_io):
    exporter = Exporter(buffer_io)
    count = 0
    for _data, _metadata in exporter:
        count += 1
    (buffer_io.run_dir / "pulses.json").write_text(json.dumps({"count": count}))


def save_parameters(buffer_io):
    exporter = Exporter(buffer_io)
    rows = []
    for data, metadata in exporter:
        rows.append((int(metadata["counter"][0]), int(data["decay_time"][0])))
    np.save(buffer_io.run_dir / "decays.npy", np.array(rows, dtype=np.int64).reshape(-1, 2))


def watch(buffer_io):
    observer = Observer(buffer_io)
    seen = 0
    for data, _metadata in observer():
        if data is None:
            break
        seen += 1
    (buffer_io.run_dir / "watched.json").write_text(json.dumps({"seen": seen}))
