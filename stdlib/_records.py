"""Shared by the file workers: fitting stored rows to a buffer's events, timed pacing, and
grouping events into batches (`batch=N`) without delaying any of them."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


def row_shape(example: np.ndarray) -> tuple[int, ...]:
    """The shape one stored row has for an event like `example`: () for LENGTH 1, else (LENGTH,)."""
    return () if example.shape[0] == 1 else (example.shape[0],)


def fitter(
    example: np.ndarray | None, dtype: np.dtype, shape: tuple[int, ...], origin: str
) -> Callable[[np.ndarray], np.ndarray]:
    """A function turning one stored row (of `dtype`, `shape`) into a new event like `example`
    (see `block_fitter`)."""
    fit = block_fitter(example, dtype, shape, origin)
    return lambda row: fit(np.asarray(row)[np.newaxis])[0]


def block_fitter(
    example: np.ndarray | None, dtype: np.dtype, shape: tuple[int, ...], origin: str
) -> Callable[[np.ndarray], np.ndarray]:
    """A function turning a block of k stored rows (of `dtype`, each of `shape`) into a new
    array of k events like `example`, shape (k, LENGTH).

    Struct fields are matched by name (fields the buffer lacks are left out; a field the
    buffer has and the file lacks is an error, raised now); values are cast to the buffer's
    dtypes. Without `example` (called outside flowc) rows are returned as new arrays unchanged.
    Raises ValueError naming `origin` when the rows cannot fill the events.
    """
    if example is None:
        return lambda rows: np.array(rows, copy=True)
    wanted = row_shape(example)
    if tuple(shape) not in (wanted, (1,) if wanted == () else wanted):
        raise ValueError(
            f"{origin} holds rows of shape {tuple(shape)}, but an event of the buffer is "
            f"{example.shape[0]} element(s){'' if wanted == () else f' (rows of shape {wanted})'}"
        )
    names = example.dtype.names
    have = dtype.names
    if names is None:
        if have is not None:
            raise ValueError(
                f"{origin} holds records with fields ({', '.join(have)}), but the buffer is a "
                f"plain {example.dtype} array"
            )

        def plain(rows: np.ndarray) -> np.ndarray:
            events = np.empty((len(rows), *example.shape), example.dtype)
            events[...] = np.reshape(rows, events.shape)
            return events

        return plain
    if have is None:
        raise ValueError(
            f"{origin} holds a plain {dtype} array, but the buffer's events have fields "
            f"({', '.join(names)})"
        )
    missing = [name for name in names if name not in have]
    if missing:
        raise ValueError(
            f"{origin} has no field{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(m) for m in missing)} (it has {', '.join(have)})"
        )
    for name in names:
        if example.dtype[name].shape != dtype[name].shape:
            raise ValueError(
                f"{origin}: field {name!r} has shape {dtype[name].shape}, the buffer's "
                f"{example.dtype[name].shape}"
            )

    def struct(rows: np.ndarray) -> np.ndarray:
        events = np.empty((len(rows), *example.shape), example.dtype)
        for name in names:
            events[name] = np.reshape(rows[name], events[name].shape)
        return events

    return struct


class Pacer:
    """Waits until each event is due on a deadline clock, so a paced source does not drift."""

    def __init__(self):
        self.start = time.perf_counter()

    def wait_until(self, offset_s: float) -> None:
        """Sleep until `offset_s` seconds after the pacer was made (at once if already late)."""
        delay = self.start + offset_s - time.perf_counter()
        if delay > 0:
            time.sleep(delay)


def grouped(events, batch: int, rate: float = 0.0):
    """Per-event arrays (shape (LENGTH,)) as batches of up to `batch` events, shape (k, LENGTH).

    Paced at `rate` events per second on a deadline clock, a batch holds the events due by
    now: it is handed over before the source waits for its next event, so batching delays no
    event (as the runtime never waits to fill a batch)."""
    pacer = Pacer() if rate else None
    group: list[np.ndarray] = []
    for index, event in enumerate(events):
        if pacer is not None:
            due = index / rate
            if group and pacer.start + due > time.perf_counter():
                yield np.stack(group)
                group = []
            pacer.wait_until(due)
        group.append(event)
        if len(group) == batch:
            yield np.stack(group)
            group = []
    if group:
        yield np.stack(group)


def row_batches(rows, fit: Callable, batch: int, due: np.ndarray | None = None):
    """Batches of up to `batch` stored rows, fitted by `fit` (a `block_fitter`); with `due`
    (seconds after the start when each row is due, non-decreasing), each batch holds the rows
    due by now, waiting for the next one when none is."""
    pacer = Pacer()
    start, total = 0, rows.shape[0]
    while start < total:
        count = min(batch, total - start)
        if due is not None:
            pacer.wait_until(float(due[start]))
            now = time.perf_counter() - pacer.start
            ready = int(np.searchsorted(due, now, side="right")) - start
            count = max(1, min(count, ready))
        yield fit(rows[start : start + count])
        start += count
