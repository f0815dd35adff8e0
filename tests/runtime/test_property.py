"""Random valid graphs of importers, processors, filters and exporters run to completion, and
every event is accounted for: exactly, when no buffer drops events."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st
from runtime_plans import assert_accounted, buffer, make_plan, worker

from flowc.runtime import run

pytestmark = pytest.mark.runtime


@st.composite
def graphs(draw):
    """(plan, expected x values per buffer or None when a buffer on the way drops events)."""
    buffers, workers = {}, []
    expected: dict[str, Counter | None] = {}

    def new_buffer() -> str:
        name = f"b{len(buffers)}"
        drops = draw(st.sampled_from(["block"] * 5 + ["drop"]))
        buffers[name] = buffer(name, slots=draw(st.integers(1, 4)), overflow=drops)
        expected[name] = Counter()
        return name

    def feed(name: str, values: Counter | None) -> None:
        if expected[name] is None or values is None or buffers[name].overflow == "drop":
            expected[name] = None
        else:
            expected[name] += values

    for k in range(draw(st.integers(1, 2))):
        target = (
            draw(st.sampled_from(list(buffers)))
            if buffers and draw(st.booleans())
            else new_buffer()
        )
        n = draw(st.integers(0, 40))
        workers.append(
            worker(f"imp{k}", "importer", "workers:count", outputs=[target], args={"n": n})
        )
        feed(target, Counter(range(n)))

    for k in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["processor", "filter", "exporter"]))
        readable = list(buffers)
        processes = draw(st.integers(1, 2))
        if kind == "processor" and len(readable) > 1 and draw(st.booleans()):
            inputs = draw(st.lists(st.sampled_from(readable), min_size=2, max_size=2, unique=True))
        else:
            inputs = [draw(st.sampled_from(readable))]
        arriving = None
        if all(expected[b] is not None for b in inputs):
            arriving = sum((expected[b] for b in inputs), Counter())
        name = f"{kind[0]}{k}"
        if kind == "processor" and draw(st.booleans()):
            outputs = [new_buffer(), new_buffer()]
            workers.append(
                worker(name, kind, "workers:halves", inputs, outputs, processes=processes)
            )
            evens = _select(arriving, lambda x: x % 2 == 0)
            odds = _select(arriving, lambda x: x % 2 == 1)
            feed(outputs[0], evens)
            feed(outputs[1], odds)
        elif kind == "processor":
            outputs = [new_buffer()]
            workers.append(
                worker(name, kind, "workers:identity", inputs, outputs, processes=processes)
            )
            feed(outputs[0], arriving)
        elif kind == "filter":
            outputs = [new_buffer()]
            workers.append(
                worker(name, kind, "workers:is_even", inputs, outputs, processes=processes)
            )
            feed(outputs[0], _select(arriving, lambda x: x % 2 == 0))
        else:
            outputs = [new_buffer()] if draw(st.booleans()) else []
            workers.append(
                worker(name, kind, "workers:identity", inputs, outputs, processes=processes)
            )
            for out in outputs:
                feed(out, arriving)
    if draw(st.booleans()):
        watched = draw(
            st.lists(st.sampled_from(list(buffers)), min_size=1, max_size=2, unique=True)
        )
        workers.append(worker("look", "observer", "workers:identity", observes=watched))
    return make_plan(list(buffers.values()), workers), expected


def _select(values: Counter | None, keep) -> Counter | None:
    if values is None:
        return None
    return Counter({x: n for x, n in values.items() if keep(x)})


@given(graphs())
def test_random_graphs_complete_and_account_for_every_event(graph):
    plan, expected = graph
    result = run(plan, timeout=60, start_method="fork")
    stats = result.stats
    assert (result.exit, stats["stopped"]) == (0, "completed")
    assert_accounted(stats)
    for name, b in stats["buffers"].items():
        assert all(left == 0 for left in b["left"].values())
        if expected[name] is not None:
            assert b["written"] == sum(expected[name].values()), name
            if b["consumed"]:
                assert b["dropped"] == 0
    for w in stats["workers"].values():
        if w["kind"] == "filter":
            assert w["accepted"] + w["discarded"] + w["errors"] == w["events_in"]
    look = stats["workers"].get("look")
    if look is not None:
        watched = plan.worker("look").observes
        assert look["seen"] + look["skipped"] == sum(
            _published(stats["buffers"][b]) for b in watched
        )


def _published(b: dict) -> int:
    """Events that entered a buffer: a consumed buffer drops the newest when full, a buffer
    nobody consumes takes every event (dropping the oldest)."""
    return b["written"] - b["dropped"] if b["consumed"] else b["written"]
