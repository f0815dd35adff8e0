"""Keep traces with two pulses on chA; write the time between them and their heights."""

import numpy as np
from mimocorb2 import Processor


def calculate_decay_time(buffer_io):
    processor = Processor(buffer_io)
    min_height = buffer_io["min_height"]
    first, last = buffer_io["window"]
    parameters = buffer_io.data_out_examples[1]

    def ufunc(data):
        trace = data["chA"]
        above = np.flatnonzero((trace[1:] >= min_height) & (trace[:-1] < min_height))
        if len(above) < 2 or not first <= above[1] - above[0] <= last:
            return None
        result = np.zeros_like(parameters)
        result["decay_time"] = above[1] - above[0]
        result["1st_chA_h"] = trace[above[0] : above[0] + 5].max()
        result["2nd_chA_h"] = trace[above[1] : above[1] + 5].max()
        return [data, result]

    processor(ufunc)
