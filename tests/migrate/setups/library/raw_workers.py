"""Workers on mimoCoRB2's buffer context managers, without its templates."""

import numpy as np


def write_waveforms(buffer_io):
    for i in range(buffer_io["count"]):
        with buffer_io.write[0] as (metadata, data):
            data["ch0"] = np.linspace(0.0, 1.0 + (i % 5) * 0.2, len(data))
            data["ch1"] = i
    buffer_io.shutdown_sinks()


def find_peaks(buffer_io):
    reader = buffer_io.read[0]
    copies, peaks = buffer_io.write
    while True:
        with reader as (metadata, data):
            if data is None:
                break
            with copies as (_, copy):
                copy[:] = data
            for channel in ("ch0",):
                with peaks as (_, peak):
                    peak["height"] = data[channel].max()
                    peak["peak time"] = int(np.argmax(data[channel]))
    buffer_io.shutdown_sinks()
