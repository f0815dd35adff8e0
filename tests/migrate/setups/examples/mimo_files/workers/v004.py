"""The `mimo_files` example's processor on mimoCoRB2 0.0.4's API."""

from mimocorb2 import BufferIO, Processor


def calculate_maxima(buffer_io: BufferIO):
    processor = Processor(buffer_io)
    maxima = buffer_io.data_out_examples[0].copy()

    def ufunc(data):
        maxima["chA_max"] = data["chA"].max()
        maxima["chB_max"] = data["chB"].max()
        maxima["chA_at"] = data["chA"].argmax()
        return [maxima]

    processor(ufunc)
