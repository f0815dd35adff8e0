"""The `muon` example's workers in mimoCoRB2's Feb-2025 style: `def f(*mimo_args)`."""

import numpy as np
from mimocorb2.worker_templates import Importer, Processor
from muon_waves import channels, peaks


def simulate_source(*mimo_args):
    importer = Importer(mimo_args)
    data = np.zeros_like(importer.writer.data_example)

    def ufunc():
        for i in range(importer.config["n_events"]):
            data["chA"], data["chB"] = channels(i)
            yield data
        yield None

    importer(ufunc)


def calculate_decay_time(*mimo_args):
    processor = Processor(mimo_args)
    config = processor.config
    params = processor.sinks[1].buffer.data_example.copy()

    def ufunc(data):
        for channel, direction in (("chA", 1), ("chB", 2)):
            found = peaks(data[channel], config["threshold"])
            if len(found) == 2:
                params["decay_time"] = (found[1] - found[0]) * config["sample_time_ns"]
                for n, at in (("1st", found[0]), ("2nd", found[1])):
                    params[f"{n}_chA_h"] = data["chA"][at]
                    params[f"{n}_chB_h"] = data["chB"][at]
                results = [data, None, None]
                results[direction] = params
                return results
        return None

    processor(ufunc)
