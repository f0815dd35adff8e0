"""Standard exporters: write events to files, or consume and discard them."""

from __future__ import annotations

import fcntl
import os
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
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RuntimeError(
                f"`{path}` is being written by another process; an exporter writing one file "
                "must run with processes=1"
            ) from None
        os.ftruncate(fd, 0)
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
        if self.length is None:
            self.length = data.shape[0]
            self.data_stream.start(data.dtype, () if self.length == 1 else (self.length,))
            if self.meta_stream is not None:
                self.meta_stream.start(META_DTYPE, ())
        elif data.shape[0] != self.length or data.dtype != self.data_stream.dtype:
            raise ValueError(
                f"npy: an event of shape {data.shape} and dtype {data.dtype} does not match the "
                f"first one ({self.length}, {self.data_stream.dtype}) written to "
                f"{self.data_stream.path}"
            )
        self.data_stream.append(data if self.length == 1 else data[np.newaxis])
        if self.meta_stream is not None:
            record = np.zeros(1, META_DTYPE) if meta is None else np.asarray(meta, META_DTYPE)
            self.meta_stream.append(record.reshape(1))

    def finish(self) -> None:
        self.data_stream.close()
        if self.meta_stream is not None:
            self.meta_stream.close()


@signature(kind="exporter")
def null(data) -> None:
    """Consume every event and discard it (to terminate a branch, or to measure throughput)."""
