"""The benchmark chain on a minimal hand-written shared-memory ring: the floor of what Python
can do. Each ring is one mapping of `/dev/shm` (metadata records, then the data slots) with a
single writer and a single reader, two counting semaphores (free and filled slots) and numpy
views made once per process; events are copied as bytes (numpy copies a structured dtype
field by field, 10x slower at 1 MB), and the processor copies each input slot into an output slot.

Run by `benchmarks/runtime_throughput.py`; prints one result line (see `common.emit`).
"""

from __future__ import annotations

import mmap
import multiprocessing
import os
import secrets
import time

import numpy as np
from common import (
    EVENT_DTYPE,
    META_DTYPE,
    ExporterRecord,
    Pacer,
    handed_over_at,
    parse_args,
    run_process_chain,
    zeroed_event,
)

END_OF_STREAM = -1  # the counter of the slot that ends the stream


class Ring:
    """Single-writer, single-reader ring of `slots` events of `length` elements; both ends go
    round the slots in order (the chain's two rings have the same number of slots, so the
    processor uses one index for both).

    The mapping is unlinked from /dev/shm as soon as it is mapped: forked children inherit it,
    and nothing is left behind whatever happens to the run.
    """

    def __init__(self, length: int, slots: int, context):
        meta_bytes = META_DTYPE.itemsize * slots
        size = meta_bytes + EVENT_DTYPE.itemsize * length * slots
        path = f"/dev/shm/bench_ring_{os.getpid()}_{secrets.token_hex(4)}"
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        try:
            os.ftruncate(fd, size)
            self.mapping = mmap.mmap(fd, size)
        finally:
            os.close(fd)
            os.unlink(path)
        meta = np.ndarray((slots,), META_DTYPE, buffer=self.mapping)
        self.counters = meta["counter"]
        self.timestamps = meta["timestamp"]
        event_bytes = EVENT_DTYPE.itemsize * length
        self.data = np.ndarray(
            (slots, event_bytes), np.uint8, buffer=self.mapping, offset=meta_bytes
        )
        self.slots = slots
        self.free = context.Semaphore(slots)
        self.filled = context.Semaphore(0)

    def slot_views(self) -> list[np.ndarray]:
        """One byte view per slot, made once per process: making views per event costs."""
        return list(self.data)

    def event_views(self) -> list[np.ndarray]:
        """One view per slot as an event of `length` elements, for reading fields."""
        return list(self.data.view(EVENT_DTYPE))


def importer(ring: Ring, events: int, length: int, rate: float, settle: float) -> None:
    event = zeroed_event(length)
    event_bytes = event.view(np.uint8)
    views, counters, timestamps = ring.slot_views(), ring.counters, ring.timestamps
    free, filled, slots = ring.free, ring.filled, ring.slots
    pacer = Pacer(rate, settle) if rate > 0 else None
    slot = 0
    for counter in range(events):
        if pacer is not None:
            pacer.hand_over(counter, event)
        timestamp = time.time()
        free.acquire()
        views[slot][...] = event_bytes
        counters[slot] = counter
        timestamps[slot] = timestamp
        filled.release()
        slot = slot + 1 if slot + 1 < slots else 0
    free.acquire()
    counters[slot] = END_OF_STREAM
    filled.release()


def processor(source: Ring, sink: Ring) -> None:
    in_views, in_counters, in_timestamps = source.slot_views(), source.counters, source.timestamps
    out_views, out_counters, out_timestamps = sink.slot_views(), sink.counters, sink.timestamps
    in_filled, in_free, out_filled, out_free = source.filled, source.free, sink.filled, sink.free
    slots = source.slots
    slot = 0
    while True:
        in_filled.acquire()
        counter = in_counters[slot]
        out_free.acquire()
        out_counters[slot] = counter
        if counter == END_OF_STREAM:
            out_filled.release()
            return
        out_views[slot][...] = in_views[slot]
        out_timestamps[slot] = in_timestamps[slot]
        out_filled.release()
        in_free.release()
        slot = slot + 1 if slot + 1 < slots else 0


def exporter(source: Ring, result_dir: str, events: int, paced: bool) -> None:
    record = ExporterRecord(result_dir, events if paced else 0)
    counters, slot_events = source.counters, source.event_views()
    filled, free, slots = source.filled, source.free, source.slots
    slot = 0
    while True:
        filled.acquire()
        if counters[slot] == END_OF_STREAM:
            break
        if paced:
            record.arrived_with(handed_over_at(slot_events[slot]))
        else:
            record.arrived()
        free.release()
        slot = slot + 1 if slot + 1 < slots else 0
    record.save()


def main() -> None:
    args = parse_args(__doc__)
    context = multiprocessing.get_context("fork")
    raw = Ring(args.length, args.slots, context)
    processed = Ring(args.length, args.slots, context)
    run_process_chain(args, context, importer, processor, exporter, raw, processed)


if __name__ == "__main__":
    main()
