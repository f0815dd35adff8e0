"""Callable references: resolving them, reading declared signatures, and the calling shape."""

import pickle

import pytest

import flowc
from flowc.callables import (
    CallableTarget,
    ResolveError,
    call_shape,
    resolve,
    signature_of,
)


def plain(data, *, threshold, scale=1.0, meta=None, source=None):
    return data


def generator(data, width=3):
    yield data


def importer(n, *, rate=1.0, example=None):
    yield from range(n)


def open_ended(data, **options):
    return data


class Worker:
    def __init__(self, every, label="x"):
        self.every = every

    def process(self, data, meta):
        return data


class Source:
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        yield from range(self.n)


@flowc.signature(
    needs={"height": "f8"}, produces="{height: f8}", field_args=["field"], kind="processor"
)
def declared(data, *, field):
    return data


def test_module_targets_resolve_to_the_object():
    assert resolve(CallableTarget("module", "os.path", "join")) is __import__("os").path.join
    obj = resolve(CallableTarget("module", "flowc.stdlib.sinks", "null"))
    assert callable(obj)


def test_a_dotted_attribute_inside_a_module_resolves():
    assert resolve(CallableTarget("module", "os", "path.join")) is __import__("os").path.join


@pytest.mark.parametrize(
    "target,fragment",
    [
        (
            CallableTarget("module", "no_such_module_xyz", "f"),
            "no module named `no_such_module_xyz`",
        ),
        (CallableTarget("module", "os.path", "no_such_fn"), "no attribute `no_such_fn`"),
        (CallableTarget("module", "os", "sep"), "not a function"),
        (CallableTarget("function", "", "missing"), "not among the functions"),
        (CallableTarget("file", "/no/such/file.py", "f"), "not found"),
    ],
)
def test_failures_raise_resolve_error_saying_why(target, fragment):
    with pytest.raises(ResolveError) as caught:
        resolve(target)
    assert fragment in caught.value.message


def test_function_targets_come_from_the_functions_mapping():
    assert resolve(CallableTarget("function", "", "p"), {"p": plain}) is plain


def test_file_targets_import_the_file_and_report_what_its_import_raised(tmp_path):
    good = tmp_path / "good_workers.py"
    good.write_text("def f(data):\n    return data\n")
    assert resolve(CallableTarget("file", str(good), "f"))(1) == 1
    bad = tmp_path / "bad_workers.py"
    bad.write_text("import sys\nsys.exit(3)\n")
    with pytest.raises(ResolveError) as caught:
        resolve(CallableTarget("file", str(bad), "f"))
    assert "SystemExit" in caught.value.message


def test_targets_describe_themselves_and_round_trip():
    stdlib = CallableTarget("module", "flowc.stdlib.sources", "pulses")
    assert stdlib.describe() == "stdlib.sources.pulses"
    assert CallableTarget("module", "pkg.mod", "fn").describe() == "pkg.mod:fn"
    assert CallableTarget("function", "", "gen").describe() == "gen"
    assert CallableTarget.from_json(stdlib.to_json()) == stdlib
    error = pickle.loads(pickle.dumps(ResolveError("why")))
    assert error.message == "why"


def test_signature_of_reads_the_decorator():
    sig = signature_of(declared)
    assert sig.needs == {"height": "f8"}
    assert sig.produces == "{height: f8}"
    assert sig.field_args == ("field",)
    assert sig.kind == "processor"
    assert signature_of(plain) is None


def test_call_shape_of_a_function_skips_data_and_reserved_parameters():
    shape = call_shape(plain, "processor")
    assert shape.parameters == ("threshold", "scale")
    assert shape.required == ("threshold",)
    assert shape.wants_meta and shape.wants_source
    assert not shape.is_class and not shape.is_generator and not shape.accepts_any


def test_call_shape_of_an_importer_keeps_its_first_parameter_and_may_want_an_example():
    shape = call_shape(importer, "importer")
    assert shape.parameters == ("n", "rate")
    assert shape.required == ("n",)
    assert shape.wants_example and shape.is_generator


def test_call_shape_sees_generators_and_kwargs():
    assert call_shape(generator, "processor").is_generator
    assert call_shape(open_ended, "exporter").accepts_any


def test_call_shape_of_a_class_reads_init_and_process():
    shape = call_shape(Worker, "processor")
    assert shape.is_class
    assert shape.parameters == ("every", "label")
    assert shape.required == ("every",)
    assert shape.wants_meta and not shape.wants_source


def test_call_shape_of_an_importer_class_reads_iter():
    shape = call_shape(Source, "importer")
    assert shape.is_class and shape.is_generator
    assert shape.required == ("n",)


def test_an_importer_may_take_an_argument_named_source_and_meta():
    from flowc.callables import call_shape

    def read_file(source, meta="x", *, example):
        yield example

    shape = call_shape(read_file, "importer")
    assert shape.parameters == ("source", "meta")
    assert shape.required == ("source",)
    assert shape.wants_example and not shape.wants_source and not shape.wants_meta


def test_a_processor_gets_meta_and_source_from_flowc_not_from_the_flow_file():
    from flowc.callables import call_shape

    def step(data, meta, source, *, gain=1.0):
        return data

    shape = call_shape(step, "processor")
    assert shape.parameters == ("gain",)
    assert shape.wants_meta and shape.wants_source and not shape.wants_example
