"""Standard filters: keep or discard events by their values, copying kept ones unchanged."""

from __future__ import annotations

import numpy as np

from flowc.callables import signature


@signature(needs={}, field_args=("field",), kind="filter")
def select(data, *, field: str, min: float | None = None, max: float | None = None) -> bool:
    """Keep the events whose `field` lies in [min, max] (both ends included).

    Give `min`, `max` or both; a missing end is open. When the buffer's LENGTH is more than 1,
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
    if values.size == 1:
        value = values.item()
        return (min is None or value >= min) and (max is None or value <= max)
    inside = np.ones(values.shape, dtype=bool)
    if min is not None:
        inside &= values >= min
    if max is not None:
        inside &= values <= max
    return bool(inside.all())
