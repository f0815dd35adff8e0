"""The `flowc` command line (SPEC section 5): check, run, graph, plan, fmt, explain, stdlib,
and import (a mimoCoRB2 setup converted into a .flow file).

Exit codes: 0 success (warnings allowed), 1 the flow has errors or a worker failed, 2 a usage
error, 130 a run stopped by a signal, 70 an internal error of flowc (printed with a traceback).

The compiler and the runtime are imported when a command needs them, not with this module:
`flowc run` takes the stop signals first thing (`flowc.runtime.stopping`), so a Ctrl-C while
numpy and the compiler load is counted, never a raw KeyboardInterrupt traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import traceback
import warnings
from collections.abc import Sequence
from importlib import metadata

from flowc.diagnostics import Diagnostic, FlowError, has_errors, render_text, to_json

EXIT_OK = 0
EXIT_ERRORS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130

DOT_SUFFIXES = (".dot", ".gv")
IMAGE_SUFFIXES = (".svg", ".png", ".pdf")
GRAPHVIZ_INSTALL_HINT = (
    "install Graphviz (apt-get install graphviz, brew install graphviz, or conda install "
    "graphviz), or write DOT with -o FILE.dot"
)


IMPORT_FRAMEWORKS = ("mimocorb2",)


class UsageError(Exception):
    """Bad arguments or an unreadable file: one `flowc: error:` line, exit 2."""


class CommandFailed(Exception):
    """An expected failure outside any flow file (e.g. Graphviz missing): one line, exit 1."""


# ---------------------------------------------------------------------------------------------
# argument parsing


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that reports usage errors as UsageError instead of printing and exiting."""

    def error(self, message: str):
        raise UsageError(f"{message} (see `{self.prog} --help`)")


_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgtp]?)(i?b?)\s*\Z", re.IGNORECASE)
_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5}


def parse_size(text: str) -> int:
    """Bytes from `1048576`, `512M`, `2G`, `64KiB`, `1.5GiB` or `500MB`.

    A bare suffix (`K`, `M`, `G`, `T`, `P`) and the `KiB` forms are powers of 1024; the SI forms
    `KB`, `MB`, `GB`... are powers of 1000. Raises ValueError for anything else or for zero.
    """
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"invalid size {text!r} (examples: 1048576, 512M, 2G, 64KiB)")
    number, prefix, tail = match.groups()
    prefix = prefix.lower()
    tail = tail.lower()
    if tail == "i" or (tail == "ib" and not prefix):
        raise ValueError(f"invalid size {text!r} (examples: 1048576, 512M, 2G, 64KiB)")
    base = 1000 if tail == "b" and prefix else 1024
    size = int(float(number) * base ** _POWERS[prefix])
    if size <= 0:
        raise ValueError(f"invalid size {text!r}: must be at least 1 byte")
    return size


def _size_argument(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _timeout_argument(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of seconds {text!r}") from None
    if not seconds > 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(f"the timeout must be a positive number, not {text!r}")
    return seconds


def _linger_argument(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of seconds {text!r}") from None
    if not 0 <= seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"the linger must be 0 or more seconds, not {text!r}")
    return seconds


def _add_set_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        dest="set_texts",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a const of the flow (repeatable)",
    )


def _add_params_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--params",
        metavar="FILE.toml",
        help="a TOML parameters file: top-level keys set consts (--set wins), a [worker] table "
        "sets that worker's arguments",
    )


def _add_format_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help=f"{what}: text (default) or json on stdout",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog="flowc",
        description="Check, run and draw .flow dataflow pipelines.",
        epilog="Exit codes: 0 ok, 1 errors in the flow or a failed run, 2 usage error, "
        "130 stopped by a signal, 70 internal error.",
    )
    parser.add_argument("--version", action="version", version=f"flowc {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name, help=summary, description=summary[0].upper() + summary[1:] + "."
        )

    check = command("check", "check a flow file and report every problem found")
    check.add_argument("file", metavar="FILE", help="the .flow file")
    _add_set_option(check)
    _add_params_option(check)
    _add_format_option(check, "how to print diagnostics")
    check.add_argument(
        "--max-shm",
        type=_size_argument,
        metavar="BYTES",
        help="shared memory the buffers may use (e.g. 512M, 2G, 64KiB; default: what /dev/shm has free)",
    )

    run = command("run", "compile a flow file and run it")
    run.add_argument("file", metavar="FILE", help="the .flow file")
    _add_set_option(run)
    _add_params_option(run)
    run.add_argument(
        "--timeout",
        type=_timeout_argument,
        metavar="SECONDS",
        help="stop the importers after SECONDS and let the graph drain",
    )
    run.add_argument(
        "--drain-timeout",
        type=_timeout_argument,
        default=None,
        metavar="SECONDS",
        help="kill a worker still running SECONDS after the run was asked to stop (by a signal "
        "or --timeout) and fail the run naming it (default 10)",
    )
    run.add_argument(
        "--report",
        metavar="FILE.html",
        help="write an HTML report of the run (also of a failed run): the graph with measured "
        "rates, the summary, plots over time, the plan hash, the source and the overrides",
    )
    run.add_argument("--stats", metavar="FILE.json", help="write the run's statistics as JSON")
    run.add_argument(
        "--quiet", action="store_true", help="show no live view and print no end-of-run summary"
    )
    run.add_argument(
        "--serve",
        metavar="[HOST:]PORT",
        help="serve a live page of the run (graph, figures, observers' plots) and Prometheus "
        "metrics at /metrics; binds 127.0.0.1 unless HOST is given",
    )
    run.add_argument(
        "--serve-linger",
        type=_linger_argument,
        default=0.0,
        metavar="SECONDS",
        help="with --serve: keep serving the final figures this long after the run (default 0)",
    )
    run.add_argument(
        "--backend",
        choices=("local", "ray"),
        default="local",
        help="local: the shared-memory runtime on this machine (default); ray: a Ray cluster "
        '(needs pip install "flowc[ray]")',
    )
    run.add_argument(
        "--address",
        metavar="ADDRESS",
        help="the Ray cluster to run on (host:6379, ray://host:10001 or auto); default: a "
        "local one started for this run",
    )

    graph = command("graph", "draw the pipeline as Graphviz DOT, SVG or PNG")
    graph.add_argument("file", metavar="FILE", help="the .flow file")
    _add_set_option(graph)
    graph.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write to FILE: .dot/.gv (DOT), .svg/.png/.pdf (needs Graphviz); default: DOT on stdout",
    )

    plan = command("plan", "print the compiled plan as JSON")
    plan.add_argument("file", metavar="FILE", help="the .flow file")
    _add_set_option(plan)
    _add_params_option(plan)

    fmt = command("fmt", "print flow files in canonical formatting")
    fmt.add_argument("files", metavar="FILE", nargs="+", help="the .flow files")
    fmt.add_argument(
        "--check",
        action="store_true",
        help="print only the files that are not canonically formatted (and exit 1)",
    )

    explain = command("explain", "explain a diagnostic code (e.g. E201)")
    explain.add_argument("code", metavar="CODE")

    stdlib = command("stdlib", "list the standard workers, or describe one")
    stdlib.add_argument("name", metavar="NAME", nargs="?", help="e.g. sources.pulses")
    _add_format_option(stdlib, "output format")

    importer = command("import", "convert another framework's setup into a .flow file")
    importer.add_argument(
        "framework", choices=IMPORT_FRAMEWORKS, metavar="FRAMEWORK", help="mimocorb2"
    )
    importer.add_argument("setup", metavar="SETUP.yaml", help="the setup file to convert")
    importer.add_argument(
        "-o", "--output", metavar="OUT.flow", help="write the .flow file there (default: stdout)"
    )

    command("lsp", "serve the Language Server Protocol on stdio, for editors")
    return parser


def _version() -> str:
    from flowc import __version__

    return __version__


def split_set_texts(set_texts: Sequence[str]) -> list[str]:
    """The `--set` texts, checked to be NAME=VALUE; raises UsageError otherwise."""
    for text in set_texts:
        name, equals, _ = text.partition("=")
        if not equals:
            raise UsageError(f"--set {text!r}: expected NAME=VALUE (for example --set N=500)")
        if not name.strip():
            raise UsageError(f"--set {text!r}: the NAME before `=` is missing")
    return list(set_texts)


# ---------------------------------------------------------------------------------------------
# output helpers


def use_color(stream) -> bool:
    """Colour only on a terminal and never when NO_COLOR is set."""
    if "NO_COLOR" in os.environ:
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def _print_diagnostics(diagnostics: Sequence[Diagnostic], output_format: str = "text") -> None:
    if output_format == "json":
        sys.stdout.write(to_json(diagnostics) + "\n")
    elif diagnostics:
        sys.stderr.write(render_text(diagnostics, color=use_color(sys.stderr)))


def __getattr__(name: str):
    """`flowc.cli.compiler`: the compiler module, imported on first use."""
    if name == "compiler":
        from flowc import compiler

        return compiler
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _check(
    path: str,
    set_texts: Sequence[str] = (),
    max_shm: int | None = None,
    params: str | None = None,
):
    """Check a file; an unreadable file (or parameters file) is a UsageError, undecodable
    bytes a FlowError."""
    from flowc import compiler

    if params is not None and not os.path.isfile(params):
        problem = "is a directory, not a TOML file" if os.path.isdir(params) else "no such file"
        raise UsageError(f"--params {params}: {problem}")
    try:
        with _prints_go_to_stderr():
            return compiler.check_file(
                path, set_texts=tuple(set_texts), max_shm=max_shm, params=params
            )
    except OSError as exc:
        if params is not None and exc.filename == params:
            raise UsageError(f"--params {params}: cannot read it: {exc.strerror or exc}") from None
        raise UsageError(_unreadable(path, exc)) from None


@contextlib.contextmanager
def _prints_go_to_stderr():
    """While the checker imports the user's worker code, what it prints goes to stderr.

    stdout carries JSON, DOT or the plan; a `print` at the top of a user's module must not
    corrupt it. Both Python's `sys.stdout` and file descriptor 1 are redirected.
    """
    sys.stdout.flush()
    try:
        saved_stdout_fd = os.dup(1)
    except OSError:  # no file descriptor 1 at all: only Python-level prints can be redirected
        saved_stdout_fd = None
    if saved_stdout_fd is not None:
        os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stderr.flush()
        if saved_stdout_fd is not None:
            os.dup2(saved_stdout_fd, 1)
            os.close(saved_stdout_fd)


def _unreadable(path: str, exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    if isinstance(exc, FileNotFoundError):
        return f"{path}: no such file"
    if isinstance(exc, IsADirectoryError):
        return f"{path}: is a directory, not a .flow file"
    return f"cannot read {path}: {reason}"


def _compile_or_report(path: str, set_texts: Sequence[str] = (), params: str | None = None):
    """The plan of a file, with warnings printed; None when errors were printed."""
    result = _check(path, set_texts, params=params)
    _print_diagnostics(result.diagnostics)
    if not result.ok or result.plan is None:
        return None
    return result.plan


def _summary_line(path: str, plan) -> str:
    from flowc.units import format_bytes

    workers = len(plan.workers)
    buffers = len(plan.buffers)
    return (
        f"{path}: ok ({workers} worker{'s' if workers != 1 else ''}, "
        f"{buffers} buffer{'s' if buffers != 1 else ''}, "
        f"{format_bytes(plan.shm_bytes)} shared memory)"
    )


# ---------------------------------------------------------------------------------------------
# commands


def cmd_check(args) -> int:
    set_texts = split_set_texts(args.set_texts)
    result = _check(args.file, set_texts, args.max_shm, args.params)
    _print_diagnostics(result.diagnostics, args.format)
    if has_errors(result.diagnostics):
        return EXIT_ERRORS
    if args.format == "text":
        _say(_summary_line(args.file, result.plan))
    return EXIT_OK


def cmd_run(args) -> int:
    if not args.command_line:
        return _run(args)
    # this process is `flowc run`: every stop signal is the run's, from now to its last line
    from flowc.runtime import stopping

    stopping.keep_stop_signals()
    try:
        return _run(args)
    except KeyboardInterrupt:  # a second signal before the run started (StopSignals)
        stopping.ignore_stop_signals()
        _say("flowc: interrupted before the run started")
        if args.stats:
            _write_stats_of_no_run(args.stats)
        sys.stdout.flush()
        sys.stderr.flush()
        # exit here: an interrupt raised inside an exec() of source text (dataclasses, say)
        # leaves CPython's "unhandled KeyboardInterrupt" flag set, and Python would end the
        # process by SIGINT instead of with its exit code
        os._exit(EXIT_INTERRUPTED)
    finally:
        stopping.ignore_stop_signals()


def _write_stats_of_no_run(path: str) -> None:
    """The `--stats` document of a run stopped before it started: no worker, no buffer."""
    document = {
        "pipeline": None,
        "elapsed": 0.0,
        "exit": EXIT_INTERRUPTED,
        "stopped": "interrupted",
        "buffers": {},
        "workers": {},
        "failure": None,
    }
    try:
        with open(path, "w", encoding="utf-8") as out:
            json.dump(document, out, indent=2)
            out.write("\n")
    except OSError as exc:
        _say(f"flowc: error: cannot write the statistics to {path}: {exc.strerror or exc}")


def _run(args) -> int:
    set_texts = split_set_texts(args.set_texts)
    _check_start_method_setting()  # the partitions of a Ray run start their workers with it too
    if args.stats:
        _check_writable(args.stats, "--stats", create=True)
    if args.report:
        _check_writable(args.report, "--report", create=True)
    if args.address is not None and args.backend != "ray":
        raise UsageError("--address is for --backend ray")
    if args.serve is not None and args.backend != "local":
        raise UsageError("--serve shows runs of the local backend only")
    if args.serve is None and args.serve_linger:
        raise UsageError("--serve-linger is for --serve")
    if args.serve is not None:
        _serve_address(args.serve)
    if args.backend == "ray":
        from flowc.backends import BackendUnavailable, load_ray_backend

        try:
            load_ray_backend()
        except BackendUnavailable as exc:
            raise UsageError(str(exc)) from None
    plan = _compile_or_report(args.file, set_texts, args.params)
    if plan is None:
        return EXIT_ERRORS
    backend = {"address": args.address} if args.backend == "ray" else {}
    if args.drain_timeout is not None:
        backend["drain_timeout"] = args.drain_timeout
    serving = {} if args.serve is None else {"server": _bind_server(args.serve, args.serve_linger)}
    if args.command_line:  # from here on a second signal stops the run, not flowc (any backend)
        from flowc.runtime.stopping import kept_stop_signals

        kept_stop_signals().run_started = True
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = _show_warning
        if args.backend == "local" and _keyboard_usable():
            from flowc.runtime.keyboard import run_with_keyboard

            plan.warn_about_placement()
            result = run_with_keyboard(
                plan,
                timeout=args.timeout,
                quiet=args.quiet,
                stats_path=args.stats,
                **backend,
                **serving,
            )
        else:
            result = plan.run(
                backend=args.backend,
                timeout=args.timeout,
                quiet=args.quiet,
                stats_path=args.stats,
                raise_on_failure=False,
                **backend,
                **serving,
            )
    if args.report:
        return _write_report(args.report, args.file, plan, result)
    return result.exit


def _check_start_method_setting() -> None:
    """FLOWC_START_METHOD names a start method, or the run is a usage error."""
    from flowc.runtime.supervisor import START_METHODS

    method = os.environ.get("FLOWC_START_METHOD")
    if method and method not in START_METHODS:
        raise UsageError(
            f"FLOWC_START_METHOD={method!r} is not a start method: use one of "
            f"{', '.join(START_METHODS)}, or leave it unset"
        )


def _serve_address(address: str) -> None:
    """A malformed --serve address is a usage error before anything is compiled."""
    from flowc.serve import ServeError, parse_address

    try:
        parse_address(address)
    except ServeError as exc:
        raise UsageError(str(exc)) from None


def _bind_server(address: str, linger: float):
    """The live page's server, bound before the run starts: a port in use is a usage error."""
    from flowc.serve import ServeError, bind

    try:
        return bind(address, linger=linger)
    except ServeError as exc:
        raise UsageError(str(exc)) from None


def _keyboard_usable() -> bool:
    """p / r / q steer `flowc run` when stdin and stderr are the terminal in the foreground."""
    from flowc.runtime.keyboard import keyboard_usable

    return keyboard_usable(sys.stdin, sys.stderr)


def _write_report(path: str, flow_path: str, plan, result) -> int:
    """Write the run's HTML report; the run's exit code, or 1 when the report failed."""
    from flowc.render.report import write_report

    try:
        with open(flow_path, encoding="utf-8") as source:
            source_text = source.read()
    except (OSError, UnicodeDecodeError):
        source_text = None
    try:
        write_report(path, plan, result.stats, result.timeline, source_text=source_text)
    except OSError as exc:
        _say(f"flowc: error: cannot write the report {path}: {exc.strerror or exc}")
        return result.exit or EXIT_ERRORS
    return result.exit


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning of the run (e.g. placement the local runtime ignores), as one line."""
    _say(f"flowc: warning: {message}")


def _check_writable(path: str, option: str, create: bool = False) -> None:
    """A usage error unless `path` can be written; `create` makes its missing folders (as the
    sinks do for their files)."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UsageError(f"{option} {path}: is a directory")
    if create and not os.path.exists(folder):
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"{option} {path}: cannot make {folder}: {exc.strerror}") from None
    if not os.path.isdir(folder):
        raise UsageError(f"{option} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"{option} {path}: the folder {folder} is not writable")


def cmd_graph(args) -> int:
    output = args.output
    suffix = os.path.splitext(output)[1].lower() if output else ".dot"
    if suffix not in DOT_SUFFIXES + IMAGE_SUFFIXES:
        known = ", ".join(DOT_SUFFIXES + IMAGE_SUFFIXES)
        raise UsageError(f"-o {output}: unknown output format {suffix or '(none)'!r} (use {known})")
    if output:
        _check_writable(output, "-o")
    plan = _compile_or_report(args.file, split_set_texts(args.set_texts))
    if plan is None:
        return EXIT_ERRORS
    dot_source = plan.to_dot()
    if output is None:
        sys.stdout.write(dot_source)
    elif suffix in DOT_SUFFIXES:
        _write_text(output, dot_source)
    else:
        _render_image(dot_source, output, suffix[1:])
    return EXIT_OK


def _write_text(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as out:
            out.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def _render_image(dot_source: str, output: str, image_format: str) -> None:
    dot = shutil.which("dot")
    if dot is None:
        raise CommandFailed(
            f"cannot write {output}: the Graphviz program `dot` was not found; {GRAPHVIZ_INSTALL_HINT}"
        )
    completed = subprocess.run(
        [dot, f"-T{image_format}", "-o", output],
        input=dot_source.encode("utf-8"),
        capture_output=True,
        check=False,
    )
    if completed.returncode != 0:
        message = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = message[0] if message else f"exit status {completed.returncode}"
        raise CommandFailed(f"Graphviz `dot` could not write {output}: {detail}")


def cmd_plan(args) -> int:
    plan = _compile_or_report(args.file, split_set_texts(args.set_texts), args.params)
    if plan is None:
        return EXIT_ERRORS
    sys.stdout.write(plan.to_json() + "\n")
    return EXIT_OK


def cmd_fmt(args) -> int:
    from flowc import compiler
    from flowc.syntax import format_source

    canonical = True
    for file in args.files:
        try:
            source = compiler.read_source(file)
        except OSError as exc:
            raise UsageError(_unreadable(file, exc)) from None
        formatted = format_source(source)
        if args.check:
            if formatted != source.text:
                _say(f"would reformat {file}")
                canonical = False
        else:
            sys.stdout.write(formatted)
    return EXIT_OK if canonical else EXIT_ERRORS


def cmd_explain(args) -> int:
    from flowc.codes import EVERY_CODE, explain

    code = args.code.strip().upper()
    if code not in EVERY_CODE:
        close = difflib.get_close_matches(code, list(EVERY_CODE), n=1)
        known = ", ".join(EVERY_CODE)
        hint = f"; did you mean {close[0]}?" if close else f" (known codes: {known})"
        raise UsageError(f"unknown diagnostic code {args.code!r}{hint}")
    text = explain(code)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return EXIT_OK


def cmd_stdlib(args) -> int:
    from flowc.stdlib import catalog

    if args.name is None:
        entries = catalog.entries()
        if args.format == "json":
            sys.stdout.write(json.dumps([_entry_json(e) for e in entries], indent=2) + "\n")
        else:
            sys.stdout.write(_entries_text(entries))
        return EXIT_OK
    name = args.name.removeprefix("stdlib.")
    try:
        found = catalog.entry(name)
    except KeyError:
        known = [e.name for e in catalog.entries()]
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]}?" if close else "; `flowc stdlib` lists them"
        raise UsageError(f"no standard worker named {args.name!r}{hint}") from None
    if args.format == "json":
        sys.stdout.write(json.dumps(_entry_json(found), indent=2) + "\n")
    else:
        sys.stdout.write(_entry_text(found))
    return EXIT_OK


def _first_line(doc: str | None) -> str:
    for line in (doc or "").strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


def _entries_text(entries) -> str:
    if not entries:
        return "no standard workers found\n"
    name_width = max(len(e.name) for e in entries)
    kind_width = max(len(e.kind or "") for e in entries)
    lines = [
        f"{e.name.ljust(name_width)}  {(e.kind or '').ljust(kind_width)}  {_first_line(e.doc)}".rstrip()
        for e in entries
    ]
    return "\n".join(lines) + "\n"


def _entry_text(entry) -> str:
    lines = [f"stdlib.{entry.name}  ({entry.kind})", ""]
    if entry.parameters:
        lines.append("arguments:")
        width = max(len(name) for name, _, _ in entry.parameters)
        for name, default, required in entry.parameters:
            shown = "(required)" if required else f"= {default}"
            lines.append(f"  {name.ljust(width)}  {shown}")
    else:
        lines.append("arguments: none")
    sig = entry.signature
    if sig is not None:
        lines.append("signature:")
        needs = ", ".join(f"{f}: {code or 'any numeric'}" for f, code in sig.needs.items())
        lines.append(f"  needs:      {needs or 'nothing'}")
        produces = sig.produces
        if isinstance(produces, (list, tuple)):
            produces = ", ".join(produces)
        lines.append(f"  produces:   {produces or 'not declared'}")
        lines.append(f"  field_args: {', '.join(sig.field_args) or 'none'}")
    doc = (entry.doc or "").strip()
    if doc:
        lines += ["", *inspect.cleandoc(doc).splitlines()]
    return "\n".join(lines) + "\n"


def _entry_json(entry) -> dict:
    sig = entry.signature
    return {
        "name": entry.name,
        "kind": entry.kind,
        "parameters": [
            {"name": name, "default": default, "required": required}
            for name, default, required in entry.parameters
        ],
        "signature": None
        if sig is None
        else {
            "needs": dict(sig.needs),
            "produces": list(sig.produces)
            if isinstance(sig.produces, (list, tuple))
            else sig.produces,
            "field_args": list(sig.field_args),
            "kind": sig.kind,
        },
        "doc": entry.doc or "",
    }


def cmd_lsp(args) -> int:
    from flowc.lsp.server import serve

    serve()
    return EXIT_OK


def cmd_import(args) -> int:
    from flowc.migrate import convert_mimocorb2

    if args.output:
        _check_writable(args.output, "-o")
    try:
        conversion = convert_mimocorb2(args.setup)
    except OSError as exc:
        raise UsageError(_unreadable(args.setup, exc)) from None
    except UnicodeDecodeError:
        raise UsageError(f"{args.setup}: is not UTF-8 text") from None
    _print_diagnostics(conversion.diagnostics)
    if not conversion.flow_text:
        return EXIT_ERRORS
    if args.output:
        _write_text(args.output, conversion.flow_text)
        _say(f"{args.output}: written from {args.setup}; `flowc check {args.output}` checks it")
    else:
        sys.stdout.write(conversion.flow_text)
    return EXIT_OK if conversion.ok else EXIT_ERRORS


COMMANDS = {
    "check": cmd_check,
    "run": cmd_run,
    "graph": cmd_graph,
    "plan": cmd_plan,
    "fmt": cmd_fmt,
    "explain": cmd_explain,
    "stdlib": cmd_stdlib,
    "import": cmd_import,
    "lsp": cmd_lsp,
}


# ---------------------------------------------------------------------------------------------
# entry point


def _issue_tracker() -> str:
    try:
        urls = metadata.metadata("flowc").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        urls = []
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() in ("issues", "bug tracker", "tracker", "bugs"):
            return url.strip()
    return "the flowc issue tracker"


def _report_internal_error(exc: BaseException) -> None:
    _say(f"flowc: internal error: {type(exc).__name__}: {exc}")
    _say("This is a bug in flowc, not in your flow. The traceback:")
    sys.stderr.write("".join(traceback.format_exception(exc)))
    _say(
        f"Please report it at {_issue_tracker()}, with the command you ran, the traceback "
        f"above and the .flow file (flowc {_version()}, Python {sys.version.split()[0]})."
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run one flowc command; returns the process exit code."""
    args = None
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as stop:  # --help and --version
            return stop.code if isinstance(stop.code, int) else EXIT_OK
        args.command_line = argv is None  # not called by a program of its own
        return COMMANDS[args.command](args)
    except UsageError as exc:
        _say(f"flowc: error: {exc}")
        return EXIT_USAGE
    except CommandFailed as exc:
        _say(f"flowc: error: {exc}")
        return EXIT_ERRORS
    except FlowError as exc:
        _print_diagnostics(exc.diagnostics, getattr(args, "format", "text"))
        return EXIT_ERRORS if has_errors(exc.diagnostics) else EXIT_OK
    except KeyboardInterrupt:
        _say("flowc: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_OK
    except Exception as exc:
        _report_internal_error(exc)
        return EXIT_INTERNAL


def _silence_stdout() -> None:
    """After `flowc plan x | head`, stop Python from complaining about the closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
