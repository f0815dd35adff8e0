"""How an observer follows its buffers (SPEC section 4, Observers), and what a monitor may ask
about them while it runs (`observed`).

An observer never holds a slot: it copies events through the per-slot seqlock (odd while the
slot is written) and counts what it could not copy before it was overwritten as `skipped`.

- An ordered ring holds event n in slot n % slots: a `Follower` keeps a cursor (the sequence
  number of the next event) and copies, in order, every event still in its slot, each once.
- A ring nobody consumes is written round: the k-th claim (NEXT_OVERWRITE) takes slot
  k % slots and leaves its seqlock at 2 * (k // slots + 1); the follower keeps a cursor over
  the claims and copies each event whose slot still holds it.
- A shared ring (several writer processes, or consumers with several processes) hands out its
  slots from a first-in-first-out free queue, in no fixed order: the follower notes each slot's
  seqlock value and copies every slot written since it last looked, oldest event first. A
  freed slot is reused only after the slots freed before it, so an event stays in its slot for
  about a lap of the ring here too.

The observer sleeps between looks for a time chosen from the ring's depth and the rate seen,
so that it looks several times while the ring fills and costs nothing to writers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from flowc.runtime.ring import CLOSED, NEXT_OVERWRITE, PUBLISHED, Ring
from flowc.types import META_DTYPE

# an observer looks at its buffers at least this often, and at most this often (seconds)
LONGEST_NAP_S = 0.02
SHORTEST_NAP_S = 0.0005
# it looks this many times while a ring's slots fill at the rate seen
LOOKS_PER_RING = 4


@dataclass(frozen=True)
class Observed:
    """What an observer saw of a buffer so far: `seen` events copied, `skipped` overwritten
    before it looked, out of `published` events written into the buffer (dropped ones never
    were)."""

    seen: int
    skipped: int
    published: int


class Follower:
    """An observer's reading end of one buffer."""

    def __init__(self, ring: Ring):
        layout = ring.layout
        self.ring = ring
        self.words = ring.words
        self.slots = layout.slots
        self.ordered = layout.ordered
        self.overwrites = layout.overwrites
        self.sequence_base = layout.sequence_base
        self.dtype, self.length = layout.dtype, layout.length
        # events stay in their slot for about a lap of the ring, whatever its kind
        self.depth = self.slots
        self.cursor = 0  # ordered: the sequence number of the next event
        self.noted = [0] * self.slots  # per slot: the seqlock value of the write taken last
        self.seen = 0
        self.skipped = 0
        self.published = 0
        self.rate = 0.0  # events per second, smoothed over looks
        self.looked_at = time.perf_counter()

    def observed(self) -> Observed:
        return Observed(self.seen, self.skipped, max(self.published, self.words[PUBLISHED]))

    def look(self) -> tuple[list[tuple[np.ndarray, np.void]], bool]:
        """Copies of the events written since the last look that are still in the ring, in
        order, and whether the buffer is finished (closed, and everything looked at)."""
        words = self.words
        closed = bool(words[CLOSED])  # read first: after it, nothing more is published
        published = words[PUBLISHED]
        now = time.perf_counter()
        fresh = published - self.published
        interval = now - self.looked_at
        if interval > 0:
            self.rate = 0.5 * self.rate + 0.5 * fresh / interval
        self.looked_at = now
        self.published = published
        if self.ordered:
            events = self._look_ordered(published, closed)
        elif self.overwrites:
            events = self._look_round(closed)
        else:
            events = self._scan(published)
            if closed:
                self.skipped = max(0, published - self.seen)
        return events, closed and published == words[PUBLISHED]

    def nap(self) -> float:
        """How long the observer may sleep before it looks again at this buffer."""
        if self.rate <= 0:
            return LONGEST_NAP_S
        nap = self.depth / (self.rate * LOOKS_PER_RING)
        return min(LONGEST_NAP_S, max(SHORTEST_NAP_S, nap))

    def _copy(self, slot: int, before: int):
        """The event in `slot` as new arrays the observer may keep, if its seqlock still reads
        `before` after the copy (else None: it was overwritten meanwhile)."""
        data = np.empty(self.length, dtype=self.dtype)
        meta = np.empty(1, dtype=META_DTYPE)
        memoryview(data).cast("B")[:] = self.ring.data_slots[slot]
        memoryview(meta).cast("B")[:] = self.ring.meta_slots[slot]
        if self.words[self.sequence_base + slot] != before:
            return None
        return data, meta[0]

    def _look_ordered(self, published: int, closed: bool):
        """Event n is in slot n % slots until the writer claims it for event n + slots, which
        it does only once PUBLISHED has reached n + slots."""
        words, slots = self.words, self.slots
        # while writers run, the oldest event may be being overwritten already
        oldest = published - slots + (0 if closed else 1)
        if self.cursor < oldest:
            self.skipped += oldest - self.cursor
            self.cursor = oldest
        events = []
        while self.cursor < published:
            n = self.cursor
            self.cursor += 1
            slot = n % slots
            before = words[self.sequence_base + slot]
            copied = None
            if not before & 1 and before != self.noted[slot]:
                if closed or words[PUBLISHED] < n + slots:
                    copied = self._copy(slot, before)
            if copied is None:
                self.skipped += 1
                continue
            self.noted[slot] = before
            events.append(copied)
        self.seen += len(events)
        return events

    def _look_round(self, closed: bool):
        """A ring nobody consumes: claims in order, each complete once its slot's seqlock
        reads 2 * (k // slots + 1), overwritten once it reads more."""
        words, slots, base = self.words, self.slots, self.sequence_base
        claimed = words[NEXT_OVERWRITE]
        oldest = claimed - slots
        if self.cursor < oldest:
            self.skipped += oldest - self.cursor
            self.cursor = oldest
        events = []
        while self.cursor < claimed:
            k = self.cursor
            slot = k % slots
            complete = 2 * (k // slots + 1)
            before = words[base + slot]
            if before == complete - 1 and not closed:
                break  # still being written: look again next time
            self.cursor += 1
            copied = self._copy(slot, before) if before == complete else None
            if copied is None:
                self.skipped += 1
            else:
                events.append(copied)
        self.seen += len(events)
        return events

    def _scan(self, published: int):
        """Every slot written since the last look (its seqlock moved on and is even), oldest
        event first (by the time its importer stamped it)."""
        if published == self.seen + self.skipped:
            return []
        words, base, noted = self.words, self.sequence_base, self.noted
        found = []
        for slot in range(self.slots):
            before = words[base + slot]
            if before == noted[slot] or before & 1:
                continue
            copied = self._copy(slot, before)
            if copied is not None:
                noted[slot] = before
                found.append((float(copied[1]["timestamp"]), before, slot, copied))
        found.sort(key=lambda item: item[:3])
        self.seen += len(found)
        self.skipped = max(self.skipped, published - self.seen)
        return [item[3] for item in found]


# the followers of this process's observer, by buffer (set by `follow`)
_followers: dict[str, Follower] = {}


def follow(rings: dict[str, Ring]) -> dict[str, Follower]:
    """Followers for an observer's buffers; `observed` answers from them in this process."""
    _followers.clear()
    _followers.update((name, Follower(ring)) for name, ring in rings.items())
    return dict(_followers)


def observed(buffer: str | None = None) -> Observed | None:
    """What this observer process has seen of `buffer` so far (of all its buffers together
    when None), with the events published into it: the live counts a monitor shows as
    "saw N of M events". None outside an observer of a run (a monitor called by hand), or for
    a buffer it does not observe."""
    if buffer is not None:
        follower = _followers.get(buffer)
        return follower.observed() if follower is not None else None
    if not _followers:
        return None
    each = [f.observed() for f in _followers.values()]
    return Observed(
        sum(o.seen for o in each), sum(o.skipped for o in each), sum(o.published for o in each)
    )
