"""Standard exporters: write events to files (.npy, CSV, HDF5 with provenance), histogram them, or
discard them.

Each takes one event per call, or a batch with `batch=N` (data of shape (k, LENGTH), metadata
of shape (k,)), which it writes in one call.
"""

from __future__ import annotations

import csv as csv_format
import fcntl
import hashlib
import json
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np
import numpy.lib.format as npy_format

from flowc.callables import signature
from flowc.types import META_DTYPE

_NPY_MAGIC = b"\x93NUMPY"
# the header is written first with a shape this long, so the final one always fits in place
_LONGEST_SHAPE = (2**63 - 1, 2**63 - 1)
_WRITE_BUFFER_BYTES = 1 << 20


class NpyStream:
    """An .npy file written one block at a time, whose header is completed by `close()`.

    The header is written first with room for any final shape; `append` writes raw bytes; `close`
    rewrites the header with the real shape (a stream closed before `start` holds an empty array
    of `empty_dtype`). Meanwhile the header is brought up to date at most every
    `checkpoint_s` seconds, so a run that dies without closing leaves a valid file holding the
    rows written until the last checkpoint. The file is locked (flock) while open, so two
    processes cannot write it at once.
    """

    checkpoint_s = 1.0

    def __init__(self, path: Path, *, empty_dtype: np.dtype):
        self.path = path
        self.empty_dtype = empty_dtype
        self.dtype: np.dtype | None = None
        self.shape_tail: tuple[int, ...] = ()
        self.rows = 0
        self.header_bytes = 0
        self.last_checkpoint = time.monotonic()
        fd = _open_exclusively(path, os.O_RDWR)
        self.file = os.fdopen(fd, "wb", buffering=_WRITE_BUFFER_BYTES)

    def start(self, dtype: np.dtype, shape_tail: tuple[int, ...]) -> None:
        """Fix the dtype and the shape of one row, and write the provisional header."""
        self.dtype = dtype
        self.shape_tail = shape_tail
        self.header_bytes = len(_header(dtype, _LONGEST_SHAPE[: 1 + len(shape_tail)]))
        self.file.write(_header(dtype, (0, *shape_tail), self.header_bytes))
        self.file.flush()

    def append(self, rows: np.ndarray) -> None:
        """Write rows of the stream's dtype and row shape (one or more, along axis 0)."""
        self.file.write(np.ascontiguousarray(rows).view(np.uint8).data)
        self.rows += rows.shape[0]
        now = time.monotonic()
        if now - self.last_checkpoint >= self.checkpoint_s:
            self.last_checkpoint = now
            self.file.flush()
            os.pwrite(self.file.fileno(), self._current_header(), 0)

    def _current_header(self) -> bytes:
        return _header(self.dtype, (self.rows, *self.shape_tail), self.header_bytes)

    def close(self) -> None:
        if self.file.closed:
            return
        if self.dtype is None:
            self.start(self.empty_dtype, ())
        self.file.flush()
        os.pwrite(self.file.fileno(), self._current_header(), 0)
        self.file.close()


def _header(dtype: np.dtype, shape: tuple[int, ...], size: int | None = None) -> bytes:
    """The bytes of an .npy header (magic, version, length, dict), padded to `size` if given."""
    text = repr({"descr": npy_format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape})
    try:
        encoded = text.encode("latin1")
        version = 1
    except UnicodeEncodeError:
        encoded = text.encode("utf8")
        version = 3
    if version == 1 and len(encoded) > 65000:
        version = 2
    prefix_bytes = len(_NPY_MAGIC) + 2 + (2 if version == 1 else 4)
    total = size if size is not None else -(-(prefix_bytes + len(encoded) + 1) // 64) * 64
    body = encoded + b" " * (total - prefix_bytes - len(encoded) - 1) + b"\n"
    length = len(body).to_bytes(2 if version == 1 else 4, "little")
    return _NPY_MAGIC + bytes([version, 0]) + length + body


@signature(kind="exporter")
class npy:
    """Stream every event into an .npy file, without holding them in memory.

    The file loads with `np.load(path)` as an array of the buffer's dtype, of shape (events,)
    when the buffer's LENGTH is 1 and (events, LENGTH) otherwise, in the order the events
    arrived. Parent folders are created. With `metadata=true`, the events' metadata records
    ({counter: i8, timestamp: f8, deadtime: f8}) go to `<path stem>_meta.npy` beside it, one per
    event. The file is complete when the run ends; while it runs (or if it dies) the file
    reads as the events written until about a second before. With no events at all it holds
    an empty float64 array, since the dtype comes from the first event.
    Runs with processes=1: a second process writing the same file fails at start.
    """

    def __init__(self, *, path: str, metadata: bool = False):
        target = Path(path)
        if target.suffix != ".npy":
            raise ValueError(f"npy: path {path!r} must end in .npy")
        target.parent.mkdir(parents=True, exist_ok=True)
        self.data_stream = NpyStream(target, empty_dtype=np.dtype(np.float64))
        self.meta_stream = (
            NpyStream(target.with_name(f"{target.stem}_meta.npy"), empty_dtype=META_DTYPE)
            if metadata
            else None
        )
        self.length: int | None = None

    def process(self, data, meta=None) -> None:
        rows = data if data.ndim == 2 else data[np.newaxis]  # one event, or a batch
        if self.length is None:
            self.length = rows.shape[1]
            self.data_stream.start(data.dtype, () if self.length == 1 else (self.length,))
            if self.meta_stream is not None:
                self.meta_stream.start(META_DTYPE, ())
        elif rows.shape[1] != self.length or data.dtype != self.data_stream.dtype:
            raise ValueError(
                f"npy: an event of shape {rows.shape[1:]} and dtype {data.dtype} does not match "
                f"the first one ({self.length}, {self.data_stream.dtype}) written to "
                f"{self.data_stream.path}"
            )
        self.data_stream.append(rows[:, 0] if self.length == 1 else rows)
        if self.meta_stream is not None:
            records = (
                np.zeros(len(rows), META_DTYPE) if meta is None else np.asarray(meta, META_DTYPE)
            )
            self.meta_stream.append(records.reshape(len(rows)))

    def finish(self) -> None:
        self.data_stream.close()
        if self.meta_stream is not None:
            self.meta_stream.close()


@signature(kind="exporter")
def null(data) -> None:
    """Consume every event and discard it (to terminate a branch, or to measure throughput)."""


# --- CSV ------------------------------------------------------------------------------------------


def _columns(dtype: np.dtype) -> list[str]:
    """Column names of one element: its fields, a sub-array field as `name[i]` (flat, C order)."""
    if dtype.names is None:
        return ["value"]
    columns = []
    for name in dtype.names:
        shape = dtype[name].shape
        if shape:
            columns.extend(f"{name}[{i}]" for i in range(int(np.prod(shape))))
        else:
            columns.append(name)
    return columns


def _cells(element) -> list:
    """The values of one element as Python scalars, sub-arrays flattened."""
    if not isinstance(element, tuple):
        return [element]
    cells = []
    for value in element:
        if isinstance(value, np.ndarray):
            cells.extend(value.ravel().tolist())
        else:
            cells.append(value)
    return cells


@signature(kind="exporter")
class csv:
    """Write every event to a CSV file, one row per element, with a header naming the columns.

    A buffer of LENGTH n writes n rows per event (`stdlib.sources.csv` with the same LENGTH
    reads them back as events). Columns are the fields in order; a sub-array field becomes
    columns `name[0]`, `name[1]`... (flattened); a plain buffer has one column `value`. With
    `metadata=true` every row starts with the event's counter, timestamp and deadtime.
    Floats are written in the shortest form that reads back exactly. Rows are flushed with
    the first event a second or more after the last flush, and at the end, so the file can be
    followed while the pipeline runs.
    Runs with processes=1: a second process writing the same file fails at start.
    """

    flush_s = 1.0

    def __init__(self, *, path: str, delimiter: str = ",", metadata: bool = False):
        if len(delimiter) != 1:
            raise ValueError(f"csv: delimiter={delimiter!r} must be one character")
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = _open_exclusively(target, os.O_WRONLY)
        self.file = os.fdopen(fd, "w", newline="")
        self.writer = csv_format.writer(self.file, delimiter=delimiter)
        self.metadata = metadata
        self.dtype: np.dtype | None = None
        self.last_flush = time.monotonic()

    def process(self, data, meta=None) -> None:
        if self.dtype is None:
            self.dtype = data.dtype
            prefix = list(META_DTYPE.names) if self.metadata else []
            self.writer.writerow(prefix + _columns(data.dtype))
        rows = data if data.ndim == 2 else data[np.newaxis]  # one event, or a batch
        if not self.metadata:
            self.writer.writerows(_cells(element) for element in rows.reshape(-1).tolist())
        else:
            records = np.zeros(len(rows), META_DTYPE) if meta is None else np.atleast_1d(meta)
            for record, event in zip(records.tolist(), rows.tolist(), strict=True):
                prefix = [int(record[0]), float(record[1]), float(record[2])]
                self.writer.writerows(prefix + _cells(element) for element in event)
        now = time.monotonic()
        if now - self.last_flush >= self.flush_s:
            self.file.flush()
            self.last_flush = now

    def finish(self) -> None:
        self.file.close()


# --- HDF5 -----------------------------------------------------------------------------------------

# the environment variable a run may set to its plan (a path to the plan's JSON, or the JSON)
PLAN_ENVIRONMENT = "FLOWC_PLAN"
_CHUNK_BYTES = 1 << 20
_COMPRESSIONS = ("gzip", "lzf", "none")


def plan_hash(plan: dict) -> str:
    """sha256 of a plan's canonical JSON without where things were written (as `Plan.hash`)."""
    canonical = dict(plan)
    canonical.pop("source_path", None)
    canonical["buffers"] = [_without_origin(b) for b in plan.get("buffers", [])]
    canonical["workers"] = [_without_origin(w) for w in plan.get("workers", [])]
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _without_origin(item: dict) -> dict:
    return {key: value for key, value in item.items() if key != "origin"}


def provenance(plan_path: str | None = None, flow_path: str | None = None) -> dict[str, str]:
    """The attributes that say where a file's events came from.

    The plan is the one in the environment variable FLOWC_PLAN when a run sets it (a path to
    the plan's JSON, or the JSON itself), else the JSON file `plan_path` (`flowc plan FILE`
    writes one). From the plan: `flowc_plan` (its JSON), `flowc_plan_hash`, `flowc_pipeline`,
    `flowc_overrides` (JSON) and, when the .flow file it names can be read, `flowc_source`
    (its text) and `flowc_source_path`. `flow_path` names the .flow file when there is no
    plan, or overrides the plan's.
    """
    attributes: dict[str, str] = {}
    text = os.environ.get(PLAN_ENVIRONMENT) or None
    if text is not None and not text.lstrip().startswith("{"):
        text = _read_plan(text, f"{PLAN_ENVIRONMENT}={text}")
    elif text is None and plan_path:
        text = _read_plan(plan_path, f"plan_path={plan_path!r}")
    source_path = flow_path
    if text is not None:
        try:
            plan = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"the plan given for provenance is not JSON: {exc}") from None
        attributes["flowc_plan"] = json.dumps(plan, indent=1)
        attributes["flowc_plan_hash"] = plan_hash(plan)
        attributes["flowc_pipeline"] = str(plan.get("name", ""))
        attributes["flowc_overrides"] = json.dumps(plan.get("overrides", {}), sort_keys=True)
        source_path = flow_path or plan.get("source_path")
    if source_path and Path(source_path).is_file():
        attributes["flowc_source"] = Path(source_path).read_text()
        attributes["flowc_source_path"] = str(Path(source_path).resolve())
    elif flow_path:
        raise FileNotFoundError(f"no .flow file {flow_path!r} to record as provenance")
    return attributes


def _read_plan(path: str, given: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as exc:
        raise FileNotFoundError(
            f"{given} names no readable plan ({exc.strerror}); write one with `flowc plan FILE`"
        ) from None


def _lock_for_writing(fd: int, path, lock=fcntl.lockf) -> None:
    """Lock an open file for this process alone (`lockf` by default, which does not collide
    with the `flock` the HDF5 library may take itself), or close it and say that another
    process writes it."""
    try:
        lock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise RuntimeError(
            f"`{path}` is being written by another process; an exporter writing one file "
            "must run with processes=1"
        ) from None


def _open_exclusively(path, mode: int) -> int:
    """Open `path` for writing, locked against a second writer before it is emptied (so a
    second process of the same exporter fails at once instead of wiping the first's file)."""
    fd = os.open(path, mode | os.O_CREAT, 0o644)
    _lock_for_writing(fd, path, fcntl.flock)
    os.ftruncate(fd, 0)
    return fd


class _BlockWriter:
    """Rows appended to a growing HDF5 dataset through an in-memory block of `rows` rows."""

    def __init__(self, dataset, rows: int):
        self.dataset = dataset
        self.block = np.empty((rows, *dataset.shape[1:]), dataset.dtype)
        self.pending = 0

    def append(self, row) -> None:
        self.block[self.pending] = row
        self.pending += 1
        if self.pending == self.block.shape[0]:
            self.write()

    def extend(self, rows: np.ndarray) -> None:
        """Append several rows (along axis 0) with a few array copies."""
        at = 0
        while at < len(rows):
            count = min(len(rows) - at, self.block.shape[0] - self.pending)
            self.block[self.pending : self.pending + count] = rows[at : at + count]
            self.pending += count
            at += count
            if self.pending == self.block.shape[0]:
                self.write()

    def write(self) -> None:
        if not self.pending:
            return
        size = self.dataset.shape[0]
        self.dataset.resize(size + self.pending, axis=0)
        self.dataset[size:] = self.block[: self.pending]
        self.pending = 0


@signature(kind="exporter")
class hdf5:
    """Write every event to an HDF5 file: chunked, compressed, flushed, with provenance.

    Events go to the dataset `dataset`, of the buffer's dtype (a compound type for a struct),
    shape (events,) for a buffer of LENGTH 1 and (events, LENGTH) otherwise; with `metadata`
    (the default) their metadata records ({counter, timestamp, deadtime}) go to the dataset
    `meta` beside it, one per event. Datasets are chunked (`chunk` rows per chunk; 0 picks
    about 1 MiB) and compressed (`compression` "gzip" at `level`, "lzf", or "none"). Rows are
    written to the file and flushed every `flush_every` seconds (by a thread of the sink, also
    while no events come), and at the end.

    With `swmr=true` the file is written in SWMR mode, so readers (`stdlib.sources.swmr_follow`,
    h5py with swmr=True) can follow it while it grows; a scalar dataset `finished` is 0 while
    it is written and 1 once complete.

    The root group's attributes record where the events came from: the plan (`flowc_plan`,
    `flowc_plan_hash`, `flowc_pipeline`, `flowc_overrides`) and the .flow source
    (`flowc_source`, `flowc_source_path`). The plan comes from the run's environment
    (FLOWC_PLAN) when it sets one, else from `plan_path`, a JSON file written by `flowc plan
    FILE --set ...`; `flow_path` names the .flow file when there is no plan. The file also
    records `flowc_created` (UTC, ISO 8601). With no events at all, `dataset` is an empty
    float64 array. Runs with processes=1 (HDF5 locks the file against a second writer).
    """

    def __init__(
        self,
        *,
        path: str,
        dataset: str = "events",
        metadata: bool = True,
        chunk: int = 0,
        compression: str = "gzip",
        level: int = 4,
        flush_every: float = 1.0,
        swmr: bool = False,
        plan_path: str = "",
        flow_path: str = "",
    ):
        import h5py

        if compression not in _COMPRESSIONS:
            raise ValueError(
                f"hdf5: compression={compression!r} must be one of {', '.join(_COMPRESSIONS)}"
            )
        if compression == "gzip" and not 0 <= level <= 9:
            raise ValueError(f"hdf5: level={level} must be 0 to 9 for gzip")
        if chunk < 0 or not flush_every > 0:
            raise ValueError(
                f"hdf5: chunk={chunk} must be 0 (automatic) or more, flush_every={flush_every} "
                "more than 0 seconds"
            )
        attributes = provenance(plan_path or None, flow_path or None)
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        # a POSIX lock, taken before HDF5 truncates the file, so a second writer is refused
        # without destroying the first one's file (HDF5's own lock comes after truncating)
        self.lock = os.open(target, os.O_RDWR | os.O_CREAT, 0o644)
        _lock_for_writing(self.lock, path)
        try:
            self.file = h5py.File(target, "w", libver="latest" if swmr else "earliest")
        except OSError as exc:
            os.close(self.lock)
            raise RuntimeError(f"hdf5: {path!r} cannot be written: {exc}") from None
        # HDF5 closes descriptors of the file while creating it, which drops POSIX locks
        try:
            _lock_for_writing(self.lock, path)
        except RuntimeError:
            self.file.close()
            raise
        for key, value in attributes.items():
            self.file.attrs[key] = value
        self.file.attrs["flowc_created"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.dataset = dataset
        self.metadata = metadata
        self.chunk = chunk
        self.compression = None if compression == "none" else compression
        self.level = level if compression == "gzip" else None
        self.flush_every = float(flush_every)
        self.swmr = swmr
        self.events: _BlockWriter | None = None
        self.meta: _BlockWriter | None = None
        self.finished = None
        # a thread flushes on time even while no events come; the guard keeps it from writing
        # while an event is being appended
        self.guard = threading.Lock()
        self.stopping = threading.Event()
        self.flusher = threading.Thread(target=self._flush_periodically, daemon=True)
        self.flusher.start()

    def _flush_periodically(self) -> None:
        while not self.stopping.wait(self.flush_every):
            with self.guard:
                if self.events is not None:
                    self.flush()

    def _create(self, dtype: np.dtype, tail: tuple[int, ...]) -> None:
        row_bytes = max(1, dtype.itemsize * int(np.prod(tail, dtype=np.int64)))
        rows = self.chunk or max(1, min(4096, _CHUNK_BYTES // row_bytes))
        options = {"compression": self.compression, "compression_opts": self.level}
        created = self.file.create_dataset(
            self.dataset,
            shape=(0, *tail),
            maxshape=(None, *tail),
            chunks=(rows, *tail),
            dtype=dtype,
            **options,
        )
        self.events = _BlockWriter(created, rows)
        if self.metadata:
            meta = self.file.create_dataset(
                "meta",
                shape=(0,),
                maxshape=(None,),
                chunks=(max(rows, 64),),
                dtype=META_DTYPE,
                **options,
            )
            self.meta = _BlockWriter(meta, max(rows, 64))
        if self.swmr:
            self.finished = self.file.create_dataset("finished", data=np.int8(0))
            self.file.swmr_mode = True

    def process(self, data, meta=None) -> None:
        rows = data if data.ndim == 2 else data[np.newaxis]  # one event, or a batch
        length = rows.shape[1]
        with self.guard:
            if self.events is None:
                self._create(data.dtype, () if length == 1 else (length,))
            self.events.extend(rows[:, 0] if length == 1 else rows)
            if self.meta is not None:
                records = np.zeros(len(rows), META_DTYPE) if meta is None else meta
                self.meta.extend(np.atleast_1d(records))

    def flush(self) -> None:
        """Write the rows held in memory and flush the file."""
        for writer in (self.events, self.meta):
            if writer is not None:
                writer.write()
        self.file.flush()

    def finish(self) -> None:
        self.stopping.set()
        self.flusher.join()
        if self.events is None:
            self._create(np.dtype(np.float64), ())
        self.flush()
        if self.finished is not None:
            self.finished[()] = 1
            self.finished.flush()
        self.file.close()
        os.close(self.lock)


# --- histogram ------------------------------------------------------------------------------------

# without range=, the values of the first events fix the range (a histogram must count them all)
_WARMUP_VALUES = 1000


@signature(field_args=("field",), kind="exporter")
class histogram:
    """A histogram of `field` that counts every event: a consumer, unlike the sampling
    `stdlib.monitors.histogram` observer (an observer may skip events; this never does, and a
    full buffer makes its writers wait for it).

    Every element of the field counts: all LENGTH elements of an event and every element of a
    sub-array (without `field` the buffer must be a plain numeric array). `bins` equal bins
    span `range=[lo, hi]`; without `range` the first 1000 values are held back and fix the
    range from their minimum and maximum (widened by 5% on each side). Values outside the range
    go to `underflow` and `overflow`, NaNs to `nan`. At the end it prints to stderr how many
    events and values it counted, and writes `path` (a `.npz` of `counts`, `edges`,
    `underflow`, `overflow`, `nan`, `entries` and `events`), the same as JSON beside it
    (`<path stem>.json`), and with `png=` a picture of the histogram. With `batch=N` it counts
    a whole batch per call.
    """

    def __init__(
        self,
        *,
        path: str,
        field: str | None = None,
        bins: int = 50,
        range: list | None = None,
        png: str = "",
    ):
        if Path(path).suffix != ".npz":
            raise ValueError(f"histogram: path {path!r} must end in .npz")
        if png and Path(png).suffix != ".png":
            raise ValueError(f"histogram: png {png!r} must end in .png")
        if not isinstance(bins, int) or isinstance(bins, bool) or bins < 1:
            raise ValueError(f"histogram: bins={bins!r} must be a whole number of at least 1")
        if range is not None and (len(range) != 2 or not range[0] < range[1]):
            raise ValueError(f"histogram: range={range!r} must be [lo, hi] with lo < hi")
        self.path = Path(path)
        self.png = Path(png) if png else None
        self.field = field
        self.bins = bins
        self.edges = None if range is None else np.linspace(range[0], range[1], bins + 1)
        self.counts = np.zeros(bins, dtype=np.int64)
        self.held: list[np.ndarray] = []
        self.held_values = 0
        self.underflow = self.overflow = self.nan = self.entries = self.events = 0

    def process(self, data) -> None:
        self.events += len(data) if data.ndim == 2 else 1  # a batch, or one event
        values = data if self.field is None else data[self.field]
        if values.dtype.kind not in "iuf":
            what = f"field {self.field!r}" if self.field else "the buffer"
            raise TypeError(f"histogram: {what} is {values.dtype}, not a real number")
        values = np.asarray(values, dtype=np.float64).ravel()
        finite = values[~np.isnan(values)]
        self.nan += values.size - finite.size
        self.entries += finite.size
        if self.edges is not None:
            self._count(finite)
            return
        self.held.append(finite)
        self.held_values += finite.size
        if self.held_values >= _WARMUP_VALUES:
            self._fix_range()

    def _fix_range(self) -> None:
        held = np.concatenate(self.held) if self.held else np.zeros(0)
        low, high = (float(held.min()), float(held.max())) if held.size else (0.0, 1.0)
        margin = 0.05 * (high - low) if high > low else max(0.5, abs(low) * 0.05)
        self.edges = np.linspace(low - margin, high + margin, self.bins + 1)
        self.held = []
        self._count(held)

    def _count(self, values: np.ndarray) -> None:
        low, high = self.edges[0], self.edges[-1]
        self.underflow += int(np.count_nonzero(values < low))
        self.overflow += int(np.count_nonzero(values > high))
        self.counts += np.histogram(values, bins=self.edges)[0]

    def result(self) -> dict:
        if self.edges is None:
            self._fix_range()
        return {
            "counts": self.counts.tolist(),
            "edges": self.edges.tolist(),
            "underflow": self.underflow,
            "overflow": self.overflow,
            "nan": self.nan,
            "entries": self.entries,
            "events": self.events,
        }

    def finish(self) -> None:
        result = self.result()
        label = self.field or "values"
        print(
            f"histogram of {label}: {self.events} events counted, {self.entries} values "
            f"({self.underflow} under, {self.overflow} over the range, {self.nan} NaN)",
            file=sys.stderr,
            flush=True,
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(self.path, **{key: np.asarray(value) for key, value in result.items()})
        self.path.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
        if self.png is not None:
            self.draw(result)

    def draw(self, result: dict) -> None:
        from matplotlib.figure import Figure

        figure = Figure(figsize=(7, 4), dpi=100, layout="constrained")
        axes = figure.add_subplot()
        axes.stairs(result["counts"], result["edges"], fill=True, alpha=0.6)
        axes.set_xlabel(self.field or "value")
        axes.set_ylabel("entries per bin")
        axes.set_title(f"{self.events} events, {self.entries} entries", fontsize=9)
        self.png.parent.mkdir(parents=True, exist_ok=True)
        partial = self.png.with_name(f".{self.png.name}.{os.getpid()}.partial")
        figure.savefig(partial, format="png")
        os.replace(partial, self.png)  # readers never see a half-written picture
