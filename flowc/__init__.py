"""flowc: a declarative dataflow language compiled to a zero-copy shared-memory process graph.

    plan = flowc.compile_file("pulses.flow", overrides={"N": 500})
    result = plan.run(timeout=60)

The public names load on first use, so a worker process that only needs `flowc.signature` or
the runtime does not import the compiler (Lark, networkx) at start-up; the front door
(`flowc.engine`) is loaded at once, so a plan can run and render however it was imported.
"""

import importlib

import flowc.engine  # noqa: F401  (the front door: wires Plan.run, start and to_dot)

__version__ = "0.1.0"

_PUBLIC = {
    "Diagnostic": "flowc.diagnostics",
    "FlowError": "flowc.diagnostics",
    "FlowcError": "flowc.errors",
    "Plan": "flowc.plan",
    "RunError": "flowc.runtime.result",
    "ResolveError": "flowc.callables",
    "ResultError": "flowc.runtime.ring",
    "RunResult": "flowc.runtime.result",
    "compile_file": "flowc.compiler",
    "compile_source": "flowc.compiler",
    "signature": "flowc.callables",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'flowc' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_PUBLIC))
