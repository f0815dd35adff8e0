"""Simulated two-channel oscilloscope traces: a pulse on chA, sometimes a second (a decay)."""

import numpy as np
from mimocorb2 import Importer


def simulate_source(buffer_io):
    importer = Importer(buffer_io)
    rng = np.random.default_rng(buffer_io["seed"])
    example = importer.data_example
    samples = np.arange(len(example))

    def ufunc():
        for i in range(buffer_io["n_events"]):
            event = np.zeros_like(example)
            event["chA"] = 0.9 * np.exp(-((samples - 20) ** 2) / 8.0)
            if i % 2 == 0:
                later = 40 + int(rng.integers(0, 150))
                event["chA"] += 0.7 * np.exp(-((samples - later) ** 2) / 8.0)
            event["chB"] = rng.normal(0, 0.01, len(example))
            yield event
        yield None

    importer(ufunc)
