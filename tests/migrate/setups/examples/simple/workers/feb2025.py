"""The `simple` example's workers in mimoCoRB2's Feb-2025 style: `def f(*mimo_args)`."""

import numpy as np
from mimocorb2.worker_templates import Filter, Importer, Processor
from waves import trace

DATA = 0
METADATA = 1


def simulate_osc(*mimo_args):
    importer = Importer(mimo_args)
    n_events = importer.config["n_events"]

    def ufunc():
        for i in range(n_events):
            yield trace(i)  # a plain array into the {ch1} buffer, as mimoCoRB2 assigns it
        yield None

    importer(ufunc)


def filter_data(*mimo_args):
    filter = Filter(mimo_args)
    min_height = filter.config["min_height"]

    def ufunc(data):
        return bool(np.max(data["ch1"]) > min_height)

    filter(ufunc)


def calculate_pulse_heights(*mimo_args):
    processor = Processor(mimo_args)
    example = processor.sinks[0].buffer.data_example

    def ufunc(data):
        example["pulse_height"] = np.max(data["ch1"])
        return [example]

    processor(ufunc)


def print_pulse_heights(*mimo_args):
    sources, sinks, observes, config = mimo_args
    heights, counters = [], []
    while True:
        with sources[0] as source:
            if source[DATA] is None:
                break
            heights.append(source[DATA]["pulse_height"][0])
            counters.append(source[METADATA]["counter"][0])
    np.save(f"{config['run_directory']}/heights.npy", np.array(heights, "f4"))
    np.save(f"{config['run_directory']}/counters.npy", np.array(counters))
