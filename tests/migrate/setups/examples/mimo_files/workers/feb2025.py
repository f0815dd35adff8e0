"""The `mimo_files` example's processor in mimoCoRB2's Feb-2025 style."""

import numpy as np
from mimocorb2.worker_templates import Processor


def calculate_maxima(*mimo_args):
    processor = Processor(mimo_args)
    maxima = processor.writers[0].buffer.data_example.copy()

    def ufunc(data):
        maxima["chA_max"] = np.max(data["chA"])
        maxima["chB_max"] = np.max(data["chB"])
        maxima["chA_at"] = np.argmax(data["chA"])
        return [maxima]

    processor(ufunc)
