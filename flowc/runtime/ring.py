"""A buffer as a ring of slots in one shared-memory segment, and its writing and reading ends.

Segment layout (int64 words, then the metadata records, then the slot data):

    header        CLOSED, WRITERS_ALIVE, PUBLISHED, LAST_SLOT, FREE_HEAD, NEXT_OVERWRITE,
                  FREE_TAIL
    free queue    slots      indices of free slots, first in first out: FREE_HEAD counts the
                             slots claimed from it, FREE_TAIL those put back (a freed slot is
                             reused only after every slot freed before it, so an event stays in
                             its slot for about a lap of the ring, as in an ordered ring, and an
                             observer can still copy it)
    refcount      slots      consuming workers that still have to read each slot
    sequence      slots      per-slot seqlock for observers: odd while the slot is written
                             (PUBLISHED, LAST_SLOT and the seqlock are kept only for buffers
                             that are observed or that nobody consumes)
    per consumer  3 + slots  HEAD, TAIL, RELEASED and a FIFO of slot indices ready for it
    meta          slots * 24 bytes, META_DTYPE records
    data          slots * LENGTH elements, page aligned

Batches (`batch=N`) move runs of consecutive slots: a reader takes up to N ready events at
once (`take`), a writer claims and publishes several slots at once (`claim_run`,
`publish_run`). In an ordered ring a run never wraps round the ring's end, so its slots are
contiguous and handed over as one view; slots freed together go back into a shared ring's free
queue in ascending order, so they are claimed again as a run, which keeps most runs contiguous
there too.

Semaphores are doorbells: a process that finds nothing to do sleeps on its semaphore, and
whoever changes what it waits for rings it after writing the shared words. A process takes
the rings left in its doorbell before it looks at the words a last time and sleeps (an ordered
writer also whenever it looks at RELEASED, a process sharing its doorbell with others one ring
per event), so no wake-up is lost and no syscall happens while everyone is busy. Each consuming worker has one `ready`
doorbell for all its inputs and processes. How slots go round depends on who uses the buffer:

- ordered (one writer process, every consuming worker one process, the common case): no lock.
  Slots are used in ring order. TAIL counts events written, HEAD and RELEASED the events each
  consumer has taken and is through with, each word written by one process only. The writer
  reuses a slot when every consumer has released it, and sleeps on the buffer's `free`
  doorbell when none is.
- shared (several writer processes, or a consumer with several processes): a buffer lock (a
  semaphore of value 1, taken spinning first: the sections are short) guards the free queue,
  the refcounts and the FIFOs; the `free` semaphore counts free slots exactly.
- nobody consumes it: no `free` semaphore; its writers overwrite the oldest slot.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass

import numpy as np

from flowc.errors import FlowcError
from flowc.runtime.shm import Segment
from flowc.types import META_COUNTER, META_DEADTIME, META_DTYPE, META_TIMESTAMP, META_WORDS

CLOSED, WRITERS_ALIVE, PUBLISHED, LAST_SLOT, FREE_HEAD, NEXT_OVERWRITE, FREE_TAIL = range(7)
HEADER_WORDS = 8
# per consuming worker: events it has taken, events written for it, slots it is through with
HEAD, TAIL, RELEASED = range(3)
CONSUMER_WORDS = 3
META_BYTES = META_DTYPE.itemsize
_PAGE = 4096
# Ordered rings hand events over through plain stores to shared words (data, then TAIL), which
# needs a CPU that makes stores visible in program order (x86's TSO). Elsewhere every buffer is
# shared: its lock's acquire and release order the memory.
STORES_IN_ORDER = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686", "x86")
# what `OutputPort.claim` returns instead of a slot
DROPPED = -1  # the buffer was full and drops (counted as written and dropped)
STOPPED = -2  # the run is stopping and the writer was blocked: the event was not written
# an importer blocked on a full buffer looks at the stop flag this often (seconds)
STOP_POLL_S = 0.05
# a writer whose events take longer than this announces each one at once (seconds)
SLOW_EVENT_S = 20e-6
# events up to this size are stored through `ndarray.tobytes` (bytes)
_SMALL_EVENT_BYTES = 4096
# an importer's run of up to this many events gets its metadata word by word, longer ones
# through numpy (a few calls whatever the length)
_STAMP_LOOP_MOST = 8
# a contended buffer lock is tried this often before the process sleeps on it
_LOCK_SPINS = 200
# the supervisor waits this long for a buffer lock a dead process may have taken with it (s)
DEAD_LOCK_WAIT_S = 0.5


def _take(lock) -> None:
    """Take a contended buffer lock: spin first (the holder is about to release it), then sleep."""
    for _ in range(_LOCK_SPINS):
        if lock.acquire(False):
            return
    lock.acquire()


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
    free_names: tuple[str, ...]  # the `free` semaphore, when somebody consumes the buffer
    observed: bool = True  # observers watch it: writers keep the seqlock, PUBLISHED, LAST_SLOT
    ordered: bool = False  # slots go round in order without a lock (see `can_be_ordered`)

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
        return HEADER_WORDS + 3 * self.slots + consumer * (CONSUMER_WORDS + self.slots)

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
    def can_be_ordered(self) -> bool:
        """One writer process and one process per consumer: slots can go round in order, with
        no lock, where the CPU keeps stores in order (the supervisor decides `ordered`)."""
        return (
            STORES_IN_ORDER
            and bool(self.consumers)
            and self.writer_processes == 1
            and all(n == 1 for n in self.consumer_processes)
        )

    @property
    def overwrites(self) -> bool:
        """Nobody consumes this buffer: writers never block, they overwrite the oldest slot."""
        return not self.consumers


class Ring:
    """One process's view of a buffer: word, metadata and data arrays over the segment."""

    def __init__(self, layout: RingLayout, segment: Segment, lock, frees):
        self.layout = layout
        self.segment = segment
        self.lock = lock
        self.frees = list(frees)
        buf = memoryview(segment.mapping)
        self.words = buf[: layout.control_words * 8].cast("q")
        meta_bytes = buf[layout.meta_offset : layout.meta_offset + layout.slots * META_BYTES]
        self.meta_words = meta_bytes.cast("q")
        self.meta_floats = meta_bytes.cast("d")
        self.meta_bytes = meta_bytes
        self.data_bytes = buf[
            layout.data_offset : layout.data_offset + layout.slots * layout.data_bytes
        ]
        size = layout.data_bytes
        # per-slot byte views, made once: copying whole events needs no slicing per event
        self.data_slots = [self.data_bytes[i * size : i * size + size] for i in range(layout.slots)]
        self.meta_slots = [
            meta_bytes[i * META_BYTES : i * META_BYTES + META_BYTES] for i in range(layout.slots)
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
        words[FREE_HEAD] = 0
        words[FREE_TAIL] = layout.slots
        for i in range(layout.slots):
            words[layout.free_base + i] = i

    def published(self) -> int:
        """Events written into the ring so far (dropped ones never were)."""
        return self.words[PUBLISHED]

    def left(self, consumer: int) -> int:
        """Events written for the `consumer`-th consuming worker that it has not taken yet."""
        base = self.layout.fifo_base(consumer)
        return self.words[base + TAIL] - self.words[base + HEAD]

    def occupied(self) -> int:
        """Slots in use: written and not yet released by every consumer (a ring nobody
        consumes: the slots written at least once)."""
        layout, words = self.layout, self.words
        if layout.overwrites:
            return min(words[PUBLISHED], layout.slots)
        if layout.ordered:
            bases = [layout.fifo_base(c) for c in range(len(layout.consumers))]
            used = words[bases[0] + TAIL] - min(words[b + RELEASED] for b in bases)
        else:
            used = layout.slots - (words[FREE_TAIL] - words[FREE_HEAD])
        return max(0, min(layout.slots, used))

    def close_writer(self, lock_wait: float | None = None) -> bool:
        """Count out one writer process: True when it was the last one, so the buffer is closed
        and its readers finish once they have taken what it holds. The supervisor counts out a
        process that ended without closing (it failed or was killed) with a `lock_wait`: a
        process killed inside a locked section took the lock with it, and after that long it
        goes on without (nobody else will take the lock either)."""
        words, lock = self.words, self.lock
        if lock_wait is None:
            _take(lock)
            locked = True
        else:
            locked = lock.acquire(True, lock_wait)
        words[WRITERS_ALIVE] -= 1
        last = words[WRITERS_ALIVE] <= 0
        if last:
            words[CLOSED] = 1
        if locked:
            lock.release()
        return last

    def discard_for(self, consumer: int) -> int:
        """Take and release every event written for the `consumer`-th consuming worker, all of
        whose processes have ended (a failed worker), so that its writers never wait for it:
        the number of events discarded. Slots its processes had taken and not released stay
        taken."""
        layout, words = self.layout, self.words
        base = layout.fifo_base(consumer)
        if layout.ordered:
            tail = words[base + TAIL]
            discarded = tail - words[base + HEAD]
            words[base + HEAD] = tail
            words[base + RELEASED] = tail
            freed = discarded
        else:
            locked = self.lock.acquire(True, DEAD_LOCK_WAIT_S)  # see `close_writer`
            head, tail = words[base + HEAD], words[base + TAIL]
            discarded = tail - head
            fifo, slots = base + CONSUMER_WORDS, layout.slots
            taken = [words[fifo + k % slots] for k in range(head, tail)]
            unread = _release(words, layout.refcount_base, taken)
            _append_free(words, layout.free_base, slots, unread)
            freed = len(unread)
            words[base + HEAD] = tail
            if locked:
                self.lock.release()
        if freed and self.frees:
            # the ordered writer's doorbell, or the count of free slots of a shared ring
            for _ in range(1 if layout.ordered else freed):
                self.frees[0].release()
        return discarded

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
            *self.data_slots,
            *self.meta_slots,
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


class ProcessClock:
    """What the ports of one process share: the time blocked writing, and the announcements
    the process holds back (freed slots for writers, new events for readers), which it must
    make before it blocks or ends (`before_blocking`)."""

    def __init__(self):
        self.blocked_out_s = 0.0
        self.slow = False  # the last event took this process SLOW_EVENT_S or more
        self.inputs: list = []
        self.outputs: list = []
        self.before_block_hooks: list = []  # what else must be written before blocking

    def before_blocking(self) -> None:
        for hook in self.before_block_hooks:
            hook()
        for port in self.inputs:
            if port.unannounced:
                port.announce()
        for port in self.outputs:
            if port.unannounced:
                port.announce()


class ResultError(FlowcError, ValueError):
    """What the user's code gave cannot be stored or routed (wrong shape, type, count)."""


def _describe(item) -> str:
    if isinstance(item, np.ndarray):
        return f"an array of shape {item.shape} and dtype {item.dtype}"
    return f"a {type(item).__name__}"


def _assign(target: np.ndarray, item) -> None:
    target[...] = item


def _lost_kind(given: np.dtype, wanted: np.dtype) -> str | None:
    """Why storing `given` elements into `wanted` ones would lose their kind (None: it would
    not): a float into an integer, a complex into a float, a string into a number."""
    given, wanted = given.base, wanted.base
    if given.names is not None or wanted.names is not None:
        return None  # nested records: numpy decides
    if np.can_cast(given, wanted, casting="same_kind"):
        return None
    if given.kind in "SU" and wanted.kind in "SU":
        return None  # text into bytes or bytes into text: numpy encodes ASCII, else it raises
    return f"{given} cannot be stored as {wanted} without losing its kind"


def store_for(given: np.dtype, slot: np.dtype, output: str):
    """How a result of dtype `given` is stored into slot views of dtype `slot` (SPEC section
    2): records by field name, whatever their order; a missing or extra field, or a cast that
    loses the kind, is a ResultError naming `output` and the field. Decided once per dtype."""
    if given.names is None or slot.names is None:
        if given.names is None and slot.names is None:
            problem = _lost_kind(given, slot)
            if problem is not None:
                raise ResultError(f"cannot store a result in {output}: {problem}")
        return _assign
    missing = [name for name in slot.names if name not in given.fields]
    if missing:
        raise ResultError(
            f"cannot store a result in {output}: it has no field `{missing[0]}` "
            f"(the result's fields are {', '.join(given.names)})"
        )
    extra = [name for name in given.names if name not in slot.fields]
    if extra:
        raise ResultError(
            f"cannot store a result in {output}: it has no field `{extra[0]}` for the "
            f"result's field of that name (its fields are {', '.join(slot.names)})"
        )
    for name in slot.names:
        problem = _lost_kind(given.fields[name][0], slot.fields[name][0])
        if problem is not None:
            raise ResultError(f"cannot store a result in {output}: field `{name}`: {problem}")
    if given.names == slot.names:
        return _assign  # numpy assigns by position, which is by name here
    names = slot.names

    def by_name(target: np.ndarray, item) -> None:
        for name in names:
            target[name] = item[name]

    return by_name


def output_port(
    ring: Ring, ready_semaphores, counters, written_at, dropped_at, stop_flag, clock, batched
):
    """The writing end of `ring` for this process, of the kind the buffer's use calls for."""
    layout = ring.layout
    kind = OrderedOutput if layout.ordered else SharedOutput
    return kind(ring, ready_semaphores, counters, written_at, dropped_at, stop_flag, clock, batched)


def input_port(ring: Ring, consumer: int, counters, consumed_at: int, clock: ProcessClock):
    """The reading end of `ring` for one consuming worker, in this process."""
    kind = OrderedInput if ring.layout.ordered else SharedInput
    return kind(ring, consumer, counters, consumed_at, clock)


class OutputPort:
    """The writing end of a buffer in one writer process.

    `claim()` returns a slot index to fill (or DROPPED, or STOPPED), then `publish(slot)` hands
    it to the consumers; `abort(slot)` gives it back; `close()` when the process is done.

    A writer that has inputs itself (`batched`) announces new events to the consumers in
    batches of a quarter of the ring while it is fast (its last event took less than
    SLOW_EVENT_S): a consumer waiting for events then wakes once per batch, and an event waits
    at most a batch of fast events. A slow writer announces every event at once (a wake-up
    costs little next to its own work), and every writer announces what it holds back before
    it blocks on its own inputs or outputs. Importers announce every event at once (their next
    event may take any time to come).
    """

    def __init__(
        self,
        ring: Ring,
        ready_semaphores,
        counters,
        written_at: int,
        dropped_at: int,
        stop_flag,
        clock: ProcessClock,
        batched: bool,
    ):
        layout = ring.layout
        self.ring = ring
        self.name = layout.name
        self.words = ring.words
        self.lock = ring.lock
        self.frees = ring.frees
        self.slots = layout.slots
        self.drops = layout.overflow == "drop"
        self.overwrites = layout.overwrites
        self.ordered = layout.ordered
        self.observed = layout.observed
        self.fifo_bases = [layout.fifo_base(c) for c in range(len(layout.consumers))]
        self.consumer_count = len(layout.consumers)
        self.ready = list(ready_semaphores)  # one per consuming worker
        self.wake_counts = list(layout.consumer_processes)
        # one consuming worker of one process (the common case) is rung once, whatever the count
        self.one_ready = self.ready[0] if self.wake_counts == [1] else None
        self.free_base = layout.free_base
        self.refcount_base = layout.refcount_base
        self.sequence_base = layout.sequence_base
        self.counters = counters
        self.written_at = written_at
        self.dropped_at = dropped_at
        self.stop_flag = stop_flag
        self.clock = clock
        self.blocked_s = 0.0  # how long the last claim waited for a free slot
        self.data_bytes = layout.data_bytes
        self.data_slots = ring.data_slots
        self.meta_slots = ring.meta_slots
        self.batch = max(1, layout.slots // 4) if batched else 1
        self.unannounced = 0
        clock.outputs.append(self)
        self.dtype = layout.dtype
        self.shape = (layout.length,)
        # a small event is copied fastest through a bytes object, a large one without it
        self.small = layout.data_bytes <= _SMALL_EVENT_BYTES
        self.views = ring.slot_views(writeable=True)[0]
        self.stores: dict[np.dtype, object] = {}  # result dtype -> how it is stored (`store`)
        self.run_start = 0  # the first slot of the last claimed run (-1: not contiguous)
        self.run_slots: range | list[int] = range(0)  # the slots of the last claimed run
        # the metadata's columns, for an importer's runs (`stamp_run`)
        meta = ring.meta
        self.counters_column = meta["counter"]
        self.stamps_column = meta["timestamp"]
        self.deadtimes_column = meta["deadtime"]
        self.steps = np.arange(layout.slots, dtype=np.int64)

    def store(self, target: np.ndarray, item) -> None:
        """Assign a result to slot views (one slot's, or a run's) by field name (SPEC section 2):
        how a dtype other than the buffer's is stored is decided once and kept."""
        dtype = item.dtype if isinstance(item, (np.ndarray, np.void)) else None
        if dtype is None or dtype == self.dtype:
            target[...] = item
            return
        store = self.stores.get(dtype)
        if store is None:
            store = self.stores[dtype] = store_for(dtype, self.dtype, f"output `{self.name}`")
        store(target, item)

    def drop_rows(self, count: int) -> None:
        """Count `count` events of a batch that found no room in a buffer that drops."""
        self.counters[self.written_at] += count
        self.counters[self.dropped_at] += count

    def fill(self, slot: int, item) -> None:
        """Store an event (anything numpy can assign to the slot) in a claimed slot. An array of
        the slot's own type and shape is copied as bytes: numpy's assignment of structured
        arrays is many times slower than a memory copy."""
        if type(item) is np.ndarray and item.dtype == self.dtype and item.shape == self.shape:
            if self.small:
                self.data_slots[slot][:] = item.tobytes()
                return
            try:
                self.data_slots[slot][:] = memoryview(item).cast("B")
                return
            except TypeError:  # not contiguous
                pass
        try:
            self.store(self.views[slot], item)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, ResultError):
                raise
            raise ResultError(
                f"cannot store {_describe(item)} in a slot of buffer `{self.name}` "
                f"({self.shape[0]} element(s) of {self.dtype}): {exc}"
            ) from None

    def _segments(self):
        """(first slot, index in the run, count) of each contiguous part of the claimed run."""
        start = self.run_start
        if start >= 0:
            return ((start, 0, len(self.run_slots)),)
        return tuple(_contiguous(self.run_slots))

    def copy_run(self, ring: Ring, first: int, rows_too: bool) -> None:
        """Copy the metadata records (and, with `rows_too`, the events) of the slots of `ring`
        from `first` on, as bytes, into the run claimed last (a pass-through, a copy)."""
        if len(self.run_slots) == 1:  # one event: the slots' own byte views, made once
            slot = self.run_slots[0]
            self.meta_slots[slot][:] = ring.meta_slots[first]
            if rows_too:
                self.data_slots[slot][:] = ring.data_slots[first]
            return
        size = self.data_bytes
        data_bytes, meta_bytes = self.ring.data_bytes, self.ring.meta_bytes
        for slot, at, n in self._segments():
            at += first
            meta_bytes[slot * META_BYTES : (slot + n) * META_BYTES] = ring.meta_bytes[
                at * META_BYTES : (at + n) * META_BYTES
            ]
            if rows_too:
                data_bytes[slot * size : (slot + n) * size] = ring.data_bytes[
                    at * size : (at + n) * size
                ]

    def fill_run(self, rows: np.ndarray, meta: np.ndarray | None) -> None:
        """Store rows (shape (c, LENGTH)) and their metadata records (shape (c,); None: they
        are written apart) in the run of c slots claimed last."""
        slots = self.run_slots
        if len(slots) == 1 and meta is None and rows.dtype == self.dtype:
            self.fill(slots[0], rows[0])  # one event: the per-event store
            return
        ring = self.ring
        size = self.data_bytes
        data_bytes, meta_bytes = ring.data_bytes, ring.meta_bytes
        same = rows.dtype == self.dtype and rows.flags.c_contiguous
        for slot, at, n in self._segments():
            part = rows[at : at + n]
            try:
                if same:
                    data_bytes[slot * size : (slot + n) * size] = _bytes_of(part)
                else:
                    self.store(ring.data[slot : slot + n], part)
            except (TypeError, ValueError) as exc:
                if isinstance(exc, ResultError):
                    raise
                raise ResultError(
                    f"cannot store {_describe(rows)} in buffer `{self.name}` "
                    f"({self.shape[0]} element(s) of {self.dtype} per event): {exc}"
                ) from None
            if meta is not None:
                meta_bytes[slot * META_BYTES : (slot + n) * META_BYTES] = _bytes_of(
                    meta[at : at + n]
                )

    def stamp_run(self, counter: int, timestamp: float, deadtime: float) -> None:
        """An importer's metadata for the run claimed last: counters from `counter` on, one
        timestamp, `deadtime` on the first event (the others waited for nothing)."""
        if len(self.run_slots) > _STAMP_LOOP_MOST:
            for slot, at, n in self._segments():
                np.add(self.steps[:n], counter + at, out=self.counters_column[slot : slot + n])
                self.stamps_column[slot : slot + n] = timestamp
                self.deadtimes_column[slot : slot + n] = 0.0
            self.deadtimes_column[self.run_slots[0]] = deadtime
            return
        words, floats = self.ring.meta_words, self.ring.meta_floats
        for slot in self.run_slots:
            at = slot * META_WORDS
            words[at + META_COUNTER] = counter
            floats[at + META_TIMESTAMP] = timestamp
            floats[at + META_DEADTIME] = deadtime
            counter += 1
            deadtime = 0.0

    def _claim_oldest(self) -> int:
        """A buffer nobody consumes: take the slot written longest ago."""
        words = self.words
        lock = self.lock
        if not lock.acquire(False):
            _take(lock)
        slot = words[NEXT_OVERWRITE] % self.slots
        words[NEXT_OVERWRITE] += 1
        lock.release()
        words[self.sequence_base + slot] += 1
        self.blocked_s = 0.0
        return slot

    def _wait(self, free, stoppable: bool) -> bool:
        """Block on a `free` semaphore (False: the run is stopping); the time counts as blocked."""
        self.clock.before_blocking()
        started = time.perf_counter()
        got = True
        while not free.acquire(True, STOP_POLL_S):
            if stoppable and self.stop_flag[0]:
                got = False
                break
            if self.ordered:
                break  # a doorbell: look at the words again now and then, rung or not
        blocked = time.perf_counter() - started
        self.blocked_s += blocked
        self.clock.blocked_out_s += blocked
        return got

    def _count_drop(self) -> int:
        self.counters[self.written_at] += 1
        self.counters[self.dropped_at] += 1
        return DROPPED

    def announce(self) -> None:
        """Ring the consumers about the events published since the last announcement (as many
        times as there are events, up to the consumer's number of processes)."""
        count = self.unannounced
        self.unannounced = 0
        if self.one_ready is not None:
            self.one_ready.release()
            return
        for ready, processes in zip(self.ready, self.wake_counts, strict=True):
            for _ in range(min(count, processes)):
                ready.release()

    def close(self) -> None:
        """This writer process is done; the last one closes the buffer and wakes its readers."""
        if self.unannounced:
            self.announce()
        if self.ring.close_writer():
            for ready, count in zip(self.ready, self.wake_counts, strict=True):
                for _ in range(count):
                    ready.release()


class OrderedOutput(OutputPort):
    """The only writer of an ordered buffer: slot after slot, reused once every consumer has
    released it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.written = 0
        self.doorbell = self.frees[0] if self.frees else None
        self.released_at = [base + RELEASED for base in self.fifo_bases]
        self.tails = [base + TAIL for base in self.fifo_bases]
        # one consumer (the common case): its TAIL word, written without a loop
        self.only_tail = self.tails[0] if len(self.tails) == 1 else None
        self.limit = self.slots  # events that may be written before looking at RELEASED again

    def _limit(self) -> int:
        words = self.words
        return min(words[at] for at in self.released_at) + self.slots

    def claim(self, stoppable: bool = False) -> int:
        self.blocked_s = 0.0
        written = self.written
        if written >= self.limit:
            # rings of the doorbell pile up while the writer is not waiting: drain them before
            # the words are looked at (a ring after this wakes the wait below)
            doorbell = self.doorbell
            while doorbell.acquire(False):
                pass
            self.limit = self._limit()
            while written >= self.limit:
                if self.drops:
                    return self._count_drop()
                if not self._wait(self.doorbell, stoppable):
                    return STOPPED
                self.limit = self._limit()
        slot = written % self.slots
        if self.observed:
            self.words[self.sequence_base + slot] += 1
        return slot

    def publish(self, slot: int) -> None:
        words = self.words
        written = self.written + 1
        self.written = written
        if self.observed:
            words[self.sequence_base + slot] += 1
            words[LAST_SLOT] = slot
            words[PUBLISHED] = written
        if self.only_tail is not None:
            words[self.only_tail] = written
        else:
            for at in self.tails:
                words[at] = written
        self.counters[self.written_at] += 1
        self.unannounced += 1
        if self.unannounced >= self.batch or self.clock.slow:
            self.announce()

    def abort(self, slot: int) -> None:
        """Give back a claimed slot that will not be published (it is the next one again)."""
        if self.observed:
            self.words[self.sequence_base + slot] += 1

    def claim_run(self, most: int, stoppable: bool = False) -> int:
        """Claim up to `most` consecutive slots (at least one, never past the ring's end; see
        `run_start`, `run_slots`): their count, or DROPPED (nothing counted) or STOPPED."""
        self.blocked_s = 0.0
        written = self.written
        if self.limit - written < most:
            doorbell = self.doorbell
            while doorbell.acquire(False):
                pass
            self.limit = self._limit()
            while written >= self.limit:
                if self.drops:
                    return DROPPED
                if not self._wait(self.doorbell, stoppable):
                    return STOPPED
                self.limit = self._limit()
        start = written % self.slots
        count = min(most, self.limit - written, self.slots - start)
        self.run_start = start
        self.run_slots = range(start, start + count)
        if self.observed:
            words, base = self.words, self.sequence_base + start
            for at in range(base, base + count):
                words[at] += 1
        return count

    def publish_run(self, count: int) -> None:
        """Hand the claimed run's `count` slots to the consumers."""
        words = self.words
        written = self.written + count
        self.written = written
        if self.observed:
            base = self.sequence_base + self.run_start
            for at in range(base, base + count):
                words[at] += 1
            words[LAST_SLOT] = self.run_start + count - 1
            words[PUBLISHED] = written
        for at in self.tails:
            words[at] = written
        self.counters[self.written_at] += count
        self.unannounced += count
        if self.unannounced >= self.batch or self.clock.slow:
            self.announce()

    def abort_run(self, count: int) -> None:
        """Give back a claimed run that will not be published."""
        if self.observed:
            words, base = self.words, self.sequence_base + self.run_start
            for at in range(base, base + count):
                words[at] += 1


class SharedOutput(OutputPort):
    """A writer of a buffer with several writer processes or multi-process consumers, or of a
    buffer nobody consumes."""

    def claim(self, stoppable: bool = False) -> int:
        if self.overwrites:
            return self._claim_oldest()
        free = self.frees[0]
        self.blocked_s = 0.0
        if not free.acquire(False):
            if self.drops:
                return self._count_drop()
            if not self._wait(free, stoppable):
                return STOPPED
        words = self.words
        lock = self.lock
        if not lock.acquire(False):
            _take(lock)
        head = words[FREE_HEAD]
        words[FREE_HEAD] = head + 1
        slot = words[self.free_base + head % self.slots]
        lock.release()
        words[self.sequence_base + slot] += 1
        return slot

    def publish(self, slot: int) -> None:
        words = self.words
        words[self.sequence_base + slot] += 1
        lock = self.lock
        if not lock.acquire(False):
            _take(lock)
        if self.consumer_count:
            slots = self.slots
            words[self.refcount_base + slot] = self.consumer_count
            for base in self.fifo_bases:
                tail = words[base + 1]
                words[base + CONSUMER_WORDS + tail % slots] = slot
                words[base + 1] = tail + 1
        words[PUBLISHED] += 1
        words[LAST_SLOT] = slot
        lock.release()
        self.counters[self.written_at] += 1
        self.unannounced += 1
        if self.unannounced >= self.batch or self.clock.slow:
            self.announce()

    def abort(self, slot: int) -> None:
        """Give back a claimed slot that will not be published."""
        self.run_slots = [slot]
        self.abort_run(1)

    def claim_run(self, most: int, stoppable: bool = False) -> int:
        """Claim up to `most` slots (at least one; those free now): their count (see
        `run_start`, `run_slots`), or DROPPED (nothing counted) or STOPPED."""
        words = self.words
        lock = self.lock
        self.blocked_s = 0.0
        if self.overwrites:
            _take(lock)
            start = words[NEXT_OVERWRITE] % self.slots
            count = min(most, self.slots - start)
            words[NEXT_OVERWRITE] += count
            lock.release()
            slots = list(range(start, start + count))
        else:
            free = self.frees[0]
            if not free.acquire(False):
                if self.drops:
                    return DROPPED
                if not self._wait(free, stoppable):
                    return STOPPED
            count = 1
            while count < most and free.acquire(False):
                count += 1
            _take(lock)
            head = words[FREE_HEAD]
            free_base, ring_slots = self.free_base, self.slots
            slots = [words[free_base + (head + i) % ring_slots] for i in range(count)]
            words[FREE_HEAD] = head + count
            lock.release()
        sequence_base = self.sequence_base
        for slot in slots:
            words[sequence_base + slot] += 1
        self.run_slots = slots
        first = slots[0]
        self.run_start = first if slots[-1] - first == count - 1 and _ascending(slots) else -1
        return count

    def publish_run(self, count: int) -> None:
        """Hand the claimed run's `count` slots to the consumers."""
        words = self.words
        slots_claimed = self.run_slots
        sequence_base = self.sequence_base
        for slot in slots_claimed:
            words[sequence_base + slot] += 1
        lock = self.lock
        _take(lock)
        if self.consumer_count:
            slots = self.slots
            refcount_base, consumers = self.refcount_base, self.consumer_count
            for slot in slots_claimed:
                words[refcount_base + slot] = consumers
            for base in self.fifo_bases:
                tail = words[base + 1]
                fifo = base + CONSUMER_WORDS
                for k, slot in enumerate(slots_claimed):
                    words[fifo + (tail + k) % slots] = slot
                words[base + 1] = tail + count
        words[PUBLISHED] += count
        words[LAST_SLOT] = slots_claimed[-1]
        lock.release()
        self.counters[self.written_at] += count
        self.unannounced += count
        if self.unannounced >= self.batch or self.clock.slow:
            self.announce()

    def abort_run(self, count: int) -> None:
        """Give back a claimed run that will not be published."""
        words = self.words
        slots = self.run_slots
        for slot in slots:
            words[self.sequence_base + slot] += 1
        if self.overwrites:
            return
        _push_free(words, self.lock, self.free_base, self.slots, slots)
        free = self.frees[0]
        for _ in slots:
            free.release()


class InputPort:
    """The reading end of one buffer for one consuming worker, in one of its processes.

    `pop()` returns the next ready slot (or -1), `done(slot)` when the worker is through with
    it. Freed slots are announced to the writers (the `free` semaphores) in batches of a quarter
    of the ring, so a writer waiting on a full buffer wakes once per batch rather than once per
    event; a process announces what it freed before it blocks or ends (`ProcessClock`). A
    buffer that drops when full announces every slot at once: a writer must see it free.
    """

    def __init__(self, ring: Ring, consumer: int, counters, consumed_at: int, clock: ProcessClock):
        layout = ring.layout
        self.ring = ring
        self.name = layout.name
        self.words = ring.words
        self.lock = ring.lock
        self.slots = layout.slots
        self.consumer = consumer
        self.base = layout.fifo_base(consumer)
        self.free_base = layout.free_base
        self.refcount_base = layout.refcount_base
        self.counters = counters
        self.consumed_at = consumed_at
        self.data_slots = ring.data_slots
        self.meta_slots = ring.meta_slots
        self.batch = 1 if layout.overflow == "drop" else max(1, layout.slots // 4)
        self.unannounced = 0
        clock.inputs.append(self)


class OrderedInput(InputPort):
    """The only process reading an ordered buffer for its worker: slots in ring order."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # a writer of a buffer that drops never waits for a slot: nobody to ring
        self.doorbell = self.ring.frees[0] if self.ring.layout.overflow == "block" else None
        self.read = 0
        self.released = 0
        self.head_at = self.base + HEAD
        self.tail_at = self.base + TAIL
        self.released_at = self.base + RELEASED

    def pop(self) -> int:
        read = self.read
        words = self.words
        if read == words[self.tail_at]:
            return -1
        read += 1
        self.read = read
        words[self.head_at] = read
        self.counters[self.consumed_at] += 1
        return (read - 1) % self.slots

    def done(self, slot: int) -> None:
        released = self.released + 1
        self.released = released
        self.words[self.released_at] = released
        self.unannounced += 1
        if self.unannounced >= self.batch:
            self.announce()

    def take(self, most: int) -> int:
        """Take up to `most` ready events (never past the ring's end, so their slots are
        contiguous from `taken_start`): how many (0: none is ready)."""
        read = self.read
        words = self.words
        ready = words[self.tail_at] - read
        if ready <= 0:
            return 0
        start = read % self.slots
        count = min(most, ready, self.slots - start)
        read += count
        self.read = read
        words[self.head_at] = read
        self.counters[self.consumed_at] += count
        self.taken_start = start
        self.taken_count = count
        return count

    def done_taken(self) -> None:
        """The worker is through with the events of the last `take`."""
        count = self.taken_count
        released = self.released + count
        self.released = released
        self.words[self.released_at] = released
        self.unannounced += count
        if self.unannounced >= self.batch:
            self.announce()

    def announce(self) -> None:
        """Ring the writer: slots were released."""
        if self.doorbell is not None:
            self.doorbell.release()
        self.unannounced = 0


class SharedInput(InputPort):
    """A process of a consuming worker reading a shared buffer: FIFO and refcounts, locked."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.free = self.ring.frees[0]

    def pop(self) -> int:
        words = self.words
        base = self.base
        if words[base] == words[base + 1]:
            return -1
        lock = self.lock
        if not lock.acquire(False):
            _take(lock)
        head = words[base]
        if head == words[base + 1]:
            lock.release()
            return -1
        slot = words[base + CONSUMER_WORDS + head % self.slots]
        words[base] = head + 1
        lock.release()
        self.counters[self.consumed_at] += 1
        return slot

    def done(self, slot: int) -> None:
        """The last consuming worker to be through with `slot` frees it."""
        words = self.words
        at = self.refcount_base + slot
        lock = self.lock
        if not lock.acquire(False):
            _take(lock)
        left = words[at] - 1
        words[at] = left
        if left == 0:
            tail = words[FREE_TAIL]
            words[self.free_base + tail % self.slots] = slot
            words[FREE_TAIL] = tail + 1
        lock.release()
        if left == 0:
            self.unannounced += 1
            if self.unannounced >= self.batch:
                self.announce()

    def take(self, most: int) -> int:
        """Take up to `most` ready events: how many (0: none is ready); their slots are
        `taken`, and `taken_start` the first when they are contiguous (else -1)."""
        words = self.words
        base = self.base
        if words[base] == words[base + 1]:
            return 0
        lock = self.lock
        if not lock.acquire(False):
            _take(lock)
        head = words[base]
        count = min(most, words[base + 1] - head)
        if count <= 0:
            lock.release()
            return 0
        fifo, slots = base + CONSUMER_WORDS, self.slots
        taken = [words[fifo + (head + k) % slots] for k in range(count)]
        words[base] = head + count
        lock.release()
        self.counters[self.consumed_at] += count
        self.taken = taken
        first = taken[0]
        self.taken_start = first if taken[-1] - first == count - 1 and _ascending(taken) else -1
        return count

    def done_taken(self) -> None:
        """The worker is through with the events of the last `take`: the slots it was the last
        consuming worker to read are freed in ascending order, so that a writer claims them
        again as a contiguous run."""
        words = self.words
        lock = self.lock
        if not lock.acquire(False):
            _take(lock)
        freed = _release(words, self.refcount_base, self.taken)
        _append_free(words, self.free_base, self.slots, freed)
        lock.release()
        if freed:
            self.unannounced += len(freed)
            if self.unannounced >= self.batch:
                self.announce()

    def announce(self) -> None:
        """Tell the writers about every slot this process freed."""
        free = self.free
        for _ in range(self.unannounced):
            free.release()
        self.unannounced = 0


def _bytes_of(array: np.ndarray):
    """The bytes of a C-contiguous array, to assign to a byte view: small arrays through
    `tobytes` (fastest), large ones without a copy."""
    if array.nbytes <= _SMALL_EVENT_BYTES:
        return array.tobytes()
    try:
        return memoryview(array).cast("B")
    except TypeError:  # a dtype memoryview cannot cast
        return array.tobytes()


def _ascending(slots: list[int]) -> bool:
    """Whether slot indices follow one another by one."""
    return all(b - a == 1 for a, b in zip(slots, slots[1:], strict=False))


def _contiguous(slots):
    """(first slot, index in `slots`, count) of each run of consecutive slot indices."""
    start, at = slots[0], 0
    for k in range(1, len(slots) + 1):
        if k == len(slots) or slots[k] != slots[k - 1] + 1:
            yield start, at, k - at
            if k < len(slots):
                start, at = slots[k], k


def _push_free(words, lock, free_base: int, ring_slots: int, slots) -> None:
    """Put slots back into a shared ring's free queue (of `ring_slots` entries), in ascending
    order (so they are claimed again as a run)."""
    _take(lock)
    _append_free(words, free_base, ring_slots, slots)
    lock.release()


def _release(words, refcount_base: int, slots) -> list[int]:
    """Count one consuming worker out of each of `slots` (the lock held): those no consuming
    worker has left to read."""
    unread = []
    for slot in slots:
        at = refcount_base + slot
        left = words[at] - 1
        words[at] = left
        if left == 0:
            unread.append(slot)
    return unread


def _append_free(words, free_base: int, ring_slots: int, slots) -> None:
    """Put slots at the end of a shared ring's free queue, in ascending order (the lock held)."""
    tail = words[FREE_TAIL]
    for slot in sorted(slots):
        words[free_base + tail % ring_slots] = slot
        tail += 1
    words[FREE_TAIL] = tail
