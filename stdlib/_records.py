"""Shared by the file workers: fitting stored rows to a buffer's events, and timed pacing."""

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
    """A function turning one stored row (of `dtype`, `shape`) into a new event like `example`.

    Struct fields are matched by name (fields the buffer lacks are left out; a field the
    buffer has and the file lacks is an error, raised now); values are cast to the buffer's
    dtypes. Without `example` (called outside flowc) rows are returned as new arrays unchanged.
    Raises ValueError naming `origin` when the rows cannot fill the events.
    """
    if example is None:
        return lambda row: np.array(row, copy=True)
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

        def plain(row: np.ndarray) -> np.ndarray:
            event = np.empty_like(example)
            event[...] = np.reshape(row, example.shape)
            return event

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

    def struct(row: np.ndarray) -> np.ndarray:
        event = np.empty_like(example)
        for name in names:
            event[name] = np.reshape(row[name], event[name].shape)
        return event

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
