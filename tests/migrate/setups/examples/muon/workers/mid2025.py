"""The `muon` example's workers in mimoCoRB2's mid-2025 style: `def f(buffer_io)`, the
templates' data_out_example(s) and the config through the template."""

import numpy as np
from mimocorb2.worker_templates import Importer, Processor
from muon_waves import channels, peaks


def simulate_source(buffer_io):
    importer = Importer(buffer_io)

    def ufunc():
        for i in range(importer.config["n_events"]):
            event = np.zeros_like(importer.data_out_example)
            event["chA"], event["chB"] = channels(i)
            yield event
        yield None

    importer(ufunc)


def calculate_decay_time(buffer_io):
    processor = Processor(buffer_io)
    threshold = processor["threshold"]
    sample_time = processor["sample_time_ns"]
    up, down = (example.copy() for example in processor.data_out_examples[1:])

    def ufunc(data):
        for channel, params, slot in (("chA", up, 1), ("chB", down, 2)):
            found = peaks(data[channel], threshold)
            if len(found) != 2:
                continue
            params["decay_time"] = (found[1] - found[0]) * sample_time
            params["1st_chA_h"], params["2nd_chA_h"] = data["chA"][found]
            params["1st_chB_h"], params["2nd_chB_h"] = data["chB"][found]
            return [data] + [params if slot == n else None for n in (1, 2)]
        return None

    processor(ufunc)
