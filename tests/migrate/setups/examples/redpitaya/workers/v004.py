"""The simulated source of the `redpitaya` example on mimoCoRB2 0.0.4's API, writing its
events itself through the BufferWriter."""

from mimocorb2 import BufferIO
from rp_waves import waveform


def simulate_source(buffer_io: BufferIO):
    writer = buffer_io.write[0]
    for i in range(buffer_io["n_events"]):
        with writer as (metadata, data):
            data["IN1"] = waveform(i, buffer_io["tau"])
