"""The simulated source of the `redpitaya` example in mimoCoRB2's mid-2025 style."""

from mimocorb2.worker_templates import Importer
from rp_waves import waveform


def simulate_source(buffer_io):
    importer = Importer(buffer_io)
    example = importer.data_out_example

    def ufunc():
        for i in range(importer["n_events"]):
            event = example.copy()
            event["IN1"] = waveform(i, importer["tau"])
            yield event
        yield None

    importer(ufunc)
