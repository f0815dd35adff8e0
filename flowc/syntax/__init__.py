"""The front end: Lark grammar, syntax errors, the syntax tree, and the canonical printer.

module = parse(SourceFile("pulses.flow", text))    # raises FlowError([E001]) on bad syntax
"""

from __future__ import annotations

import gc
from contextlib import contextmanager

from lark.exceptions import UnexpectedInput

from flowc.source import SourceFile
from flowc.syntax import ast
from flowc.syntax.build import AstBuilder
from flowc.syntax.errors import convert_lark_error
from flowc.syntax.grammar import flow_parser, scanning
from flowc.syntax.printer import format_module, format_source

__all__ = ["format_module", "format_source", "parse", "parse_type", "parse_value"]


def parse(source: SourceFile) -> ast.Module:
    """The syntax tree of a whole .flow text, comments included."""
    return _parse(source, "module")


def parse_value(source: SourceFile) -> ast.Value:
    """One value: a number, string, `true`/`false`, list or name (a `--set N=VALUE` value)."""
    return _parse(source, "value_only")


def parse_type(source: SourceFile) -> ast.TypeExpr:
    """One type in flow syntax: a name (`f4`, `Pulse`) or a struct (`{height: f8}`)."""
    return _parse(source, "type_only")


def _parse(source: SourceFile, start: str):
    with scanning(source) as scan, _no_cyclic_gc():
        try:
            tree = flow_parser().parse(source.text, start=start)
        except UnexpectedInput as exc:
            raise convert_lark_error(exc, source, scan, start) from None
        return AstBuilder(source, scan.comments).transform(tree)


@contextmanager
def _no_cyclic_gc():
    """Pause the cycle collector: parsing allocates many objects and no cycles, and the
    collector's repeated full passes over them more than doubled the time of large files."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
