"""Element types of buffers: dtype codes, sub-array shapes, and their numpy form.

An `ElementType` is what one element of a buffer holds: either a plain dtype (`f4`) or a
packed struct of fields (`{height: f8, shape: f4[16]}`), always in native byte order.
This is the one place dtype text is understood: the numeric codes and their numpy names, and
the fixed-length strings `S<n>` (n bytes) and `U<n>` (n unicode characters) — and the one
reader of type text, flow's type syntax as a string (`"{height: f8, shape: f4[16]}"`), which
`@flowc.signature(produces=...)` and the mimoCoRB2 buffer specs carry (`parse_type_text`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np

# canonical code -> numpy type; every spelling a user may write maps to a canonical code
_CANONICAL = {
    "i1": np.int8,
    "i2": np.int16,
    "i4": np.int32,
    "i8": np.int64,
    "u1": np.uint8,
    "u2": np.uint16,
    "u4": np.uint32,
    "u8": np.uint64,
    "f2": np.float16,
    "f4": np.float32,
    "f8": np.float64,
    "c8": np.complex64,
    "c16": np.complex128,
    "b1": np.bool_,
}
_ALIASES = {
    "int8": "i1",
    "int16": "i2",
    "int32": "i4",
    "int64": "i8",
    "uint8": "u1",
    "uint16": "u2",
    "uint32": "u4",
    "uint64": "u8",
    "float16": "f2",
    "float32": "f4",
    "float64": "f8",
    "complex64": "c8",
    "complex128": "c16",
    "bool": "b1",
}
DTYPE_CODES: tuple[str, ...] = tuple(_CANONICAL) + tuple(_ALIASES)
NUMERIC_KINDS = frozenset("iufc")
# fixed-length strings: `S16` holds 16 bytes, `U8` 8 unicode characters (numpy's codes)
_STRING_CODE = re.compile(r"[SU][1-9][0-9]*\Z")
_STRING_LIKE = re.compile(r"([SUs])([0-9]*)\Z")
_STRING_UNITS = {"S": "bytes", "U": "unicode characters"}
STRING_CODES_HELP = "`S<n>` (n bytes), `U<n>` (n unicode characters)"

# the metadata record every slot carries beside its data (as in mimoCoRB2)
META_DTYPE = np.dtype([("counter", "<i8"), ("timestamp", "<f8"), ("deadtime", "<f8")])
# the record in 8-byte words, as the runtime's hot loops write it through word views: a slot's
# record starts at word slot * META_WORDS, its fields at these words after that
META_WORDS = META_DTYPE.itemsize // 8
META_COUNTER, META_TIMESTAMP, META_DEADTIME = (
    META_DTYPE.fields[name][1] // 8 for name in ("counter", "timestamp", "deadtime")
)

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# words of the language that can never be bare names
KEYWORDS = frozenset(
    "pipeline const type buffer importer processor filter exporter observer observes true false".split()
)


def canonical_code(code: str) -> str | None:
    """The canonical code (`f4`, `S16`) of any accepted spelling (`f4`, `float32`, `S16`), or
    None."""
    if code in _CANONICAL:
        return code
    if _STRING_CODE.match(code):
        return code
    return _ALIASES.get(code)


def code_problem(code: str) -> str | None:
    """What is wrong with a code that looks like a fixed-length string but is none (`S0`,
    `U`, `S016`, `s16`), in words; None for anything else."""
    match = _STRING_LIKE.match(code)
    if match is None or _STRING_CODE.match(code):
        return None
    letter, digits = match.groups()
    if letter == "s":
        return f"string codes are upper-case, `S{digits}`"
    units = _STRING_UNITS[letter]
    if not digits:
        return f"it needs its length, as in `{letter}16` (16 {units})"
    if int(digits) == 0:
        return f"it holds no {units}; a fixed-length string needs a length of 1 or more"
    return f"write its length without leading zeros, `{letter}{int(digits)}`"


def numpy_dtype(code: str) -> np.dtype:
    """The numpy dtype of a canonical code."""
    if code in _CANONICAL:
        return np.dtype(_CANONICAL[code])
    return np.dtype(code)


def code_kind(code: str) -> str:
    """numpy's kind character of a canonical code: 'i', 'u', 'f', 'c', 'b', 'S' or 'U'."""
    return numpy_dtype(code).kind


def flow_field_name(name: str) -> str:
    """A field name as flow text: bare when it is an identifier and no keyword, else quoted."""
    if _IDENT.match(name) and name not in KEYWORDS:
        return name
    escaped = (
        name.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    )
    return f'"{escaped}"'


@dataclass(frozen=True)
class FieldType:
    name: str
    code: str  # canonical
    shape: tuple[int, ...] = ()

    @property
    def code_text(self) -> str:
        """Its dtype as flow text, the sub-array shape included: `f4[16]`."""
        dims = f"[{', '.join(map(str, self.shape))}]" if self.shape else ""
        return f"{self.code}{dims}"

    def to_flow(self) -> str:
        return f"{flow_field_name(self.name)}: {self.code_text}"


@dataclass(frozen=True)
class ElementType:
    """A plain dtype (`code` set, `fields` empty) or a struct (`fields` set, `code` None)."""

    fields: tuple[FieldType, ...] = ()
    code: str | None = None

    @staticmethod
    def plain(code: str) -> ElementType:
        return ElementType(code=canonical_code(code) or code)

    @staticmethod
    def struct(fields) -> ElementType:
        return ElementType(fields=tuple(fields))

    @property
    def is_plain(self) -> bool:
        return self.code is not None

    def field(self, name: str) -> FieldType | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None

    @cached_property
    def numpy(self) -> np.dtype:
        if self.is_plain:
            return numpy_dtype(self.code)
        return np.dtype([(f.name, numpy_dtype(f.code), f.shape) for f in self.fields])

    @property
    def itemsize(self) -> int:
        return self.numpy.itemsize

    def to_flow(self) -> str:
        if self.is_plain:
            return self.code
        return "{" + ", ".join(f.to_flow() for f in self.fields) + "}"

    def to_json(self):
        if self.is_plain:
            return self.code
        return [[f.name, f.code, list(f.shape)] for f in self.fields]

    @staticmethod
    def from_json(data) -> ElementType:
        if isinstance(data, str):
            return ElementType(code=data)
        return ElementType(fields=tuple(FieldType(n, c, tuple(s)) for n, c, s in data))

    def __getstate__(self):
        return {"fields": self.fields, "code": self.code}

    def __setstate__(self, state):
        object.__setattr__(self, "fields", state["fields"])
        object.__setattr__(self, "code", state["code"])


def difference(a: ElementType, b: ElementType) -> str | None:
    """Why two element types differ, in words, or None when they are the same."""
    if a == b:
        return None
    if a.is_plain != b.is_plain:
        return f"{a.to_flow()} is {'a plain dtype' if a.is_plain else 'a struct'}, {b.to_flow()} is not"
    if a.is_plain:
        return f"dtype {a.code} is not {b.code}"
    names_a = [f.name for f in a.fields]
    names_b = [f.name for f in b.fields]
    missing = [n for n in names_a if n not in names_b]
    extra = [n for n in names_b if n not in names_a]
    if missing:
        return f"field `{missing[0]}` is missing"
    if extra:
        return f"field `{extra[0]}` is extra"
    for fa in a.fields:
        fb = b.field(fa.name)
        if (fa.code, fa.shape) != (fb.code, fb.shape):
            return (
                f"field `{fa.name}` is {fa.code_text} on one side and {fb.code_text} on the other"
            )
    return "the fields are in a different order"


def field_requirement(element: ElementType, name: str, code: str | None) -> str | None:
    """Why `element` does not have field `name` of dtype `code` (None: any numeric), or None."""
    if element.is_plain:
        return f"it is a plain {element.code} array without fields"
    f = element.field(name)
    if f is None:
        return f"it has no field `{name}`"
    if code is None:
        if code_kind(f.code) not in NUMERIC_KINDS:
            return f"field `{name}` is {f.code}, not numeric"
        return None
    want = canonical_code(code) or code
    if f.code != want:
        return f"field `{name}` is {f.code}, not {want}"
    return None


# --- type text: `{height: f8, "1st": S16, shape: f4[16]}`, `f4`, `Pulse`, with a `[LENGTH]` ---

_TEXT_TOKEN = re.compile(
    r'(?P<string>"(?:[^"\\\n]|\\[^\n])*")|(?P<name>[A-Za-z_][A-Za-z0-9_]*)'
    r"|(?P<number>[+-]?[0-9][0-9A-Za-z_]*)|(?P<punct>[{}\[\]:,])"
)
_TEXT_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}


class TypeTextError(ValueError):
    """Type text that means no element type: `reason` in words, at offset `position`."""

    def __init__(self, text: str, position: int, reason: str):
        self.text = text
        self.position = position
        self.reason = reason
        super().__init__(f"{reason} (at column {position + 1} of {text!r})")


def parse_type_text(
    text: str, types: Mapping[str, ElementType | None] | None = None
) -> tuple[ElementType, int | None]:
    """The element type flow type text means, and its `[LENGTH]` (None when it has none).

    The text is a struct (`{height: f8, "1st_chA": S16, shape: f4[16]}`), a dtype code (`f4`)
    or a name of `types` (None there: a declared type with errors), then maybe `[1024]`.
    Raises TypeTextError, with the offset of the problem, for anything else.
    """
    tokens = _text_tokens(text)
    at = 0

    def fail(reason: str, index: int | None = None) -> TypeTextError:
        index = at if index is None else index
        position = tokens[index][2] if index < len(tokens) else len(text)
        return TypeTextError(text, position, reason)

    def peek() -> str | None:
        return tokens[at][1] if at < len(tokens) else None

    def take(kind: str, what: str, value: str | None = None) -> str:
        nonlocal at
        if at >= len(tokens):
            raise fail(f"the text ends where {what} was expected")
        got_kind, got, _ = tokens[at]
        if got_kind != kind or (value is not None and got != value):
            raise fail(f"{what} was expected, not `{got}`")
        at += 1
        return got

    def dims(what: str) -> tuple[int, ...]:
        found = []
        while True:
            value = _positive_int(take("number", what))
            if value is None:
                raise fail(f"{what} must be a positive integer, not `{tokens[at - 1][1]}`", at - 1)
            found.append(value)
            if peek() != "]":
                take("punct", "`,` or `]`", ",")
            if peek() == "]":
                take("punct", "`]`", "]")
                return tuple(found)

    if peek() == "{":
        take("punct", "`{`", "{")
        fields: list[FieldType] = []
        while peek() != "}":
            name_at = at
            name = _field_name(tokens[at]) if at < len(tokens) else None
            if name is None:
                take("name", "a field name")
            at += 1
            if name == "":
                raise fail("a field name cannot be empty", name_at)
            if tokens[name_at][0] == "name" and name in KEYWORDS:
                raise fail(f'`{name}` is a word of flow: quote it, `"{name}": ...`', name_at)
            if any(f.name == name for f in fields):
                raise fail(f"field `{name}` is declared twice", name_at)
            take("punct", "`:`", ":")
            code_at = at
            code = canonical_code(take("name", f"the dtype code of field `{name}`"))
            if code is None:
                written = tokens[code_at][1]
                raise fail(field_code_problem(name, written, written in (types or {})), code_at)
            shape = ()
            if peek() == "[":
                take("punct", "`[`", "[")
                shape = dims("a sub-array dimension")
            fields.append(FieldType(name, code, shape))
            if peek() != "}":
                take("punct", "`,` or `}`", ",")
        if not fields:
            raise fail("a struct needs at least one field")
        take("punct", "`}`", "}")
        element = ElementType.struct(fields)
    else:
        name_at = at
        name = take("name", "a dtype code, a type name or `{`")
        element = _named_element(name, types or {})
        if isinstance(element, str):
            raise fail(element, name_at)
    length = None
    if peek() == "[":
        take("punct", "`[`", "[")
        length_at = at
        (length, *more) = dims("the length")
        if more:
            raise fail("a length is one number", length_at)
    if at < len(tokens):
        raise fail(f"the type ends before `{tokens[at][1]}`")
    try:
        element.numpy  # noqa: B018  (numpy refuses dtypes that are too large)
    except (ValueError, TypeError, OverflowError, MemoryError) as exc:
        raise TypeTextError(text, 0, f"numpy cannot hold this type: {exc}") from None
    return element, length


def field_code_problem(field: str, code: str, is_type: bool) -> str:
    """Why `code`, written as the dtype code of field `field`, is none (`is_type`: it names a
    declared type)."""
    if is_type:
        return f"field `{field}` has type `{code}`, but a field holds a dtype code, not a type"
    problem = code_problem(code)
    if problem is not None:
        return f"bad string code `{code}` for field `{field}`: {problem}"
    return f"unknown dtype code `{code}` for field `{field}`"


def _named_element(name: str, types: Mapping[str, ElementType | None]) -> ElementType | str:
    """The element type a bare name means in type text, or why it means none."""
    if name in types:
        return types[name] or f"type `{name}` has errors"
    code = canonical_code(name)
    if code is not None:
        return ElementType.plain(code)
    problem = code_problem(name)
    if problem is not None:
        return f"bad string code `{name}`: {problem}"
    return f"`{name}` is no declared type or dtype code"


def _text_tokens(text: str) -> list[tuple[str, str, int]]:
    """(kind, text, offset) of each token; whitespace between them is skipped."""
    tokens = []
    at = 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            return tokens
        match = _TEXT_TOKEN.match(text, at)
        if match is None:
            what = "an unclosed string" if text[at] == '"' else f"unexpected character `{text[at]}`"
            raise TypeTextError(text, at, what)
        kind = match.lastgroup
        if kind == "string" and _unquote(match.group()) is None:
            raise TypeTextError(
                text, at, 'a bad escape in a quoted field name (use \\" \\\\ \\n \\t)'
            )
        tokens.append((kind, match.group(), at))
        at = match.end()


def _unquote(raw: str) -> str | None:
    """The text of a quoted name (quotes included in `raw`), or None for a bad escape."""
    out = []
    body = iter(raw[1:-1])
    for ch in body:
        if ch == "\\":
            ch = _TEXT_ESCAPES.get(next(body))
            if ch is None:
                return None
        out.append(ch)
    return "".join(out)


def _field_name(token: tuple[str, str, int]) -> str | None:
    kind, value, _ = token
    if kind == "name":
        return value
    if kind == "string":
        return _unquote(value)
    return None


def _positive_int(digits: str) -> int | None:
    try:
        value = int(digits, 0)
    except ValueError:
        return None
    return value if value > 0 else None
