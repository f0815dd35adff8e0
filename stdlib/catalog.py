"""The catalog of standard workers, for `flowc stdlib`: names, kinds, arguments, signatures."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass
from functools import cache

from flowc.callables import WorkerSignature, call_shape, signature_of
from flowc.types import flow_field_name


@dataclass(frozen=True)
class Entry:
    """One standard worker.

    name:       as a .flow file calls it without the `stdlib.` prefix ("sources.pulses")
    kind:       the worker kind it is written for ("importer", "filter"...)
    parameters: (name, the default as flow text or None when required, required) for each
                argument a .flow file may give, in declaration order; a default of None (an
                optional argument that means "not given") reads "not given"
    signature:  what it declares to the checker (needs, produces, field_args, kind)
    doc:        its docstring, dedented
    """

    name: str
    kind: str
    parameters: tuple[tuple[str, str | None, bool], ...]
    signature: WorkerSignature
    doc: str

    @property
    def summary(self) -> str:
        """The first line of the doc."""
        return self.doc.splitlines()[0] if self.doc else ""


def entries() -> list[Entry]:
    """Every standard worker, sorted by name."""
    return list(_catalog().values())


def entry(name: str) -> Entry:
    """The standard worker called `name` ("sources.pulses", or "stdlib.sources.pulses").

    Raises KeyError when there is none.
    """
    catalog = _catalog()
    key = name.removeprefix("stdlib.")
    if key not in catalog:
        raise KeyError(name)
    return catalog[key]


@cache
def _catalog() -> dict[str, Entry]:
    import flowc.stdlib as package

    found: dict[str, Entry] = {}
    for module_info in pkgutil.iter_modules(package.__path__):
        if module_info.name == __name__.rsplit(".", 1)[-1] or module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{module_info.name}")
        for attribute, obj in vars(module).items():
            declared = signature_of(obj)
            if (
                declared is None
                or declared.kind is None
                or attribute.startswith("_")
                or getattr(obj, "__module__", None) != module.__name__
            ):
                continue
            name = f"{module_info.name}.{attribute}"
            found[name] = Entry(
                name=name,
                kind=declared.kind,
                parameters=_parameters(obj, declared.kind),
                signature=declared,
                doc=inspect.getdoc(obj) or "",
            )
    return dict(sorted(found.items()))


def _parameters(obj, kind: str) -> tuple[tuple[str, str | None, bool], ...]:
    shape = call_shape(obj, kind)
    function = obj.__init__ if inspect.isclass(obj) else obj
    declared = inspect.signature(function).parameters
    return tuple(
        (
            name,
            None if name in shape.required else flow_literal(declared[name].default),
            name in shape.required,
        )
        for name in shape.parameters
    )


def flow_literal(value) -> str:
    """A default value as a .flow file writes it: `"text"`, `true`, `[1, 2]`, `{a: 1}`, `0.5`."""
    if value is None:
        return "not given"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        escaped = escaped.replace("\n", "\\n").replace("\t", "\\t")
        return f'"{escaped}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(flow_literal(item) for item in value) + "]"
    if isinstance(value, dict):
        entries = (f"{flow_field_name(str(k))}: {flow_literal(v)}" for k, v in value.items())
        return "{" + ", ".join(entries) + "}"
    return repr(value)
