"""Standard processors: pulse finding in waveforms, explicit type changes, event building."""

from __future__ import annotations

import sys
from collections import OrderedDict

import numpy as np

from flowc.callables import signature
from flowc.types import ElementType, canonical_code

PULSE_TYPE = "{channel: i2, time: f8, height: f8, integral: f8, baseline: f8}"
PULSE = np.dtype(
    [("channel", "i2"), ("time", "f8"), ("height", "f8"), ("integral", "f8"), ("baseline", "f8")]
)


def waveforms(data: np.ndarray, channels=None) -> list[tuple[int, np.ndarray]]:
    """(channel number, float64 waveform) for every channel of an event.

    A plain array event is channel 0, along its LENGTH. In a struct event each numeric field
    is a channel, numbered in field order counting only numeric fields (`channels` picks some
    by name, keeping their numbers); the waveform runs along the LENGTH, or along the field's
    sub-array when LENGTH is 1. A sub-array field of a longer event, or a 2-D sub-array of a
    length-1 event, holds several channels, numbered on from the field's own number.
    """
    names = data.dtype.names
    if names is None:
        return [(0, np.asarray(data, dtype=np.float64).ravel())]
    if isinstance(channels, str):
        channels = [channels]
    found = []
    number = 0
    for name in names:
        values = data[name]
        if values.dtype.kind not in "iuf":
            continue
        if data.shape[0] == 1 and values.ndim > 1:
            columns = values[0].reshape(-1, values.shape[-1]) if values.ndim > 2 else values
        else:
            columns = values.reshape(values.shape[0], -1).T
        if channels is None or name in channels:
            found.extend(
                (number + k, np.asarray(wave, dtype=np.float64)) for k, wave in enumerate(columns)
            )
        number += len(columns)
    return found


@signature(produces=PULSE_TYPE, field_args=("channels",), kind="processor")
def find_pulses(
    data,
    *,
    threshold: float,
    channels: list | None = None,
    baseline_samples: int = 64,
    gate: int = 64,
    pre_samples: int = 4,
    polarity: int = 1,
    sample_time: float = 1.0,
):
    """Find pulses in waveforms: one record per pulse, {channel, time, height, integral, baseline}.

    Channels are taken as `waveforms` describes (every numeric field, or the fields named in
    `channels`). For each waveform the baseline is the mean of its first `baseline_samples`
    samples; `polarity=-1` finds negative pulses (the signal is inverted after the baseline is
    subtracted). A pulse starts where the signal rises through `threshold`; `time` is that
    crossing, interpolated between samples, in units of `sample_time`. The integration gate
    starts `pre_samples` before the crossing and lasts `gate` samples: `height` is the highest
    sample in it and `integral` the sum of its samples times `sample_time`. After a pulse the
    finder re-arms only once the signal has fallen below half the threshold. A waveform that
    starts above threshold yields no pulse for that stretch.

    With `batch=N` it takes a batch of waveform events and returns the pulses of all of them
    at once, with each pulse's `origin` (the event it was found in, whose metadata it carries).
    """
    if not threshold > 0:
        raise ValueError(f"find_pulses: threshold={threshold!r} must be more than 0")
    if baseline_samples < 1 or gate < 1 or pre_samples < 0 or polarity not in (1, -1):
        raise ValueError(
            "find_pulses: baseline_samples and gate must be 1 or more, pre_samples 0 or more, "
            "polarity 1 or -1"
        )
    options = (threshold, channels, baseline_samples, gate, pre_samples, polarity, sample_time)
    if data.ndim == 2:  # a batch: every event's pulses, and the row each came from
        found = [_pulses(row, *options) for row in data]
        counts = [len(pulses) for pulses in found]
        rows = np.concatenate(found) if found else np.zeros(0, PULSE)
        yield [(rows, np.repeat(np.arange(len(data)), counts))]
        return
    pulses = _pulses(data, *options)
    for k in range(len(pulses)):
        yield pulses[k : k + 1]


def _pulses(
    data, threshold, channels, baseline_samples, gate, pre_samples, polarity, sample_time
) -> np.ndarray:
    """The pulses of one event (see `find_pulses`), as an array of PULSE records."""
    found = []
    for channel, wave in waveforms(data, channels):
        baseline = float(wave[:baseline_samples].mean())
        signal = (wave - baseline) * polarity
        above = signal >= threshold
        crossings = np.flatnonzero(above[1:] & ~above[:-1]) + 1
        armed_from = 0
        for start in crossings:
            if start < armed_from:
                continue
            first = max(0, start - pre_samples)
            window = signal[first : first + gate]
            below = np.flatnonzero(signal[start:] < 0.5 * threshold)
            armed_from = start + int(below[0]) if below.size else signal.size
            before, after = signal[start - 1], signal[start]
            found.append(
                (
                    channel,
                    (start - 1 + (threshold - before) / (after - before)) * sample_time,
                    window.max(),
                    window.sum() * sample_time,
                    baseline,
                )
            )
    return np.array(found, dtype=PULSE)


@signature(field_args=("fields",), kind="processor")
class project:
    """Change an event's type explicitly: keep `fields` (in that order), rename, cast.

    The output holds the named fields in the order given, under `names` when given (one per
    field) and with the dtype codes `types` when given (one per field, e.g. "f4"; a sub-array
    keeps its shape). The output buffer must declare exactly these fields in this order: the
    result is stored field by field in order. Casting follows numpy (a float cast to an
    integer type is truncated). Example: `project(fields=["height", "time"], names=["h", "t"],
    types=["f4", "f4"])` into a buffer of {h: f4, t: f4}. With `batch=N` it projects a whole
    batch at once.
    """

    def __init__(self, *, fields: list, names: list = (), types: list = ()):
        if not fields or not all(isinstance(f, str) for f in fields):
            raise ValueError(f"project: fields={fields!r} must name one field or more")
        if len(set(fields)) != len(fields):
            raise ValueError(f"project: fields={fields!r} names a field twice")
        for given, what in ((names, "names"), (types, "types")):
            if given and len(given) != len(fields):
                raise ValueError(
                    f"project: {what}= has {len(given)} entries for {len(fields)} fields"
                )
        if names and len(set(names)) != len(names):
            raise ValueError(f"project: names={list(names)!r} gives two fields one name")
        codes = []
        for code in types:
            canonical = canonical_code(code) if isinstance(code, str) else None
            if canonical is None:
                raise ValueError(f"project: {code!r} in types= is not a dtype code (f4, i8...)")
            codes.append(canonical)
        self.fields = list(fields)
        self.names = list(names) or list(fields)
        self.codes = codes
        self.dtype: np.dtype | None = None
        self.source_dtype: np.dtype | None = None

    def _output_dtype(self, dtype: np.dtype) -> np.dtype:
        have = dtype.names or ()
        missing = [f for f in self.fields if f not in have]
        if missing:
            listing = ", ".join(have) if have else f"none: a plain {dtype} array"
            raise KeyError(f"project: the events have no field {missing[0]!r} (fields: {listing})")
        out = []
        for index, (field, name) in enumerate(zip(self.fields, self.names, strict=True)):
            base, shape = dtype[field].base, dtype[field].shape
            if self.codes:
                base = ElementType.plain(self.codes[index]).numpy
            out.append((name, base, shape))
        return np.dtype(out)

    def process(self, data):
        if data.dtype != self.source_dtype:
            self.dtype = self._output_dtype(data.dtype)
            self.source_dtype = data.dtype
        result = np.empty(data.shape, self.dtype)
        for field, name in zip(self.fields, self.names, strict=True):
            result[name] = data[field]
        return result


@signature(field_args=("field",), kind="processor", batch=False)
class event_builder:
    """Merge events of several inputs that belong together into one event.

    `inputs` names the input buffers in the order their parts appear in the merged event.
    With `by="counter"`, events with the same metadata counter are merged (several importers
    numbering the same triggers). With `by="timestamp"`, an event is merged with the events of
    the other inputs whose metadata timestamps lie within `window` seconds of its own (the
    nearest of each); an event still unmatched `hold` seconds (by timestamp) after a newer one
    arrived is given up. With counters, at most `max_pending` unmatched events are held per
    input, the oldest given up first. With `field`, the counter or timestamp is read from that
    field of each input's events (its first element) instead of the metadata: a trigger number
    or a time the data itself carries.

    The merged event is one record: for each input in order, each of its fields as
    `<input>_<field>` (a plain array input as one field `<input>`), with the input's LENGTH
    as the leading sub-array dimension when it is more than 1. The output buffer (LENGTH 1)
    must declare these fields in this order (they are stored field by field in order). The
    merged event carries the metadata of the event that completed it. At the end the builder
    prints to stderr how many events it built and how many of each input went unmatched.

    It must run with processes=1: the events waiting for their partners live in one process.
    """

    def __init__(
        self,
        *,
        inputs: list,
        by: str = "counter",
        window: float = 0.001,
        hold: float = 1.0,
        max_pending: int = 10000,
        field: str = "",
    ):
        if len(inputs) < 2 or len(set(inputs)) != len(inputs):
            raise ValueError(f"event_builder: inputs={inputs!r} must name 2 or more buffers once")
        if by not in ("counter", "timestamp"):
            raise ValueError(f'event_builder: by={by!r} must be "counter" or "timestamp"')
        if not window >= 0 or not hold > 0 or max_pending < 1:
            raise ValueError(
                "event_builder: window must be 0 or more seconds, hold more than 0, "
                "max_pending 1 or more"
            )
        self.inputs = list(inputs)
        self.by = by
        self.window = float(window)
        self.hold = float(hold)
        self.max_pending = max_pending
        self.field = field
        self.pending: dict[str, OrderedDict] = {name: OrderedDict() for name in inputs}
        self.unmatched = dict.fromkeys(inputs, 0)
        self.built = 0
        self.dtype: np.dtype | None = None
        self.newest = -np.inf
        self.arrivals = 0

    def process(self, data, meta, source):
        if source not in self.pending:
            raise ValueError(
                f"event_builder: an event came from `{source}`, which is not among "
                f"inputs={self.inputs!r}; list every input buffer there"
            )
        event = np.array(data, copy=True)
        if self.field:
            if data.dtype.names is None or self.field not in data.dtype.names:
                raise KeyError(
                    f"event_builder: the events of `{source}` have no field {self.field!r}"
                )
            key = data[self.field].flat[0]
        else:
            key = meta[self.by]
        if self.by == "counter":
            return self._by_counter(source, int(key), event)
        return self._by_timestamp(source, float(key), event)

    def _by_counter(self, source: str, counter: int, event: np.ndarray):
        others = [name for name in self.inputs if name != source]
        if all(counter in self.pending[name] for name in others):
            parts = {name: self.pending[name].pop(counter) for name in others}
            parts[source] = event
            return self._merge(parts)
        waiting = self.pending[source]
        if counter in waiting:
            self.unmatched[source] += 1
        waiting[counter] = event
        if len(waiting) > self.max_pending:
            waiting.popitem(last=False)
            self.unmatched[source] += 1
        return None

    def _by_timestamp(self, source: str, stamp: float, event: np.ndarray):
        self.newest = max(self.newest, stamp)
        self._give_up_before(self.newest - self.hold)
        chosen = {}
        for name in self.inputs:
            if name == source:
                continue
            waiting = self.pending[name]
            nearest = min(waiting, key=lambda t: abs(t[0] - stamp), default=None)
            if nearest is None or abs(nearest[0] - stamp) > self.window:
                break
            chosen[name] = nearest
        else:
            parts = {name: self.pending[name].pop(key) for name, key in chosen.items()}
            parts[source] = event
            return self._merge(parts)
        waiting = self.pending[source]
        self.arrivals += 1
        waiting[(stamp, self.arrivals)] = event
        return None

    def _give_up_before(self, oldest: float) -> None:
        for name, waiting in self.pending.items():
            stale = [key for key in waiting if key[0] < oldest]
            for key in stale:
                del waiting[key]
            self.unmatched[name] += len(stale)

    def _merge(self, parts: dict[str, np.ndarray]) -> np.ndarray:
        if self.dtype is None:
            self.dtype = self._merged_dtype(parts)
        merged = np.zeros(1, self.dtype)
        for name in self.inputs:
            part = parts[name]
            if part.dtype.names is None:
                merged[name][0] = part if part.shape[0] > 1 else part[0]
                continue
            for field in part.dtype.names:
                merged[f"{name}_{field}"][0] = part[field] if part.shape[0] > 1 else part[field][0]
        self.built += 1
        return merged

    def _merged_dtype(self, parts: dict[str, np.ndarray]) -> np.dtype:
        fields = []
        for name in self.inputs:
            part = parts[name]
            lead = (part.shape[0],) if part.shape[0] > 1 else ()
            if part.dtype.names is None:
                fields.append((name, part.dtype, lead))
                continue
            for field in part.dtype.names:
                kind = part.dtype[field]
                fields.append((f"{name}_{field}", kind.base, lead + kind.shape))
        return np.dtype(fields)

    def finish(self) -> None:
        for name, waiting in self.pending.items():
            self.unmatched[name] += len(waiting)
            waiting.clear()
        left = ", ".join(f"{name} {count}" for name, count in self.unmatched.items())
        print(
            f"event_builder: built {self.built} events by {self.by}; unmatched: {left}",
            file=sys.stderr,
            flush=True,
        )
