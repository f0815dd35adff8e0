"""flowc: a declarative dataflow language compiled to a zero-copy shared-memory process graph.

    plan = flowc.compile_file("pulses.flow", overrides={"N": 500})
    result = plan.run(timeout=60)
"""

from flowc.callables import signature
from flowc.compiler import compile_file, compile_source
from flowc.diagnostics import Diagnostic, FlowError
from flowc.plan import Plan
from flowc.runtime.result import RunError, RunResult

__version__ = "0.1.0"

__all__ = [
    "Diagnostic",
    "FlowError",
    "Plan",
    "RunError",
    "RunResult",
    "compile_file",
    "compile_source",
    "signature",
]
