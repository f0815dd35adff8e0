"""mimoCoRB2 worker functions, unchanged, as flowc workers (without mimocorb2 installed).

Two halves. mimoCoRB2's worker API as its three published styles use it: 0.0.4's `BufferIO`,
templates `Importer`, `Processor`, `Filter`, `Exporter`, `Observer`, `IsAlive` and the
`BufferReader`, `BufferWriter`, `BufferObserver` context managers (`with reader as (metadata,
data)`); the mid-2025 templates' `data_in_example`/`data_out_example`, `run_directory` and
`setup_directory`; and the Feb-2025 style, `def worker(*mimo_args): Importer(mimo_args)`, with
`.sources`, `.sinks`, `.reader`, `.writer`, `.config['name']`, `.sinks[0].buffer.data_example`
and context managers giving `(data, metadata)`. Plus `mimoBuffer`, the description of a buffer.
A worker's `import mimocorb2` (or `mimocorb2.worker_templates`, `.mimo_buffer`...) gets this
module. And flowc's side: `ImporterWorker`, `ProcessorWorker`, `FilterWorker`,
`ExporterWorker`, `ObserverWorker`, ordinary flowc worker classes that load a mimoCoRB2 worker
function from its file and run it, which is what `flowc import mimocorb2` writes.

A mimoCoRB2 worker function owns its loop (`processor(ufunc)` returns at the end of the
stream), while flowc calls its workers once per event. The function therefore runs in a thread
of the worker process. When it hands a template its `ufunc`, flowc calls the `ufunc` directly
for every event (no thread switch on the data path) and lets the function go on when the
stream ends. When it iterates (`for data, metadata in exporter`, an observer's generator, a
`with io.read[0] as (metadata, data)` block), each event is handed to the thread and flowc
waits until the function asks for the next one.

The metadata a function sees has mimoCoRB2's meaning: `deadtime` is the fraction of the time
between the importer's events that it spent waiting for a free slot (flowc records the seconds
blocked; see `DeadtimeRatio`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import logging
import queue
import re
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from flowc.types import META_DTYPE, ElementType, TypeTextError, parse_type_text

__all__ = [
    "DATA",
    "METADATA",
    "BufferIO",
    "BufferObserver",
    "BufferReader",
    "BufferWriter",
    "Config",
    "DeadtimeRatio",
    "Exporter",
    "ExporterWorker",
    "Filter",
    "FilterWorker",
    "Importer",
    "ImporterWorker",
    "IsAlive",
    "Observer",
    "ObserverWorker",
    "Processor",
    "ProcessorWorker",
    "SetupError",
    "UfuncError",
    "buffer_spec",
    "mimoBuffer",
    "parse_buffer_spec",
]

# as mimoCoRB2 defines them; the Feb-2025 style indexes its context managers' pairs with them
DATA = 0
METADATA = 1

# the module names a mimoCoRB2 worker file may import its API from
MIMOCORB2_MODULES = (
    "mimocorb2",
    "mimocorb2.worker_templates",
    "mimocorb2.mimo_worker",
    "mimocorb2.mimo_buffer",
)

# seconds to wait, at the end of the stream, for a worker function to return
FINISH_TIMEOUT_S = 30.0
# events a worker function may write ahead of flowc before it waits (its back-pressure)
WRITES_AHEAD = 16


# ---------------------------------------------------------------------------------------------
# buffer specs: "NAME: TYPE[LENGTH]", the buffers an adapter's function sees

_SPEC_NAME = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*:")


def buffer_spec(name: str, element: ElementType, length: int) -> str:
    """The spec text of a buffer, as `flowc import mimocorb2` writes it: `raw: {a: f8}[4]`."""
    return f"{name}: {element.to_flow()}[{length}]"


def parse_buffer_spec(text: str) -> tuple[str, np.dtype, int]:
    """(name, dtype, length) of a spec written by `buffer_spec`; ValueError when malformed."""
    match = _SPEC_NAME.match(text)
    if match is None:
        raise ValueError(f"buffer spec {text!r} does not begin with `NAME:`")
    try:
        element, length = parse_type_text(text[match.end() :])
    except TypeTextError as exc:
        column = match.end() + exc.position + 1
        raise ValueError(f"buffer spec {text!r}: {exc.reason}, at column {column}") from None
    return match.group(1), element.numpy, 1 if length is None else length


# ---------------------------------------------------------------------------------------------
# mimoCoRB2's API, as its worker functions use it


class SetupError(RuntimeError):
    """The worker's buffers do not fit its template (as mimoCoRB2 raises it)."""

    def __init__(self, instance, message: str, exception: Exception | None = None):
        if exception is not None:
            message += f" ({exception})"
        super().__init__(message)


class UfuncError(RuntimeError):
    """A worker's ufunc failed or returned something its template cannot use."""

    def __init__(
        self,
        instance,
        message: str,
        exception: Exception | None = None,
        ufunc_input=None,
        ufunc_output=None,
    ):
        if exception is not None:
            message += f" ({exception})"
        super().__init__(message)


class Config(dict):
    """A worker's configuration: the setup's `config` merged over `base_config`.

    In the Feb-2025 style it also holds `name`, `debug`, `run_directory` and `setup_directory`,
    and is how a template handed `mimo_args` finds the worker's BufferIO.
    """

    _flowc_io: BufferIO | None = None


class _Shutdown:
    """mimoCoRB2's `is_shutdown` / `flush_event_received` flag (`.value`): True at end of stream."""

    def __init__(self, bridge: _Bridge | None):
        self._bridge = bridge

    @property
    def value(self) -> bool:
        return self._bridge is not None and self._bridge.ended


class mimoBuffer:  # noqa: N801 - mimoCoRB2's name
    """What a worker learns of a buffer: name, slot count, data length and dtype, examples.

    flowc owns the rings; this object only describes one (`reader.buffer` in the Feb-2025
    style). `send_flush_event()` does nothing: a buffer ends when every writer has finished.
    """

    metadata_dtype = META_DTYPE
    metadata_length = 1

    def __init__(
        self,
        name: str,
        slot_count: int | None,
        data_length: int,
        data_dtype,
        *,
        _shutdown: _Shutdown | None = None,
    ):
        self.name = name
        self.slot_count = slot_count
        self.data_length = int(data_length)
        self.data_dtype = np.dtype(data_dtype)
        self.data_example = np.zeros(self.data_length, dtype=self.data_dtype)
        self.metadata_example = np.zeros(self.metadata_length, dtype=self.metadata_dtype)
        self.flush_event_received = _shutdown or _Shutdown(None)

    @classmethod
    def from_setup(cls, name: str, setup: dict) -> mimoBuffer:
        """A buffer as a setup's `Buffers:` entry describes it."""
        dtype = np.dtype(list(setup["data_dtype"].items()))
        return cls(name, setup["slot_count"], setup["data_length"], dtype)

    def send_flush_event(self) -> None:
        """Nothing to do: flowc ends a buffer when every process writing it has finished."""

    def get_stats(self) -> dict:
        return {}

    def __repr__(self) -> str:
        return f"mimoBuffer({self.name!r}, length={self.data_length}, dtype={self.data_dtype})"


class _Interface:
    """What mimoCoRB2's BufferReader, BufferWriter and BufferObserver have in common.

    `data_first`: the context manager gives (data, metadata), as in the Feb-2025 style, rather
    than 0.0.4's (metadata, data).
    """

    def __init__(self, bridge: _Bridge, index: int, spec: str, *, data_first: bool = False):
        self._bridge = bridge
        self.index = index
        self.data_first = data_first
        self.name, dtype, length = parse_buffer_spec(spec)
        self.is_shutdown = _Shutdown(bridge)
        self.buffer = mimoBuffer(self.name, None, length, dtype, _shutdown=self.is_shutdown)
        self.data_example = self.buffer.data_example
        self.metadata_example = self.buffer.metadata_example
        self.slot_count = None

    def _pair(self, metadata, data) -> list:
        return [data, metadata] if self.data_first else [metadata, data]

    def shutdown_buffer(self) -> None:
        """Nothing to do: flowc ends a buffer when every process writing it has finished."""

    send_flush_event = shutdown_buffer
    shutdown_readers = shutdown_buffer

    def get_stats(self) -> dict:
        return {}


class BufferReader(_Interface):
    """`with reader as (metadata, data)`: the next event, or (None, None) at end of stream."""

    def __enter__(self):
        event = self._bridge.read()
        if event is None:
            return [None, None]
        return self._pair(event[0], event[1])

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        return None


class BufferObserver(BufferReader):
    """`with observer as (metadata, data)`: a recent event, or (None, None) at end of stream."""


class BufferWriter(_Interface):
    """`with writer as (metadata, data)`: fill `data`; it is sent when the block ends.

    flowc numbers and timestamps events itself: what a worker writes into `metadata` is not
    kept (an event keeps the metadata of the event it was made from).
    """

    def __enter__(self):
        self._data = np.zeros_like(self.data_example)
        return self._pair(np.zeros(1, dtype=META_DTYPE), self._data)

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        if exc_type is None:
            self._bridge.write(self.index, self._data)
        self._data = None


class BufferIO:
    """What a mimoCoRB2 worker function receives: its buffers, config, logger and folders."""

    def __init__(
        self,
        name: str,
        sources: Sequence[BufferReader],
        sinks: Sequence[BufferWriter],
        observes: Sequence[BufferObserver],
        config: Config,
        setup_dir: Path,
        run_dir: Path,
    ):
        self._flowc_bridge: _Bridge | None = None
        self.name = name
        self.read = list(sources)
        self.write = list(sinks)
        self.observe = list(observes)
        self.config = config
        self.logger = logging.getLogger(f"mimocorb2.mimo_worker.{name}")
        self.setup_dir = setup_dir
        self.run_dir = run_dir
        # the mid-2025 names, strings as they were then
        self.setup_directory = str(setup_dir)
        self.run_directory = str(run_dir)
        self.data_in_examples = [b.data_example for b in self.read]
        self.metadata_in_examples = [b.metadata_example for b in self.read]
        self.buffer_names_in = [b.name for b in self.read]
        self.data_out_examples = [b.data_example for b in self.write]
        self.metadata_out_examples = [b.metadata_example for b in self.write]
        self.buffer_names_out = [b.name for b in self.write]
        self.data_observe_examples = [b.data_example for b in self.observe]
        self.metadata_observe_examples = [b.metadata_example for b in self.observe]
        self.buffer_names_observe = [b.name for b in self.observe]

    def shutdown_sinks(self) -> None:
        for writer in self.write:
            writer.shutdown_buffer()

    def __getitem__(self, key):
        if key not in self.config:
            raise KeyError(f"Key '{key}' not found in configuration of {self.name}.")
        return self.config[key]

    def get(self, key, default=None):
        return self.config.get(key, default)

    def __str__(self) -> str:
        return (
            f"BufferIO(sources={self.buffer_names_in}, sinks={self.buffer_names_out}, "
            f"observes={self.buffer_names_observe}, config={dict(self.config)})"
        )


def _buffer_io(io) -> BufferIO:
    """The BufferIO behind what a template was handed: a BufferIO, or the Feb-2025 style's
    `mimo_args` (sources, sinks, observes, config)."""
    if isinstance(io, BufferIO):
        return io
    if isinstance(io, tuple | list) and len(io) == 4 and isinstance(io[3], Config):
        found = io[3]._flowc_io
        if found is not None:
            return found
    raise TypeError(
        "a mimoCoRB2 template takes the worker's BufferIO (`def worker(buffer_io)`) or its "
        f"`mimo_args` (`def worker(*mimo_args)`), not {type(io).__name__}"
    )


class _Base:
    """Every template's attributes, under the names each API style uses."""

    def __init__(self, io):
        io = _buffer_io(io)
        self.io = io
        self.read = self.sources = io.read
        self.write = self.sinks = io.write
        self.observe = self.observes = io.observe
        self.config = io.config
        self.logger = io.logger
        self.name = io.name
        self.debug = bool(io.config.get("debug", False))
        self.run_dir = io.run_dir
        self.setup_dir = io.setup_dir
        self.run_directory = io.run_directory
        self.setup_directory = io.setup_directory
        self.errors_directory = str(Path(io.run_dir) / "errors")
        self.shutdown_sinks = io.shutdown_sinks
        for role, buffers in (("in", io.read), ("out", io.write), ("observe", io.observe)):
            data = [b.data_example for b in buffers]
            metadata = [b.metadata_example for b in buffers]
            setattr(self, f"data_{role}_examples", data)
            setattr(self, f"metadata_{role}_examples", metadata)
            if len(buffers) == 1:
                setattr(self, f"data_{role}_example", data[0])
                setattr(self, f"metadata_{role}_example", metadata[0])

    def __getitem__(self, key):
        return self.io[key]

    def _require(self, ok: bool, wanted: str) -> None:
        if not ok:
            raise SetupError(self, f"{type(self).__name__} must have {wanted}")

    def _same_as_source(self) -> None:
        data_in = self.io.data_in_examples[0]
        for data_out in self.io.data_out_examples:
            if data_out.shape != data_in.shape:
                raise SetupError(self, f"{type(self).__name__} source and sink shapes do not match")
            if data_out.dtype != data_in.dtype:
                raise SetupError(self, f"{type(self).__name__} source and sink dtypes do not match")

    def fail(self, msg: str, data=None, metadata=None, exception=None, force_shutdown=False):
        """The Feb-2025 templates' failure: a warning in the log, or with `debug` in the config
        or `force_shutdown`, an exception that ends the run naming the worker."""
        self.logger.warning(msg)
        if self.debug or force_shutdown:
            if exception is not None:
                raise exception
            raise RuntimeError(msg)

    def drain_sources(self) -> None:
        """Nothing to do: flowc drains a worker's inputs itself."""


class Importer(_Base):
    """`importer(ufunc)`: `ufunc()` is a generator of events that ends by yielding None."""

    def __init__(self, io):
        super().__init__(io)
        self._require(not self.read, "0 sources")
        self._require(len(self.write) == 1, "1 sink")
        self._require(not self.observe, "0 observes")
        self.writer = self.write[0]
        self.data_example = self.io.data_out_examples[0]
        self.metadata_example = self.io.metadata_out_examples[0]
        self.counter = 0

    def __call__(self, ufunc: Callable) -> None:
        if not callable(ufunc):
            raise UfuncError(self, "ufunc not callable")
        _bridge_of(self.io).hand_over("Importer", ufunc)


class Processor(_Base):
    """`processor(ufunc)`: `ufunc(data)` returns None (drop) or a list, one item per sink."""

    def __init__(self, io):
        super().__init__(io)
        self._require(len(self.read) == 1, "1 source")
        self._require(len(self.write) >= 1, "at least 1 sink")
        self._require(not self.observe, "0 observes")
        self.reader = self.read[0]
        self.writers = self.write

    def __call__(self, ufunc: Callable) -> None:
        if not callable(ufunc):
            raise RuntimeError("ufunc not callable")
        _bridge_of(self.io).hand_over("Processor", ufunc)


class Filter(_Base):
    """`filter(ufunc)`: `ufunc(data)` returns a bool, or a list of bools, one per sink."""

    def __init__(self, io):
        super().__init__(io)
        self._require(len(self.read) == 1, "1 source")
        self._require(len(self.write) >= 1, "at least 1 sink")
        self._require(not self.observe, "0 observes")
        self._same_as_source()
        self.reader = self.read[0]
        self.writers = self.write
        self.data_example = self.io.data_in_examples[0]

    def __call__(self, ufunc: Callable) -> None:
        if not callable(ufunc):
            raise UfuncError(self, "ufunc not callable")
        _bridge_of(self.io).hand_over("Filter", ufunc)


class Exporter(_Base):
    """`for data, metadata in exporter`: every event; flowc copies it to the sinks, if any."""

    def __init__(self, io):
        super().__init__(io)
        self._require(len(self.read) == 1, "1 source")
        self._require(not self.observe, "0 observes")
        self._same_as_source()
        self.reader = self.read[0]
        self.writers = self.write or None
        self.data_example = self.io.data_in_examples[0]
        self.metadata_example = self.io.metadata_in_examples[0]

    def __iter__(self) -> Iterator:
        bridge = _bridge_of(self.io)
        while True:
            event = bridge.read()
            if event is None:
                return
            yield event[1], event[0]


class Observer(_Base):
    """`observer()`: a generator of recent (data, metadata), ending with (None, None)."""

    def __init__(self, io):
        super().__init__(io)
        self._require(not self.read, "0 sources")
        self._require(not self.write, "0 sinks")
        self._require(len(self.observe) == 1, "1 observes")
        self.observer = self.observe[0]
        self.data_example = self.io.data_observe_examples[0]

    def __call__(self) -> Iterator:
        bridge = _bridge_of(self.io)
        while True:
            event = bridge.read()
            if event is None:
                break
            yield event[1], event[0]
        yield None, None


class IsAlive(_Base):
    """`is_alive()`: True until the observed buffer's stream has ended."""

    def __init__(self, io):
        super().__init__(io)
        self._require(not self.read, "0 sources")
        self._require(not self.write, "0 sinks")
        self._require(len(self.observe) == 1, "1 observes")

    def __call__(self) -> bool:
        return not _bridge_of(self.io).ended


# ---------------------------------------------------------------------------------------------
# the bridge between flowc's per-event calls and a function that owns its loop


def _bridge_of(io: BufferIO) -> _Bridge:
    return io._flowc_bridge


class _StreamEnded(Exception):
    """Raised in the function's thread when it writes after flowc has ended the stream."""


class _Bridge:
    """The worker function's thread and the messages between it and flowc's worker loop.

    To flowc: ("ufunc", template, ufunc), ("read",), ("write", index, data), ("done", error).
    To the function: an event (metadata, data), or None at the end of the stream.
    """

    def __init__(self, function: Callable, worker: str):
        self.function = function
        self.io: BufferIO | None = None
        self.args: tuple = ()
        self.to_flowc: queue.SimpleQueue = queue.SimpleQueue()
        self.to_function: queue.SimpleQueue = queue.SimpleQueue()
        self.write_room = threading.Semaphore(WRITES_AHEAD)
        self.released = threading.Event()
        self.ended = False
        self.reading = False  # the function waits for an event
        self.thread = threading.Thread(target=self._run, name=f"mimocorb2:{worker}", daemon=True)

    def start(self, io: BufferIO, args: tuple, *, wait: bool = True) -> tuple | None:
        """Start `function(*args)`; with `wait`, its first message (what it does before any
        event)."""
        self.io = io
        self.args = args
        io._flowc_bridge = self
        self.thread.start()
        if not wait:
            return None
        first = self.take()
        if first[0] == "read":
            self.reading = True
        return first

    def _run(self) -> None:
        try:
            self.function(*self.args)
        except _StreamEnded:
            pass
        except BaseException as exc:  # the function's failure is the worker's failure
            self.to_flowc.put(("done", exc))
            return
        self.to_flowc.put(("done", None))

    # --- called in the function's thread

    def hand_over(self, template: str, ufunc: Callable) -> None:
        self.to_flowc.put(("ufunc", template, ufunc))
        self.released.wait()

    def read(self):
        if self.ended:
            return None
        self.to_flowc.put(("read",))
        return self.to_function.get()

    def write(self, index: int, data: np.ndarray) -> None:
        if self.ended:
            raise _StreamEnded
        self.write_room.acquire()
        if self.ended:
            raise _StreamEnded
        self.to_flowc.put(("write", index, data))

    # --- called by flowc's worker loop

    def take(self, timeout: float | None = None) -> tuple:
        """The function's next message (queue.Empty after `timeout` seconds)."""
        message = self.to_flowc.get(timeout=timeout)
        if message[0] == "write":
            self.write_room.release()
        return message

    def serve(self, event) -> tuple[list[tuple[int, np.ndarray]], bool]:
        """Answer the function's pending read with `event`.

        Returns the writes it made before it asked for the next event, and whether it returned.
        """
        self.reading = False
        self.to_function.put(event)
        return self.collect()

    def collect(self) -> tuple[list[tuple[int, np.ndarray]], bool]:
        """The function's writes up to its next read (False) or its return (True)."""
        writes = []
        while True:
            message = self.take()
            if message[0] == "write":
                writes.append((message[1], message[2]))
            elif message[0] == "read":
                self.reading = True
                return writes, False
            elif message[0] == "done":
                if message[1] is not None:
                    raise message[1]
                return writes, True
            else:
                raise RuntimeError(
                    f"the worker function called its {message[1]} template after reading "
                    "events itself; use one or the other"
                )

    def end(self) -> list[tuple[int, np.ndarray]]:
        """End of stream: let the function finish; the writes it made meanwhile."""
        self.ended = True
        self.released.set()
        if self.reading:
            self.reading = False
            self.to_function.put(None)
        writes = []
        while True:
            try:
                message = self.take(FINISH_TIMEOUT_S)
            except queue.Empty:
                raise RuntimeError(
                    f"the worker function did not return within {FINISH_TIMEOUT_S:.0f} s "
                    "of the end of the stream"
                ) from None
            if message[0] == "write":
                writes.append((message[1], message[2]))
            elif message[0] == "read":
                self.to_function.put(None)
            elif message[0] == "done":
                if message[1] is not None:
                    raise message[1]
                return writes


class DeadtimeRatio:
    """flowc's metadata record as mimoCoRB2's: a (1,) array whose `deadtime` is a ratio.

    mimoCoRB2's importer records, for each event, the time it waited for a free slot divided
    by the time since its previous event was written; flowc records the seconds blocked and
    the time the event was written (`timestamp`). The ratio is therefore blocked seconds over
    the time between this event's timestamp and the previous one of the same importer. A
    worker sees only some of an importer's events (after a filter, or with several
    processes), so the time between the last two events it saw is spread over the counters
    between them; the first event it sees counts as fully dead when it waited at all. The
    ratio is kept between 0 and 1.
    """

    def __init__(self):
        self.last: tuple[int, float] | None = None

    def __call__(self, meta) -> np.ndarray:
        array = np.zeros(1, dtype=META_DTYPE)
        if meta is None:
            return array
        array[0] = meta
        counter = int(array["counter"][0])
        stamp = float(array["timestamp"][0])
        blocked = float(array["deadtime"][0])
        ratio = 1.0 if blocked > 0 else 0.0
        if self.last is not None and counter > self.last[0] and stamp > self.last[1]:
            interval = (stamp - self.last[1]) / (counter - self.last[0])
            ratio = min(1.0, blocked / interval)
        array["deadtime"] = ratio
        self.last = (counter, stamp)
        return array


def _as_slot(result, example: np.ndarray) -> np.ndarray:
    """A ufunc's result as mimoCoRB2 stores it: `slot[:] = result` into an event like `example`
    (a structured result fills the fields in order, a plain one every field)."""
    if isinstance(result, np.ndarray) and result.dtype == example.dtype:
        if result.shape == example.shape:
            return result
    slot = np.zeros_like(example)
    slot[:] = result
    return slot


def _takes_mimo_args(function: Callable) -> bool:
    """Whether `function` is written `def worker(*mimo_args)` (the Feb-2025 style, called with
    sources, sinks, observes and config) rather than `def worker(buffer_io)`."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [
        p
        for p in parameters
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    return not positional and any(p.kind is p.VAR_POSITIONAL for p in parameters)


# ---------------------------------------------------------------------------------------------
# loading a worker file with `mimocorb2` pointing here


def load_worker_function(file: str, function: str, setup_dir: str) -> Callable:
    """The function `function` of the worker file `file` (relative to `setup_dir`).

    While it is imported, and afterwards in this process, `import mimocorb2` gives this module.
    """
    path = Path(file).expanduser()
    if not path.is_absolute():
        path = Path(setup_dir).expanduser().resolve() / path
    if not path.is_file():
        raise FileNotFoundError(f"mimoCoRB2 worker file {path} not found")
    this = sys.modules[__name__]
    for name in MIMOCORB2_MODULES:
        sys.modules[name] = this
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:12]
    stem = "".join(c if c.isalnum() else "_" for c in path.stem)
    module_name = f"_flowc_mimocorb2_{stem}_{digest}"
    module = sys.modules.get(module_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"{path} cannot be imported as Python")
        module = importlib.util.module_from_spec(spec)
        folder = str(path.parent)
        added = folder not in sys.path
        if added:
            sys.path.insert(0, folder)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[module_name]
            raise
        finally:
            if added and folder in sys.path:
                sys.path.remove(folder)
    found = getattr(module, function, None)
    if not callable(found):
        raise AttributeError(f"{path.name} has no function `{function}`")
    return found


# ---------------------------------------------------------------------------------------------
# flowc's side: one worker class per kind


class _Adapter:
    """Load a mimoCoRB2 worker function and run it up to its first template call or read.

    mimo_file, mimo_function: the worker's `file` and `function` from the setup
    mimo_name:                its name in the setup (BufferIO.name, the logger's name)
    mimo_setup_dir:           the setup's folder (`file` and config paths are relative to it)
    mimo_run_dir:             the folder the worker may write to (BufferIO.run_dir); made if missing
    mimo_sources, mimo_sinks, mimo_observes: its buffers, as "NAME: TYPE[LENGTH]" specs
    mimo_debug:               the setup's `debug_workers` (a Feb-2025 worker's config["debug"])
    every other argument:     its config, as `buffer_io[key]` and `buffer_io.config` see it
    """

    template = ""

    def __init__(
        self,
        *,
        mimo_file: str,
        mimo_function: str,
        mimo_name: str = "worker",
        mimo_setup_dir: str = ".",
        mimo_run_dir: str = ".",
        mimo_sources: Sequence[str] = (),
        mimo_sinks: Sequence[str] = (),
        mimo_observes: Sequence[str] = (),
        mimo_debug: bool = False,
        **config,
    ):
        function = load_worker_function(mimo_file, mimo_function, mimo_setup_dir)
        run_dir = Path(mimo_run_dir).expanduser()
        run_dir.mkdir(parents=True, exist_ok=True)
        setup_dir = Path(mimo_setup_dir).expanduser().resolve()
        self.bridge = _Bridge(function, mimo_name)
        feb_2025 = _takes_mimo_args(function)
        readers, writers, observers = (
            [kind(self.bridge, i, s, data_first=feb_2025) for i, s in enumerate(specs)]
            for kind, specs in (
                (BufferReader, mimo_sources),
                (BufferWriter, mimo_sinks),
                (BufferObserver, mimo_observes),
            )
        )
        if feb_2025:
            # mimoCoRB2 added these to every worker's config then
            config = {
                **config,
                "name": mimo_name,
                "debug": mimo_debug,
                "run_directory": str(run_dir),
                "setup_directory": str(setup_dir),
            }
        io = BufferIO(mimo_name, readers, writers, observers, Config(config), setup_dir, run_dir)
        io.config._flowc_io = io
        self.args = (readers, writers, observers, io.config) if feb_2025 else (io,)
        self.sink_examples = [w.data_example for w in writers]
        self.sink_count = len(writers)
        self.metadata = DeadtimeRatio()
        self.described = f"{Path(mimo_file).name}:{mimo_function}"
        self.returned = False
        self.ufunc = None
        self.early_writes: list[tuple[int, np.ndarray]] = []
        self.begin(io)

    def begin(self, io: BufferIO) -> None:
        """Run the function up to its template call, first read or first write."""
        first = self.bridge.start(io, self.args)
        if first[0] == "write":
            self.early_writes.append((first[1], first[2]))
            writes, self.returned = self.bridge.collect()
            self.early_writes += writes
        else:
            self.adopt(first)

    def adopt(self, first: tuple) -> None:
        """Take the function's first message: its template's ufunc, a read, or its return."""
        if first[0] == "ufunc":
            if first[1] != self.template:
                raise TypeError(
                    f"{self.described} runs a mimoCoRB2 {first[1]}, but the .flow declares it "
                    f"a{'n' if self.template[0] in 'AEIOU' else ''} {self.template.lower()}; "
                    f"declare it `{first[1].lower()}`"
                )
            self.ufunc = first[2]
        elif first[0] == "done":
            if first[1] is not None:
                raise first[1]
            self.returned = True

    def finish(self) -> None:
        if self.returned and self.ufunc is None:
            return
        late = self.bridge.end()
        if late:
            raise RuntimeError(
                f"{self.described} wrote {len(late)} event(s) after the end of its input; "
                "flowc cannot deliver them (write them while reading)"
            )

    def _driven(self, data, meta) -> list[tuple[int, np.ndarray]]:
        """Hand one event to the function; the writes it made for it."""
        if self.returned:
            raise RuntimeError(f"{self.described} returned before the end of its input")
        writes, self.returned = self.bridge.serve((self.metadata(meta), data))
        if self.early_writes:
            writes, self.early_writes = self.early_writes + writes, []
        return writes


class ImporterWorker(_Adapter):
    """A mimoCoRB2 importer: its ufunc's events (up to the None), or what it writes itself."""

    template = "Importer"

    def __iter__(self) -> Iterator:
        if self.ufunc is not None:
            example = self.sink_examples[0]
            for event in self.ufunc():
                if event is None:
                    return
                yield _as_slot(event, example)
            return
        while self.early_writes:
            yield self.early_writes.pop(0)[1]
        while not self.returned:
            message = self.bridge.take()
            if message[0] == "write":
                yield message[2]
            elif message[0] == "done":
                self.returned = True
                if message[1] is not None:
                    raise message[1]
            else:
                raise RuntimeError(f"{self.described}: an importer has no sources to read")

    def begin(self, io: BufferIO) -> None:
        """Run the function up to its template call or its first write."""
        first = self.bridge.start(io, self.args)
        if first[0] == "write":
            self.early_writes.append((first[1], first[2]))
        else:
            self.adopt(first)

    def finish(self) -> None:
        """Let the function end; what it wrote after the run was stopped is not kept."""
        if not self.returned or self.ufunc is not None:
            self.bridge.end()


class ProcessorWorker(_Adapter):
    """A mimoCoRB2 processor: `ufunc(data)` -> None or one result (or None) per sink."""

    template = "Processor"

    def process(self, data, meta):
        if self.ufunc is not None:
            results = self.ufunc(data)
            if results is None:
                return
            if len(results) != self.sink_count:
                raise UfuncError(
                    self,
                    f"{self.described}: ufunc must return a list of results with the same "
                    f"length as the number of sinks ({self.sink_count}), not {len(results)}",
                )
            yield [
                None if result is None else _as_slot(result, example)
                for result, example in zip(results, self.sink_examples, strict=True)
            ]
            return
        for index, written in self._driven(data, meta):
            results = [None] * self.sink_count
            results[index] = written
            yield results


class FilterWorker(_Adapter):
    """A mimoCoRB2 filter: `ufunc(data)` -> a bool, or a list of bools, one per sink."""

    template = "Filter"

    def process(self, data, meta):
        if self.ufunc is not None:
            result = self.ufunc(data)
            if not isinstance(result, list | tuple | np.ndarray):
                return bool(result)
            if len(result) != self.sink_count:
                raise UfuncError(
                    self,
                    f"{self.described}: ufunc returned {len(result)} decisions for "
                    f"{self.sink_count} sink(s)",
                )
            return [bool(x) for x in result]
        chosen = [False] * self.sink_count
        for index, _ in self._driven(data, meta):
            chosen[index] = True
        return chosen


class ExporterWorker(_Adapter):
    """A mimoCoRB2 exporter: iterates its events; flowc copies each to its sinks, if any."""

    template = "Exporter"

    def process(self, data, meta) -> None:
        if self._driven(data, meta):
            raise RuntimeError(
                f"{self.described} writes to its sinks itself; under flowc an exporter's "
                "sinks get an unchanged copy of each event"
            )


class ObserverWorker(_Adapter):
    """A mimoCoRB2 observer: its generator sees recent events, never all of them."""

    template = "Observer"

    def begin(self, io: BufferIO) -> None:
        """Start the function without waiting: it may never read (an `IsAlive` loop)."""
        self.bridge.start(io, self.args, wait=False)

    def process(self, data, meta) -> None:
        """Hand a copy of the event to the function if it waits for one; else skip it."""
        bridge = self.bridge
        while not bridge.to_flowc.empty():
            message = bridge.take()
            if message[0] == "read":
                bridge.reading = True
            elif message[0] == "done":
                self.returned = True
                if message[1] is not None:
                    raise message[1]
            else:
                raise RuntimeError(f"{self.described}: an observer cannot write events")
        if bridge.reading:
            bridge.reading = False
            bridge.to_function.put((self.metadata(meta), data.copy()))

    def finish(self) -> None:
        if not self.returned:
            self.bridge.end()
