"""Helpers of the live-page tests: flow files of the test workers, `flowc run --serve` in a
subprocess with its URL read from stderr, HTTP with timeouts (127.0.0.1 only), bounded waits."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent

WORKERS = HERE / "serve_workers.py"
URL_LINE = re.compile(r"flowc: serving (http://127\.0\.0\.1:\d+)/\?token=([0-9a-f]+)")


def flow_text(n: int = 0, delay: float = 0.001) -> str:
    """An importer of pulses (endless when n=0), a processor, an exporter and three observers
    that publish a histogram (the standard monitor), traces and a rate curve."""
    code = json.dumps(str(WORKERS))
    return f"""\
pipeline live

type Event = {{height: f8, wave: f4[64]}}

buffer raw  : Event slots=32
buffer kept : Event slots=32

importer  source  = {code}:pulses(n={n}, delay={delay}) -> raw
processor copy    = {code}:identity() raw -> kept
exporter  save    = {code}:Count() kept
observer  heights = stdlib.monitors.histogram(field="height", bins=30, range=[0, 2]) observes raw
observer  scope   = {code}:Scope() observes raw
observer  rate    = {code}:Rate() observes kept
"""


def get(url: str, *, method: str = "GET", headers: dict | None = None, timeout: float = 10.0):
    """(status, headers, body bytes) of one request; HTTP errors are answers, not exceptions."""
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def frame(base: str) -> dict:
    status, _, body = get(f"{base}/frame.json")
    assert status == 200
    return json.loads(body)


def wait_for(predicate, timeout: float, what: str, every: float = 0.1):
    """Call `predicate` until it returns something true, at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"not within {timeout} s: {what}")


class Served:
    """`flowc run FILE --serve 127.0.0.1:0 ...` in a subprocess, with its address and token."""

    def __init__(self, *args: str, cwd: Path, timeout: float = 30.0):
        command = [sys.executable, "-m", "flowc", "run", *args]
        self.process = subprocess.Popen(
            command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: list[str] = []
        deadline = time.monotonic() + timeout
        match = None
        while match is None and time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stderr], [], [], 0.2)
            if ready:
                line = self.process.stderr.readline()
                if not line:
                    break
                self.lines.append(line)
                match = URL_LINE.search(line)
        if match is None:
            self.stop()
            raise AssertionError(f"flowc run printed no address: {''.join(self.lines)}")
        self.base, self.token = match.group(1), match.group(2)

    def stop(self, timeout: float = 30.0) -> tuple[int, str]:
        """Wait for the process to end (SIGKILL after `timeout`); (exit code, rest of stderr)."""
        try:
            _, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        return self.process.returncode, "".join(self.lines) + (err or "")

    def interrupt(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGINT)
