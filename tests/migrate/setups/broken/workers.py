"""Workers for the broken setups: they are fine; the setups wire them wrongly."""

import numpy as np
from mimocorb2 import Exporter, Filter, Importer


def source(buffer_io):
    importer = Importer(buffer_io)

    def ufunc():
        for i in range(buffer_io.get("n", 10)):
            event = np.zeros_like(importer.data_example)
            event["x"] = i
            yield event
        yield None

    importer(ufunc)


def positive(buffer_io):
    keep = Filter(buffer_io)
    keep(lambda data: bool(data["x"][0] > 0))


def drain(buffer_io):
    for _ in Exporter(buffer_io):
        pass
