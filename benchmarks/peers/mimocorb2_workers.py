"""The benchmark chain's workers written for mimoCoRB2 0.0.4, the way its users write them:
functions of a `BufferIO` built on its Importer / Processor / Exporter templates, configured
from the setup's `config` (loaded by `mimoWorker.from_setup` from this file).
"""

from __future__ import annotations

from common import ExporterRecord, Pacer, handed_over_at
from mimocorb2 import Exporter, Importer, Processor


def source(buffer_io) -> None:
    """Yields the buffer's zeroed example `n_events` times, paced at `rate` when it is > 0."""
    importer = Importer(buffer_io)
    events = buffer_io["n_events"]
    rate = buffer_io["rate"]
    settle = buffer_io["settle"]
    event = importer.data_example

    def ufunc():
        if rate > 0:
            pacer = Pacer(rate, settle)
            for index in range(events):
                yield pacer.hand_over(index, event)
        else:
            for _ in range(events):
                yield event
        yield None

    importer(ufunc)


def passthrough(buffer_io) -> None:
    """Returns each event unchanged to its one sink."""
    processor = Processor(buffer_io)

    def ufunc(data):
        return [data]

    processor(ufunc)


def sink(buffer_io) -> None:
    """Notes each event's arrival (and latency when paced) and leaves the record in `result_dir`."""
    exporter = Exporter(buffer_io)
    paced = buffer_io["rate"] > 0
    record = ExporterRecord(buffer_io["result_dir"], buffer_io["n_events"] if paced else 0)
    for data, _metadata in exporter:
        if paced:
            record.arrived_with(handed_over_at(data))
        else:
            record.arrived()
    record.save()
