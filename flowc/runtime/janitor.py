"""Cleans up after a supervisor that died: `python janitor.py PID PREFIX SHM_DIR`; and finds
the processes a run's worker code started (`marked`, `tree`), for the supervisor and workers.

Started by the supervisor in its own session with a pipe on stdin, on which the supervisor
writes `pid start-time` of each worker process it starts, and `done` when the run has ended
and it cleaned up itself: then end of file means remove what is left of PREFIX. End of file
without `done` means the supervisor died (its pipe closes before its death can be seen in its
pid or in this process's parent): then kill the
workers still running (checking their start time, so a reused pid is left alone), every process
their code started that it can find (in the worker's process group, or carrying
`FLOWC_RUN=PREFIX` in their environment),
and remove the run's segments and semaphores (`PREFIX_*` only: a pid alone may be another PID
namespace's run). Standard library only, so it starts fast.
"""

from __future__ import annotations

import os
import re
import select
import signal
import sys

POLL_S = 0.5
# the environment variable each worker sets to its run's prefix: every program the worker's code
# starts inherits it, which is how they are found when the worker cannot end them itself
RUN_ENVIRONMENT = "FLOWC_RUN"


def process_start_time(pid: int) -> int | None:
    """The start time of a process (clock ticks after boot), or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    return int(fields[19])  # field 22 of stat; the first two are before the ')'


def tree(pid: int) -> list[int]:
    """The descendants of a live process, children first (from /proc/PID/task/*/children)."""
    found: list[int] = []
    parents = [pid]
    while parents:
        parent = parents.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children", "rb") as listing:
                    kids = [int(k) for k in listing.read().split()]
            except OSError:
                continue
            found += kids
            parents += kids
    return found


def marked(prefix: str) -> list[int]:
    """Processes whose environment says they belong to the run `prefix` (`FLOWC_RUN`)."""
    mark = f"{RUN_ENVIRONMENT}={prefix}".encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as environ:
                variables = environ.read().split(b"\0")
        except OSError:
            continue
        if mark in variables:
            found.append(int(name))
    return found


def group(pgid: int, not_before: int) -> list[int]:
    """The processes of process group `pgid` started at or after `not_before` (clock ticks
    after boot): those a worker that led the group started (a group outlives its leader, and
    an id is not reused while a group holds it, but the start time makes sure)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and int(fields[19]) >= not_before:
            found.append(int(name))
    return found


def kill(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


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


def main(argv: list[str]) -> int:
    pid, prefix, directory = int(argv[1]), argv[2], argv[3]
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    workers: list[tuple[int, int]] = []
    pending = b""
    done = False
    while os.getppid() == pid:
        readable, _, _ = select.select([0], [], [], POLL_S)
        if not readable:
            continue
        chunk = os.read(0, 4096)
        if not chunk:
            break
        *lines, pending = (pending + chunk).split(b"\n")
        done = done or b"done" in lines
        workers += [tuple(map(int, line.split())) for line in lines if line not in (b"", b"done")]
    ours = re.compile(rf"\.?(?:sem\.)?{re.escape(prefix)}_\w+")  # .PREFIX_lock: being made
    if done:
        remove(directory, ours)
        return 0
    kill(worker for worker, started in workers if process_start_time(worker) == started)
    for worker, started in workers:  # each worker leads a process group its code's children join
        kill(group(worker, started))
    kill(marked(prefix))
    remove(directory, ours)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
