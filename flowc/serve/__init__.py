"""The live page of a run (`flowc run --serve`, `plan.run(serve=...)`): the graph with rates and
fill levels, each worker's figures, the observers' plots as they fill, Prometheus metrics at
`/metrics`, and pause, resume and stop for whoever holds the run's token.

The front door (the command line, `Plan.run`/`Plan.start`) calls `bind` before the run starts,
so a port in use is an error before any worker runs; the runtime only sees the `LiveServer`
it is given. Built on starlette and uvicorn (in a thread of the supervisor process) and
prometheus_client; it reads the statistics the runtime keeps anyway, so no worker ever waits
for the page.
"""

from flowc.serve.server import DEFAULT_HOST, LiveServer, ServeError, bind, parse_address

__all__ = ["DEFAULT_HOST", "LiveServer", "ServeError", "bind", "parse_address"]
