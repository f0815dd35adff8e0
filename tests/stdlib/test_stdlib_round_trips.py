"""Property: whatever events a buffer holds, each file sink writes them so that its reader
reads the same events back (.npy, CSV, HDF5)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from flowc.stdlib import sinks, sources
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from flowc.types import META_DTYPE

CODES = ["f8", "f4", "f2", "i1", "i2", "i8", "u1", "u4", "b1", "c8", "c16"]


@st.composite
def element_types(draw) -> np.dtype:
    """A plain dtype, or a struct of 1 to 4 fields, some with sub-array shapes."""
    if draw(st.booleans()):
        return np.dtype(draw(st.sampled_from(CODES)))
    names = draw(
        st.lists(
            st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True),
            min_size=1,
            max_size=4,
            unique=True,
        )
    )
    fields = []
    for name in names:
        shape = draw(st.sampled_from([(), (), (2,), (2, 3)]))
        fields.append((name, draw(st.sampled_from(CODES)), shape))
    return np.dtype(fields)


@st.composite
def recordings(draw):
    """(events, LENGTH): 0 to 4 events of one element type and length, without NaN (which is
    not equal to itself, so it would prove nothing about a round trip)."""
    dtype = draw(element_types())
    length = draw(st.integers(1, 3))
    count = draw(st.integers(0, 4))
    events = [without_nan(draw(arrays(dtype, (length,)))) for _ in range(count)]
    return events, length


def without_nan(event: np.ndarray) -> np.ndarray:
    for name in event.dtype.names or [None]:
        values = event if name is None else event[name]
        if values.dtype.kind in "fc":
            values[np.isnan(values)] = 0
    return event


def write_all(sink, events) -> None:
    for counter, event in enumerate(events):
        meta = np.zeros(1, META_DTYPE)
        meta["counter"] = counter
        sink.process(event, meta[0])
    sink.finish()


def assert_same(back, events) -> None:
    assert len(back) == len(events)
    for got, want in zip(back, events, strict=True):
        assert got.dtype == want.dtype and got.shape == want.shape
        assert got.tobytes() == want.tobytes() or np.array_equal(got, want)


@given(recordings())
def test_npy_and_hdf5_sinks_read_back_unchanged(recording):
    events, length = recording
    example = np.zeros(length, events[0].dtype if events else np.float64)
    with tempfile.TemporaryDirectory() as folder:
        if events:
            write_all(sinks.npy(path=f"{folder}/e.npy"), events)
            assert_same(list(sources.npy(f"{folder}/e.npy", example=example)), events)
        write_all(sinks.hdf5(path=f"{folder}/e.h5", compression="lzf"), events)
        back = list(sources.hdf5(f"{folder}/e.h5", example=example)) if events else []
        assert_same(back, events)


@given(recordings())
def test_csv_sink_reads_back_unchanged(recording):
    events, length = recording
    dtype = events[0].dtype if events else np.dtype([("x", "f8")])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "e.csv"
        write_all(sinks.csv(path=str(path), metadata=True), events)
        back = list(sources.csv(str(path), example=np.zeros(length, dtype)))
        assert_same(back, events)
