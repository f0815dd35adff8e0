"""What a run allocates in /dev/shm, and frees: a segment per buffer (its `Ring`), the
statistics segment (`flowc.runtime.stats`), the semaphores (each ring's lock and free-slot
counter, each consuming worker's ready semaphore), all named `<prefix>_...`, and the run lock
held while those names exist.

Names are unlinked as soon as every worker process has attached (`unlink`); the memory lives
on until the last process unmaps it (`close`, in the supervisor).
"""

from __future__ import annotations

import dataclasses

from flowc.plan import Plan
from flowc.runtime import stats as S
from flowc.runtime.ring import Ring, RingLayout
from flowc.runtime.shm import SHM_DIR, RunLock, Segment, create_semaphore, unlink_semaphore


class Allocation:
    """The shared memory and semaphores of one run, created by `create` under `prefix`."""

    def __init__(self, plan: Plan, prefix: str):
        self.plan = plan
        self.prefix = prefix
        self.segments: list[Segment] = []
        self.semaphore_names: list[str] = []
        self.semaphores: list = []
        self.run_lock: RunLock | None = None  # held while the run has names in /dev/shm
        self.unlinked = False
        self.rings: dict[str, Ring] = {}
        # consuming worker -> the name of the semaphore its processes wait on for events
        self.ready_names: dict[str, str] = {}
        self.ready: dict[str, object] = {}  # consuming worker -> its ready semaphore
        self.layout = S.SegmentLayout.of(plan.workers)  # where each process's row sits
        self.control: Segment | None = None  # the statistics segment
        self.statistics: S.Statistics | None = None  # read through this while it is mapped

    def create(self) -> None:
        """Take the run lock, then create and initialise every segment and semaphore; raises
        SharedMemoryError when /dev/shm cannot hold them (what was created stays listed for
        `unlink` and `close`)."""
        plan = self.plan
        prefix = self.prefix
        self.run_lock = RunLock(prefix)
        processes = {w.name: w.processes for w in plan.workers}
        for k, buffer in enumerate(plan.buffers):
            consumers = tuple(w.name for w in plan.consumers_of(buffer.name))
            layout = RingLayout(
                name=buffer.name,
                path=f"{SHM_DIR}/{prefix}_b{k}",
                dtype=buffer.dtype,
                length=buffer.length,
                slots=buffer.slots,
                overflow=buffer.overflow,
                consumers=consumers,
                consumer_processes=tuple(processes[w] for w in consumers),
                writer_processes=sum(w.processes for w in plan.writers_of(buffer.name)),
                lock_name=f"/{prefix}_l{k}",
                free_names=(),
                observed=bool(plan.observers_of(buffer.name)),
            )
            if consumers:
                names = (f"/{prefix}_f{k}",)
                layout = dataclasses.replace(
                    layout, free_names=names, ordered=layout.can_be_ordered
                )
            what = (
                f"buffer `{buffer.name}` ({buffer.slots} slots of {buffer.slot_bytes} bytes; "
                f"the whole plan needs {plan.shm_bytes} bytes)"
            )
            segment = Segment.create(layout.path, layout.size, what)
            self.segments.append(segment)
            lock = self._semaphore(layout.lock_name, 1)
            # shared: counts the free slots; ordered: the writer's doorbell
            free_count = 0 if layout.ordered else buffer.slots
            frees = [self._semaphore(name, free_count) for name in layout.free_names]
            ring = Ring(layout, segment, lock, frees)
            ring.initialize()
            self.rings[buffer.name] = ring
        for k, worker in enumerate(plan.workers):
            if not worker.inputs:
                continue
            name = f"/{prefix}_r{k}"
            # inputs nobody writes are closed from the start: wake each process once for each
            wake = sum(
                worker.processes
                for b in worker.inputs
                if self.rings[b].layout.writer_processes == 0
            )
            self.ready[worker.name] = self._semaphore(name, wake)
            self.ready_names[worker.name] = name
        self.control = Segment.create(
            f"{SHM_DIR}/{prefix}_ctl", self.layout.size, "the run's statistics"
        )
        self.segments.append(self.control)
        words = memoryview(self.control.mapping).cast("q")
        self.statistics = S.Statistics(words, self.layout)

    def wake(self, worker: str) -> None:
        """Ring a consuming worker's ready doorbell once for each of its processes."""
        for _ in range(self.plan.worker(worker).processes):
            self.ready[worker].release()

    def _semaphore(self, name: str, value: int):
        semaphore = create_semaphore(name, value)
        self.semaphore_names.append(name)
        self.semaphores.append(semaphore)
        return semaphore

    def unlink(self) -> None:
        """Remove every name (the memory stays mapped), then let go of the run lock."""
        for segment in self.segments:
            segment.unlink()
        for name in self.semaphore_names:
            unlink_semaphore(name)
        if self.run_lock is not None:
            self.run_lock.release()
        self.unlinked = True

    def close(self) -> None:
        """Unmap what can be unmapped now; numpy views still alive keep theirs until collected."""
        for ring in self.rings.values():
            ring.release_views()
        self.rings.clear()
        if self.statistics is not None:
            self.statistics.release()
            self.statistics = None
        for segment in self.segments:
            try:
                segment.mapping.close()
            except BufferError:
                pass
