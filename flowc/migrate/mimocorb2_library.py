"""mimoCoRB2 0.0.4's library workers (`function: exporters.histogram`, no `file`) as flowc workers.

Each library worker becomes the flowc worker that writes the same files and computes the same
numbers (`stdlib.mimo` holds those written for this), or is reported with the reason it cannot
be (M203: a device driver flowc does not have; a display window). Where the replacement behaves
differently in a way a user would notice, M204 says how; a config mimoCoRB2 would reject at
start is M205.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass

from flowc.diagnostics import Diagnostic, Note, error, warning
from flowc.source import Span

# every library worker of mimoCoRB2 0.0.4 and its kind
LIBRARY = {
    "analyzers.pha": "processor",
    "data.clocked_importer": "importer",
    "data.export": "exporter",
    "data.simulate_importer": "importer",
    "exporters.csv": "exporter",
    "exporters.drain": "exporter",
    "exporters.histogram": "exporter",
    "importers.picoscope.source": "importer",
    "importers.redpitaya.waveform": "importer",
    "misc.copy": "filter",
    "observers.oscilloscope": "observer",
    "visualizers.csv": "observer",
    "visualizers.histogram": "observer",
}

# the device each hardware importer reads, and what it needs
HARDWARE = {
    "importers.picoscope.source": "a PicoScope 3000A oscilloscope through Pico's picosdk driver",
    "importers.redpitaya.waveform": "a Red Pitaya board over TCP (config `ip`, port 1001)",
}

# the properties analyzers.pha can write, as stdlib.mimo.pha knows them
PHA_FIELDS = (
    "position",
    "peak_heights",
    "left_thresholds",
    "right_thresholds",
    "prominences",
    "left_bases",
    "right_bases",
    "widths",
    "width_heights",
    "left_ips",
    "right_ips",
    "plateau_sizes",
    "left_edges",
    "right_edges",
)
PHA_OPTIONS = (
    "channel",
    "height",
    "threshold",
    "distance",
    "prominence",
    "width",
    "wlen",
    "rel_height",
    "plateau_size",
)


@dataclass
class LibraryWorker:
    """What the converter knows of one library worker, and how to report and name things."""

    flow_name: str
    name: str  # in the setup
    function: str
    span: Span  # of its `function:`
    sources: list[str]
    sinks: list[str]
    observes: list[str]
    config: dict  # merged over base_config
    own: dict  # its own config keys -> (key node, value node, document)
    wiring: str
    options: str
    run_dir: str
    buffers: dict  # setup name -> the converter's _Buffer
    config_failed: bool  # a config file of it could not be read (M303 said why)
    report: Callable[[Diagnostic], None]
    path_const: Callable[[str, str], str]
    worker_name: Callable[[str], str]
    literal: Callable[[object], str | None]

    def buffer(self, name: str):
        return self.buffers.get(name)

    def flow_buffer(self, name: str) -> str:
        found = self.buffers.get(name)
        return found.flow_name if found is not None else name

    def unused(self, replacement: str, used: tuple[str, ...] = ()) -> None:
        """M204 for each of the worker's own config keys the replacement has no use for."""
        for key, (key_node, _, doc) in self.own.items():
            if key not in used:
                self.report(
                    warning(
                        "M204",
                        f"worker `{self.name}`: config `{key}` has no counterpart in "
                        f"{replacement}; it is ignored",
                        doc.span(key_node),
                    )
                )

    def invalid(self, message: str, help: str | None = None) -> list[str]:
        """M205 (the worker is written as a comment); says when a config file was unreadable."""
        if self.config_failed:
            message += " (a config file of this worker could not be read; see M303)"
        self.report(error("M205", f"worker `{self.name}`: {message}", self.span, help=help))
        return self.comment("M205: invalid config")

    def comment(self, why: str) -> list[str]:
        kind = LIBRARY.get(self.function, "worker")
        return [
            f"# {self.name}: mimoCoRB2 {self.function} ({why})",
            f"# {kind} {self.flow_name} = <mimoCoRB2 {self.function}>{self.wiring}",
            "",
        ]

    def statement(
        self, kind: str, call: str, note: str = "", wiring: str | None = None
    ) -> list[str]:
        head = f"# {self.name}: mimoCoRB2 {self.function}" + (f", {note}" if note else "")
        wired = self.wiring if wiring is None else wiring
        return [head, f"{kind} {self.flow_name} = {call}{wired}{self.options}", ""]

    def longer_than_one(self, what: str) -> None:
        """M204 when the source holds more than one element per event, which mimoCoRB2's
        exporter refuses at start and its replacement takes (`what` it does with them)."""
        found = self.buffers.get(self.sources[0])
        if found is not None and found.length != 1:
            self.report(
                warning(
                    "M204",
                    f"worker `{self.name}`: mimoCoRB2's {self.function} refuses a source of "
                    f"data_length {found.length} (it takes 1); its replacement {what}",
                    self.span,
                )
            )

    def path(self, file: str) -> str:
        """A const holding `file` in the run directory."""
        return self.path_const(self.name, os.path.join(self.run_dir, file))


def convert(worker: LibraryWorker) -> list[str]:
    """The flow lines that replace a library worker (comments only when none can)."""
    function = worker.function
    if function not in LIBRARY:
        worker.report(
            error(
                "M203",
                f"worker `{worker.name}`: `{function}` is not one of mimoCoRB2 0.0.4's library "
                "workers",
                worker.span,
                notes=[Note(f"its library workers are {', '.join(sorted(LIBRARY))}")],
                help="write the worker's function in a file and name it with `file:`",
            )
        )
        return worker.comment("M203: unknown library worker")
    return _CONVERTERS[function](worker)


def _drain(worker: LibraryWorker) -> list[str]:
    worker.unused("stdlib.sinks.null")
    return worker.statement("exporter", "stdlib.sinks.null()")


def _copy(worker: LibraryWorker) -> list[str]:
    worker.unused("stdlib.filters.prescale")
    return worker.statement("filter", "stdlib.filters.prescale(n=1)", "every event to every sink")


def _csv(worker: LibraryWorker) -> list[str]:
    if len(worker.sources) != 1:
        return worker.invalid("exporters.csv reads exactly 1 source")
    filename = worker.config.get("filename", worker.sources[0])
    if not isinstance(filename, str):
        return worker.invalid(f"config `filename` must be a file name, not {filename!r}")
    worker.unused("stdlib.sinks.csv", ("filename", "save_interval"))
    worker.longer_than_one("writes a row per element")
    worker.report(
        warning(
            "M204",
            f"worker `{worker.name}`: stdlib.sinks.csv writes mimoCoRB2's columns (counter, "
            "timestamp, deadtime, then the fields) but its deadtime column holds the seconds the "
            "importer was blocked (mimoCoRB2: that time as a fraction of the time between "
            "events), and integers are written as integers (mimoCoRB2 writes every value as a "
            "float64: `32.0` for a counter of 32)",
            worker.span,
        )
    )
    path = worker.path(f"{filename}.csv")
    return worker.statement("exporter", f"stdlib.sinks.csv(path={path}, metadata=true)")


def _histogram_bins(value) -> bool:
    """Whether a histogram config entry is [min, max, n] of finite numbers, n >= 2 edges."""
    return (
        isinstance(value, list)
        and len(value) == 3
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in value)
        and all(math.isfinite(x) for x in value)
        and value[0] < value[1]
        and int(value[2]) == value[2]
        and value[2] >= 2
    )


def _bins(worker: LibraryWorker) -> dict | None:
    bins = worker.config.get("bins")
    if not isinstance(bins, dict) or not bins:
        return None
    if not all(_histogram_bins(v) for v in bins.values()):
        return None
    return bins


def _fields_of(worker: LibraryWorker, buffer_name: str) -> tuple[str, ...] | None:
    found = worker.buffer(buffer_name)
    if found is None or found.element is None:
        return None
    return tuple(f.name for f in found.element.fields)


def _histogram(worker: LibraryWorker) -> list[str]:
    if len(worker.sources) != 1:
        return worker.invalid("exporters.histogram reads exactly 1 source")
    bins = _bins(worker)
    if bins is None:
        return worker.invalid(
            "config `bins` must map fields to [min, max, n] (finite numbers, min < max, n >= 2)",
            help="bins: {height: [0, 1000, 101]} gives 100 bins from 0 to 1000",
        )
    fields = _fields_of(worker, worker.sources[0])
    missing = [k for k in bins if fields is not None and str(k) not in fields]
    if missing:
        return worker.invalid(
            f"config `bins` names field `{missing[0]}`, which buffer `{worker.sources[0]}` "
            f"does not have (it has {', '.join(fields)})"
        )
    worker.unused("stdlib.mimo.histogram", ("bins", "update_interval"))
    worker.longer_than_one("counts every element")
    directory = worker.path(f"Histograms_{worker.sources[0]}")
    arguments = [f"bins={worker.literal({str(k): v for k, v in bins.items()})}"]
    arguments.append(f"directory={directory}")
    interval = worker.config.get("update_interval")
    if isinstance(interval, int | float) and not isinstance(interval, bool) and interval > 0:
        arguments.append(f"update_interval={worker.literal(interval)}")
    return worker.statement(
        "exporter", f"stdlib.mimo.histogram({', '.join(arguments)})", "info.csv and .npy counts"
    )


def _export(worker: LibraryWorker) -> list[str]:
    if len(worker.sources) != 1:
        return worker.invalid("data.export reads exactly 1 source")
    worker.unused("stdlib.mimo.export")
    path = worker.path(f"{worker.sources[0]}.mimo")
    return worker.statement("exporter", f"stdlib.mimo.export(path={path})", "a .mimo file")


def _mimo_file(worker: LibraryWorker) -> str | None:
    filename = worker.config.get("filename")
    return filename if isinstance(filename, str) and filename else None


def _clocked(worker: LibraryWorker) -> list[str]:
    filename = _mimo_file(worker)
    rate = worker.config.get("rate")
    distribution = worker.config.get("distribution", "uniform")
    if filename is None:
        return worker.invalid("data.clocked_importer needs config `filename`, a .mimo file")
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not rate > 0:
        return worker.invalid(f"config `rate` must be a positive number, not {rate!r}")
    if distribution not in ("uniform", "poisson"):
        return worker.invalid(
            f'config `distribution` must be "uniform" or "poisson", not {distribution!r}'
        )
    worker.unused("stdlib.mimo.clocked", ("filename", "rate", "distribution"))
    if distribution == "poisson":
        worker.report(
            warning(
                "M204",
                f"worker `{worker.name}`: with distribution poisson stdlib.mimo.clocked sends the "
                "events as a Poisson process of the rate (exponential gaps); mimoCoRB2 sleeps a "
                "Poisson-distributed whole number of seconds of mean 1/rate, mostly none",
                worker.span,
            )
        )
    arguments = [
        f"path={worker.literal(filename)}",
        f"rate={worker.literal(rate)}",
        f"distribution={worker.literal(distribution)}",
    ]
    return worker.statement("importer", f"stdlib.mimo.clocked({', '.join(arguments)})")


def _replay(worker: LibraryWorker) -> list[str]:
    filename = _mimo_file(worker)
    if filename is None:
        return worker.invalid("data.simulate_importer needs config `filename`, a .mimo file")
    worker.unused("stdlib.mimo.replay", ("filename",))
    return worker.statement(
        "importer", f"stdlib.mimo.replay(path={worker.literal(filename)})", "paced by timestamps"
    )


def _pha(worker: LibraryWorker) -> list[str]:
    if len(worker.sources) != 1 or len(worker.sinks) != 1:
        return worker.invalid("analyzers.pha reads 1 source and writes 1 sink")
    fields = _fields_of(worker, worker.sinks[0])
    if fields is None:
        return worker.invalid(f"its sink `{worker.sinks[0]}` is not a declared buffer")
    unknown = [f for f in fields if f not in PHA_FIELDS]
    if unknown:
        return worker.invalid(
            f"sink `{worker.sinks[0]}` has field `{unknown[0]}`, which is no peak property",
            help=f"analyzers.pha writes {', '.join(PHA_FIELDS)}",
        )
    sink = worker.buffer(worker.sinks[0])
    if sink.length != 1:
        return worker.invalid(f"its sink `{worker.sinks[0]}` must have data_length 1")
    codes = {f.name: f.code for f in sink.element.fields}
    arguments = [f"fields={worker.literal(codes)}"]
    for option in PHA_OPTIONS:
        value = worker.config.get(option)
        if value is None:
            continue
        text = worker.literal(value)
        if text is None:
            return worker.invalid(f"config `{option}` is {value!r}, which flow cannot express")
        arguments.append(f"{option}={text}")
    worker.unused("stdlib.mimo.pha", PHA_OPTIONS)
    return worker.statement(
        "processor", f"stdlib.mimo.pha({', '.join(arguments)})", "its first peak per waveform"
    )


def _oscilloscope(worker: LibraryWorker) -> list[str]:
    if len(worker.observes) != 1:
        return worker.invalid("observers.oscilloscope observes exactly 1 buffer")
    arguments = [f"png={worker.path(f'{worker.name}.png')}"]
    interval = worker.config.get("update_interval")
    if isinstance(interval, int | float) and not isinstance(interval, bool) and interval > 0:
        arguments.append(f"every={worker.literal(interval)}")
    channels = worker.config.get("channels")
    if isinstance(channels, list) and all(isinstance(c, str) for c in channels):
        arguments.append(f"channels={worker.literal(channels)}")
    scaling = worker.config.get("t_scaling")
    if (
        isinstance(scaling, list)
        and len(scaling) == 3
        and isinstance(scaling[0], int | float)
        and scaling[0] > 0
    ):
        arguments.append(f"sample_time={worker.literal(scaling[0])}")
        arguments.append(f"unit={worker.literal(str(scaling[2]))}")
    arguments.append(f"title={worker.literal(f'Oscilloscope: {worker.name}')}")
    worker.unused("stdlib.monitors.oscilloscope", ("update_interval", "channels", "t_scaling"))
    worker.report(
        warning(
            "M204",
            f"worker `{worker.name}`: stdlib.monitors.oscilloscope draws the latest waveforms into "
            f"{os.path.join(worker.run_dir, worker.name + '.png')} rather than a window; "
            "`flowc run --serve` shows them live in the browser",
            worker.span,
        )
    )
    return worker.statement("observer", f"stdlib.monitors.oscilloscope({', '.join(arguments)})")


def _histogram_monitors(worker: LibraryWorker, bins: dict, shows: str) -> list[str]:
    """A visualizer as one stdlib.monitors.histogram per field of `bins` (the same edges),
    drawing a PNG in the run directory from the events it observes; `shows` what the window
    showed."""
    fields = _fields_of(worker, worker.observes[0]) or ()
    source = worker.flow_buffer(worker.observes[0])
    lines = [
        f"# {worker.name}: mimoCoRB2 {worker.function}, as one histogram monitor per field "
        f"observing {source}"
    ]
    for field, (low, high, count) in bins.items():
        if str(field) not in fields:
            continue  # mimoCoRB2 skips a field the buffer does not have
        monitor = worker.worker_name(f"{worker.name}_{field}")
        png = worker.path_const(monitor, os.path.join(worker.run_dir, f"{worker.name}_{field}.png"))
        lines.append(
            f"observer {monitor} = stdlib.monitors.histogram(field={worker.literal(str(field))}, "
            f"bins={int(count) - 1}, range=[{float(low)!r}, {float(high)!r}], png={png}) "
            f"observes {source}"
        )
    worker.unused(
        "stdlib.monitors.histogram",
        ("bins", "filename", "update_interval", "histtype", "plot_type"),
    )
    worker.report(
        warning(
            "M204",
            f"worker `{worker.name}`: {worker.function} shows {shows} in a window; its "
            "replacement draws a histogram of each field, with the same bins, into a PNG in the "
            "run directory from the events it observes (all of them when it keeps up); "
            "`flowc run --serve` shows them live",
            worker.span,
        )
    )
    return [*lines, ""]


def _visualize_csv(worker: LibraryWorker) -> list[str]:
    if len(worker.observes) != 1:
        return worker.invalid("visualizers.csv observes exactly 1 buffer")
    bins = _bins(worker)
    if bins is None:
        return worker.invalid("config `bins` must map fields to [min, max, n]")
    return _histogram_monitors(worker, bins, "histograms of the CSV file exporters.csv writes")


def _visualize_histogram(worker: LibraryWorker) -> list[str]:
    bins = _bins(worker)
    if len(worker.observes) == 1 and bins is not None:
        return _histogram_monitors(worker, bins, "the files exporters.histogram writes")
    worker.report(
        warning(
            "M203",
            f"worker `{worker.name}`: visualizers.histogram only shows, in a window, the files "
            "exporters.histogram writes, and its config has no `bins` to draw them with here; "
            "stdlib.mimo.histogram writes the same files (info.csv and a .npy per field), "
            "which any plotting tool can show; it is left out",
            worker.span,
            help="give it the exporter's config (`bins: {field: [min, max, n]}`) and it becomes "
            "a histogram monitor per field; `flowc run --serve` shows them live",
        )
    )
    return worker.comment("M203: a display window")


def _hardware(worker: LibraryWorker) -> list[str]:
    worker.report(
        error(
            "M203",
            f"worker `{worker.name}`: {worker.function} reads {HARDWARE[worker.function]}, for "
            "which flowc has no driver; it is written as a comment",
            worker.span,
            help="keep mimoCoRB2's function file beside the setup and name it with `file:` "
            "(it runs unchanged), or try the pipeline without the device on simulated "
            "waveforms, stdlib.sources.waveforms",
        )
    )
    return worker.comment("M203: needs its device")


_CONVERTERS: dict[str, Callable[[LibraryWorker], list[str]]] = {
    "analyzers.pha": _pha,
    "data.clocked_importer": _clocked,
    "data.export": _export,
    "data.simulate_importer": _replay,
    "exporters.csv": _csv,
    "exporters.drain": _drain,
    "exporters.histogram": _histogram,
    "importers.picoscope.source": _hardware,
    "importers.redpitaya.waveform": _hardware,
    "misc.copy": _copy,
    "observers.oscilloscope": _oscilloscope,
    "visualizers.csv": _visualize_csv,
    "visualizers.histogram": _visualize_histogram,
}
