"""Standard importers: simulated detector waveforms, file readers, replay and live HDF5 following.

Wired with `batch=N`, the simulators, readers and replay yield batches of up to N events
(arrays of shape (k, LENGTH)); flowc tells them N through their `batch` parameter."""

from __future__ import annotations

import csv as csv_format
import os
import sys
import time
from pathlib import Path

import numpy as np

from flowc.callables import signature

from ._records import Pacer, block_fitter, fitter, grouped, row_batches

_DEFAULT_EXAMPLE_LENGTH = 1024
# Gaussian noise is cut at random offsets from a bank drawn once: drawing it afresh for
# every sample costs more than everything else the simulation does
_NOISE_BANK_SIZE = 1 << 18


@signature(kind="importer")
def pulses(
    n: int,
    rate: float = 0.0,
    *,
    example=None,
    batch: int | None = None,
    seed: int | None = None,
    noise: float = 0.01,
    baseline: float = 0.0,
    mean_pulses: float = 1.5,
    max_pulses: int = 4,
    height: float = 0.5,
    tau: float = 40.0,
    rise: float = 4.0,
):
    """Simulated detector waveforms: baseline noise plus random exponential-decay pulses.

    Yields `n` events at about `rate` events per second (`rate=0`: as fast as possible). The
    pace follows a deadline clock (event i is due at start + i/rate), so it does not drift, and
    a source that fell behind catches up without sleeping.

    Every numeric field of the output buffer is filled, each as its own channel: a waveform
    along the buffer's LENGTH (or along a field's sub-array when LENGTH is 1; a scalar field of
    a length-1 buffer gets one sample, which is the pulse height). Each channel holds Gaussian
    noise of width `noise` around `baseline`, plus 0 to `max_pulses` pulses (Poisson, mean
    `mean_pulses`) starting at random times between 10% (a pre-trigger baseline) and 80% of the
    waveform, with exponentially distributed heights (mean `height`), a rise time `rise` and a
    decay time `tau`, both in samples. Integer fields are
    scaled like an ADC: the baseline sits at 10% of the dtype's range and a height of 1.0 spans
    40% of it. Complex fields carry the signal in the real part and noise in the imaginary
    part; boolean fields stay False. A plain array buffer (`f4[1024]`) is one channel.

    `example` is the zeroed array of the output slot (given by flowc); without it, a plain
    float32 array of 1024 samples. `seed` makes the events reproducible (None: fresh entropy).
    Each event is a new array, so the events may be kept. The noise of a waveform is a random
    cut from a bank of 262144 Gaussian samples drawn at the start.
    """
    if n < 0:
        raise ValueError(f"pulses: n={n} must be 0 or more")
    if rate is not None and rate < 0:
        raise ValueError(f"pulses: rate={rate} must be 0 (as fast as possible) or more")
    if noise < 0 or mean_pulses < 0 or max_pulses < 0 or tau <= 0 or rise < 0:
        raise ValueError(
            "pulses: noise, mean_pulses and max_pulses must be 0 or more, tau more than 0, "
            "rise 0 or more"
        )
    if example is None:
        example = np.zeros(_DEFAULT_EXAMPLE_LENGTH, np.float32)
    simulator = _WaveformSimulator(
        example,
        rng=np.random.default_rng(seed),
        noise=noise,
        baseline=baseline,
        mean_pulses=mean_pulses,
        max_pulses=max_pulses,
        height=height,
        tau=tau,
        rise=rise,
    )
    if batch:
        yield from grouped((simulator.event() for _ in range(n)), batch, rate)
        return
    period = 1.0 / rate if rate else 0.0
    start = time.perf_counter()
    for index in range(n):
        event = simulator.event()
        if period:
            delay = start + index * period - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        yield event


class _WaveformSimulator:
    """Fills a fresh copy of an example array with simulated waveforms, one per channel."""

    def __init__(
        self,
        example: np.ndarray,
        *,
        rng,
        noise,
        baseline,
        mean_pulses,
        max_pulses,
        height,
        tau,
        rise,
    ):
        self.example = np.asarray(example)
        self.rng = rng
        self.noise = noise
        self.baseline = baseline
        self.mean_pulses = mean_pulses
        self.max_pulses = max_pulses
        self.height = height
        self.tau = tau
        self.rise = rise
        self.templates: dict[int, np.ndarray] = {}
        largest = max(
            [self.example.size]
            + [self.example[name].size for name in self.example.dtype.names or ()]
        )
        self.noise_bank = rng.standard_normal(max(_NOISE_BANK_SIZE, 4 * largest))
        length = self.example.shape[0] if self.example.ndim else 1
        names = self.example.dtype.names
        self.fields = [name for name in names or () if _is_numeric(self.example.dtype[name])]
        self.length = length
        if names is None and not _is_numeric(self.example.dtype):
            raise TypeError(f"pulses: cannot simulate waveforms of dtype {self.example.dtype}")

    def event(self) -> np.ndarray:
        event = np.empty_like(self.example)
        if self.example.dtype.names is None:
            self._fill(event)
            return event
        for name in self.example.dtype.names:
            if name in self.fields:
                self._fill(event[name])
            else:
                event[name] = 0
        return event

    def _fill(self, target: np.ndarray) -> None:
        samples = self.length if self.length > 1 else max(1, target.size)
        channels = target.size // samples
        signal = np.empty((channels, samples))
        template = self._template(samples)
        counts = np.minimum(self.rng.poisson(self.mean_pulses, channels), self.max_pulses)
        for channel, count in enumerate(counts):
            wave = signal[channel]
            offset = int(self.rng.integers(0, self.noise_bank.size - samples + 1))
            np.multiply(self.noise_bank[offset : offset + samples], self.noise, out=wave)
            wave += self.baseline
            for start, amplitude in self._placements(count, samples):
                wave[start:] += amplitude * template[: samples - start]
        signal = signal.T.reshape(target.shape)
        if target.dtype.kind == "c":
            target.real = signal
            offset = int(self.rng.integers(0, self.noise_bank.size - target.size + 1))
            noise = self.noise_bank[offset : offset + target.size] * self.noise
            target.imag = noise.reshape(target.shape)
        else:
            _store(target, signal)

    def _placements(self, count: int, samples: int):
        """(start sample, amplitude) of the `count` random pulses of one channel."""
        earliest_start = int(samples * 0.1)
        latest_start = max(earliest_start + 1, int(samples * 0.8))
        for _ in range(count):
            start = int(self.rng.integers(earliest_start, latest_start))
            yield start, self.rng.exponential(self.height)

    def _template(self, samples: int) -> np.ndarray:
        """A unit-height pulse (rise time `rise`, decay time `tau`) cut to `samples` samples.

        A single sample is the pulse's height itself.
        """
        template = self.templates.get(samples)
        if template is None:
            if samples == 1:
                template = np.ones(1)
            else:
                t = np.arange(max(samples, int(10 * (self.tau + self.rise)) + 2), dtype=np.float64)
                rising = 1.0 - np.exp(-t / self.rise) if self.rise > 0 else np.ones(t.size)
                template = rising * np.exp(-t / self.tau)
                template = template[:samples] / template.max()
            self.templates[samples] = template
        return template


class _TriggeredSimulator(_WaveformSimulator):
    """One triggered pulse per event, seen by every channel at once, over random background."""

    def __init__(self, example, *, trigger, jitter, gains, resolution, **options):
        super().__init__(example, **options)
        self.trigger = trigger
        self.jitter = jitter
        self.gains = [float(g) for g in gains] or [1.0]
        self.resolution = resolution
        self.amplitude = 0.0
        self.next_channel = 0

    def event(self) -> np.ndarray:
        self.amplitude = self.rng.exponential(self.height)
        self.next_channel = 0
        return super().event()

    def _placements(self, count: int, samples: int):
        gain = self.gains[self.next_channel % len(self.gains)]
        self.next_channel += 1
        start = round(self.trigger * (samples - 1) + self.rng.normal(0.0, self.jitter))
        spread = max(0.0, 1.0 + self.rng.normal(0.0, self.resolution))
        yield min(max(start, 0), samples - 1), self.amplitude * gain * spread
        yield from super()._placements(count, samples)


@signature(kind="importer")
def waveforms(
    n: int,
    rate: float = 0.0,
    *,
    example=None,
    batch: int | None = None,
    seed: int | None = None,
    noise: float = 0.01,
    baseline: float = 0.0,
    height: float = 0.5,
    tau: float = 40.0,
    rise: float = 4.0,
    trigger: float = 0.25,
    jitter: float = 1.0,
    gains: list = (),
    resolution: float = 0.05,
    background: float = 0.1,
    max_pulses: int = 4,
):
    """Simulated triggered multi-channel waveforms: one pulse per event seen by every channel.

    Like `stdlib.sources.pulses` (same channels, noise, pulse shape, ADC scaling, pace and
    `seed`), but each event is a trigger: a pulse of exponentially distributed amplitude (mean
    `height`) appears on every channel at `trigger` (a fraction of the waveform) give or take
    `jitter` samples (Gaussian), scaled on channel k by `gains[k]` (default 1 each; the list
    repeats when there are more channels) and smeared by a relative `resolution`. Each channel
    also carries random background pulses, uncorrelated (Poisson, mean `background`, at most
    `max_pulses`), as `pulses` places them.
    """
    if n < 0:
        raise ValueError(f"waveforms: n={n} must be 0 or more")
    _check_rate("waveforms", rate)
    if not 0.0 <= trigger <= 1.0 or jitter < 0 or resolution < 0 or background < 0:
        raise ValueError(
            "waveforms: trigger must lie between 0 and 1; jitter, resolution and background "
            "must be 0 or more"
        )
    if noise < 0 or max_pulses < 0 or tau <= 0 or rise < 0:
        raise ValueError(
            "waveforms: noise and max_pulses must be 0 or more, tau more than 0, rise 0 or more"
        )
    if any(not isinstance(g, int | float) or isinstance(g, bool) or g < 0 for g in gains):
        raise ValueError(f"waveforms: gains={list(gains)!r} must be numbers of 0 or more")
    if example is None:
        example = np.zeros(_DEFAULT_EXAMPLE_LENGTH, np.float32)
    simulator = _TriggeredSimulator(
        example,
        trigger=trigger,
        jitter=jitter,
        gains=gains,
        resolution=resolution,
        rng=np.random.default_rng(seed),
        noise=noise,
        baseline=baseline,
        mean_pulses=background,
        max_pulses=max_pulses,
        height=height,
        tau=tau,
        rise=rise,
    )
    events = (simulator.event() for _ in range(n))
    yield from grouped(events, batch, rate) if batch else _paced(events, rate)


def _is_numeric(dtype: np.dtype) -> bool:
    base = dtype.subdtype[0] if dtype.subdtype else dtype
    return base.kind in "iufc"


def _store(target: np.ndarray, signal: np.ndarray) -> None:
    """Write a float64 signal into a real field (ADC scaling for integers)."""
    if target.dtype.kind in "iu":
        info = np.iinfo(target.dtype)
        span = float(info.max) - float(info.min)
        counts = np.rint(float(info.min) + span * (0.1 + 0.4 * signal))
        np.clip(counts, info.min, info.max, out=counts)
        target[...] = counts
    else:
        target[...] = signal


# --- file readers ---------------------------------------------------------------------------------

# rows read from a file at once (an HDF5 dataset, a memory-mapped .npy)
_BLOCK_ROWS = 1024


def _paced(events, rate: float):
    """Yield `events` at `rate` per second on a deadline clock (0: as fast as possible)."""
    if not rate:
        yield from events
        return
    pacer = Pacer()
    for index, event in enumerate(events):
        pacer.wait_until(index / rate)
        yield event


def _events_of_rows(rows, example, origin: str, batch: int | None, rate: float):
    """The events of `rows` (an array or an HDF5 dataset, one row per event) fitted to the
    output's type, at `rate` per second: batches of up to `batch` rows, or event by event,
    read in blocks of _BLOCK_ROWS rows."""
    if batch:
        fit_rows = block_fitter(example, rows.dtype, rows.shape[1:], origin)
        yield from row_batches(rows, fit_rows, batch, _due_at(rows.shape[0], rate))
        return
    fit = fitter(example, rows.dtype, rows.shape[1:], origin)

    def events():
        for start in range(0, rows.shape[0], _BLOCK_ROWS):
            yield from (fit(row) for row in rows[start : start + _BLOCK_ROWS])

    yield from _paced(events(), rate)


def _due_at(count: int, rate: float) -> np.ndarray | None:
    """When each of `count` events is due at `rate` per second (None: as fast as possible)."""
    return np.arange(count) / rate if rate else None


def _check_rate(worker: str, rate: float) -> None:
    if rate is None or rate < 0:
        raise ValueError(f"{worker}: rate={rate!r} must be 0 (as fast as possible) or more")


def _existing(worker: str, path: str) -> Path:
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"{worker}: no file {str(source)!r} (from {os.getcwd()})")
    return source


@signature(kind="importer")
def npy(path: str, *, example=None, batch: int | None = None, rate: float = 0.0):
    """Read events from an .npy file, one row per event, as `stdlib.sinks.npy` writes them.

    The array holds shape (events,) for a buffer of LENGTH 1 and (events, LENGTH) otherwise.
    Struct fields are matched by name (fields the buffer lacks are left out; a field the buffer
    has and the file lacks fails at start) and cast to the buffer's dtypes. The file is
    memory-mapped, so a large file is never read at once. `rate`: events per second (0: as
    fast as possible).
    """
    _check_rate("npy", rate)
    rows = np.load(_existing("npy", path), mmap_mode="r")
    if rows.ndim == 0:
        raise ValueError(f"npy: {path!r} holds a single value, not rows of events")
    yield from _events_of_rows(rows, example, f"npy: {path!r}", batch, rate)


_TRUE_WORDS = {"1", "true", "yes", "on"}
_FALSE_WORDS = {"0", "false", "no", "off", ""}


def _parse_bool(text: str) -> bool:
    word = text.strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise ValueError(f"{text!r} is not a boolean (true/false, 1/0)")


def _converter(dtype: np.dtype):
    kind = dtype.kind
    if kind == "b":
        return _parse_bool
    if kind in "iu":
        return lambda text: int(text.strip())
    if kind == "c":
        return lambda text: complex(text.strip().replace(" ", ""))
    return lambda text: float(text.strip())


@signature(kind="importer")
def csv(
    path: str,
    *,
    example=None,
    batch: int | None = None,
    delimiter: str = ",",
    rate: float = 0.0,
):
    """Read events from a CSV file whose first row names the columns.

    Each row is one element of an event: a buffer of LENGTH n takes n consecutive rows per
    event (rows left over at the end that do not fill an event are an error). Each field of a
    struct buffer is read from the column of the same name (other columns are left out), a
    sub-array field from the columns `name[0]`, `name[1]`... (flattened, as `stdlib.sinks.csv`
    writes them); a plain buffer reads the column `value` (as the sink names it) or the file's
    only column. Booleans are
    true/false, yes/no or 1/0; blank lines are skipped; an empty file holds no events. A value
    that does not parse fails with its line and column. Without `example` (outside flowc), every column is read as float64.
    `rate`: events per second (0: as fast as possible).
    """
    _check_rate("csv", rate)
    if batch:
        yield from grouped(csv(path, example=example, delimiter=delimiter), batch, rate)
        return
    source = _existing("csv", path)
    if len(delimiter) != 1:
        raise ValueError(f"csv: delimiter={delimiter!r} must be one character")
    with open(source, newline="") as stream:
        rows = csv_format.reader(stream, delimiter=delimiter)
        header = [name.strip() for name in next(rows, [])]
        if not header:
            return  # an empty file holds no events (the CSV sink writes none without events)
        if example is None:
            example = np.zeros(1, [(name, "f8") for name in header])
        columns = _csv_columns(example, header, path)
        length = example.shape[0]
        event = np.empty_like(example)
        filled = 0
        pacer = Pacer()
        produced = 0
        for row in rows:
            if not row or all(not cell.strip() for cell in row):
                continue
            line = rows.line_num
            for target, index, convert, position in columns:
                try:
                    value = convert(row[index])
                except (IndexError, ValueError) as exc:
                    raise ValueError(
                        f"csv: {path!r} line {line}, column {header[index]!r}: "
                        + ("missing" if isinstance(exc, IndexError) else str(exc))
                    ) from None
                if position is None:
                    (event if target is None else event[target])[filled] = value
                else:
                    event[target][filled].flat[position] = value
            filled += 1
            if filled == length:
                if rate:
                    pacer.wait_until(produced / rate)
                yield event
                produced += 1
                event = np.empty_like(example)
                filled = 0
        if filled:
            raise ValueError(
                f"csv: {path!r} ends with {filled} row(s), fewer than the {length} of an event"
            )


def _csv_columns(example: np.ndarray, header: list[str], path: str):
    """(field or None, column index, converter, flat position in a sub-array or None) for each
    value an element takes from a row."""
    names = example.dtype.names
    if names is None:
        if "value" in header:
            return [(None, header.index("value"), _converter(example.dtype), None)]
        if len(header) != 1:
            raise ValueError(
                f"csv: {path!r} has {len(header)} columns ({', '.join(header)}), but the buffer "
                "is a plain array: it reads the column `value`, or a file of one column"
            )
        return [(None, 0, _converter(example.dtype), None)]
    columns = []
    for name in names:
        field_dtype = example.dtype[name]
        convert = _converter(field_dtype.base)
        wanted = (
            [(f"{name}[{i}]", i) for i in range(int(np.prod(field_dtype.shape)))]
            if field_dtype.shape
            else [(name, None)]
        )
        for column, position in wanted:
            if column not in header:
                raise ValueError(
                    f"csv: {path!r} has no column {column!r} (its columns: {', '.join(header)})"
                )
            columns.append((name, header.index(column), convert, position))
    return columns


def _open_hdf5(worker: str, path: str, **options):
    import h5py

    try:
        return h5py.File(_existing(worker, path), "r", **options)
    except OSError as exc:
        raise OSError(f"{worker}: {path!r} cannot be read as HDF5: {exc}") from None


def _hdf5_dataset(worker: str, handle, name: str, path: str):
    found = handle.get(name)
    if found is None or not hasattr(found, "shape"):
        have = []
        handle.visititems(lambda key, obj: have.append(key) if hasattr(obj, "shape") else None)
        raise KeyError(
            f"{worker}: {path!r} has no dataset {name!r} (datasets: {', '.join(have) or 'none'})"
        )
    if found.ndim == 0:
        raise ValueError(f"{worker}: dataset {name!r} of {path!r} is a scalar, not rows of events")
    return found


@signature(kind="importer")
def hdf5(
    path: str,
    dataset: str = "events",
    *,
    example=None,
    batch: int | None = None,
    rate: float = 0.0,
):
    """Read events from a dataset of an HDF5 file, one row per event.

    Files written by `stdlib.sinks.hdf5` read back as they were written. The dataset holds shape (events,) for a buffer of LENGTH 1 and (events, LENGTH) otherwise;
    compound fields are matched by name and cast like `stdlib.sources.npy`. Rows are read in
    blocks of 1024, so a file larger than memory streams. `rate`: events per second (0: as fast
    as possible).
    """
    _check_rate("hdf5", rate)
    with _open_hdf5("hdf5", path) as handle:
        rows = _hdf5_dataset("hdf5", handle, dataset, path)
        yield from _events_of_rows(rows, example, f"hdf5: {path!r}:{dataset}", batch, rate)


@signature(kind="importer")
def replay(
    path: str,
    *,
    example=None,
    batch: int | None = None,
    speed: float = 1.0,
    dataset: str = "events",
):
    """Replay a recorded file at its recorded timing, faster or slower, or as fast as possible.

    `speed=1` keeps the recorded timing, `speed=k` runs k times faster, `speed=0` as fast as
    possible. A recording is an .npy file with its metadata beside it (`<stem>_meta.npy`, as
    `stdlib.sinks.npy(metadata=true)` writes it) or an HDF5 file with a `meta` dataset beside
    `dataset` (as `stdlib.sinks.hdf5` writes it). Event i is due `(timestamp[i] -
    timestamp[0]) / speed` seconds after the start, on a deadline clock that does not drift;
    an event recorded out of order is due at once. Fields are matched as `stdlib.sources.npy`
    matches them. With `batch=N` a batch holds the events due by then, up to N.
    """
    if speed is None or speed < 0:
        raise ValueError(f"replay: speed={speed!r} must be 0 (as fast as possible) or more")
    source = _existing("replay", path)
    if source.suffix == ".npy":
        meta_path = source.with_name(f"{source.stem}_meta.npy")
        if not meta_path.is_file():
            raise FileNotFoundError(
                f"replay: {path!r} has no metadata beside it ({meta_path.name}); record it with "
                "stdlib.sinks.npy(..., metadata=true)"
            )
        rows = np.load(source, mmap_mode="r")
        stamps = np.load(meta_path)["timestamp"]
        yield from _replayed(rows, stamps, example, speed, f"replay: {path!r}", batch)
        return
    with _open_hdf5("replay", path) as handle:
        rows = _hdf5_dataset("replay", handle, dataset, path)
        if "meta" not in handle:
            raise KeyError(
                f"replay: {path!r} has no `meta` dataset; record it with stdlib.sinks.hdf5"
            )
        stamps = handle["meta"]["timestamp"]
        yield from _replayed(rows, stamps, example, speed, f"replay: {path!r}:{dataset}", batch)


def _replayed(rows, stamps: np.ndarray, example, speed: float, origin: str, batch=None):
    if len(stamps) != rows.shape[0]:
        raise ValueError(f"{origin} holds {rows.shape[0]} events but {len(stamps)} metadata rows")
    if batch:
        stamps = np.asarray(stamps, dtype=np.float64)
        # an event recorded out of order is due at once (with the one before it)
        due = np.maximum.accumulate(stamps - stamps[0]) / speed if speed and len(stamps) else None
        fit_rows = block_fitter(example, rows.dtype, rows.shape[1:], origin)
        yield from row_batches(rows, fit_rows, batch, due)
        return
    fit = fitter(example, rows.dtype, rows.shape[1:], origin)
    pacer = Pacer()
    first = float(stamps[0]) if len(stamps) else 0.0
    for start in range(0, rows.shape[0], _BLOCK_ROWS):
        block = rows[start : start + _BLOCK_ROWS]
        for offset, row in enumerate(block):
            if speed:
                pacer.wait_until((float(stamps[start + offset]) - first) / speed)
            yield fit(row)


# --- following an HDF5 file while it is written (SWMR) --------------------------------------------


@signature(kind="importer")
def swmr_follow(
    path: str,
    datasets: list,
    *,
    example=None,
    keys: list | None = None,
    finished: str | None = None,
    timeout: float = 10.0,
    poll: float = 0.05,
):
    """Follow an HDF5 file while another process writes it in SWMR mode, one event per frame.

    `datasets` are the paths of the data datasets, one frame per scan point. A plain buffer
    reads one dataset; a struct buffer fills each field from the dataset whose last path
    component is the field's name (every field needs one). A frame must hold as many values
    as the event's field (or the plain event) holds.

    Which frames are complete follows swmr_tools' KeyFollower: with `keys` (paths of key
    datasets, written after the data of a point), point i is complete when every key is
    non-zero at i, counting the keys' elements in C order; points are taken in that order, each
    as soon as it and those before it are complete. A key's dimensions, trailing ones of
    length 1 left out, are the scan's (a 3x4 grid scan has keys of shape (3, 4) or (3, 4, 1,
    1), and data of shape (3, 4, *frame)); keys and data may grow along their first axis.
    Without keys the scan is one-dimensional and frame i is complete when every data dataset
    has grown past i. The follower stops
    when the writer sets the scalar dataset `finished` to a non-zero value (it looks once more
    for frames flushed just before the flag), or when no new frame has come for `timeout`
    seconds; either ends the stream normally, with a line on stderr saying which. The file may
    appear after the follower starts: it is waited for, up to `timeout` seconds. It looks for
    new frames every `poll` seconds while none are waiting. Compressed datasets (Blosc, LZ4,
    Zstd...) are read through hdf5plugin's filters when it is installed (`pip install
    hdf5plugin`); without it such a file fails with a message saying so. Datasets that grow
    or change while followed must be chunked (as SWMR writers make them).
    """
    import h5py

    _load_hdf5_filters()

    names = [datasets] if isinstance(datasets, str) else list(datasets)
    key_names = [keys] if isinstance(keys, str) else list(keys or [])
    if not names:
        raise ValueError("swmr_follow: datasets= names no dataset")
    if not timeout > 0 or not poll > 0:
        raise ValueError(
            f"swmr_follow: timeout={timeout!r} and poll={poll!r} must be more than 0 seconds"
        )
    required = names + key_names + ([finished] if finished else [])
    with _open_swmr(h5py, path, required, timeout, poll) as handle:
        follower = _FrameFollower(handle, names, key_names, finished, timeout, poll)
        moves = (
            _frame_fillers(example, follower.data, names, path, follower.rank)
            if example is not None
            else []
        )
        for rows in _readable(follower.blocks(), follower.data, names, path):
            for index in range(len(rows[0])):
                yield _frame_event(example, moves, rows, index)
        print(
            f"swmr_follow: {follower.frames} frame(s) of {path!r}, stopped by {follower.ended_by}",
            file=sys.stderr,
            flush=True,
        )


def _load_hdf5_filters() -> None:
    """Register hdf5plugin's compression filters with HDF5 when hdf5plugin is installed."""
    try:
        import hdf5plugin  # noqa: F401 - importing it registers the filters
    except ImportError:
        pass


def _readable(blocks, datasets: list, names: list[str], path: str):
    """`blocks`, with a read that fails for want of a compression filter explained."""
    try:
        yield from blocks
    except OSError as exc:
        missing = sorted({name for dataset in datasets for name in _missing_filters(dataset)})
        if not missing:
            raise
        raise RuntimeError(
            f"swmr_follow: {', '.join(map(repr, names))} in {path!r} "
            f"{'is' if len(names) == 1 else 'are'} compressed with {', '.join(missing)}, which "
            f"HDF5 cannot load here ({exc}); install the filters: pip install hdf5plugin (or "
            "flowc's extra: pip install 'flowc[hdf5plugin]')"
        ) from None


def _missing_filters(dataset) -> list[str]:
    """The names of the filters a dataset was written with that HDF5 cannot load here."""
    from h5py import h5z

    plist = dataset.id.get_create_plist()
    missing = []
    for index in range(plist.get_nfilters()):
        code, _, _, name = plist.get_filter(index)
        if not h5z.filter_avail(code):
            missing.append(name.decode(errors="replace").split()[0] or f"filter {code}")
    return missing


def _frame_fillers(example, datasets: list, names: list[str], path: str, rank: int = 1) -> list:
    """(dataset index, source field or None, event field or None) for each value of an event.

    A plain buffer takes one dataset. A struct buffer takes a compound dataset's fields by
    name, and a plain dataset into the field named as its last path component; every field of
    the buffer must be filled by some dataset. Frame sizes are checked here, once.
    """
    if example.dtype.names is None:
        if len(datasets) != 1:
            raise ValueError(
                f"swmr_follow: a plain buffer reads one dataset, not {len(names)} ({', '.join(names)})"
            )
        moves = [(0, None, None)]
    else:
        fields = example.dtype.names
        moves = []
        for index, (dataset, name) in enumerate(zip(datasets, names, strict=True)):
            if dataset.dtype.names is not None:
                common = [f for f in dataset.dtype.names if f in fields]
                if not common:
                    raise ValueError(
                        f"swmr_follow: dataset {name!r} has none of the buffer's fields "
                        f"({', '.join(fields)})"
                    )
                moves.extend((index, f, f) for f in common)
                continue
            field = name.rstrip("/").rsplit("/", 1)[-1]
            if field not in fields:
                raise ValueError(
                    f"swmr_follow: the buffer has no field {field!r} for dataset {name!r} to "
                    f"fill (fields: {', '.join(fields)})"
                )
            moves.append((index, None, field))
        uncovered = [f for f in fields if f not in {target for _, _, target in moves}]
        if uncovered:
            raise ValueError(
                f"swmr_follow: no dataset fills field {uncovered[0]!r}; add a dataset named "
                f".../{uncovered[0]} (or a compound one with that field) to datasets="
            )
    for index, source, target in moves:
        dataset = datasets[index]
        frame = np.empty(dataset.shape[rank:], dataset.dtype)
        value = frame if source is None else frame[source]
        into = example if target is None else example[target]
        if value.size != into.size:
            what = "the event" if target is None else f"field {target!r}"
            raise ValueError(
                f"swmr_follow: a frame of {names[index]!r} in {path!r} holds {value.size} "
                f"values, but {what} holds {into.size}"
            )
    return moves


def _open_swmr(h5py, path: str, required: list[str], timeout: float, poll: float):
    """Open `path` for SWMR reading once it exists and holds every `required` dataset, waiting
    up to `timeout` seconds (a writer creates its datasets before it turns SWMR on)."""
    deadline = time.monotonic() + timeout
    while True:
        problem = "no such file"
        if os.path.isfile(path):
            try:
                handle = h5py.File(path, "r", swmr=True)
            except OSError as exc:
                problem = str(exc)
            else:
                absent = [name for name in required if not hasattr(handle.get(name), "shape")]
                if not absent:
                    return handle
                handle.close()
                problem = f"it has no dataset {absent[0]!r}"
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"swmr_follow: {path!r} could not be followed within {timeout} s: {problem}"
            )
        time.sleep(poll)


class _FrameFollower:
    """Finds the complete frames of a file written in SWMR mode (KeyFollower's semantics).

    Points are numbered in C order over the scan's dimensions (`rank` of them, the keys'
    dimensions without trailing ones of length 1); the first may grow.
    """

    def __init__(self, handle, names, key_names, finished, timeout, poll):
        self.timeout = timeout
        self.poll = poll
        self.frames = 0
        self.ended_by = ""
        self.data = [handle[name] for name in names]
        self.keys = [handle[name] for name in key_names]
        self.finished = handle[finished] if finished else None
        ranks = {_scan_rank(key.maxshape or key.shape) for key in self.keys} or {1}
        if len(ranks) > 1:
            raise ValueError(
                f"swmr_follow: the key datasets {', '.join(key_names)} span scans of "
                f"different dimensions ({', '.join(map(str, sorted(ranks)))})"
            )
        self.rank = ranks.pop()
        # the scan's dimensions after the first (the first may grow)
        self.inner = tuple(self.keys[0].shape[1 : self.rank]) if self.keys else ()
        for name, dataset in zip(names, self.data, strict=True):
            if dataset.ndim < self.rank or tuple(dataset.shape[1 : self.rank]) != self.inner:
                raise ValueError(
                    f"swmr_follow: dataset {name!r} of shape {dataset.shape} does not hold a "
                    f"frame per point of a scan of shape (n, {', '.join(map(str, self.inner))})"
                )

    def available(self) -> int:
        """How many points are complete now (those before `self.frames` stay complete)."""
        for dataset in self.data + self.keys:
            if dataset.chunks is not None:  # a contiguous dataset cannot change its size
                dataset.refresh()
        per_row = int(np.prod(self.inner, dtype=np.int64))
        count = min(dataset.shape[0] for dataset in self.data) * per_row
        for key in self.keys:
            if self.rank == 1:
                fresh = key[self.frames : max(self.frames, key.shape[0])]
                per_frame = int(np.prod(fresh.shape[1:], dtype=np.int64))
                written = (fresh.reshape(fresh.shape[0], per_frame) != 0).all(axis=1)
            else:  # the rows from the one holding the first point not yet complete
                row = self.frames // per_row
                fresh = key[row : max(row, key.shape[0])].reshape(-1)
                written = fresh[self.frames - row * per_row :] != 0
            missing = np.flatnonzero(~written)
            count = min(count, self.frames + (int(missing[0]) if missing.size else written.size))
        return count

    def rows(self, start: int, stop: int) -> list[np.ndarray]:
        """The frames of points start..stop-1, one array per data dataset."""
        if self.rank == 1:
            return [dataset[start:stop] for dataset in self.data]
        per_row = int(np.prod(self.inner, dtype=np.int64))
        first, last = start // per_row, (stop - 1) // per_row
        offset = start - first * per_row
        frames = []
        for dataset in self.data:  # one read of the rows holding the points
            rows = dataset[first : last + 1]
            flat = rows.reshape(rows.shape[0] * per_row, *rows.shape[self.rank :])
            frames.append(flat[offset : offset + stop - start])
        return frames

    def is_finished(self) -> bool:
        if self.finished is None:
            return False
        self.finished.refresh()
        return bool(np.asarray(self.finished[()]).any())

    def blocks(self):
        """Yield the frames of each batch of new points, one array per data dataset."""
        last_new = time.monotonic()
        flagged = False
        while True:
            count = self.available()
            if count > self.frames:
                yield self.rows(self.frames, count)
                self.frames = count
                last_new = time.monotonic()
                continue
            if flagged:
                self.ended_by = "the finished flag"
                return
            if self.is_finished():
                flagged = True  # look once more: the last frames may be flushed after the flag
                continue
            if time.monotonic() - last_new >= self.timeout:
                self.ended_by = f"the timeout (no new frame for {self.timeout} s)"
                return
            time.sleep(self.poll)


def _scan_rank(shape: tuple) -> int:
    """A key's scan dimensions: its dimensions without trailing ones of length 1 (at least 1)."""
    rank = len(shape)
    while rank > 1 and shape[rank - 1] == 1:
        rank -= 1
    return max(rank, 1)


def _frame_event(example, moves, rows, index: int) -> np.ndarray:
    if example is None:
        return np.array(rows[0][index], copy=True)
    event = np.empty_like(example)
    for dataset, source, target in moves:
        value = rows[dataset][index]
        if source is not None:
            value = value[source]
        into = event if target is None else event[target]
        into[...] = np.reshape(value, into.shape)
    return event
