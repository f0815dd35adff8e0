"""Worker code for the runtime tests: importable, so every start method can run it."""

from __future__ import annotations

import os
import signal
import time

import numpy as np


def count(n: int, delay: float = 0.0, example=None):
    """Importer: events 0..n-1 in field `x`, and y = 2x when the buffer has it."""
    for i in range(n):
        event = np.zeros_like(example)
        event["x"] = i
        if "y" in event.dtype.names:
            event["y"] = 2 * i
        if delay:
            time.sleep(delay)
        yield event


def count_tuples(n: int):
    """Importer yielding plain tuples, which numpy assigns to a length-1 record slot."""
    for i in range(n):
        yield (float(i), 2.0 * i)


def count_forever(delay: float = 0.0, started: str | None = None, example=None):
    """Importer that never ends by itself: for stopping by timeout or signal; creates the file
    `started` (when given) at its first event."""
    i = 0
    while True:
        event = np.zeros_like(example)
        event["x"] = i
        event["y"] = 2 * i
        if started and i == 0:
            open(started, "w").close()
        if delay:
            time.sleep(delay)
        yield event
        i += 1


class Counter:
    """Importer class: `__iter__` yields events; `finish()` leaves a marker file."""

    def __init__(self, n: int, marker: str, example=None):
        self.n = n
        self.marker = marker
        self.example = example

    def __iter__(self):
        for i in range(self.n):
            event = self.example.copy()
            event["x"] = i
            event["y"] = 2 * i
            yield event

    def finish(self):
        with open(self.marker, "w") as out:
            out.write("finished")


def identity(data):
    return data


def double_y(data):
    """Processor: a new array with y doubled."""
    out = data.copy()
    out["y"] = 2 * data["y"]
    return out


def halves(data):
    """Processor with two outputs: even x to the first, odd x to the second."""
    if int(data["x"][0]) % 2 == 0:
        return [data, None]
    return [None, data]


def drop_odd(data):
    """Processor returning None for odd x (the event is dropped)."""
    return data if int(data["x"][0]) % 2 == 0 else None


def repeat(data, times: int):
    """Generator processor: each event `times` times."""
    for _ in range(times):
        yield data


def stamp_meta(data, meta, source):
    """Processor putting the metadata counter into y; checks `source` is a buffer name."""
    assert isinstance(source, str) and source
    out = data.copy()
    out["y"] = meta["counter"]
    return out


def tag_source(data, source):
    """Multi-input processor: y = 1 for events from `a1`, 2 for the others."""
    out = data.copy()
    out["y"] = 1 if source == "a1" else 2
    return out


def is_even(data):
    return int(data["x"][0]) % 2 == 0


def by_remainder(data):
    """Filter with three outputs: x % 3 picks one; x % 6 == 0 goes to none."""
    r = int(data["x"][0]) % 3
    x = int(data["x"][0])
    return [r == 0 and x % 6 != 0, r == 1, r == 2]


def fail_at(data, at: float):
    if data["x"][0] == at:
        raise ValueError(f"bad event x={at}")
    return data


def fail_every(data, every: int):
    """Raises for every `every`-th event (x % every == 0)."""
    if int(data["x"][0]) % every == 0:
        raise RuntimeError("unlucky event")
    return data


def kill_self_at(data, at: float):
    if data["x"][0] == at:
        os.kill(os.getpid(), signal.SIGKILL)
    return data


def sleepy(data, delay: float):
    time.sleep(delay)
    return data


class Collect:
    """Exporter: keeps x, the metadata counter and the source of every event; saves them at
    `finish()` to `<path>.<pid>.npz` (one file per process) and the finish count to a marker."""

    def __init__(self, path: str, delay: float = 0.0):
        self.path = path
        self.delay = delay
        self.x: list[float] = []
        self.y: list[float] = []
        self.counters: list[int] = []
        self.sources: list[str] = []
        self.arrived: list[float] = []
        self.timestamps: list[float] = []
        self.deadtimes: list[float] = []

    def process(self, data, meta, source):
        if data.flags.writeable:
            raise AssertionError("input views must be read-only")
        self.x.append(float(data["x"][0]))
        self.y.append(float(data["y"][0]))
        self.counters.append(int(meta["counter"]))
        self.sources.append(source)
        self.arrived.append(time.monotonic())
        self.timestamps.append(float(meta["timestamp"]))
        self.deadtimes.append(float(meta["deadtime"]))
        if self.delay:
            time.sleep(self.delay)

    def finish(self):
        np.savez(
            f"{self.path}.{os.getpid()}.npz",
            x=np.array(self.x, dtype=np.float64),
            y=np.array(self.y, dtype=np.float64),
            counter=np.array(self.counters, dtype=np.int64),
            source=np.array(self.sources, dtype="U32"),
            arrived=np.array(self.arrived, dtype=np.float64),
            timestamp=np.array(self.timestamps, dtype=np.float64),
            deadtime=np.array(self.deadtimes, dtype=np.float64),
        )


class Watch:
    """Observer: checks every copy it gets is consistent (y == 2x on all LENGTH elements)."""

    def __init__(self, path: str):
        self.path = path
        self.seen = 0
        self.torn = 0
        self.sources: set[str] = set()

    def process(self, data, source):
        self.seen += 1
        self.sources.add(source)
        if not np.array_equal(data["y"], 2 * data["x"]) or len(set(data["x"].tolist())) != 1:
            self.torn += 1

    def finish(self):
        with open(f"{self.path}.{os.getpid()}", "w") as out:
            out.write(f"{self.seen} {self.torn} {','.join(sorted(self.sources))}")


def fill_wide(n: int, example=None):
    """Importer for long slots: every element of event i holds x = i, y = 2i."""
    for i in range(n):
        event = np.empty_like(example)
        event["x"] = i
        event["y"] = 2 * i
        yield event


def ragged(n: int):
    """Importer for a length-4 plain buffer: every odd event has the wrong length."""
    for i in range(n):
        yield np.full(4 if i % 2 == 0 else 3, float(i))


def exit_quietly_at(data, at: float):
    """Leaves the process with exit code 0 in the middle of the stream."""
    if data["x"][0] == at:
        os._exit(0)
    return data


class Keep:
    """Observer keeping every copy it gets; at `finish()` checks none changed afterwards."""

    def __init__(self, path: str):
        self.path = path
        self.kept: list[tuple[np.ndarray, float, int]] = []

    def process(self, data, meta):
        self.kept.append((data, float(data["x"][0]), int(meta["counter"])))

    def finish(self):
        changed = sum(1 for data, x, _ in self.kept if float(data["x"][0]) != x)
        counters_match = all(int(data["x"][0]) == counter for data, _, counter in self.kept)
        with open(f"{self.path}.{os.getpid()}", "w") as out:
            out.write(f"{len(self.kept)} {changed} {counters_match}")


class StallAt:
    """Processor that starts late (its input fills up meanwhile), then is fast except for one
    long event."""

    def __init__(self, at: float, seconds: float, start_after: float = 0.3):
        time.sleep(start_after)
        self.at, self.seconds = at, seconds

    def process(self, data):
        if data["x"][0] == self.at:
            time.sleep(self.seconds)
        return data


# --- batches (batch=N) ----------------------------------------------------------------------


def count_batches(n: int, size: int = 7, example=None, batch=None):
    """Importer with batch=N: events 0..n-1 (x = i, y = 2i) in batches of up to `size` rows
    (never more than the N flowc passes as `batch`)."""
    size = min(size, batch or 1)
    for start in range(0, n, size):
        rows = np.zeros((min(size, n - start), len(example)), dtype=example.dtype)
        rows["x"] = np.arange(start, start + len(rows))[:, None]
        rows["y"] = 2 * rows["x"]
        yield rows


def bad_batch(rows: int, length: int, example=None):
    """Importer yielding one batch of shape (rows, length): for the shape checks."""
    yield np.zeros((rows, length), dtype=example.dtype)


def double_y_batch(data):
    """Batch processor: a new array with y doubled, one row per event."""
    out = data.copy()
    out["y"] = 2 * data["y"]
    return out


def split_even_batch(data, meta, source):
    """Batch processor with two outputs: even x to the first, odd x to the second, each as a
    pair (rows, origin); checks the metadata has one record per row."""
    assert meta.shape == (len(data),) and data.ndim == 2 and not data.flags.writeable
    even = (data["x"][:, 0] % 2) == 0
    index = np.arange(len(data))
    return [(data[even], index[even]), (data[~even], index[~even])]


def twice_batch(data):
    """Batch processor: every event twice (origin repeats each input row)."""
    origin = np.repeat(np.arange(len(data)), 2)
    return [(data[origin], origin)]


def pairs_batch(data):
    """Generator batch processor: yields the batch, then the batch again."""
    yield data
    yield data


def even_mask(data):
    """Batch filter: x even."""
    return (data["x"][:, 0] % 2) == 0


def remainder_masks(data):
    """Batch filter with three outputs: x % 3 picks one; x % 6 == 0 goes to none."""
    x = data["x"][:, 0].astype(np.int64)
    r = x % 3
    return [(r == 0) & (x % 6 != 0), r == 1, r == 2]


def wrong_rows(data):
    """Batch processor returning one row too many."""
    return np.concatenate([data, data[:1]])


def origin_out_of_range(data):
    return [(data, np.arange(len(data)) + 1)]


def short_mask(data):
    return np.ones(len(data) + 1, dtype=bool)


def fail_batch_with(data, at: float):
    """Batch processor raising for a batch that holds x == at."""
    if (data["x"] == at).any():
        raise ValueError(f"bad batch with x={at}")
    return data


class CollectBatches(Collect):
    """Exporter taking batches: keeps every row like `Collect`, and the batch sizes."""

    def __init__(self, path: str, delay: float = 0.0):
        super().__init__(path, delay)
        self.sizes: list[int] = []

    def process(self, data, meta, source):
        if data.flags.writeable:
            raise AssertionError("input views must be read-only")
        assert data.ndim == 2 and meta.shape == (len(data),)
        self.sizes.append(len(data))
        self.x += data["x"][:, 0].tolist()
        self.y += data["y"][:, 0].tolist()
        self.counters += meta["counter"].tolist()
        self.sources += [source] * len(data)
        self.arrived += [time.monotonic()] * len(data)
        self.timestamps += meta["timestamp"].tolist()
        self.deadtimes += meta["deadtime"].tolist()
        if self.delay:
            time.sleep(self.delay)

    def finish(self):
        super().finish()
        np.save(f"{self.path}-sizes.{os.getpid()}.npy", np.array(self.sizes, dtype=np.int64))


def count_batches_forever(size: int = 16, delay: float = 0.0, example=None, batch=None):
    """Importer with batch=N that never ends by itself: for stopping by timeout."""
    start = 0
    size = min(size, batch or 1)
    while True:
        rows = np.zeros((size, len(example)), dtype=example.dtype)
        rows["x"] = np.arange(start, start + size)[:, None]
        rows["y"] = 2 * rows["x"]
        if delay:
            time.sleep(delay)
        yield rows
        start += size


def swapped_record(data):
    """Processor returning a record with the fields of {x, y} in the order (y, x)."""
    out = np.zeros(data.shape, dtype=[("y", "f8"), ("x", "f8")])
    out["x"] = data["x"]
    out["y"] = data["y"]
    return out


def float_into_int(data):
    """Processor returning {x: f8, n: f8} for a buffer {x: f8, n: i4} (a lossy cast)."""
    out = np.zeros(data.shape, dtype=[("x", "f8"), ("n", "f8")])
    out["x"] = data["x"]
    out["n"] = 0.5
    return out


def missing_field(data):
    """Processor returning only {x} for a buffer {x, y}."""
    out = np.zeros(data.shape, dtype=[("x", "f8")])
    out["x"] = data["x"]
    return out
