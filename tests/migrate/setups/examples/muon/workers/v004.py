"""The `muon` example's workers on mimoCoRB2 0.0.4's API: BufferIO and its examples; the
filter reads and writes through the context managers itself."""

from mimocorb2 import BufferIO, Importer
from muon_waves import channels, peaks


def simulate_source(buffer_io: BufferIO):
    importer = Importer(buffer_io)

    def ufunc():
        for i in range(buffer_io["n_events"]):
            event = importer.data_example.copy()
            event["chA"], event["chB"] = channels(i)
            yield event
        yield None

    importer(ufunc)


def calculate_decay_time(buffer_io: BufferIO):
    threshold = buffer_io["threshold"]
    accepted, up, down = buffer_io.write
    while True:
        with buffer_io.read[0] as (metadata, data):
            if data is None:
                break
            for channel, sink in (("chA", up), ("chB", down)):
                found = peaks(data[channel], threshold)
                if len(found) != 2:
                    continue
                with accepted as (_, copy):
                    copy[:] = data
                with sink as (_, params):
                    params["decay_time"] = (found[1] - found[0]) * buffer_io["sample_time_ns"]
                    for n, at in (("1st", found[0]), ("2nd", found[1])):
                        params[f"{n}_chA_h"] = data["chA"][at]
                        params[f"{n}_chB_h"] = data["chB"][at]
                break
