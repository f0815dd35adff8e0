"""Cleans up after a supervisor that died: `python janitor.py PID PREFIX SHM_DIR`.

Started by the supervisor in its own session with a pipe on stdin, on which the supervisor
writes `pid start-time` of each worker process it starts. End of file on that pipe means the
supervisor closed it (the run ended: remove what is left of PREFIX) or died: then kill the
workers still running (checking their start time, so a reused pid is left alone) and remove
every `flowc_PID_*` segment and semaphore. Standard library only, so it starts fast.
"""

from __future__ import annotations

import os
import re
import select
import signal
import sys

POLL_S = 0.5


def process_start_time(pid: int) -> int | None:
    """The start time of a process (clock ticks after boot), or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    return int(fields[19])  # field 22 of stat; the first two are before the ')'


def remove(directory: str, pattern: re.Pattern) -> None:
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if pattern.fullmatch(name):
            try:
                os.unlink(os.path.join(directory, name))
            except OSError:
                pass


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main(argv: list[str]) -> int:
    pid, prefix, directory = int(argv[1]), argv[2], argv[3]
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    workers: list[tuple[int, int]] = []
    pending = b""
    while os.getppid() == pid:
        readable, _, _ = select.select([0], [], [], POLL_S)
        if not readable:
            continue
        chunk = os.read(0, 4096)
        if not chunk:
            break
        *lines, pending = (pending + chunk).split(b"\n")
        workers += [tuple(map(int, line.split())) for line in lines if line.strip()]
    if os.getppid() == pid and alive(pid):
        remove(directory, re.compile(rf"(?:sem\.)?{re.escape(prefix)}_\w+"))
        return 0
    for worker, started in workers:
        if process_start_time(worker) == started:
            try:
                os.kill(worker, signal.SIGKILL)
            except OSError:
                pass
    remove(directory, re.compile(rf"(?:sem\.)?flowc_{pid}_\w+"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
