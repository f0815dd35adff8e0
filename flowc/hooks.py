"""What a plan can do beyond being data (run, start, render), as hooks: the front door,
`flowc.engine`, installs them when `import flowc` loads it; `flowc.plan` calls them.

This module imports nothing, so the plan never imports what runs it, and `import flowc` stays
light: numpy, the plan and the runtime load when a plan is first compiled or read, not before
`flowc run` has taken charge of the stop signals.
"""

from collections.abc import Callable

_HOOKS: dict[str, Callable] = {}


def install(**hooks: Callable) -> None:
    """Called by `flowc.engine`: `run`, `start`, `to_dot` and `html`, each taking the plan."""
    _HOOKS.update(hooks)


def hook(name: str) -> Callable:
    """The hook installed under `name`."""
    return _HOOKS[name]
