"""Hypothesis strategies that build `flowc.syntax.ast` trees (trees, not strings).

Every tree drawn here is one the grammar can express, so `parse(format_module(tree)) == tree`
must hold for it. Trees are syntactic only: names may clash and buffers need not be wired.
Other test suites build on these (e.g. `names()`, `values()`, `struct_types()`, `modules()`).
"""

from __future__ import annotations

import operator
import string

from hypothesis import strategies as st

from flowc.syntax import ast
from flowc.types import DTYPE_CODES, KEYWORDS

# a plain name: a letter or underscore, then letters, digits, underscores; never a keyword
_LETTERS = string.ascii_letters + "_"
_IDENTIFIER = st.builds(
    operator.add, st.sampled_from(_LETTERS), st.text(_LETTERS + string.digits, max_size=11)
)

# what a string literal may hold: any character but lone surrogates (which no file can hold)
_STRING_CHARACTERS = st.characters(blacklist_categories=("Cs",))


def names() -> st.SearchStrategy[str]:
    """Names of buffers, workers, types and consts (never a keyword)."""
    return _IDENTIFIER.filter(lambda name: name not in KEYWORDS)


def keys() -> st.SearchStrategy[str]:
    """Keys of `key=value` arguments and options: any identifier, keywords included."""
    return _IDENTIFIER


def string_texts(*, min_size: int = 0, max_size: int = 12) -> st.SearchStrategy[str]:
    return st.text(_STRING_CHARACTERS, min_size=min_size, max_size=max_size)


def _int_spellings(value: int) -> st.SearchStrategy[str]:
    digits = abs(value)
    sign = "-" if value < 0 else ""
    spellings = [str(value), f"{sign}{digits:_}", f"{sign}{hex(digits)}", f"{sign}{bin(digits)}"]
    if value >= 0:
        spellings.append(f"+{value}")
    return st.sampled_from(spellings)


def numbers() -> st.SearchStrategy[ast.Number]:
    """Numbers, some with `raw` spellings as a user might write them (`0x1F`, `1_000`, `+2`)."""
    ints = st.integers(min_value=-(10**20), max_value=10**20)
    floats = st.floats(allow_nan=False, allow_infinity=False)
    plain = st.one_of(ints, floats).map(ast.Number)
    spelled_ints = ints.flatmap(
        lambda value: _int_spellings(value).map(lambda raw: ast.Number(value, raw=raw))
    )
    spelled_floats = floats.map(lambda value: ast.Number(value, raw=repr(value).upper()))
    return st.one_of(plain, spelled_ints, spelled_floats)


def scalar_values() -> st.SearchStrategy[ast.Value]:
    return st.one_of(
        numbers(),
        string_texts().map(ast.String),
        st.booleans().map(ast.Bool),
        names().map(ast.NameRef),
    )


def mapping_keys() -> st.SearchStrategy[str]:
    """Keys of mappings: plain names, keywords and arbitrary text (printed quoted)."""
    return st.one_of(names(), st.sampled_from(sorted(KEYWORDS)), string_texts())


def _containers(items: st.SearchStrategy[ast.Value]) -> st.SearchStrategy[ast.Value]:
    """Lists and mappings of `items` (a mapping may repeat a key: that is sema's concern)."""
    entries = st.builds(ast.Entry, mapping_keys(), items)
    return st.one_of(
        st.lists(items, max_size=4).map(lambda xs: ast.ListValue(tuple(xs))),
        st.lists(entries, max_size=4).map(lambda es: ast.MappingValue(tuple(es))),
    )


def values(*, max_leaves: int = 8) -> st.SearchStrategy[ast.Value]:
    """Any value, lists and mappings nested a few levels deep."""
    return st.recursive(scalar_values(), _containers, max_leaves=max_leaves)


def string_codes() -> st.SearchStrategy[str]:
    """Fixed-length string codes: `S<n>` (bytes) and `U<n>` (unicode characters)."""
    return st.builds("{}{}".format, st.sampled_from("SU"), st.integers(1, 64))


def dtype_codes() -> st.SearchStrategy[str]:
    """Field codes: mostly real dtype codes and string codes, sometimes any name (the checker
    judges those)."""
    return st.one_of(st.sampled_from(DTYPE_CODES), string_codes(), names())


def field_names() -> st.SearchStrategy[str]:
    """Field names: plain names, keywords and arbitrary text (printed quoted)."""
    return st.one_of(names(), st.sampled_from(sorted(KEYWORDS)), string_texts(min_size=1))


def dimensions() -> st.SearchStrategy[ast.Value]:
    return st.one_of(
        st.integers(min_value=0, max_value=4096).map(ast.Number), names().map(ast.NameRef)
    )


def field_decls() -> st.SearchStrategy[ast.FieldDecl]:
    return st.builds(
        ast.FieldDecl,
        field_names(),
        dtype_codes(),
        st.lists(dimensions(), max_size=3).map(tuple),
    )


def struct_types(*, max_fields: int = 5) -> st.SearchStrategy[ast.StructType]:
    return st.lists(field_decls(), max_size=max_fields).map(
        lambda fields: ast.StructType(tuple(fields))
    )


def type_exprs() -> st.SearchStrategy[ast.TypeExpr]:
    return st.one_of(
        st.sampled_from(DTYPE_CODES).map(ast.TypeName),
        string_codes().map(ast.TypeName),
        names().map(ast.TypeName),
        struct_types(),
    )


def options() -> st.SearchStrategy[ast.Option]:
    return st.builds(ast.Option, keys(), values(max_leaves=3))


def args() -> st.SearchStrategy[ast.Arg]:
    return st.builds(ast.Arg, keys(), values(max_leaves=4))


def python_names() -> st.SearchStrategy[str]:
    """Parts of a callable: any identifier, flow's keywords included (`cuts:filter`)."""
    return st.one_of(names(), st.sampled_from(sorted(KEYWORDS)))


def _dotted(min_parts: int, max_parts: int) -> st.SearchStrategy[str]:
    """`a.b.c`: module and function parts of a callable, keywords allowed in every part."""
    return st.lists(python_names(), min_size=min_parts, max_size=max_parts).map(".".join)


def callable_refs() -> st.SearchStrategy[ast.CallableRef]:
    return st.one_of(
        st.builds(ast.CallableRef, st.just("colon"), _dotted(1, 3), _dotted(1, 2)),
        _dotted(2, 4).map(lambda path: ast.CallableRef("dotted", *path.rsplit(".", 1))),
        st.builds(ast.CallableRef, st.just("file"), string_texts(min_size=1), _dotted(1, 2)),
        python_names().map(lambda name: ast.CallableRef("bare", None, name)),
    )


def buffer_refs(*, max_size: int = 3, min_size: int = 0) -> st.SearchStrategy[tuple]:
    return st.lists(names().map(ast.BufferRef), min_size=min_size, max_size=max_size).map(tuple)


def pipeline_decls() -> st.SearchStrategy[ast.PipelineDecl]:
    return st.builds(ast.PipelineDecl, names())


def const_decls() -> st.SearchStrategy[ast.ConstDecl]:
    return st.builds(ast.ConstDecl, names(), values())


def type_decls() -> st.SearchStrategy[ast.TypeDecl]:
    return st.builds(ast.TypeDecl, names(), struct_types())


def buffer_decls() -> st.SearchStrategy[ast.BufferDecl]:
    return st.builds(
        ast.BufferDecl,
        names(),
        type_exprs(),
        st.none() | values(max_leaves=2),
        st.lists(options(), max_size=3).map(tuple),
    )


def workers() -> st.SearchStrategy[ast.Worker]:
    return st.builds(
        ast.Worker,
        st.sampled_from(ast.WORKER_KINDS),
        names(),
        callable_refs(),
        st.lists(args(), max_size=4).map(tuple),
        buffer_refs(),
        buffer_refs(),
        buffer_refs(),
        st.lists(options(), max_size=3).map(tuple),
    )


def statements() -> st.SearchStrategy[ast.Statement]:
    return st.one_of(pipeline_decls(), const_decls(), type_decls(), buffer_decls(), workers())


def modules(*, max_statements: int = 8) -> st.SearchStrategy[ast.Module]:
    """Whole modules (without comments: comments take no part in equality)."""
    return st.lists(statements(), max_size=max_statements).map(
        lambda items: ast.Module(tuple(items))
    )


def comment_texts() -> st.SearchStrategy[str]:
    """Comment texts as the parser keeps them: `#` and the rest of a line, no trailing blanks."""
    body = st.text(
        st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=20
    )
    return body.map(lambda text: ("#" + text).rstrip())
