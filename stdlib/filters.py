"""Standard filters: keep or discard events by their values, copying kept ones unchanged.

Each takes one event per call, or a batch of them with `batch=N` (data of shape (k, LENGTH)):
then it answers with a boolean array of shape (k,), computed with numpy over the batch."""

from __future__ import annotations

import numpy as np

from flowc.callables import signature


@signature(needs={}, field_args=("field",), kind="filter")
def select(data, *, field: str, min: float | None = None, max: float | None = None) -> bool:
    """Keep the events whose `field` lies in [min, max] (both ends included).

    Give `min`, `max` or both; a missing end is open. With `batch=N` it decides a whole batch
    at once (a boolean array, one decision per event). When the buffer's LENGTH is more than 1,
    or the field is a sub-array, an event is kept only when EVERY element lies in the range.
    A NaN lies in no range, so an event with a NaN in `field` is discarded. The field must be
    numeric (integer, float or complex; complex values are compared by their real part); any
    other kind fails at the first event with an error naming the field and its dtype.
    """
    if min is None and max is None:
        raise ValueError(f"select(field={field!r}) needs min=, max= or both")
    if min is not None and max is not None and min > max:
        raise ValueError(f"select(field={field!r}): min={min} is more than max={max}")
    names = data.dtype.names
    if names is None or field not in names:
        have = ", ".join(names) if names else f"none: the buffer is a plain {data.dtype} array"
        raise KeyError(f"select: the events have no field {field!r} (fields: {have})")
    values = data[field]
    kind = values.dtype.kind
    if kind not in "iufc":
        raise TypeError(
            f"select: field {field!r} is {values.dtype}, not numeric; select compares numbers"
        )
    if kind == "c":
        values = values.real
    if data.ndim == 2:  # a batch: one decision per row
        inside = np.ones(values.shape, dtype=bool)
        if min is not None:
            inside &= values >= min
        if max is not None:
            inside &= values <= max
        return inside.reshape(len(values), -1).all(axis=1)
    if values.size == 1:
        value = values.item()
        return (min is None or value >= min) and (max is None or value <= max)
    inside = np.ones(values.shape, dtype=bool)
    if min is not None:
        inside &= values >= min
    if max is not None:
        inside &= values <= max
    return bool(inside.all())


@signature(kind="filter")
class prescale:
    """Keep every `n`th event: the first, the (n+1)th, ... of those this process sees.

    `n=1` keeps everything. With processes=N each process keeps every nth of its own share,
    so the kept fraction is still 1/n but which events are kept depends on the sharing.
    """

    def __init__(self, *, n: int):
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"prescale: n={n!r} must be a whole number of at least 1")
        self.n = n
        self.seen = 0

    def process(self, data) -> bool | np.ndarray:
        # a batch: every nth of its rows, counting on from the last batch
        if getattr(data, "ndim", 1) == 2:
            keep = (self.seen + np.arange(len(data))) % self.n == 0
            self.seen += len(data)
            return keep
        keep = self.seen % self.n == 0
        self.seen += 1
        return keep


@signature(kind="filter")
class sample:
    """Keep each event at random with probability `fraction` (0 to 1), independently.

    `seed` makes the choice reproducible (None: fresh entropy). With processes=N each process
    draws its own numbers; with a seed they all draw the same sequence for their shares.
    """

    def __init__(self, *, fraction: float, seed: int | None = None):
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"sample: fraction={fraction!r} must lie between 0 and 1")
        self.fraction = float(fraction)
        self.random = np.random.default_rng(seed)

    def process(self, data) -> bool | np.ndarray:
        if getattr(data, "ndim", 1) == 2:  # a batch: one draw per row
            return self.random.random(len(data)) < self.fraction
        return bool(self.random.random() < self.fraction)
