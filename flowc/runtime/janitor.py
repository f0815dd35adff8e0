"""Removes a run's shared memory if its supervisor dies: `python janitor.py PID PREFIX SHM_DIR`.

Started by the supervisor in its own session with a pipe on stdin. End of file on that pipe
means the supervisor closed it (the run ended: remove what is left of PREFIX) or died (remove
every `flowc_PID_*` segment and semaphore). Standard library only, so it starts fast.
"""

import os
import re
import select
import sys

POLL_S = 0.5


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
    while os.getppid() == pid:
        readable, _, _ = select.select([0], [], [], POLL_S)
        if readable and not os.read(0, 4096):
            break
    if os.getppid() == pid and alive(pid):
        pattern = re.compile(rf"(?:sem\.)?{re.escape(prefix)}_\w+")
    else:
        pattern = re.compile(rf"(?:sem\.)?flowc_{pid}_\w+")
    remove(directory, pattern)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
