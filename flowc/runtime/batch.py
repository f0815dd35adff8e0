"""Batches (`batch=N`, SPEC section 2): a worker process whose code takes up to N events per call.

Readers take the events that are ready, up to N and never past the ring's end, as one read-only
view of shape (k, LENGTH) with metadata of shape (k,): zero-copy where the slots are contiguous
(always in an ordered ring), a gathered copy where they are not. Writers claim and publish runs
of slots. Every count (consumed, written, dropped, accepted, discarded, errors) stays per event.

`batch=1` costs no more than a per-event worker: a consumer runs the per-event loop
(`WorkerProcess.run_consumer`) and is handed each slot's (1, LENGTH) view, made once; an
importer's one-row batch is stored as its bytes into one claimed slot; the usual results (the
input returned, one row of the output's type, a one-event mask) take the per-event port calls,
and any other result is checked and routed as a batch's.
"""

from __future__ import annotations

import time

import numpy as np

from flowc.runtime import stats as S
from flowc.runtime.ring import CLOSED, DROPPED, STOPPED, ResultError
from flowc.types import META_COUNTER, META_DEADTIME, META_TIMESTAMP, META_WORDS

# a worker waiting for events looks at its inputs at least this often, rung or not (seconds)
_IDLE_LOOK_S = 0.1


def _describe(item) -> str:
    if isinstance(item, np.ndarray):
        return f"an array of shape {item.shape} and dtype {item.dtype}"
    return f"a {type(item).__name__}"


def put(out, rows: np.ndarray, meta: np.ndarray, source=None) -> None:
    """Write rows (shape (m, LENGTH)) with their metadata records to an output port, in runs of
    slots; the rows that find no room in a buffer that drops are counted as dropped. `source`:
    (input ring, first slot, whether `rows` are its events too) when `meta` is the records of a
    contiguous run of an input ring's slots: they are copied as bytes from there."""
    total = len(rows)
    if total == 1 and rows.dtype == out.dtype:  # one event: the per-event port calls
        put_one(out, rows, meta, source)
        return
    written = 0
    while written < total:
        count = out.claim_run(total - written)
        if count < 0:
            out.drop_rows(total - written)
            return
        end = written + count
        try:
            if source is None:
                out.fill_run(rows[written:end], meta[written:end])
            else:
                ring, first, rows_too = source
                out.copy_run(ring, first + written, rows_too)
                if not rows_too:
                    out.fill_run(rows[written:end], None)
        except BaseException:
            out.abort_run(count)
            raise
        out.publish_run(count)
        written = end


def put_one(out, rows: np.ndarray, meta: np.ndarray, source) -> None:
    """`put` of one row of the output's own dtype: one slot claimed, filled and published as
    the per-event path does (a drop counted by the claim)."""
    slot = out.claim()
    if slot < 0:
        return
    try:
        if source is None:
            out.fill(slot, rows[0])
            out.meta_slots[slot][:] = meta.tobytes()
        else:
            ring, first, rows_too = source
            out.meta_slots[slot][:] = ring.meta_slots[first]
            if rows_too:
                out.data_slots[slot][:] = ring.data_slots[first]
            else:
                out.fill(slot, rows[0])
    except BaseException:
        out.abort(slot)
        raise
    out.publish(slot)


def row_filler(out):
    """fill_row(slot, rows): store the one row of `rows` (shape (1, LENGTH)) in a claimed slot
    of `out` as `out.fill(slot, rows[0])` does, without making the row's view when the rows are
    of the slot's own type: their bytes are the event's."""
    data_slots, dtype, fill = out.data_slots, out.dtype, out.fill
    if out.small:

        def fill_row(slot: int, rows: np.ndarray) -> None:
            if rows.dtype == dtype:
                data_slots[slot][:] = rows.tobytes()
            else:
                fill(slot, rows[0])

        return fill_row

    def fill_large_row(slot: int, rows: np.ndarray) -> None:
        if rows.dtype == dtype:
            try:
                data_slots[slot][:] = memoryview(rows).cast("B")
                return
            except TypeError:  # not contiguous
                pass
        fill(slot, rows[0])

    return fill_large_row


def copy(out, ring, first: int, total: int) -> None:
    """Copy `total` events of `ring` from slot `first` on (contiguous), with their metadata, to
    an output port as bytes (`put` of the input's own events, with fewer calls)."""
    if total == 1:  # one event: the per-event port calls and the slots' own byte views
        slot = out.claim()
        if slot >= 0:
            out.data_slots[slot][:] = ring.data_slots[first]
            out.meta_slots[slot][:] = ring.meta_slots[first]
            out.publish(slot)
        return
    written = 0
    while written < total:
        count = out.claim_run(total - written)
        if count < 0:
            out.drop_rows(total - written)
            return
        out.copy_run(ring, first + written, True)
        out.publish_run(count)
        written += count


class BatchRunner:
    """Runs one process of a worker with `batch=N` (the `WorkerProcess` holds its ports, code
    and statistics). An importer's code runs with `in_user_code[0]` set, where a stop request
    raises `stop_import`."""

    def __init__(self, process, stop_import: type[BaseException], in_user_code: list):
        self.process = process
        self.stop_import = stop_import
        self.in_user_code = in_user_code
        plan = process.plan
        self.most = plan.batch
        self.kind = plan.kind
        self.what = f"{plan.kind} `{plan.name}`"

    def run(self) -> None:
        if self.kind == "importer":
            self.run_importer()
        else:
            self.run_consumer()

    # --- importers ---------------------------------------------------------------------------

    def rows_of(self, item, length: int) -> np.ndarray:
        """The (k, LENGTH) rows of a batch an importer yielded; a ResultError if it is none."""
        if isinstance(item, np.ndarray) and item.ndim == 1 and length == 1:
            item = item.reshape(-1, 1)
        if (
            isinstance(item, np.ndarray)
            and item.ndim == 2
            and item.shape[1] == length
            and 1 <= item.shape[0] <= self.most
        ):
            return item
        raise ResultError(
            f"{self.what} has batch={self.most} and yielded {_describe(item)}; yield arrays "
            f"of shape (k, {length}) with 1 <= k <= {self.most}, one row per event"
        )

    def run_importer(self) -> None:
        process = self.process
        out = process.outputs[0]
        length = out.ring.layout.length
        stop, pause = process.stop_flag, process.pause_flag
        events = iter(process.events)
        counter = 0
        paused_s = 0.0  # paused since the last batch was written: part of its deadtime
        perf, cpu, now = time.perf_counter, time.process_time, time.time
        times = process.times
        timed = times.timed
        countdown = times.calls_until_timed()
        skip_errors, counters = process.skip_errors, process.counters
        stop_import, in_user_code = self.stop_import, self.in_user_code
        most = self.most
        one_row = (1, length)
        claim, publish, fill_row = out.claim, out.publish, row_filler(out)
        meta_words, meta_floats = out.ring.meta_words, out.ring.meta_floats
        # the metadata record's words (flowc.types), as locals of the loop
        record, counter_at, stamp_at, deadtime_at = (
            META_WORDS,
            META_COUNTER,
            META_TIMESTAMP,
            META_DEADTIME,
        )
        stopped = False
        while not stop[0]:
            if pause[0]:
                paused_s += process.sit_out_pause()
                continue
            countdown -= 1
            if not countdown:
                started, cpu_started = perf(), cpu()
            try:
                try:
                    in_user_code[0] = True
                    item = next(events)
                finally:
                    in_user_code[0] = False
            except (StopIteration, stop_import):
                countdown += 1  # that was no call
                break
            if not countdown:
                countdown = timed(perf() - started, cpu() - cpu_started)
            if type(item) is np.ndarray and item.shape == one_row:
                # one event: the per-event port calls, the row stored as it is
                slot = claim(True)
                if slot < 0:
                    if slot == STOPPED:
                        break
                    counter += 1  # dropped (counted by the claim)
                    continue
                try:
                    fill_row(slot, item)
                except Exception:
                    out.abort(slot)
                    if not skip_errors:
                        raise
                    counters[S.ERRORS] += 1
                    counter += 1
                    continue
                at = slot * record
                meta_words[at + counter_at] = counter
                meta_floats[at + stamp_at] = now()
                meta_floats[at + deadtime_at] = out.blocked_s + paused_s
                publish(slot)
                paused_s = 0.0
                counter += 1
                continue
            if (
                type(item) is np.ndarray
                and item.ndim == 2
                and item.shape[1] == length
                and 0 < item.shape[0] <= most
            ):
                rows = item
            else:
                rows = self.rows_of(item, length)
            total = len(rows)
            written = 0
            while written < total:
                # a batch is accepted whole: only its first run may give way to a stop
                count = out.claim_run(total - written, written == 0)
                if count == STOPPED:
                    stopped = True
                    break
                if count == DROPPED:
                    out.drop_rows(total - written)
                    break
                end = written + count
                try:
                    out.fill_run(rows[written:end], None)
                except Exception:
                    out.abort_run(count)
                    if not skip_errors:
                        raise
                    counters[S.ERRORS] += total - written
                    break
                out.stamp_run(counter + written, now(), out.blocked_s + paused_s)
                paused_s = 0.0
                out.publish_run(count)
                written = end
            if stopped:
                break
            counter += total
        times.finish(countdown)

    # --- consumers ---------------------------------------------------------------------------

    def batches(self):
        """Yield (input index, count) of each batch taken from the inputs until they end.

        As `WorkerProcess.next_event`: the `ready` semaphore is a doorbell, and the process
        looks at its inputs once more after taking its rings and before it sleeps. A process
        alone on its doorbell drains it then; one sharing it takes one ring per batch."""
        process = self.process
        ready = process.ready
        inputs = process.inputs
        takes = [port.take for port in inputs]
        count = len(inputs)
        alone = process.plan.processes == 1
        # at most half an input's slots: its writers fill the other half meanwhile, so the
        # stages of a chain keep working side by side however large N is
        mosts = [max(1, min(self.most, port.slots // 2)) for port in inputs]
        floats = process.floats
        perf = time.perf_counter
        before_blocking = process.clock.before_blocking
        turn = 0
        closed = drained = False
        while True:
            for k in range(count):
                i = (turn + k) % count
                taken = takes[i](mosts[i])
                if taken:
                    turn = i + 1
                    drained = False
                    if not alone:
                        ready.acquire(False)
                    yield i, taken
                    break
            else:
                if closed:
                    return
                if alone and not drained:
                    while ready.acquire(False):
                        pass
                    drained = True
                    continue
                closed = all(port.words[CLOSED] for port in inputs)
                if closed:
                    continue  # look once more: events may have come before the close
                before_blocking()
                started = perf()
                ready.acquire(True, _IDLE_LOOK_S)
                floats[S.BLOCKED_IN_S] += perf() - started
                drained = False

    def run_consumer(self) -> None:
        process = self.process
        makers = {
            "processor": self.processor_handler,
            "filter": self.filter_handler,
            "exporter": self.exporter_handler,
        }
        inputs = process.inputs
        views = []
        singles = []  # per input and slot, the batch of that one event (made once)
        for port in inputs:
            data, meta = port.ring.data.view(), port.ring.meta.view()
            data.flags.writeable = meta.flags.writeable = False
            views.append((data, meta))
            singles.append([(data[s : s + 1], meta[s : s + 1]) for s in range(len(data))])
        if self.most == 1:  # the per-event loop: one slot popped at a time, no runs taken
            process.run_consumer(makers[self.kind](singles))
            return
        handle = makers[self.kind]()
        perf, cpu = time.perf_counter, time.process_time
        times = process.times
        timed = times.timed
        countdown = times.calls_until_timed()
        skip_errors, counters, clock = process.skip_errors, process.counters, process.clock
        ready = process.ready
        for i, count in self.batches():
            port = inputs[i]
            data, meta = views[i]
            start = port.taken_start
            if count == 1 and start >= 0:
                batch, batch_meta = singles[i][start]
            elif start >= 0:
                batch, batch_meta = data[start : start + count], meta[start : start + count]
            else:  # slots apart in a shared ring: a read-only copy
                batch, batch_meta = data[port.taken], meta[port.taken]
                batch.flags.writeable = batch_meta.flags.writeable = False
            countdown -= 1
            if not countdown:
                blocked_before = clock.blocked_out_s
                started, cpu_started = perf(), cpu()
            try:
                handle(i, batch, batch_meta, count, start)
            except Exception as exc:
                if not skip_errors:
                    process.mark_failed_event(exc, i, batch_meta)
                    raise
                counters[S.ERRORS] += count
            if not countdown:
                countdown = timed(
                    perf() - started - (clock.blocked_out_s - blocked_before), cpu() - cpu_started
                )
                while ready.acquire(False):  # rings of a writer this process keeps up with
                    pass
            port.done_taken()
        times.finish(countdown)

    @staticmethod
    def one_by_one(handle, singles):
        """handle(input index, slot) for the per-event loop of a `batch=1` worker: the general
        `handle` of a batch, given the slot's (1, LENGTH) views."""

        def handle_single(i: int, slot: int) -> None:
            data, meta = singles[i][slot]
            handle(i, data, meta, 1, slot)

        return handle_single

    def processor_handler(self, singles=None):
        """handle(input index, batch, its metadata, k, first slot or -1); with `singles` (the
        (1, LENGTH) views of each input's slots: `batch=1`) handle(input index, slot)."""
        process = self.process
        step = process.step
        outputs = process.outputs
        count = len(outputs)
        names = [port.name for port in process.inputs]
        generator = process.shape.is_generator
        what = self.what

        rings = [port.ring for port in process.inputs]
        # (input, output) pairs of one type and length: the input batch itself, returned, is
        # copied as bytes
        same = {
            (i, j)
            for i, a in enumerate(process.inputs)
            for j, b in enumerate(outputs)
            if a.ring.layout.dtype == b.ring.layout.dtype
            and a.ring.layout.length == b.ring.layout.length
        }
        place = [0, 0]  # the input and first slot of the batch being handled

        def write(j: int, rows, origin, meta: np.ndarray, k: int, data) -> None:
            i, start = place
            if origin is None and start >= 0:
                source = (rings[i], start, rows is data and (i, j) in same)
            else:
                source = None
            self.write(outputs[j], rows, origin, meta, k, source)

        def emit(result, data, meta: np.ndarray, k: int) -> None:
            if result is None:
                return
            if not isinstance(result, list | tuple):
                if count != 1:
                    raise ResultError(
                        f"{what} has {count} outputs and returned {_describe(result)}; return "
                        "a list with one item (or None) per output"
                    )
                write(0, result, None, meta, k, data)
                return
            if len(result) != count:
                raise ResultError(
                    f"{what} returned {len(result)} results for {count} output(s) "
                    f"({', '.join(p.name for p in outputs)}); return one item (or None) per "
                    "output, and a pair (rows, origin) inside the list: [(rows, origin)]"
                )
            for j, item in enumerate(result):
                if item is None:
                    continue
                if isinstance(item, tuple):
                    if len(item) != 2:
                        raise ResultError(
                            f"{what} returned a tuple of {len(item)} for output "
                            f"`{outputs[j].name}`; give rows, or a pair (rows, origin)"
                        )
                    write(j, item[0], item[1], meta, k, data)
                else:
                    write(j, item, None, meta, k, data)

        def handle(i: int, data: np.ndarray, meta: np.ndarray, k: int, start: int) -> None:
            place[0], place[1] = i, start
            result = step(data, meta, names[i])
            if generator:
                for each in result:
                    emit(each, data, meta, k)
            else:
                emit(result, data, meta, k)

        if generator or count != 1:
            return handle if singles is None else self.one_by_one(handle, singles)

        # one output, one result per batch: the common case, a returned input batch copied
        # without the general path's calls
        plain = process.plain_step
        passes = [(i, 0) in same for i in range(len(rings))]
        out = outputs[0]
        if singles is not None:
            return self.single_processor(singles, emit, place, passes)

        def handle_one(i: int, data: np.ndarray, meta: np.ndarray, k: int, start: int) -> None:
            result = plain(data) if plain is not None else step(data, meta, names[i])
            if result is data and start >= 0 and passes[i]:
                copy(out, rings[i], start, k)
                return
            place[0], place[1] = i, start
            emit(result, data, meta, k)

        return handle_one

    def single_processor(self, singles, emit, place: list, passes: list[bool]):
        """handle(input index, slot) of a `batch=1` processor with one output and one result per
        call: the input's own event returned, or one row of the output's type, takes the
        per-event port calls; any other result is checked and routed as a batch's (`emit`)."""
        process = self.process
        step, plain = process.step, process.plain_step
        names = [port.name for port in process.inputs]
        out = process.outputs[0]
        out_row, out_dtype = (1, out.ring.layout.length), out.dtype
        claim, publish, abort, fill_row = out.claim, out.publish, out.abort, row_filler(out)
        out_data, out_meta = out.data_slots, out.meta_slots
        in_data = [port.data_slots for port in process.inputs]
        in_meta = [port.meta_slots for port in process.inputs]

        def handle_single(i: int, slot: int) -> None:
            data, meta = singles[i][slot]
            result = plain(data) if plain is not None else step(data, meta, names[i])
            if result is data and passes[i]:  # the event itself: copied as bytes
                into = claim()
                if into >= 0:
                    out_data[into][:] = in_data[i][slot]
                    out_meta[into][:] = in_meta[i][slot]
                    publish(into)
                return
            if (
                type(result) is not np.ndarray
                or result.shape != out_row
                or result.dtype != out_dtype
            ):
                place[0], place[1] = i, slot
                emit(result, data, meta, 1)
                return
            into = claim()
            if into < 0:
                return
            try:
                fill_row(into, result)
            except BaseException:
                abort(into)
                raise
            out_meta[into][:] = in_meta[i][slot]
            publish(into)

        return handle_single

    def write(self, out, rows, origin, meta: np.ndarray, k: int, source=None) -> None:
        """Check a processor's rows for one output (and their `origin`) and write them
        (`source`: as `put` takes it, when there is no `origin`)."""
        length = out.ring.layout.length
        if isinstance(rows, np.ndarray) and rows.ndim == 1 and length == 1:
            rows = rows.reshape(-1, 1)
        if not isinstance(rows, np.ndarray) or rows.ndim != 2 or rows.shape[1] != length:
            raise ResultError(
                f"{self.what} returned {_describe(rows)} for output `{out.name}`; return an "
                f"array of shape (m, {length}), one row per event"
            )
        m = len(rows)
        if origin is None:
            if m != k:
                raise ResultError(
                    f"{self.what} returned {m} rows for output `{out.name}` from a batch of "
                    f"{k} events; return one row per event, or a pair (rows, origin) whose "
                    "origin names each row's input row"
                )
            put(out, rows, meta, source)
            return
        origin = np.asarray(origin)
        if origin.ndim != 1 or len(origin) != m or (m and origin.dtype.kind not in "iu"):
            raise ResultError(
                f"{self.what} returned an origin of {_describe(origin)} for {m} rows of "
                f"output `{out.name}`; give an integer array of length {m}"
            )
        if m == 0:
            return
        low, high = int(origin.min()), int(origin.max())
        if low < 0 or high >= k:
            bad = low if low < 0 else high
            raise ResultError(
                f"{self.what} returned origin {bad} for output `{out.name}` from a batch of "
                f"{k} events; each origin names an input row, 0 to {k - 1}"
            )
        put(out, rows, meta[origin])

    def filter_handler(self, singles=None):
        """handle(input index, batch, its metadata, k, first slot or -1); with `singles`
        (`batch=1`) handle(input index, slot), a one-event mask deciding with per-event calls."""
        process = self.process
        step = process.step
        outputs = process.outputs
        count = len(outputs)
        names = [port.name for port in process.inputs]
        counters = process.counters
        what = self.what

        def mask(decision, k: int) -> np.ndarray:
            if (
                isinstance(decision, np.ndarray)
                and decision.dtype == np.bool_
                and decision.shape == (k,)
            ):
                return decision
            raise ResultError(
                f"{what} returned {_describe(decision)} for a batch of {k} events; return a "
                f"boolean array of shape ({k},), or a list of one such array per output"
            )

        rings = [port.ring for port in process.inputs]

        def route(i: int, data: np.ndarray, meta: np.ndarray, k: int, start: int, decision) -> None:
            if isinstance(decision, list | tuple):
                if len(decision) != count:
                    raise ResultError(
                        f"{what} returned {len(decision)} decisions for {count} output(s); "
                        f"return a boolean array of shape ({k},), or a list of one per output"
                    )
                masks = [mask(each, k) for each in decision]
                chosen = np.logical_or.reduce(masks) if count > 1 else masks[0]
            else:
                chosen = mask(decision, k)
                masks = [chosen] * count
            accepted = int(np.count_nonzero(chosen))
            for out, selected in zip(outputs, masks, strict=True):
                taken = accepted if selected is chosen else int(np.count_nonzero(selected))
                if taken == k and start >= 0:
                    copy(out, rings[i], start, k)
                elif taken == k:
                    put(out, data, meta)
                elif taken:
                    put(out, data[selected], meta[selected])
            counters[S.ACCEPTED] += accepted
            counters[S.DISCARDED] += k - accepted

        if singles is None:

            def handle(i: int, data: np.ndarray, meta: np.ndarray, k: int, start: int) -> None:
                route(i, data, meta, k, start, step(data, meta, names[i]))

            return handle

        copy_one = process.copier()  # (input, slot, output): one event's per-event copy
        everywhere = range(count)
        one, boolean = (1,), np.dtype(np.bool_)

        def handle_single(i: int, slot: int) -> None:
            data, meta = singles[i][slot]
            decision = step(data, meta, names[i])
            if type(decision) is np.ndarray and decision.shape == one and decision.dtype == boolean:
                if decision[0]:
                    for j in everywhere:
                        copy_one(i, slot, j)
                    counters[S.ACCEPTED] += 1
                else:
                    counters[S.DISCARDED] += 1
                return
            route(i, data, meta, 1, slot, decision)

        return handle_single

    def exporter_handler(self, singles=None):
        """handle(input index, batch, its metadata, k, first slot or -1); with `singles`
        (`batch=1`) handle(input index, slot)."""
        process = self.process
        step = process.step
        outputs = process.outputs
        names = [port.name for port in process.inputs]
        rings = [port.ring for port in process.inputs]
        if singles is not None:
            copy_one = process.copier()
            everywhere = range(len(outputs))

            def handle_single(i: int, slot: int) -> None:
                data, meta = singles[i][slot]
                step(data, meta, names[i])
                for j in everywhere:
                    copy_one(i, slot, j)

            return handle_single

        def handle(i: int, data: np.ndarray, meta: np.ndarray, k: int, start: int) -> None:
            step(data, meta, names[i])
            for out in outputs:
                if start >= 0:
                    copy(out, rings[i], start, k)
                else:
                    put(out, data, meta)

        return handle
