"""The front door: wires a compiled plan to what runs and renders it.

`flowc.plan` is data and imports nothing above it; `Plan.run`, `Plan.start`, `Plan.to_dot`
and `Plan._repr_html_` call the hooks (`flowc.hooks`) this module installs when `flowc` is
imported (as Jinja2's `environment.py` wires its loaders, compiler and runtime). Each engine is imported only when
it is used, so a worker process that needs the runtime alone never loads the renderers or Ray.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flowc.hooks import install

if TYPE_CHECKING:
    from flowc.plan import Plan

BACKENDS = ("local", "ray")


def run(
    plan: Plan,
    backend: str = "local",
    address: str | None = None,
    serve: str | int | None = None,
    serve_linger: float = 0.0,
    **options,
):
    """`Plan.run`: on the local shared-memory runtime (`flowc.runtime.run`) or on a Ray
    cluster (`flowc.backends.ray.run`, at `address`; None starts a local one). `serve`:
    the run's live page (`flowc.serve`) until its end plus `serve_linger` seconds."""
    _check_backend(backend, address, serve)
    if backend == "ray":
        from flowc.backends import load_ray_backend

        return load_ray_backend().run(plan, address=address, **options)
    plan.warn_about_placement(stacklevel=4)
    from flowc.runtime import run as run_locally

    return run_locally(plan, **options, **_live_server(serve, serve_linger))


def start(
    plan: Plan,
    backend: str = "local",
    address: str | None = None,
    serve: str | int | None = None,
    serve_linger: float = 0.0,
    **options,
):
    """`Plan.start`: the run's handle at once (stats, pause, resume, stop, wait), on the local
    runtime (`flowc.runtime.handle.RunHandle`) or on Ray (`flowc.backends.ray.driver`)."""
    _check_backend(backend, address, serve)
    if backend == "ray":
        from flowc.backends import load_ray_backend

        return load_ray_backend().start(plan, address=address, **options)
    plan.warn_about_placement(stacklevel=4)
    from flowc.runtime import start as start_locally

    return start_locally(plan, **options, **_live_server(serve, serve_linger))


def to_dot(plan: Plan) -> str:
    """`Plan.to_dot`: the graph as Graphviz source."""
    from flowc.render.dot import render_dot

    return render_dot(plan)


def plan_html(plan: Plan) -> str:
    """`Plan._repr_html_`: the graph for Jupyter."""
    from flowc.render.notebook import plan_html as render

    return render(plan)


def _check_backend(backend: str, address: str | None, serve) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: use 'local' or 'ray'")
    if serve is not None and backend != "local":
        raise ValueError("serve= shows runs of the local runtime only")
    if address is not None and backend != "ray":
        raise ValueError("address= is for the Ray backend; the local runtime runs here")


def _live_server(serve: str | int | None, linger: float) -> dict:
    """The runtime's `server=` option: the live page bound to `serve` ([HOST:]PORT) now, so an
    address in use fails before the run starts (`flowc.serve.ServeError`); {} without it."""
    if serve is None:
        return {}
    from flowc.serve import bind

    return {"server": bind(serve, linger=linger)}


install(run=run, start=start, to_dot=to_dot, html=plan_html)
