"""The `simple` example's workers on mimoCoRB2 0.0.4's API: BufferIO, run_dir, the reader's
`with ... as (metadata, data)`."""

import numpy as np
from mimocorb2 import BufferIO, Filter, Importer, Processor
from waves import trace


def simulate_osc(buffer_io: BufferIO):
    importer = Importer(buffer_io)

    def ufunc():
        for i in range(buffer_io["n_events"]):
            event = importer.data_example.copy()
            event["ch1"] = trace(i)
            yield event
        yield None

    importer(ufunc)


def filter_data(buffer_io: BufferIO):
    min_height = buffer_io.get("min_height", 0.5)
    Filter(buffer_io)(lambda data: bool(np.max(data["ch1"]) > min_height))


def calculate_pulse_heights(buffer_io: BufferIO):
    processor = Processor(buffer_io)
    example = buffer_io.data_out_examples[0].copy()

    def ufunc(data):
        example["pulse_height"] = np.max(data["ch1"])
        return [example]

    processor(ufunc)


def print_pulse_heights(buffer_io: BufferIO):
    heights, counters = [], []
    while True:
        with buffer_io.read[0] as (metadata, data):
            if data is None:
                break
            heights.append(data["pulse_height"][0])
            counters.append(metadata["counter"][0])
    np.save(buffer_io.run_dir / "heights.npy", np.array(heights, "f4"))
    np.save(buffer_io.run_dir / "counters.npy", np.array(counters))
