"""The simulated source of the `redpitaya` example in mimoCoRB2's Feb-2025 style."""

from mimocorb2.worker_templates import Importer
from rp_waves import waveform


def simulate_source(*mimo_args):
    importer = Importer(mimo_args)
    config = importer.config
    data = importer.writer.data_example.copy()

    def ufunc():
        for i in range(config["n_events"]):
            data["IN1"] = waveform(i, config["tau"])
            yield data.copy()
        yield None

    importer(ufunc)
