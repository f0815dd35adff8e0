"""The server of a run's live page: binds its address before the run, prints the URL with the
run's token, serves the page from a uvicorn thread while the run lasts and for `linger` seconds
after, and removes the folder the observers publish into. Everything it needs is imported with
this module, before the run starts, so the run does not pay for the imports.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import ipaddress
import secrets
import shutil
import socket
import sys
import tempfile
import threading
from typing import TextIO

import uvicorn

from flowc.runtime.stopping import kept_stop_signals
from flowc.serve.app import build_app
from flowc.serve.feed import Feed

# the address bound when --serve names only a port
DEFAULT_HOST = "127.0.0.1"
# how often the lifetime thread looks whether the run has ended (seconds)
_LOOK_S = 0.1
# how long uvicorn waits for open connections when it stops (seconds)
_GRACEFUL_S = 2.0
# how long stopping the server may take before we give up waiting for its thread (seconds)
_JOIN_S = 5.0


class ServeError(ValueError):
    """An address that cannot be served: malformed, unknown host, or the port in use."""


def parse_address(text: str | int) -> tuple[str, int]:
    """(host, port) from `PORT`, `:PORT`, `HOST:PORT` or `[IPv6]:PORT`; the host defaults to
    127.0.0.1 and port 0 means any free port."""
    spec = str(text).strip()
    host, colon, port_text = spec.rpartition(":")
    if not colon:
        host, port_text = "", spec
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ServeError(f"--serve {spec!r}: write an IPv6 address in brackets, as [::1]:8000")
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ServeError(
            f"--serve {spec!r}: expected [HOST:]PORT with PORT from 0 to 65535 "
            "(for example 8000 or 0.0.0.0:8000)"
        )
    return host or DEFAULT_HOST, int(port_text)


def bind(address: str | int, *, linger: float = 0.0, stream: TextIO | None = None) -> LiveServer:
    """Bind `address` ([HOST:]PORT) now and return the server, ready to be given to a run.
    Raises ServeError when the address is malformed or cannot be bound (a port in use)."""
    if isinstance(linger, bool) or not isinstance(linger, int | float) or not 0 <= linger < 1e9:
        raise ServeError(f"the linger must be 0 or more seconds, not {linger!r}")
    host, port = parse_address(address)
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        family = socket.AF_INET  # a host name: resolved by bind
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        if exc.errno == errno.EADDRINUSE:
            reason = "the port is in use (another flowc run --serve?); choose another port"
        raise ServeError(f"--serve {host}:{port}: cannot listen there: {reason}") from None
    return LiveServer(sock, host, linger, stream)


class LiveServer:
    """A bound address and the run's token; `start(handle)` serves the page of that run.

    token:    the secret that pause, resume and stop need (also in `url`)
    live_dir: the folder the run's observers publish their live documents into
    """

    def __init__(self, sock: socket.socket, host: str, linger: float, stream: TextIO | None):
        self.socket = sock
        self.host = host
        self.port = sock.getsockname()[1]
        self.linger = float(linger)
        self.stream = stream
        self.token = secrets.token_hex(24)
        self.live_dir = tempfile.mkdtemp(prefix="flowc_live_")
        shown = f"[{host}]" if ":" in host else host
        self.address = f"http://{shown}:{self.port}"
        self.url = f"{self.address}/?token={self.token}"
        self.feed = None
        self._uvicorn = None
        self._threads: list[threading.Thread] = []
        self._closing = threading.Event()
        self._stopped = threading.Event()
        atexit.register(self.close)

    def start(self, handle) -> None:
        """Serve the page of the run `handle` (a RunHandle) from now until its end plus the
        linger; prints the URL with the token to stderr."""
        self.feed = Feed(handle, self.live_dir)
        config = uvicorn.Config(
            build_app(self.feed, self.token, closing=self._closing),
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=_GRACEFUL_S,
        )
        self._uvicorn = uvicorn.Server(config)
        self._say(f"serving {self.url}")
        for target, name in ((self._serve, "serve"), (self._lifetime, "lifetime")):
            thread = threading.Thread(target=target, name=f"flowc {name} {self.port}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def wait_closed(self) -> None:
        """Wait until the server has stopped (the run's end plus the linger); a stop signal
        (Ctrl-C) stops it at once, whether `flowc run` keeps the signals or Python raises
        KeyboardInterrupt."""
        signals = kept_stop_signals()
        counted = signals.count if signals is not None else 0
        try:
            while not self._stopped.wait(_LOOK_S) and self._threads:
                if signals is not None and signals.count != counted:
                    break
        except KeyboardInterrupt:
            pass
        self.close()

    def close(self) -> None:
        """Stop serving now and remove the live folder; safe to call more than once."""
        self._closing.set()
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(_JOIN_S)
        with contextlib.suppress(OSError):
            self.socket.close()
        shutil.rmtree(self.live_dir, ignore_errors=True)
        self._stopped.set()
        atexit.unregister(self.close)

    # --- threads -----------------------------------------------------------------------------

    def _serve(self) -> None:
        try:
            self._uvicorn.run(sockets=[self.socket])
        finally:
            self._closing.set()
            self._stopped.set()

    def _lifetime(self) -> None:
        """Once the run has ended: the final reading, the live folder removed, the linger,
        then the server stops."""
        handle = self.feed.handle
        while handle.running and not self._closing.wait(_LOOK_S):
            pass
        self.feed.finish()
        shutil.rmtree(self.live_dir, ignore_errors=True)
        if self.linger > 0 and not self._closing.is_set():
            self._say(
                f"the run has ended; its page stays at {self.address}/ for {self.linger:g} s "
                "(Ctrl-C stops it)"
            )
        self._closing.wait(self.linger)
        self._closing.set()
        self._uvicorn.should_exit = True

    def _say(self, text: str) -> None:
        stream = self.stream if self.stream is not None else sys.stderr
        with contextlib.suppress(OSError, ValueError):
            print(f"flowc: {text}", file=stream, flush=True)

    def __repr__(self) -> str:
        return f"<LiveServer {self.address}>"
