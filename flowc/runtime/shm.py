"""Shared-memory segments and named semaphores of a run, created and unlinked by the supervisor.

Every name a run creates starts with `flowc_<supervisor pid>_<random hex>` so that what a
killed supervisor leaves behind can be found (by the janitor, or by the next run) and removed.

Whether a run is alive is told by a lock, never by its pid: a pid names another process, or
none, in another PID namespace that shares /dev/shm (a container with the host's IPC). The
supervisor holds `PREFIX_lock` (an flock, which every namespace sharing the file sees) from
before its first segment to after its last is unlinked; the next run removes a prefix's names
only when it can take that lock itself, or when there is no lock file at all.
"""

from __future__ import annotations

import _multiprocessing
import errno
import fcntl
import mmap
import os
import re
import secrets

SHM_DIR = "/dev/shm"
_SEMAPHORE_KIND = 1  # _multiprocessing's SEMAPHORE (the other kind is a recursive mutex)
_SEM_VALUE_MAX = 2**31 - 1
# a name of a run: its prefix (flowc_<pid>_<random hex>) and what follows
_OWNED_NAME = re.compile(r"(?:sem\.)?(flowc_\d+_[0-9a-f]+)_[0-9A-Za-z_]+")
_LOCK_SUFFIX = "_lock"


class SharedMemoryError(Exception):
    """Shared memory for a buffer could not be set up (usually: /dev/shm is too small)."""


def run_prefix() -> str:
    """The name prefix of every segment and semaphore of a new run of this process."""
    return f"flowc_{os.getpid()}_{secrets.token_hex(4)}"


class RunLock:
    """The lock a live supervisor holds on `PREFIX_lock` in /dev/shm while its run has names
    there. Created under a hidden name, locked, then renamed: the name is never unlocked."""

    def __init__(self, prefix: str, directory: str = SHM_DIR):
        self.path = os.path.join(directory, prefix + _LOCK_SUFFIX)
        hidden = os.path.join(directory, "." + prefix + _LOCK_SUFFIX)
        self.fd = os.open(hidden, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            os.rename(hidden, self.path)
        except OSError:
            os.close(self.fd)
            os.unlink(hidden)
            raise

    def release(self) -> None:
        """Unlink the lock file, then let go of the lock (the run's names are gone by now)."""
        if self.fd < 0:
            return
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        os.close(self.fd)
        self.fd = -1


class Segment:
    """One file in /dev/shm, mapped into this process."""

    def __init__(self, path: str, size: int, mapping: mmap.mmap):
        self.path = path
        self.size = size
        self.mapping = mapping

    @staticmethod
    def create(path: str, size: int, what: str) -> Segment:
        """Create, allocate in full (so a small /dev/shm fails now, not with SIGBUS later), map."""
        size = max(size, 1)
        if size > _free_bytes(os.path.dirname(path)):
            raise SharedMemoryError(_too_small(what, size))
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        try:
            try:
                os.posix_fallocate(fd, 0, size)
            except OSError as exc:
                os.unlink(path)
                if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.ENOMEM):
                    raise SharedMemoryError(_too_small(what, size)) from None
                raise SharedMemoryError(f"cannot allocate {size} bytes for {what}: {exc}") from None
            mapping = mmap.mmap(fd, size)
        finally:
            os.close(fd)
        return Segment(path, size, mapping)

    @staticmethod
    def attach(path: str, size: int) -> Segment:
        fd = os.open(path, os.O_RDWR)
        try:
            mapping = mmap.mmap(fd, max(size, 1))
        finally:
            os.close(fd)
        return Segment(path, size, mapping)

    def unlink(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def _free_bytes(directory: str) -> int:
    try:
        st = os.statvfs(directory)
    except OSError:
        return 0
    return st.f_bavail * st.f_frsize


def _too_small(what: str, size: int) -> str:
    try:
        st = os.statvfs(SHM_DIR)
        free = st.f_bavail * st.f_frsize
        total = st.f_blocks * st.f_frsize
        room = f"{SHM_DIR} has {_human(free)} free of {_human(total)}"
    except OSError:
        room = f"{SHM_DIR} is not available"
    return (
        f"not enough shared memory for {what}: it needs {_human(size)} but {room}; "
        f"use fewer or smaller slots, or enlarge {SHM_DIR} (e.g. `mount -o remount,size=2G {SHM_DIR}`)"
    )


def _human(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def create_semaphore(name: str, value: int):
    """A named counting semaphore (its name must start with '/'), kept until `unlink_semaphore`."""
    return _multiprocessing.SemLock(_SEMAPHORE_KIND, value, _SEM_VALUE_MAX, name, False)


def open_semaphore(name: str):
    """Open a semaphore another process created, by name."""
    return _multiprocessing.SemLock._rebuild(0, _SEMAPHORE_KIND, _SEM_VALUE_MAX, name)


def unlink_semaphore(name: str) -> None:
    try:
        _multiprocessing.sem_unlink(name)
    except FileNotFoundError:
        pass


def remove_stale(directory: str = SHM_DIR) -> list[str]:
    """Remove the segments and semaphores of runs whose supervisor is no longer alive: their
    lock (`RunLock`) is free or gone. Never those of a live run, whatever its PID namespace."""
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    runs: dict[str, list[str]] = {}
    for name in names:
        match = _OWNED_NAME.fullmatch(name)
        if match and not name.endswith(_LOCK_SUFFIX):
            runs.setdefault(match.group(1), []).append(name)
    for prefix, owned in runs.items():
        lock_path = os.path.join(directory, prefix + _LOCK_SUFFIX)
        try:
            fd = os.open(lock_path, os.O_RDWR)
        except FileNotFoundError:  # taken before the first name, dropped after the last: dead
            fd = -1
        except OSError:
            continue
        try:
            if fd >= 0:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live supervisor holds it
                owned.append(prefix + _LOCK_SUFFIX)
            for name in owned:
                try:
                    os.unlink(os.path.join(directory, name))
                    removed.append(name)
                except OSError:
                    pass
        finally:
            if fd >= 0:
                os.close(fd)
    return removed
