"""Hover: what the name under the cursor is.

A buffer shows its type with fields and dtypes, LENGTH, slots, bytes per slot and in total; a
type its fields; a const its value and how to override it; a worker its kind, its callable,
the code's signature (Python's and the one declared to flowc) and its docstring; a worker
argument what the code says about it; a dtype code its numpy type and size.
"""

from __future__ import annotations

import dataclasses
import inspect
import math

import numpy as np

from flowc.callables import signature_of
from flowc.lsp.analysis import Analysis, path_at
from flowc.lsp.code import parameters_of, python_signature
from flowc.sema.model import BufferInfo, WorkerInfo
from flowc.sema.values import show, type_word
from flowc.syntax import ast
from flowc.types import META_DTYPE, ElementType, canonical_code, flow_field_name
from flowc.units import format_bytes


@dataclasses.dataclass(frozen=True)
class HoverText:
    markdown: str
    start: int
    end: int


def hover(analysis: Analysis, offset: int) -> HoverText | None:
    model = analysis.model
    if model is None:
        return None
    occurrence = analysis.occurrence_at(offset)
    if occurrence is not None:
        text = _declared(analysis, occurrence.name)
        return HoverText(text, occurrence.start, occurrence.end) if text else None
    path = path_at(analysis.module, offset)
    if not path:
        return None
    statement, inner = path[0], path[-1]
    if isinstance(statement, ast.Worker):
        for node in path:
            if isinstance(node, ast.CallableRef):
                return HoverText(_worker(analysis, statement), node.span.start, node.span.end)
            if isinstance(node, ast.Arg) and _holds(node.key_span, offset):
                text = _argument(analysis, statement, node.key)
                if text:
                    return HoverText(text, node.key_span.start, node.key_span.end)
    for node in path:
        if isinstance(node, ast.Option) and _holds(node.key_span, offset) and node.key in OPTIONS:
            return HoverText(OPTIONS[node.key], node.key_span.start, node.key_span.end)
    if isinstance(inner, ast.TypeName) and canonical_code(inner.name):
        return HoverText(_dtype(inner.name), inner.span.start, inner.span.end)
    for node in reversed(path):
        if isinstance(node, ast.FieldDecl) and canonical_code(node.code):
            return HoverText(_field(node), node.span.start, node.span.end)
    return None


# what each option of a buffer or worker means (SPEC sections 2 and 8)
OPTIONS = {
    "slots": "`slots=N`: how many events the buffer holds at once (each slot one event of "
    "LENGTH elements plus its metadata record).",
    "overflow": "`overflow=block|drop`: when the buffer is full, writers wait (`block`, the "
    "default) or the new event is discarded and counted as dropped (`drop`).",
    "processes": "`processes=N`: N processes of the worker share its input events "
    "(default 1; importers and observers run in one).",
    "on_error": "`on_error=fail|skip`: an event whose processing raises ends the run "
    "(`fail`, the default) or is counted and skipped (`skip`).",
    "batch": "`batch=N`: the worker handles up to N events per call, as arrays of shape "
    "(k, LENGTH); never on an observer.",
    "node": '`node="HOST"`: the machine of a cluster backend the worker runs on.',
}


def _holds(span, offset: int) -> bool:
    return span is not None and span.start <= offset <= span.end


def _declared(analysis: Analysis, name: str) -> str | None:
    model = analysis.model
    kind = analysis.kind_of(name)
    if kind == "buffer" and name in model.buffers:
        return _buffer(model.buffers[name])
    if kind == "type" and name in model.types:
        info = model.types[name]
        shown = info.element.to_flow() if info.element is not None else "{...}"
        return _code(f"type {name} = {shown}") + "\n\n" + _fields_of(info.element)
    if kind == "const" and name in model.consts:
        return _const(analysis, name, model.consts[name].value)
    if kind == "worker":
        worker = analysis.declarations[name]
        return _worker(analysis, worker)
    return None


def _code(text: str, language: str = "flow") -> str:
    return f"```{language}\n{text}\n```"


# --- buffers and types -----------------------------------------------------------------------


def _buffer(buffer: BufferInfo) -> str:
    lines = [_code(f"buffer {buffer.name} : {buffer.describe()}")]
    if buffer.element is None:
        return lines[0] + "\n\nIts type has errors."
    if buffer.type_name:
        lines.append(f"Type `{buffer.type_name}`:")
    lines.append(_fields_of(buffer.element))
    facts = [f"- LENGTH: {buffer.length if buffer.length is not None else '?'}"]
    facts.append(f"- slots: {buffer.slots if buffer.slots is not None else '?'}")
    if buffer.length is not None:
        data = buffer.element.itemsize * buffer.length
        facts.append(
            f"- per slot: {buffer.slot_bytes:,} bytes ({data:,} of data + "
            f"{META_DTYPE.itemsize} of metadata)"
        )
    if buffer.total_bytes is not None:
        facts.append(
            f"- in total: {buffer.total_bytes:,} bytes ({format_bytes(buffer.total_bytes)})"
        )
    facts.append(f"- overflow: {buffer.overflow}")
    lines.append("\n".join(facts))
    return "\n\n".join(lines)


def _fields_of(element: ElementType | None) -> str:
    if element is None:
        return "Its fields have errors."
    if element.is_plain:
        return f"A plain array of `{element.code}` ({element.itemsize} bytes per element)."
    rows = ["| field | dtype | bytes |", "|---|---|---|"]
    for field in element.fields:
        dtype = field.code + (f"[{', '.join(map(str, field.shape))}]" if field.shape else "")
        size = np.dtype(_numpy_code(field.code)).itemsize * math.prod(field.shape)
        rows.append(f"| `{_cell(flow_field_name(field.name))}` | `{dtype}` | {size} |")
    rows.append(f"| | | {element.itemsize} per element |")
    return "\n".join(rows)


def _numpy_code(code: str) -> str:
    """numpy's spelling of a canonical flow code (`c16` is numpy's `c16` too, `b1` its bool)."""
    return "?" if code == "b1" else code


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _dtype(code: str) -> str:
    canonical = canonical_code(code)
    dtype = np.dtype(_numpy_code(canonical))
    return _code(code) + f"\n\ndtype `{canonical}`: numpy `{dtype.name}`, {dtype.itemsize} bytes"


def _field(field: ast.FieldDecl) -> str:
    canonical = canonical_code(field.code)
    shape = [d.value for d in field.shape if isinstance(d, ast.Number)]
    size = np.dtype(_numpy_code(canonical)).itemsize * math.prod(shape)
    dims = f"[{', '.join(map(str, shape))}]" if shape else ""
    return _code(f"{flow_field_name(field.name)}: {canonical}{dims}") + f"\n\n{size} bytes"


# --- consts ----------------------------------------------------------------------------------


def _const(analysis: Analysis, name: str, value) -> str:
    where = analysis.path or "FILE.flow"
    shown = show(value) if value is not None else "?"
    text = _code(f"const {name} = {shown}")
    if value is not None:
        text += f"\n\n{type_word(value)[0].upper()}{type_word(value)[1:]}."
    text += (
        f"\n\nOverride it when running: `flowc run {where} --set {name}={shown}`, "
        f"or `{name} = {shown}` at the top of a `--params` TOML file."
    )
    return text


# --- workers ---------------------------------------------------------------------------------


def worker_info(analysis: Analysis, decl: ast.Worker) -> WorkerInfo | None:
    for worker in analysis.model.workers:
        if worker.decl is decl:
            return worker
    return None


def _worker(analysis: Analysis, decl: ast.Worker) -> str:
    info = worker_info(analysis, decl)
    written = decl.callable.span.text if decl.callable.span else decl.callable.function
    parts = [_code(f"{decl.kind} {decl.name} = {written}(...)")]
    if info is None or info.code is None:
        parts.append("Its callable could not be resolved.")
        return "\n\n".join(parts)
    parts.append(f"**{decl.kind}**, code `{info.target.describe()}`")
    parts.append(_code(python_signature(info.code), "python"))
    declared = signature_of(info.code)
    if declared is not None:
        parts.append("Declared to flowc:\n" + _declared_signature(declared))
    doc = inspect.getdoc(info.code)
    if doc:
        parts.append(doc)
    return "\n\n".join(parts)


def _declared_signature(declared) -> str:
    lines = []
    for field in dataclasses.fields(declared):
        value = getattr(declared, field.name)
        if value in (None, (), {}, []):
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {v or 'any number'}" for k, v in value.items())
        elif isinstance(value, tuple | list):
            value = ", ".join(map(str, value))
        lines.append(f"- {field.name}: `{value}`")
    return "\n".join(lines) or "- nothing"


def _argument(analysis: Analysis, decl: ast.Worker, key: str) -> str | None:
    info = worker_info(analysis, decl)
    if info is None or info.code is None:
        return None
    for parameter in parameters_of(info.code, decl.kind):
        if parameter.name == key:
            return parameter.markdown()
    return None
