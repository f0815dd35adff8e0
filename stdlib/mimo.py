"""mimoCoRB2's library workers as flowc workers: its .mimo files (export, replay at a fixed rate or
by their timestamps), its histogram exporter (.npy counts beside info.csv) and its pulse-height
analysis. They write and read the same files and compute the same numbers as mimoCoRB2 0.0.4,
so `flowc import mimocorb2` can replace `data.export`, `data.clocked_importer`,
`data.simulate_importer`, `exporters.histogram` and `analyzers.pha` with them.
"""

from __future__ import annotations

import csv as csv_format
import math
import os
import pickle
import time
from pathlib import Path

import numpy as np

from flowc.callables import signature
from flowc.types import META_DTYPE

from ._records import Pacer, fitter
from .sinks import _open_exclusively
from .sources import _existing

# --- .mimo files ---------------------------------------------------------------------------------
#
# A .mimo file is a pickled dict (version 1, a header text, data_dtype, data_length,
# metadata_dtype, metadata_length) followed by one record per event: the event's data bytes
# (data_length elements of data_dtype), then its metadata bytes.

MIMO_HEADER = "This is a mimoCoRB file"
MIMO_VERSION = 1


class _DtypeOnlyUnpickler(pickle.Unpickler):
    """Reads a .mimo header: a dict of plain values and numpy dtypes, nothing else (a .mimo
    file from elsewhere cannot run code when it is opened)."""

    def find_class(self, module: str, name: str):
        if module in ("numpy", "numpy.dtypes") and (name == "dtype" or name.endswith("DType")):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"a .mimo header may hold only numpy dtypes, not {module}.{name}"
        )


def mimo_info(data_dtype: np.dtype, data_length: int) -> dict:
    """The header of a .mimo file holding events of `data_length` elements of `data_dtype`."""
    return {
        "version": MIMO_VERSION,
        "header": MIMO_HEADER,
        "data_dtype": np.dtype(data_dtype),
        "data_length": int(data_length),
        "metadata_dtype": META_DTYPE,
        "metadata_length": 1,
    }


def read_mimo(path: str | os.PathLike) -> tuple[dict, np.ndarray, np.ndarray]:
    """(header, data of shape (events, data_length), metadata of shape (events,)) of a .mimo file.

    Raises ValueError naming the file when it is not one (or ends inside an event, as a file
    still being written may: the complete events are returned then, and the rest is left).
    """
    path = Path(path)
    with path.open("rb") as handle:
        try:
            info = _DtypeOnlyUnpickler(handle).load()
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
            raise ValueError(f"{path} is not a .mimo file: {exc}") from None
        if not isinstance(info, dict) or info.get("header") != MIMO_HEADER:
            raise ValueError(f"{path} is not a .mimo file (its header is not mimoCoRB2's)")
        body = handle.read()
    data_dtype = np.dtype(info["data_dtype"])
    meta_dtype = np.dtype(info["metadata_dtype"])
    record = np.dtype(
        [
            ("data", data_dtype, (int(info["data_length"]),)),
            ("meta", meta_dtype, (int(info["metadata_length"]),)),
        ]
    )
    events = len(body) // record.itemsize
    rows = np.frombuffer(body, dtype=record, count=events)
    return info, rows["data"], rows["meta"][:, 0]


@signature(kind="exporter")
class export:
    """Write every event and its metadata to a .mimo file, mimoCoRB2's own format.

    mimoCoRB2's `data.export` names the file `<buffer>.mimo` in the run directory; here `path`
    says where (it must end in .mimo; parent folders are created). The file is a pickled
    header (the data dtype and length, the metadata dtype) followed by each event's data bytes
    and metadata bytes, and reads back with `stdlib.mimo.clocked`, `stdlib.mimo.replay`,
    `stdlib.mimo.read_mimo` or mimoCoRB2's `mimoFile`. The header is written with the first
    event, so a run without events leaves no file. Takes batches as well as single events.
    Runs with processes=1: a second process writing the same file fails at start.
    """

    def __init__(self, *, path: str):
        target = Path(path)
        if target.suffix != ".mimo":
            raise ValueError(f"export: path {path!r} must end in .mimo")
        target.parent.mkdir(parents=True, exist_ok=True)
        self.file = os.fdopen(_open_exclusively(target, os.O_WRONLY), "wb")
        self.path = target
        self.record: np.dtype | None = None

    def process(self, data, meta=None) -> None:
        rows = data if data.ndim == 2 else data[np.newaxis]  # a batch, or one event
        metas = np.zeros(len(rows), META_DTYPE) if meta is None else np.atleast_1d(meta)
        if self.record is None:
            length = rows.shape[1]
            self.record = np.dtype([("data", rows.dtype, (length,)), ("meta", META_DTYPE)])
            pickle.dump(mimo_info(rows.dtype, length), self.file)
        out = np.empty(len(rows), self.record)
        out["data"] = rows
        out["meta"] = metas
        self.file.write(out.tobytes())

    def finish(self) -> None:
        self.file.close()


def _events_of(worker: str, path: str, example) -> tuple[np.ndarray, np.ndarray, object]:
    """(data rows, metadata rows, a function making an event of the buffer from a data row)."""
    info, rows, metas = read_mimo(_existing(worker, path))
    shape = (int(info["data_length"]),)
    fit = fitter(example, rows.dtype, shape if shape != (1,) else (), f"{worker}: {path}")
    return rows, metas, fit


@signature(kind="importer")
def clocked(
    path: str,
    *,
    rate: float,
    distribution: str = "uniform",
    seed: int | None = None,
    example=None,
):
    """Read the events of a .mimo file at `rate` per second (mimoCoRB2's data.clocked_importer).

    `distribution="uniform"` spaces them 1/rate apart; `"poisson"` makes them a Poisson
    process of that rate (exponential gaps, reproducible with `seed`). mimoCoRB2's own
    "poisson" sleeps a Poisson-distributed whole number of seconds of mean 1/rate, which above
    1 Hz is mostly no wait at all. Each event waits before it is sent, as in mimoCoRB2. Struct
    fields are matched by name and cast to the buffer's dtypes; the file's metadata is not
    kept (flowc numbers and timestamps the events it imports).
    """
    if not rate or rate <= 0:
        raise ValueError(f"clocked: rate={rate!r} must be a positive number of events per second")
    if distribution not in ("uniform", "poisson"):
        raise ValueError(f'clocked: distribution={distribution!r} must be "uniform" or "poisson"')
    rows, _, fit = _events_of("clocked", path, example)
    random = np.random.default_rng(seed)
    pacer = Pacer()
    due = 0.0
    for row in rows:
        due += 1.0 / rate if distribution == "uniform" else random.exponential(1.0 / rate)
        pacer.wait_until(due)
        yield fit(row)


@signature(kind="importer")
def replay(path: str, *, speed: float = 1.0, example=None):
    """Read the events of a .mimo file spaced as their timestamps were (data.simulate_importer).

    The first event goes at once, each later one when as much time has passed since the first
    as passed between their timestamps, divided by `speed` (0: as fast as possible).
    Timestamps out of order send events in bunches, as in mimoCoRB2.
    """
    if speed is None or speed < 0:
        raise ValueError(f"replay: speed={speed!r} must be 0 (as fast as possible) or more")
    rows, metas, fit = _events_of("replay", path, example)
    pacer = Pacer()
    stamps = metas["timestamp"]
    for row, stamp in zip(rows, stamps, strict=True):
        if speed:
            pacer.wait_until((float(stamp) - float(stamps[0])) / speed)
        yield fit(row)


# --- histograms as mimoCoRB2's exporters.histogram writes them -------------------------------------


@signature(kind="exporter")
class histogram:
    """Histogram fields of every event into `<directory>/<field>.npy`, with `info.csv` beside.

    `bins` maps each field to `[min, max, n]`; as in mimoCoRB2, the bin edges are
    `numpy.linspace(min, max, n)`, so a field has n-1 bins, the last one closed on the right,
    and values outside [min, max] are not counted. `info.csv` has the columns Channel, Min,
    Max, NBins (one row per field, in the order of `bins`); each `.npy` holds the counts as
    int64. The files are written at the start (empty counts), every `update_interval` seconds
    (at the next event) and at the end. Every element of the field counts (mimoCoRB2 allows
    only LENGTH 1). Takes batches as well as single events. An exporter: it counts every event,
    and passes each on unchanged to its outputs, if any. With processes=N each process would
    overwrite the others' files: run it with processes=1.
    """

    def __init__(self, *, bins: dict, directory: str, update_interval: float = 1.0):
        if not isinstance(bins, dict) or not bins:
            raise ValueError(
                "histogram: bins must map fields to [min, max, n], like {height: [0, 1, 51]}"
            )
        self.edges: dict[str, np.ndarray] = {}
        for field, spec in bins.items():
            if (
                not isinstance(spec, list | tuple)
                or len(spec) != 3
                or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in spec)
                or not all(math.isfinite(x) for x in spec)
                or not spec[0] < spec[1]
                or int(spec[2]) != spec[2]
                or spec[2] < 2
            ):
                raise ValueError(
                    f"histogram: bins[{field!r}] = {spec!r} must be [min, max, n] with "
                    "min < max and n >= 2 edges"
                )
            self.edges[str(field)] = np.linspace(spec[0], spec[1], int(spec[2]))
        if not update_interval > 0:
            raise ValueError(f"histogram: update_interval={update_interval!r} must be > 0")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.update_interval = float(update_interval)
        self.counts = {
            field: np.zeros(len(e) - 1, dtype=np.int64) for field, e in self.edges.items()
        }
        self.checked = False
        with (self.directory / "info.csv").open("w", newline="") as handle:
            writer = csv_format.writer(handle)
            writer.writerow(["Channel", "Min", "Max", "NBins"])
            for field, spec in bins.items():
                writer.writerow([field, *spec])
        self.save()

    def save(self) -> None:
        for field, counts in self.counts.items():
            target = self.directory / f"{field}.npy"
            partial = target.with_name(f".{target.name}.partial")
            with partial.open("wb") as handle:
                np.save(handle, counts)
            partial.replace(target)
        self.last_save = time.monotonic()

    def process(self, data) -> None:
        if not self.checked:
            names = data.dtype.names or ()
            missing = [field for field in self.edges if field not in names]
            if missing:
                raise ValueError(
                    f"histogram: the buffer has no field {missing[0]!r} (fields: "
                    f"{', '.join(names) or 'none, it is a plain array'})"
                )
            self.checked = True
        for field, edges in self.edges.items():
            self.counts[field] += np.histogram(data[field], bins=edges)[0]
        if time.monotonic() - self.last_save > self.update_interval:
            self.save()

    def finish(self) -> None:
        self.save()


# --- pulse-height analysis (mimoCoRB2's analyzers.pha) -------------------------------------------

# each property find_peaks can report, the argument that makes it report it, and its dtype
_PHA_PROPERTIES = {
    "position": (None, "i8"),
    "peak_heights": ("height", "f8"),
    "left_thresholds": ("threshold", "f8"),
    "right_thresholds": ("threshold", "f8"),
    "prominences": ("prominence", "f8"),
    "left_bases": ("prominence", "i8"),
    "right_bases": ("prominence", "i8"),
    "widths": ("width", "f8"),
    "width_heights": ("width", "f8"),
    "left_ips": ("width", "f8"),
    "right_ips": ("width", "f8"),
    "plateau_sizes": ("plateau_size", "i8"),
    "left_edges": ("plateau_size", "i8"),
    "right_edges": ("plateau_size", "i8"),
}


@signature(field_args=("channel",), kind="processor", batch=False)
class pha:
    """Pulse-height analysis of one channel with scipy.signal.find_peaks (analyzers.pha).

    `channel` names the field holding the waveform (default: the first field). `height`,
    `threshold`, `distance`, `prominence`, `width`, `wlen`, `rel_height` and `plateau_size`
    are passed to find_peaks. `fields` are the output's fields, a list of names or a mapping
    of names to dtype codes (`{peak_heights: "i2"}`; values are cast to them as numpy casts,
    a float height into an int16 field truncated, as mimoCoRB2 stores them); each is
    `position` (the peak's sample index) or a property find_peaks reports: `peak_heights` (needs `height`),
    `left_thresholds`/`right_thresholds` (`threshold`), `prominences`/`left_bases`/
    `right_bases` (`prominence`), `widths`/`width_heights`/`left_ips`/`right_ips` (`width`),
    `plateau_sizes`/`left_edges`/`right_edges` (`plateau_size`). With `peaks="first"` (as
    mimoCoRB2 does) a waveform gives one event, its first peak, and a waveform without a peak
    gives none; `peaks="all"` gives one event per peak. Needs scipy.
    """

    def __init__(
        self,
        *,
        fields: list | dict,
        channel: str | None = None,
        height: float | None = None,
        threshold: float | None = None,
        distance: float | None = None,
        prominence: float | None = None,
        width: float | None = None,
        wlen: int | None = None,
        rel_height: float = 0.5,
        plateau_size: float | None = None,
        peaks: str = "first",
    ):
        try:
            from scipy.signal import find_peaks
        except ImportError:
            raise ImportError("pha needs scipy: pip install scipy") from None
        given = {
            "height": height,
            "threshold": threshold,
            "prominence": prominence,
            "width": width,
            "plateau_size": plateau_size,
        }
        if not fields:
            raise ValueError("pha: fields= names no output field")
        for field in fields:
            if field not in _PHA_PROPERTIES:
                raise ValueError(
                    f"pha: field {field!r} is not a peak property (one of "
                    f"{', '.join(_PHA_PROPERTIES)})"
                )
            needs = _PHA_PROPERTIES[field][0]
            if needs is not None and given[needs] is None:
                raise ValueError(f"pha: field {field!r} is only reported with {needs}= given")
        if peaks not in ("first", "all"):
            raise ValueError(f'pha: peaks={peaks!r} must be "first" or "all"')
        self.find_peaks = find_peaks
        self.options = {
            **given,
            "distance": distance,
            "wlen": wlen,
            "rel_height": rel_height,
        }
        self.channel = channel
        self.fields = list(fields)
        codes = fields if isinstance(fields, dict) else {}
        try:
            self.dtype = np.dtype([(f, codes.get(f, _PHA_PROPERTIES[f][1])) for f in self.fields])
        except TypeError as exc:
            raise ValueError(f"pha: fields={fields!r} names a dtype numpy does not know") from exc
        self.first_only = peaks == "first"

    def process(self, data):
        names = data.dtype.names
        channel = self.channel or (names[0] if names else None)
        if names is None:
            waveform = data
        elif channel in names:
            waveform = data[channel]
        else:
            raise ValueError(
                f"pha: the buffer has no field {channel!r} (fields: {', '.join(names)})"
            )
        found, properties = self.find_peaks(waveform, **self.options)
        count = min(len(found), 1) if self.first_only else len(found)
        for index in range(count):
            event = np.zeros(1, self.dtype)
            for field in self.fields:
                event[field] = found[index] if field == "position" else properties[field][index]
            yield event
