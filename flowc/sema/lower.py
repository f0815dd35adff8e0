"""Lowering: a checked model without errors becomes the `Plan` the runtime and renderers use."""

from __future__ import annotations

import os
from pathlib import PurePath

from flowc.plan import BufferPlan, Origin, Plan, WorkerPlan
from flowc.sema.model import Model
from flowc.source import Span

DEFAULT_PIPELINE_NAME = "pipeline"


def lower(model: Model) -> Plan:
    """The plan of a model whose resolution and checks found no errors."""
    return Plan(
        name=model.pipeline or _stem(model.source.name) or DEFAULT_PIPELINE_NAME,
        buffers=tuple(
            BufferPlan(
                name=b.name,
                element=b.element,
                length=b.length,
                slots=b.slots,
                overflow=b.overflow,
                type_name=b.type_name,
                origin=_origin(b.decl.span),
            )
            for b in model.buffers.values()
        ),
        workers=tuple(
            WorkerPlan(
                name=w.name,
                kind=w.kind,
                callable=w.target,
                args={key: _copied(value) for key, value in w.args.items()},
                inputs=tuple(wire.ref.name for wire in w.inputs),
                outputs=tuple(wire.ref.name for wire in w.outputs),
                observes=tuple(wire.ref.name for wire in w.observes),
                processes=w.processes,
                on_error=w.on_error,
                origin=_origin(w.decl.span),
                node=w.node,
                batch=w.batch,
            )
            for w in model.workers
        ),
        consts={name: _copied(const.value) for name, const in model.consts.items()},
        overrides=dict(model.overrides),
        source_path=source_path(model.source.name),
        functions=dict(model.functions),
    )


def is_file_name(name: str) -> bool:
    """Whether a source name is a path (not `<string>`, `<stdin>`...)."""
    return bool(name) and not (name.startswith("<") and name.endswith(">"))


def source_path(name: str) -> str | None:
    return os.path.abspath(name) if is_file_name(name) else None


def _stem(name: str) -> str | None:
    return PurePath(name).stem or None if is_file_name(name) else None


def _copied(value: object) -> object:
    """A value with its lists and dicts copied, so no two plan elements share a mutable one."""
    if isinstance(value, list):
        return [_copied(item) for item in value]
    if isinstance(value, dict):
        return {key: _copied(item) for key, item in value.items()}
    return value


def _origin(span: Span | None) -> Origin | None:
    if span is None:
        return None
    return Origin(span.filename, span.line, span.column)
