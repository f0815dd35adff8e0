"""The compiler API: read -> parse -> resolve -> check -> lower, wired together in one place.

`check_*` return every diagnostic found (for `flowc check`); `compile_*` return a `Plan` or
raise `FlowError` with the errors (for the Python API).
"""

from __future__ import annotations

import gc
import os
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from flowc.diagnostics import (
    Diagnostic,
    FlowError,
    has_errors,
    read_utf8_source,
    sort_diagnostics,
)
from flowc.params import ParamsFile, read_params
from flowc.plan import Plan
from flowc.sema.checks import run_checks
from flowc.sema.lower import lower
from flowc.sema.resolve import resolve_module
from flowc.sema.values import overrides_from_api, overrides_from_set
from flowc.source import SourceFile
from flowc.syntax import parse


@dataclass(frozen=True)
class CheckResult:
    source: SourceFile
    diagnostics: list[Diagnostic]  # errors and warnings, sorted by position
    plan: Plan | None  # None when there is any error

    @property
    def ok(self) -> bool:
        """No errors (warnings allowed)."""
        return not has_errors(self.diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]


def read_source(path) -> SourceFile:
    """The text of a .flow file; bytes that are not UTF-8 are an E001 at the first bad one."""
    return read_utf8_source(path, what="the file", hint="save the file as UTF-8")


def check_source(
    source: SourceFile,
    *,
    overrides: Mapping[str, object] | None = None,
    set_texts: Sequence[str] = (),
    functions: Mapping[str, object] | None = None,
    base_dir: str | None = None,
    max_shm: int | None = None,
    params=None,
) -> CheckResult:
    """Every diagnostic of a flow text, and its plan when there is no error.

    `params` is a TOML parameters file (`--params`; its path, or a `ParamsFile`): its
    top-level keys set consts, under `overrides` and `set_texts`, and a table named after a
    worker sets that worker's arguments. OSError when it cannot be read."""
    parameters = params if isinstance(params, ParamsFile) else None
    if params is not None and parameters is None:
        try:
            parameters = read_params(params)
        except FlowError as exc:
            return CheckResult(source, sort_diagnostics(exc.diagnostics), None)
    with _collector_paused():
        try:
            module = parse(source)
        except FlowError as exc:
            return CheckResult(source, sort_diagnostics(exc.diagnostics), None)
        requests = overrides_from_api(overrides or {}) + overrides_from_set(set_texts)
        model, diagnostics = resolve_module(
            source,
            module,
            overrides=requests,
            functions=functions,
            base_dir=base_dir,
            max_shm=max_shm,
            params=parameters,
        )
        diagnostics += run_checks(model)
        diagnostics = sort_diagnostics(diagnostics)
        plan = None if has_errors(diagnostics) else lower(model)
    return CheckResult(source, diagnostics, plan)


@contextmanager
def _collector_paused():
    """Pause Python's cyclic garbage collector while the syntax tree and the model are built.

    They are tens of thousands of small objects that all stay alive until the plan is
    made; every full collection would walk all of them again, making large files quadratic.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def check_file(path, **options) -> CheckResult:
    """`check_source` on a file; callables given by file are relative to its folder."""
    try:
        source = read_source(path)
    except FlowError as exc:
        return CheckResult(exc.diagnostics[0].span.file, exc.diagnostics, None)
    options.setdefault("base_dir", os.path.dirname(os.path.abspath(source.name)))
    return check_source(source, **options)


def compile_source(
    text: str,
    *,
    name: str = "<string>",
    functions: Mapping[str, object] | None = None,
    overrides: Mapping[str, object] | None = None,
    base_dir: str | None = None,
) -> Plan:
    """The plan of a flow text; raises FlowError holding its errors."""
    result = check_source(
        SourceFile(name, text), functions=functions, overrides=overrides, base_dir=base_dir
    )
    return _plan_or_raise(result)


def compile_file(
    path,
    *,
    overrides: Mapping[str, object] | None = None,
    functions: Mapping[str, object] | None = None,
    params=None,
) -> Plan:
    """The plan of a .flow file; raises FlowError holding its errors (OSError if unreadable).

    `params`: the path of a TOML parameters file, as `flowc run --params` takes."""
    return _plan_or_raise(check_file(path, overrides=overrides, functions=functions, params=params))


def _plan_or_raise(result: CheckResult) -> Plan:
    if result.plan is None:
        raise FlowError(result.errors)
    return result.plan
