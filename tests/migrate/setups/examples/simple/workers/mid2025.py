"""The `simple` example's workers in mimoCoRB2's mid-2025 style: `def f(buffer_io)`, the
templates' data_out_example and run_directory."""

import os

import numpy as np
from mimocorb2.worker_templates import Exporter, Filter, Importer, Processor
from waves import trace


def simulate_osc(buffer_io):
    importer = Importer(buffer_io)
    n_events = importer.config["n_events"]

    def ufunc():
        for i in range(n_events):
            event = np.zeros_like(importer.data_out_example)
            event["ch1"] = trace(i)
            yield event
        yield None

    importer(ufunc)


def filter_data(buffer_io):
    filter = Filter(buffer_io)
    min_height = buffer_io["min_height"]

    def ufunc(data):
        return [bool(np.max(data["ch1"]) > min_height)]

    filter(ufunc)


def calculate_pulse_heights(buffer_io):
    processor = Processor(buffer_io)
    example = processor.data_out_example

    def ufunc(data):
        example["pulse_height"] = np.max(data["ch1"])
        return [example]

    processor(ufunc)


def print_pulse_heights(buffer_io):
    exporter = Exporter(buffer_io)
    heights, counters = [], []
    for data, metadata in exporter:
        heights.append(data["pulse_height"][0])
        counters.append(metadata["counter"][0])
    np.save(os.path.join(exporter.run_directory, "heights.npy"), np.array(heights, "f4"))
    np.save(os.path.join(exporter.run_directory, "counters.npy"), np.array(counters))
