"""The benchmark chain on two `multiprocessing.Queue`s: importer -> processor -> exporter, each
event a (counter, timestamp, numpy array) tuple pickled through the queue.

Run by `benchmarks/runtime_throughput.py`; prints one result line (see `common.emit`).
"""

from __future__ import annotations

import multiprocessing
import time

from common import (
    ExporterRecord,
    Pacer,
    handed_over_at,
    parse_args,
    run_process_chain,
    zeroed_event,
)

END_OF_STREAM = None


def importer(out_queue, events: int, length: int, rate: float, settle: float) -> None:
    event = zeroed_event(length)
    pacer = Pacer(rate, settle) if rate > 0 else None
    for counter in range(events):
        if pacer is not None:
            pacer.hand_over(counter, event)
        out_queue.put((counter, time.time(), event))
    out_queue.put(END_OF_STREAM)


def processor(in_queue, out_queue) -> None:
    while (item := in_queue.get()) is not END_OF_STREAM:
        counter, timestamp, data = item
        out_queue.put((counter, timestamp, data))
    out_queue.put(END_OF_STREAM)


def exporter(in_queue, result_dir: str, events: int, paced: bool) -> None:
    record = ExporterRecord(result_dir, events if paced else 0)
    while (item := in_queue.get()) is not END_OF_STREAM:
        if paced:
            record.arrived_with(handed_over_at(item[2]))
        else:
            record.arrived()
    record.save()


def main() -> None:
    args = parse_args(__doc__)
    context = multiprocessing.get_context("fork")
    raw = context.Queue(maxsize=args.slots)
    processed = context.Queue(maxsize=args.slots)
    run_process_chain(args, context, importer, processor, exporter, raw, processed)


if __name__ == "__main__":
    main()
