"""Worker code for the golden diagnostics tests, referenced from their .flow files by file."""

import flowc


def gen(n: int = 10, rate: float = 1.0):
    yield from range(n)


def step(data, *, threshold: float, scale=1):
    return data


@flowc.signature(needs={"height": "f8"}, produces="{height: f8, time: f8}")
def find(data, *, threshold: float = 0.1):
    return data


@flowc.signature(kind="filter", field_args=("field",))
def select(data, *, field: str, min: float = 0.0):
    return data[field][0] >= min


def sink(data):
    return None


def watch(data):
    return None


@flowc.signature(batch=True)
def scale_batch(data, *, factor: float = 2.0):
    return data * factor


def pick(data, *, name: int | str = 23, cuts: "Mapping[str, float] | None" = None):  # noqa: F821
    return data
