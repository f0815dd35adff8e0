"""A small detector simulator for the SWMR example: writes waveform frames into an HDF5 file in
SWMR mode while flowc follows it, and the importer that starts it and follows the file.

    python examples/swmr_writer.py out/swmr/frames.h5 --frames 2000 --rate 500

The file holds `entry/data` (frames x LENGTH float32 waveforms), `entry/keys` (frame number
+ 1, written after the frame's data, so a non-zero key means the frame is complete) and the
scalar `entry/finished` (1 once the last frame is written), as area detectors write them.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
from flowc.stdlib.sources import pulses, swmr_follow

import flowc

DATA = "entry/data"
KEYS = "entry/keys"
FINISHED = "entry/finished"


def write(path: str, frames: int, rate: float, length: int = 1024, seed: int = 0) -> None:
    """Write `frames` simulated waveforms at `rate` frames per second (0: at once)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(target, "w", libver="latest") as handle:
        data = handle.create_dataset(
            DATA, (0, length), maxshape=(None, length), chunks=(16, length), dtype="f4"
        )
        keys = handle.create_dataset(KEYS, (0,), maxshape=(None,), chunks=(256,), dtype="i4")
        finished = handle.create_dataset(FINISHED, data=np.int8(0))
        handle.swmr_mode = True
        start = time.perf_counter()
        waves = pulses(n=frames, example=np.zeros(length, "f4"), seed=seed)
        for index, wave in enumerate(waves):
            if rate:
                delay = start + index / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            data.resize(index + 1, axis=0)
            data[index] = wave
            data.flush()
            keys.resize(index + 1, axis=0)
            keys[index] = index + 1
            keys.flush()
        finished[()] = 1
        finished.flush()


@flowc.signature(kind="importer")
def follow_while_writing(
    path: str, frames: int, rate: float = 500.0, *, example=None, timeout: float = 10.0
):
    """Start the writer on `path` in its own process, and follow the file as it grows.

    The frames come from `stdlib.sources.swmr_follow` with the writer's key datasets and its
    finished flag; the writer's exit status is checked at the end.
    """
    length = example.shape[0] if example is not None else 1024
    writer = subprocess.Popen(
        [sys.executable, __file__, path, "--frames", str(frames), "--rate", str(rate)]
        + ["--length", str(length)]
    )
    try:
        yield from swmr_follow(
            path, [DATA], example=example, keys=[KEYS], finished=FINISHED, timeout=timeout
        )
        if writer.wait(timeout) != 0:
            raise RuntimeError(f"the SWMR writer of {path!r} exited with {writer.returncode}")
    finally:
        if writer.poll() is None:
            writer.terminate()
            writer.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--length", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args(argv)
    write(options.path, options.frames, options.rate, options.length, options.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
