"""Values in a flow file: literals and const references as Python values, and const overrides.

Overrides come from `--set NAME=VALUE` (text, read by the rules of SPEC section 5) or from the
Python API (`overrides=`); both are held against the type of the const they replace.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from flowc.callables import KIND_WORDS, value_kind
from flowc.diagnostics import Diagnostic, FlowError, Note, error
from flowc.sema.model import ConstInfo, did_you_mean, name_span
from flowc.source import SourceFile, Span
from flowc.syntax import ast, parse_value
from flowc.syntax.printer import quote
from flowc.types import flow_field_name

Report = Callable[[Diagnostic], None]


def type_word(value: object) -> str:
    """`an int`, `a string`... for messages."""
    kind = value_kind(value)
    return KIND_WORDS[kind] if kind is not None else f"a {type(value).__name__}"


def show(value: object) -> str:
    """A value as flow text, for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, Mapping):
        entries = (f"{flow_field_name(str(k))}: {show(v)}" for k, v in value.items())
        return "{" + ", ".join(entries) + "}"
    return repr(value)


def is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


class Evaluator:
    """Turns `ast.Value`s into Python values, reporting bad references and literals.

    `declared` maps every name of the namespace to its declaration (to say what a wrong name
    is); `consts` holds the consts evaluated so far.
    """

    def __init__(self, declared: Mapping[str, ast.Node], report: Report):
        self.declared = declared
        self.consts: dict[str, ConstInfo] = {}
        self.report = report

    def evaluate(self, value: ast.Value) -> object | None:
        """The Python value (lists as lists, mappings as dicts), or None after reporting why
        there is none."""
        if isinstance(value, ast.Number):
            if isinstance(value.value, float) and not math.isfinite(value.value):
                self.report(
                    error("E106", f"number `{value.raw or value.value}` is too large", value.span)
                )
                return None
            return value.value
        if isinstance(value, ast.String | ast.Bool):
            return value.value
        if isinstance(value, ast.ListValue):
            items = [self.evaluate(item) for item in value.items]
            return None if any(item is None for item in items) else items
        if isinstance(value, ast.MappingValue):
            values = [self.evaluate(entry.value) for entry in value.entries]
            repeated = repeated_key(value)
            if repeated is not None:
                self.report(repeated)
            if repeated is not None or any(item is None for item in values):
                return None
            return {entry.key: item for entry, item in zip(value.entries, values, strict=True)}
        return self.lookup(value)

    def lookup(self, ref: ast.NameRef) -> object | None:
        const = self.consts.get(ref.name)
        if const is not None:
            return const.value
        decl = self.declared.get(ref.name)
        if isinstance(decl, ast.ConstDecl):
            self.report(
                error(
                    "E104",
                    f"const `{ref.name}` is used before it is declared",
                    ref.span,
                    notes=[Note(f"`{ref.name}` is declared here", name_span(decl))],
                    help="a const may only refer to consts declared above it",
                )
            )
        elif decl is not None:
            self.report(
                error(
                    "E104",
                    f"`{ref.name}` is not a const",
                    ref.span,
                    notes=[Note(f"`{ref.name}` is {what_is(decl)} declared here", name_span(decl))],
                    help="only a const name may stand where a value is expected",
                )
            )
        else:
            guess = did_you_mean(ref.name, self.consts)
            self.report(
                error(
                    "E104",
                    f"undeclared const `{ref.name}`",
                    ref.span,
                    help=f"did you mean `{guess}`?"
                    if guess
                    else f"declare it with `const {ref.name} = ...` or write a literal",
                )
            )
        return None


def repeated_key(mapping: ast.MappingValue) -> Diagnostic | None:
    """E106 for the first key a mapping gives twice, or None."""
    first: dict[str, ast.Entry] = {}
    for entry in mapping.entries:
        if entry.key not in first:
            first[entry.key] = entry
            continue
        earlier = first[entry.key]
        return error(
            "E106",
            f"key `{entry.key}` is given twice in this mapping",
            entry.key_span or entry.span,
            notes=[Note(f"`{entry.key}` is first given here", earlier.key_span or earlier.span)],
            help="a mapping holds one value per key: keep one of them",
        )
    return None


def what_is(decl: ast.Node) -> str:
    """`a buffer`, `a worker`... the kind of thing a declaration declares."""
    if isinstance(decl, ast.Worker):
        return f"{'an' if decl.kind[0] in 'aeiou' else 'a'} {decl.kind}"
    return {
        ast.ConstDecl: "a const",
        ast.TypeDecl: "a type",
        ast.BufferDecl: "a buffer",
    }.get(type(decl), "a declaration")


# ---------------------------------------------------------------------------------------------
# overrides


@dataclass(frozen=True)
class Override:
    """A replacement value for a const, before it is held against the const's type.

    From `--set`: `text` is the raw VALUE and `source` the `<command line>` file holding
    `NAME=VALUE`. From the API: `value` is the Python value.
    """

    name: str
    name_span: Span
    value_span: Span
    text: str | None = None
    value: object | None = None


def overrides_from_api(overrides: Mapping[str, object]) -> list[Override]:
    out = []
    for name, value in overrides.items():
        name = str(name)
        source = SourceFile("<overrides>", f"{name}={show(value)}")
        out.append(
            Override(
                name,
                source.span(0, len(name)),
                source.span(len(name) + 1, len(source.text)),
                value=value,
            )
        )
    return out


def overrides_from_set(set_texts) -> list[Override]:
    out = []
    for text in set_texts:
        name, _, value = text.partition("=")
        source = SourceFile("<command line>", text)
        out.append(
            Override(
                name, source.span(0, len(name)), source.span(len(name) + 1, len(text)), text=value
            )
        )
    return out


def apply_override(declared: object, override: Override, report: Report) -> object | None:
    """The override's value converted to the type of `declared`, or None after an E106."""
    if override.text is not None:
        value = _read_set_value(declared, override, report)
        if value is None:
            return None
    else:
        value = override.value
    converted = convert_like(declared, value)
    if converted is None:
        report(
            error(
                "E106",
                f"const `{override.name}` is {type_word(declared)}, "
                f"but the new value {show_short(value)} is {type_word(value)}",
                override.value_span,
                help=f"give {type_word(declared)}, like its declared value {show(declared)}",
            )
        )
    return converted


def show_short(value: object) -> str:
    text = show(value) if _is_plain_data(value) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _read_set_value(declared: object, override: Override, report: Report) -> object | None:
    text = override.text
    if isinstance(declared, str):
        if len(text) >= 2 and text[0] == text[-1] == '"':
            return text[1:-1]
        return text
    try:
        node = parse_value(SourceFile("<command line>", text))
    except FlowError as exc:
        reason = exc.diagnostics[0].message if exc.diagnostics else "not a literal"
        report(
            error(
                "E106",
                f"`{text}` is not a value for const `{override.name}`: {reason}",
                override.value_span,
                help=f"give {type_word(declared)}, like its declared value {show(declared)}",
            )
        )
        return None
    repeated: list[Diagnostic] = []
    value = literal(node, repeated.append)
    for diagnostic in repeated:
        report(_moved_into(diagnostic, override.value_span))
    if value is None and not repeated:
        report(
            error(
                "E106",
                f"`{text}` is not a literal value for const `{override.name}`",
                override.value_span,
                help=f"give {type_word(declared)}, like its declared value {show(declared)}",
            )
        )
    return value


def _moved_into(diagnostic: Diagnostic, place: Span) -> Diagnostic:
    """A diagnostic about a value parsed on its own, pointing into the text it came from
    (`place`), so that `--set B={a: 1, a: 2}` shows the whole `NAME=VALUE`."""

    def moved(span: Span | None) -> Span | None:
        if span is None:
            return None
        return Span(place.file, place.start + span.start, place.start + span.end)

    return replace(
        diagnostic,
        span=moved(diagnostic.span),
        notes=tuple(replace(note, span=moved(note.span)) for note in diagnostic.notes),
    )


def literal(node: ast.Value, report: Report | None = None) -> object | None:
    """A value node holding only literals as its Python value; None when it names a const
    or repeats a key of a mapping (reported to `report`, when given)."""
    if isinstance(node, ast.Number):
        return (
            node.value if not isinstance(node.value, float) or math.isfinite(node.value) else None
        )
    if isinstance(node, ast.String | ast.Bool):
        return node.value
    if isinstance(node, ast.ListValue):
        items = [literal(item, report) for item in node.items]
        return None if any(item is None for item in items) else items
    if isinstance(node, ast.MappingValue):
        repeated = repeated_key(node)
        if repeated is not None:
            if report is not None:
                report(repeated)
            return None
        values = [literal(entry.value, report) for entry in node.entries]
        if any(item is None for item in values):
            return None
        return {entry.key: item for entry, item in zip(node.entries, values, strict=True)}
    return None


def convert_like(declared: object, value: object) -> object | None:
    """`value` as the same kind of value as `declared` (an int is fine for a float), or None."""
    if isinstance(declared, bool):
        return value if isinstance(value, bool) else None
    if is_int(declared):
        return int(value) if is_int(value) else None
    if isinstance(declared, float):
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            converted = float(value)
            return converted if math.isfinite(converted) else None
        return None
    if isinstance(declared, str):
        return value if isinstance(value, str) else None
    if isinstance(declared, list):
        if isinstance(value, list | tuple) and _is_plain_data(value):
            return _plain(value)
        return None
    if isinstance(declared, Mapping):
        if isinstance(value, Mapping) and _is_plain_data(value):
            return _plain(value)
        return None
    return None


def plain_value(value: object) -> object | None:
    """`value` as flow data (tuples as lists, numpy scalars as int/float), or None when it is
    not made of finite numbers, strings, bools, lists and mappings with string keys."""
    return _plain(value) if _is_plain_data(value) else None


def _is_plain_data(value: object) -> bool:
    if isinstance(value, bool | str):
        return True
    if isinstance(value, numbers.Real):
        return is_int(value) or math.isfinite(float(value))
    if isinstance(value, list | tuple):
        return all(_is_plain_data(v) for v in value)
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _is_plain_data(v) for k, v in value.items())
    return False


def _plain(value: object) -> object:
    """Plain Python (JSON) data: numpy scalars to int/float, tuples to lists, mappings to
    dicts."""
    if isinstance(value, bool | str):
        return value
    if is_int(value):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return [_plain(v) for v in value]
