"""Engines other than the local shared-memory runtime that run a compiled plan.

Each backend is imported only when it is chosen, so its dependencies stay optional.
"""

from __future__ import annotations

BACKENDS = ("local", "ray")
RAY_INSTALL_HINT = 'the Ray backend needs Ray: pip install "flowc[ray]"'


class BackendUnavailable(RuntimeError):
    """The chosen backend cannot run here (its optional dependency is not installed)."""


def load_ray_backend():
    """The `flowc.backends.ray` module; BackendUnavailable when Ray is not installed."""
    try:
        import ray  # noqa: F401
    except ImportError:
        raise BackendUnavailable(RAY_INSTALL_HINT) from None
    from flowc.backends import ray as ray_backend

    return ray_backend
