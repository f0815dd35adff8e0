"""The benchmark chain on GNU Radio: three `gr.sync_block` Python blocks, a source filling its
output, a pass-through copying its input, a sink reading its input, with 64-byte items (a
`{a: f8, b: f8}[4]` event as 64 bytes), in one flowgraph.

Runs under Debian's /usr/bin/python3 with the `gnuradio` package (run by
`benchmarks/batch_throughput.py`); prints one result line, `"available": false` without GNU Radio.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

RESULT_PREFIX = "BENCH_RESULT "
ITEM_BYTES = 64


def emit(result: dict) -> None:
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, required=True, help="items the source sends")
    args = parser.parse_args()
    try:
        import numpy as np
        from gnuradio import gr
    except ImportError as exc:
        emit({"ok": False, "available": False, "error": f"GNU Radio is not available: {exc}"})
        return

    item = (np.uint8, ITEM_BYTES)

    class Source(gr.sync_block):
        def __init__(self, total: int):
            gr.sync_block.__init__(self, name="source", in_sig=None, out_sig=[item])
            self.left = total

        def work(self, input_items, output_items):
            out = output_items[0]
            n = min(len(out), self.left)
            if n == 0:
                return -1  # WORK_DONE
            out[:n] = 0
            self.left -= n
            return n

    class PassThrough(gr.sync_block):
        def __init__(self):
            gr.sync_block.__init__(self, name="copy", in_sig=[item], out_sig=[item])

        def work(self, input_items, output_items):
            n = len(input_items[0])
            output_items[0][:n] = input_items[0]
            return n

    class Sink(gr.sync_block):
        def __init__(self):
            gr.sync_block.__init__(self, name="sink", in_sig=[item], out_sig=None)
            self.count = 0
            self.first = self.last = 0.0
            self.first_size = 0

        def work(self, input_items, output_items):
            n = len(input_items[0])
            now = time.time()
            if not self.count:
                self.first, self.first_size = now, n
            self.last = now
            self.count += n
            return n

    top = gr.top_block()
    source, copy, sink = Source(args.items), PassThrough(), Sink()
    top.connect(source, copy)
    top.connect(copy, sink)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = usage.ru_utime + usage.ru_stime
    started = time.perf_counter()
    top.run()
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    window = sink.last - sink.first
    after_first = sink.count - sink.first_size
    emit(
        {
            "ok": sink.count == args.items,
            "available": True,
            "events": args.items,
            "received": sink.count,
            "events_per_s": after_first / window if window > 0 and after_first > 0 else None,
            "wall_s": wall,
            "cpu_s": cpu,
            "gnuradio": gr.version(),
        }
    )


if __name__ == "__main__":
    main()
