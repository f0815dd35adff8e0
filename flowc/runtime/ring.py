"""A buffer as a ring of slots in one shared-memory segment, and its writing and reading ends.

Segment layout (int64 words, then the metadata records, then the slot data):

    header        CLOSED, WRITERS_ALIVE, PUBLISHED, LAST_SLOT, FREE_TOP, NEXT_OVERWRITE
    free stack    slots      indices of free slots (a stack: the slot freed last is reused
                             first, while it is still in the cache)
    refcount      slots      consuming workers that still have to read each slot
    sequence      slots      per-slot seqlock for observers: odd while the slot is written
    per consumer  2 + slots  HEAD, TAIL and a FIFO of slot indices ready for that worker
    meta          slots * 24 bytes, META_DTYPE records
    data          slots * LENGTH elements, page aligned

A buffer lock (a semaphore of value 1) guards the free stack, refcounts and FIFOs. A `free`
semaphore counts free slots; each consuming worker has one `ready` semaphore counting events
ready in any of its inputs (plus wake-ups at end of stream), released by the writers.
A buffer nobody consumes has neither: its writers overwrite the oldest slot.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from flowc.runtime.shm import Segment
from flowc.types import META_DTYPE

CLOSED, WRITERS_ALIVE, PUBLISHED, LAST_SLOT, FREE_TOP, NEXT_OVERWRITE = range(6)
HEADER_WORDS = 8
META_BYTES = META_DTYPE.itemsize
META_WORDS = META_BYTES // 8
_PAGE = 4096
# what `OutputPort.claim` returns instead of a slot
DROPPED = -1  # the buffer was full and drops (counted as written and dropped)
STOPPED = -2  # the run is stopping and the writer was blocked: the event was not written
# an importer blocked on a full buffer looks at the stop flag this often (seconds)
STOP_POLL_S = 0.05


@dataclass(frozen=True)
class RingLayout:
    """Where everything of one buffer lives; computed by the supervisor, sent to every process."""

    name: str
    path: str
    dtype: np.dtype
    length: int
    slots: int
    overflow: str
    consumers: tuple[str, ...]  # consuming workers, in plan order
    consumer_processes: tuple[int, ...]  # processes of each consuming worker
    writer_processes: int
    lock_name: str
    free_name: str

    @property
    def data_bytes(self) -> int:
        return self.dtype.itemsize * self.length

    @property
    def free_base(self) -> int:
        return HEADER_WORDS

    @property
    def refcount_base(self) -> int:
        return HEADER_WORDS + self.slots

    @property
    def sequence_base(self) -> int:
        return HEADER_WORDS + 2 * self.slots

    def fifo_base(self, consumer: int) -> int:
        return HEADER_WORDS + 3 * self.slots + consumer * (2 + self.slots)

    @property
    def control_words(self) -> int:
        return self.fifo_base(len(self.consumers))

    @property
    def meta_offset(self) -> int:
        return self.control_words * 8

    @property
    def data_offset(self) -> int:
        end_of_meta = self.meta_offset + self.slots * META_BYTES
        return -(-end_of_meta // _PAGE) * _PAGE

    @property
    def size(self) -> int:
        return self.data_offset + self.slots * self.data_bytes

    @property
    def overwrites(self) -> bool:
        """Nobody consumes this buffer: writers never block, they overwrite the oldest slot."""
        return not self.consumers


class Ring:
    """One process's view of a buffer: word, metadata and data arrays over the segment."""

    def __init__(self, layout: RingLayout, segment: Segment, lock, free):
        self.layout = layout
        self.segment = segment
        self.lock = lock
        self.free = free
        buf = memoryview(segment.mapping)
        self.words = buf[: layout.control_words * 8].cast("q")
        meta_bytes = buf[layout.meta_offset : layout.meta_offset + layout.slots * META_BYTES]
        self.meta_words = meta_bytes.cast("q")
        self.meta_floats = meta_bytes.cast("d")
        self.meta_bytes = meta_bytes
        self.data_bytes = buf[
            layout.data_offset : layout.data_offset + layout.slots * layout.data_bytes
        ]
        self.meta = np.frombuffer(meta_bytes, dtype=META_DTYPE)
        self.data = np.frombuffer(self.data_bytes, dtype=layout.dtype).reshape(
            layout.slots, layout.length
        )

    def initialize(self) -> None:
        """Fill the control words of a new segment (the supervisor does this once)."""
        layout, words = self.layout, self.words
        words[CLOSED] = 0 if layout.writer_processes else 1
        words[WRITERS_ALIVE] = layout.writer_processes
        words[LAST_SLOT] = -1
        words[FREE_TOP] = layout.slots
        for i in range(layout.slots):
            words[layout.free_base + i] = layout.slots - 1 - i

    def slot_views(self, writeable: bool) -> tuple[list[np.ndarray], list[np.void]]:
        """Per-slot data views of shape (LENGTH,) and metadata records, made once per process."""
        data = self.data if writeable else self.data.view()
        meta = self.meta if writeable else self.meta.view()
        if not writeable:
            data.flags.writeable = False
            meta.flags.writeable = False
        return [data[i] for i in range(self.layout.slots)], [
            meta[i] for i in range(self.layout.slots)
        ]

    def release_views(self) -> None:
        """Drop this process's views so the mapping can be closed (views still used elsewhere
        keep it mapped until they are collected)."""
        self.meta = self.data = None
        for view in (
            self.words,
            self.meta_words,
            self.meta_floats,
            self.meta_bytes,
            self.data_bytes,
        ):
            try:
                view.release()
            except BufferError:
                pass


class OutputPort:
    """The writing end of a buffer in one writer process.

    `claim()` returns a slot index to fill (or DROPPED, or STOPPED), then `publish(slot)` hands it to the consumers; `abort(slot)` gives it back.
    """

    def __init__(
        self, ring: Ring, ready_semaphores, counters, written_at: int, dropped_at: int, stop_flag
    ):
        layout = ring.layout
        self.ring = ring
        self.name = layout.name
        self.words = ring.words
        self.lock = ring.lock
        self.free = ring.free
        self.slots = layout.slots
        self.drops = layout.overflow == "drop"
        self.overwrites = layout.overwrites
        self.fifo_bases = [layout.fifo_base(c) for c in range(len(layout.consumers))]
        self.consumer_count = len(layout.consumers)
        self.ready = list(ready_semaphores)  # one per consuming worker
        self.wake_counts = list(layout.consumer_processes)
        self.free_base = layout.free_base
        self.refcount_base = layout.refcount_base
        self.sequence_base = layout.sequence_base
        self.counters = counters
        self.written_at = written_at
        self.dropped_at = dropped_at
        self.stop_flag = stop_flag
        self.blocked_s = 0.0  # how long the last claim waited for a free slot
        self.blocked_total_s = 0.0
        self.data_bytes = layout.data_bytes

    def claim(self, stoppable: bool = False) -> int:
        words = self.words
        self.blocked_s = 0.0
        if self.overwrites:
            self.lock.acquire()
            slot = words[NEXT_OVERWRITE] % self.slots
            words[NEXT_OVERWRITE] += 1
            self.lock.release()
        else:
            if not self.free.acquire(False):
                if self.drops:
                    self.counters[self.written_at] += 1
                    self.counters[self.dropped_at] += 1
                    return DROPPED
                started = time.perf_counter()
                if stoppable:
                    while not self.free.acquire(True, STOP_POLL_S):
                        if self.stop_flag[0]:
                            self.blocked_s = time.perf_counter() - started
                            self.blocked_total_s += self.blocked_s
                            return STOPPED
                else:
                    self.free.acquire()
                self.blocked_s = time.perf_counter() - started
                self.blocked_total_s += self.blocked_s
            self.lock.acquire()
            top = words[FREE_TOP] - 1
            words[FREE_TOP] = top
            slot = words[self.free_base + top]
            self.lock.release()
        words[self.sequence_base + slot] += 1
        return slot

    def publish(self, slot: int) -> None:
        words = self.words
        words[self.sequence_base + slot] += 1
        slots = self.slots
        self.lock.acquire()
        if self.consumer_count:
            words[self.refcount_base + slot] = self.consumer_count
            for base in self.fifo_bases:
                tail = words[base + 1]
                words[base + 2 + tail % slots] = slot
                words[base + 1] = tail + 1
        words[PUBLISHED] += 1
        words[LAST_SLOT] = slot
        self.lock.release()
        for ready in self.ready:
            ready.release()
        self.counters[self.written_at] += 1

    def abort(self, slot: int) -> None:
        """Give back a claimed slot that will not be published."""
        words = self.words
        words[self.sequence_base + slot] += 1
        if self.overwrites:
            return
        self.lock.acquire()
        top = words[FREE_TOP]
        words[self.free_base + top] = slot
        words[FREE_TOP] = top + 1
        self.lock.release()
        self.free.release()

    def close(self) -> None:
        """This writer process is done; the last one closes the buffer and wakes its readers."""
        words = self.words
        self.lock.acquire()
        words[WRITERS_ALIVE] -= 1
        last = words[WRITERS_ALIVE] == 0
        if last:
            words[CLOSED] = 1
        self.lock.release()
        if last:
            for ready, count in zip(self.ready, self.wake_counts, strict=True):
                for _ in range(count):
                    ready.release()


class InputPort:
    """The reading end of one buffer for one consuming worker (shared by its processes)."""

    def __init__(self, ring: Ring, consumer: int, counters, consumed_at: int):
        layout = ring.layout
        self.ring = ring
        self.name = layout.name
        self.words = ring.words
        self.lock = ring.lock
        self.free = ring.free
        self.slots = layout.slots
        self.base = layout.fifo_base(consumer)
        self.free_base = layout.free_base
        self.refcount_base = layout.refcount_base
        self.counters = counters
        self.consumed_at = consumed_at

    def pop(self) -> int:
        """The next ready slot of this worker, or -1 when none is ready."""
        words = self.words
        base = self.base
        if words[base] == words[base + 1]:
            return -1
        self.lock.acquire()
        head = words[base]
        if head == words[base + 1]:
            self.lock.release()
            return -1
        slot = words[base + 2 + head % self.slots]
        words[base] = head + 1
        self.lock.release()
        self.counters[self.consumed_at] += 1
        return slot

    def done(self, slot: int) -> None:
        """This worker has read `slot`; the last consuming worker to do so frees it."""
        words = self.words
        at = self.refcount_base + slot
        self.lock.acquire()
        left = words[at] - 1
        words[at] = left
        if left == 0:
            top = words[FREE_TOP]
            words[self.free_base + top] = slot
            words[FREE_TOP] = top + 1
        self.lock.release()
        if left == 0:
            self.free.release()

    @property
    def closed(self) -> bool:
        return bool(self.words[CLOSED])

    def pending(self) -> int:
        return self.words[self.base + 1] - self.words[self.base]
