"""Properties of the checker on generated pipelines and on arbitrary text.

- a generated well-wired graph (importers -> processors and filters -> exporters, random
  types) checks with no diagnostic at all;
- changing the type of one filter's output gives exactly one E201, at that output reference;
- any text, and any syntax tree the parser's strategies build, either compiles or raises
  FlowError, whose spans lie inside the text.
"""

import dataclasses
from dataclasses import dataclass, field

import strategies as syntax_trees
from hypothesis import assume, example, given
from hypothesis import strategies as st

import flowc
from flowc.compiler import check_source
from flowc.sema.values import show
from flowc.source import SourceFile
from flowc.syntax import ast, format_module


def source(**options):
    yield from ()


def work(data, **options):
    return data


FUNCTIONS = {"source": source, "work": work}
CODES = [
    "i1",
    "i2",
    "i4",
    "i8",
    "u1",
    "u2",
    "u4",
    "u8",
    "f2",
    "f4",
    "f8",
    "c8",
    "c16",
    "b1",
    "float32",
    "int16",
    "S4",
    "U3",
]
NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True).filter(
    lambda n: n not in flowc.types.KEYWORDS
)


# `cfg=` mapping arguments: any keys, nested lists and mappings of plain values
CONFIGS = st.dictionaries(
    st.text(max_size=6),
    st.recursive(
        st.one_of(
            st.integers(-(10**6), 10**6),
            st.floats(allow_nan=False, allow_infinity=False),
            st.text(max_size=6),
            st.booleans(),
        ),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)
        ),
        max_leaves=6,
    ),
    max_size=4,
)


@st.composite
def element_types(draw):
    """Flow text of an element type: a dtype code or a struct with distinct fields."""
    if draw(st.booleans()):
        return draw(st.sampled_from(CODES))
    names = draw(st.lists(NAMES, min_size=1, max_size=4, unique=True))
    fields = []
    for name in names:
        shape = draw(st.lists(st.integers(1, 4), max_size=2))
        dims = f"[{', '.join(map(str, shape))}]" if shape else ""
        fields.append(f"{name}: {draw(st.sampled_from(CODES))}{dims}")
    return "{" + ", ".join(fields) + "}"


@dataclass
class Pipeline:
    """A generated pipeline: buffers (name -> (type text, length)) and worker statements."""

    buffers: dict = field(default_factory=dict)
    slots: dict = field(default_factory=dict)
    workers: list = field(default_factory=list)  # (kind, name, inputs, outputs, processes)
    configs: dict = field(default_factory=dict)  # worker name -> its `cfg=` mapping argument

    def text(self, retyped: dict | None = None) -> str:
        lines = []
        for name, (type_text, length) in self.buffers.items():
            type_text, length = (retyped or {}).get(name, (type_text, length))
            lines.append(f"buffer {name} : {type_text}[{length}] slots={self.slots[name]}")
        for kind, name, inputs, outputs, processes in self.workers:
            code = "source" if kind == "importer" else "work"
            wiring = ", ".join(inputs)
            if outputs:
                wiring += " -> " + ", ".join(outputs)
            args = f"cfg={show(self.configs[name])}" if name in self.configs else ""
            lines.append(
                f"{kind} {name} = {code}({args}) {wiring} processes={processes}".replace("  ", " ")
            )
        return "\n".join(lines) + "\n"

    def line_of(self, worker_name: str) -> int:
        names = [w[1] for w in self.workers]
        return len(self.buffers) + names.index(worker_name) + 1


@st.composite
def pipelines(draw):
    p = Pipeline()
    counter = iter(range(10_000))

    def new_buffer(type_text, length):
        name = f"b{next(counter)}"
        p.buffers[name] = (type_text, length)
        p.slots[name] = draw(st.integers(1, 8))
        return name

    for _ in range(draw(st.integers(1, 2))):
        out = new_buffer(draw(element_types()), draw(st.integers(1, 64)))
        p.workers.append(("importer", f"w{next(counter)}", [], [out], 1))
    for _ in range(draw(st.integers(1, 6))):
        existing = list(p.buffers)
        if draw(st.booleans()):
            source_buffer = draw(st.sampled_from(existing))
            outputs = [
                new_buffer(*p.buffers[source_buffer]) for _ in range(draw(st.integers(1, 2)))
            ]
            p.workers.append(("filter", f"w{next(counter)}", [source_buffer], outputs, 1))
        else:
            inputs = draw(st.lists(st.sampled_from(existing), min_size=1, max_size=2, unique=True))
            outputs = [
                new_buffer(draw(element_types()), draw(st.integers(1, 64)))
                for _ in range(draw(st.integers(1, 2)))
            ]
            processes = draw(st.integers(1, 3))
            p.workers.append(("processor", f"w{next(counter)}", inputs, outputs, processes))
    for _, name, _, _, _ in p.workers:
        if draw(st.booleans()):
            p.configs[name] = draw(CONFIGS)
    read = {b for w in p.workers for b in w[2]}
    for name in list(p.buffers):
        if name not in read:
            p.workers.append(("exporter", f"w{next(counter)}", [name], [], 1))
    for _, _, inputs, _, processes in p.workers:
        for b in inputs:
            p.slots[b] = max(p.slots[b], processes)
    return p


def buffer_type(type_text, length):
    """The element type and length a buffer declared with this type text gets."""
    plan = flowc.compile_source(f"buffer x : {type_text}[{length}] slots=1\n")
    return plan.buffers[0].element, plan.buffers[0].length


def check(text):
    return check_source(SourceFile("gen.flow", text), functions=FUNCTIONS)


@given(pipelines())
def test_generated_well_wired_pipelines_check_clean(pipeline):
    result = check(pipeline.text())
    assert result.diagnostics == [], [d.render() for d in result.diagnostics]
    assert len(result.plan.workers) == len(pipeline.workers)
    for name, config in pipeline.configs.items():
        assert result.plan.worker(name).args == {"cfg": config}


@given(pipelines(), st.data())
def test_retyping_one_filter_output_gives_exactly_one_e201_at_that_edge(pipeline, data):
    filter_readers = {
        b for kind, _, inputs, _, _ in pipeline.workers if kind == "filter" for b in inputs
    }
    edges = [
        (name, out)
        for kind, name, _, outputs, _ in pipeline.workers
        if kind == "filter"
        for out in outputs
        if out not in filter_readers
    ]
    assume(edges)
    worker, out = data.draw(st.sampled_from(edges))
    type_text, length = pipeline.buffers[out]
    changed = data.draw(
        st.one_of(
            st.sampled_from(CODES).map(lambda code: (code, length)),
            st.integers(1, 64).map(lambda n: (type_text, n)),
            element_types().map(lambda t: (t, length)),
        )
    )
    assume(buffer_type(*changed) != buffer_type(type_text, length))  # not `float32` for `f4`
    found = check(pipeline.text({out: changed})).diagnostics
    assert [d.code for d in found] == ["E201"], [d.render() for d in found]
    assert found[0].span.text == out
    assert found[0].span.line == pipeline.line_of(worker)


VALID = """\
pipeline p
const N = 4
type T = {a: f4, "b c": i2[2], name: S8, label: U4[2]}
buffer raw : T[N] slots=4 overflow=drop
buffer out : T[N] slots=4
importer src = source(n=N) -> raw
filter f = work(x=[1, 2.5, "s", true], m={a: 1, "b c": [N, {d: false}]}) raw -> out processes=2 on_error=skip
exporter e = work() out
observer o = work() observes raw
"""


@st.composite
def mangled(draw):
    """The valid text with a few characters deleted, replaced or inserted."""
    text = VALID
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        piece = draw(
            st.sampled_from(["", "0", "-", "=", ",", "[", "]", "{", "}", '"', "x", "\n", ":", "->"])
        )
        cut = draw(st.integers(0, 3))
        text = text[:i] + piece + text[i + cut :]
    return text


def assert_compiles_or_flow_error(text):
    try:
        flowc.compile_source(text, name="any.flow", functions=FUNCTIONS, base_dir="/nonexistent")
    except flowc.FlowError as exc:
        assert exc.diagnostics
        for d in exc.diagnostics:
            if d.span.filename == "any.flow":
                assert 0 <= d.span.start <= d.span.end <= len(text), d.render()
            for note in d.notes:
                if note.span is not None and note.span.filename == "any.flow":
                    assert 0 <= note.span.start <= note.span.end <= len(text)


@given(mangled())
@example(VALID)
@example(VALID.replace("slots=4", "slots=99999999999999999999999"))
@example(VALID.replace("i2[2]", "i2[99999999999, 99999999999]"))
@example(VALID.replace("const N = 4", "const N = 1e999"))
@example(VALID.replace("{d: false}", "{d: false, d: true}"))
@example(VALID.replace("name: S8", "name: S0").replace("U4[2]", "U[2]"))
def test_mangled_flow_text_compiles_or_raises_flow_error_with_spans_inside(text):
    assert_compiles_or_flow_error(text)


@given(st.text(max_size=200))
def test_any_text_compiles_or_raises_flow_error(text):
    assert_compiles_or_flow_error(text)


def with_known_code(module: ast.Module) -> ast.Module:
    """The module with every worker calling `work` (importing random module names is unsafe)."""
    bare = ast.CallableRef("bare", None, "work")
    return ast.Module(
        tuple(
            dataclasses.replace(s, callable=bare) if isinstance(s, ast.Worker) else s
            for s in module.statements
        )
    )


@given(syntax_trees.modules(max_statements=10).map(with_known_code))
def test_any_syntax_tree_compiles_or_raises_flow_error(module):
    assert_compiles_or_flow_error(format_module(module))
