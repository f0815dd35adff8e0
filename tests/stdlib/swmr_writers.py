"""A writer of HDF5 files in SWMR mode, run as a separate process by the swmr_follow tests."""

import textwrap

# a writer process: waits `delay` s, creates the file, writes `frames` frames of 8 samples
# (frame i holds i) at `rate` per second with their write times, writes `keys` keys (frames
# without a key stay incomplete), sets the finished flag if asked, then stays `linger` s
WRITER = textwrap.dedent(
    """
    import sys, time
    import h5py, numpy as np
    path, delay, frames, keys, rate, finish, linger = sys.argv[1:]
    frames, keys, rate = int(frames), int(keys), float(rate)
    time.sleep(float(delay))
    with h5py.File(path, "w", libver="latest") as f:
        data = f.create_dataset("data", (0, 8), maxshape=(None, 8), chunks=(4, 8), dtype="f8")
        stamps = f.create_dataset("written_at", (0,), maxshape=(None,), chunks=(64,), dtype="f8")
        key = f.create_dataset("key", (0,), maxshape=(None,), chunks=(64,), dtype="i4")
        done = f.create_dataset("finished", data=np.int8(0))
        f.swmr_mode = True
        for i in range(frames):
            time.sleep(1 / rate)
            data.resize(i + 1, axis=0); data[i] = i; data.flush()
            stamps.resize(i + 1, axis=0); stamps[i] = time.time(); stamps.flush()
            if i < keys:
                key.resize(i + 1, axis=0); key[i] = i + 1; key.flush()
        if finish == "yes":
            done[()] = 1; done.flush()
        time.sleep(float(linger))
    """
)
