"""The root of flowc's exceptions: `FlowcError`.

Every error flowc raises for a reason of its own derives from it, so a program can catch them
all in one clause: `FlowError` (a flow file has errors, `flowc.diagnostics`), `ResolveError`
(a worker's code cannot be found, `flowc.callables`), `ResultError` (what a worker's code gave
cannot be stored, `flowc.runtime.ring`) and `RunError` (a worker failed, `flowc.runtime.result`).
This module imports nothing, so every layer can import it.
"""


class FlowcError(Exception):
    """Something flowc itself reports: a flow with errors, code it cannot find, a result it
    cannot store, a run that failed."""
