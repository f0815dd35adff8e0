"""The `mimo_files` example's processor in mimoCoRB2's mid-2025 style."""

import numpy as np
from mimocorb2.worker_templates import Processor


def calculate_maxima(buffer_io):
    processor = Processor(buffer_io)
    names = processor.data_out_example.dtype.names

    def ufunc(data):
        found = (np.max(data["chA"]), np.max(data["chB"]), np.argmax(data["chA"]))
        return [np.array([found], dtype=processor.data_out_example.dtype)] if names else None

    processor(ufunc)
