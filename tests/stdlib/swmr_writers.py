"""Writers of HDF5 files in SWMR mode (frame by frame, and a grid scan point by point), run as
separate processes by the swmr_follow tests."""

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

# a grid-scan writer, as swmr_tools' tests write one: a 3x4 scan whose data (3, 4, 2, 5), or
# (3, 4, 64, 64) compressed, and key (3, 4, 1, 1) datasets exist from the start; point by
# point (C order) it writes the
# frame (every value = the point's number + 1) and then sets its key, `period` s apart, for
# the first `points` points; then the finished flag. With compress=blosc the data is written
# with hdf5plugin's Blosc filter (as swmr_tools' tests do)
GRID_WRITER = textwrap.dedent(
    """
    import sys, time
    import h5py, numpy as np
    path, points, period, compress = sys.argv[1:]
    points, period = int(points), float(period)
    options = {}
    if compress == "blosc":
        import hdf5plugin
        options = hdf5plugin.Blosc(cname="blosclz", clevel=9, shuffle=hdf5plugin.Blosc.SHUFFLE)
    with h5py.File(path, "w", libver="latest") as f:
        frame = (64, 64) if options else (2, 5)  # big enough for Blosc to compress a chunk
        data = f.create_dataset("data", (3, 4, *frame), chunks=(1, 1, *frame), dtype="f8", **options)
        key = f.create_dataset("key", (3, 4, 1, 1), chunks=(1, 4, 1, 1), dtype="i4")
        stamps = f.create_dataset("written_at", (3, 4), chunks=(1, 4), dtype="f8")
        done = f.create_dataset("finished", data=np.int8(0))
        f.swmr_mode = True
        for i in range(points):
            time.sleep(period)
            point = np.unravel_index(i, (3, 4))
            data[point] = i + 1; data.flush()
            stamps[point] = time.time(); stamps.flush()
            key[point] = 1; key.flush()
        done[()] = 1; done.flush()
    """
)
