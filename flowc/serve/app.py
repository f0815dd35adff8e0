"""The live page's HTTP endpoints (a starlette app):

GET  /                 the page (assets under /static/, served from the package)
GET  /graph.svg        the graph the page draws its figures on
GET  /events           the frames as server-sent events, PUSH_EVERY_S apart
GET  /frame.json       the latest frame, once
GET  /metrics          Prometheus' text format
POST /control/ACTION   pause, resume, stop (drain); needs the token: `?token=` or a header
                       `Authorization: token TOKEN`, else 403 and nothing happens
"""

from __future__ import annotations

import hmac
import threading
from functools import cache
from importlib import resources

import anyio
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from flowc.serve.graph import graph_svg
from flowc.serve.metrics import registry_of

# a page gets a frame this often (seconds): four updates a second
PUSH_EVERY_S = 0.25
# a page that lost the stream tries again after this long (milliseconds)
RETRY_MS = 1000

CONTROLS = {
    "pause": lambda handle: handle.pause(),
    "resume": lambda handle: handle.resume(),
    "stop": lambda handle: handle.stop(drain=True),
}


@cache
def _page() -> str:
    """The page's HTML, shipped in the package."""
    return resources.files("flowc.serve").joinpath("assets", "index.html").read_text("utf-8")


def _token_of(request: Request) -> str:
    """The token a request carries: `?token=`, else the header `Authorization: token T`."""
    given = request.query_params.get("token", "")
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if not given and scheme.lower() == "token":
        given = value.strip()
    return given


def build_app(feed, token: str, *, closing: threading.Event) -> Starlette:
    """The app serving `feed`'s run; `token` guards the controls; event streams end once
    `closing` is set."""
    registry = registry_of(feed)
    graph: list[str] = []  # the SVG, drawn at the first request (Graphviz takes a moment)

    async def page(request: Request) -> Response:
        return HTMLResponse(_page(), headers={"Cache-Control": "no-store"})

    async def graph_image(request: Request) -> Response:
        if not graph:
            graph.append(await anyio.to_thread.run_sync(graph_svg, feed.plan))
        return Response(graph[0], media_type="image/svg+xml")

    async def frame(request: Request) -> Response:
        text = await anyio.to_thread.run_sync(feed.current)
        return Response(text, media_type="application/json", headers={"Cache-Control": "no-store"})

    async def events(request: Request) -> Response:
        async def stream():
            yield f"retry: {RETRY_MS}\n\n"
            while True:
                text = await anyio.to_thread.run_sync(feed.current)
                yield f"data: {text}\n\n"
                if closing.is_set():
                    return
                await anyio.sleep(PUSH_EVERY_S)

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def metrics(request: Request) -> Response:
        body = await anyio.to_thread.run_sync(generate_latest, registry)
        return Response(body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def control(request: Request) -> Response:
        action = request.path_params["action"]
        if action not in CONTROLS:
            return JSONResponse({"error": f"no control named {action!r}"}, status_code=404)
        if not hmac.compare_digest(_token_of(request).encode(), token.encode()):
            return JSONResponse(
                {"error": "the run's token is needed: ?token=TOKEN or Authorization: token TOKEN"},
                status_code=403,
            )
        handle = feed.handle
        if not handle.running:
            return JSONResponse({"error": "the run has ended"}, status_code=409)
        CONTROLS[action](handle)
        return JSONResponse({"ok": True, "action": action, "paused": handle.paused})

    return Starlette(
        routes=[
            Route("/", page),
            Route("/graph.svg", graph_image),
            Route("/events", events),
            Route("/frame.json", frame),
            Route("/metrics", metrics),
            Route("/control/{action}", control, methods=["POST"]),
            Mount("/static", StaticFiles(packages=[("flowc.serve", "assets")]), name="static"),
        ]
    )
