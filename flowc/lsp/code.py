"""What the server reads from a worker's Python code: its parameters as a `.flow` file gives
them, its signature as text, and where its source is; and forgetting code that changed on
disk, so the next check imports it as it is now (the checker imports a module only once)."""

from __future__ import annotations

import inspect
import os
import re
import sys
from dataclasses import dataclass

from flowc.callables import call_shape, signature_of
from flowc.stdlib.catalog import flow_literal

DEFINITION = re.compile(r"[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+(\w+)")


@dataclass(frozen=True)
class Parameter:
    """An argument a `.flow` file may give a worker's code."""

    name: str
    default: str | None  # as flow text; None when required
    is_field: bool  # its value names a field of the input (`field_args`)

    def markdown(self) -> str:
        text = f"argument `{self.name}`: " + (
            "required" if self.default is None else f"default `{self.default}`"
        )
        if self.is_field:
            text += "\n\nIts value names a field of the input (a string)."
        return text


def parameters_of(code, kind: str) -> list[Parameter]:
    """The arguments `code` takes from the `.flow` file as a worker of `kind`, in order."""
    shape = call_shape(code, kind)
    declared = signature_of(code)
    field_args = set(declared.field_args) if declared is not None else set()
    function = code.__init__ if inspect.isclass(code) else code
    try:
        defaults = inspect.signature(function).parameters
    except (TypeError, ValueError):
        defaults = {}
    found = []
    for name in shape.parameters:
        default = None
        if name not in shape.required and name in defaults:
            default = flow_literal(defaults[name].default)
        found.append(Parameter(name, default, name in field_args))
    return found


def python_signature(code) -> str:
    """`def name(params)` or `class Name(params of __init__)`."""
    try:
        if inspect.isclass(code):
            params = list(inspect.signature(code.__init__).parameters.values())[1:]
            return f"class {code.__name__}({', '.join(map(str, params))})"
        return f"def {code.__name__}{inspect.signature(code)}"
    except (TypeError, ValueError):
        return getattr(code, "__name__", repr(code))


def source_location(code) -> tuple[str, int, str] | None:
    """The Python file defining `code`, the 0-based line of its `def`/`class` (after any
    decorators) and that line's text."""
    target = inspect.unwrap(code)
    try:
        path = inspect.getsourcefile(target)
        lines, first = inspect.getsourcelines(target)
    except (TypeError, OSError):
        return None
    if path is None:
        return None
    for i, line in enumerate(lines):
        if DEFINITION.match(line):
            return path, max(0, first - 1) + i, line.rstrip("\r\n")
    return path, max(0, first - 1), lines[0].rstrip("\r\n") if lines else ""


_imported_at: dict[str, int] = {}  # module name -> its file's mtime when first seen
generation = 0  # counts the times changed code was forgotten (a key for caches of code facts)


def forget_changed_code(folder: str) -> bool:
    """Drop from `sys.modules` the modules loaded from files under `folder` (outside any
    site-packages) whose file changed since the server first saw them; True when any was."""
    global generation
    prefix = os.path.join(os.path.abspath(folder), "")
    changed = False
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or not path.startswith(prefix) or "site-packages" in path:
            continue
        try:
            mtime = os.stat(path).st_mtime_ns
        except OSError:
            continue
        if _imported_at.setdefault(name, mtime) != mtime:
            del sys.modules[name]
            del _imported_at[name]
            changed = True
    if changed:
        generation += 1
    return changed
