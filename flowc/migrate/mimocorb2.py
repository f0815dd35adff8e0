"""Convert a mimoCoRB2 setup (YAML) into an equivalent .flow text, with diagnostics (M codes).

Buffers become `buffer`s (shared dtypes, often YAML anchors, become `type`s); workers with a
`file` become flowc workers whose code is their original function, run through
`flowc.compat.mimocorb2`; the kind is read from the worker's code (which mimoCoRB2 template it
uses). mimoCoRB2's library workers become flowc standard workers where one fits. Whatever cannot
be expressed is reported with a span in the setup (or config) file, never dropped silently.
Problems of the graph itself (a buffer nobody reads, a filter whose sink has another dtype) are
left in the generated text for `flowc check` to report there.
"""

from __future__ import annotations

import ast as pyast
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from flowc.codes import IMPORT_CODES  # noqa: F401  (its codes, kept in flowc.codes)
from flowc.diagnostics import Diagnostic, error, sort_diagnostics, warning
from flowc.migrate.mimocorb2_library import LibraryWorker, convert
from flowc.source import SourceFile, Span
from flowc.syntax import format_source
from flowc.types import KEYWORDS, ElementType, FieldType, canonical_code

ADAPTERS = "flowc.compat.mimocorb2"
TEMPLATE_KINDS = {
    "Importer": "importer",
    "Processor": "processor",
    "Filter": "filter",
    "Exporter": "exporter",
    "Observer": "observer",
    "IsAlive": "observer",
}
ADAPTER_OF_KIND = {
    "importer": "ImporterWorker",
    "processor": "ProcessorWorker",
    "filter": "FilterWorker",
    "exporter": "ExporterWorker",
    "observer": "ObserverWorker",
}
WORKER_KEYS = ("file", "function", "config", "number_of_processes", "sources", "sinks", "observes")
BUFFER_KEYS = ("slot_count", "data_length", "data_dtype")
TOP_KEYS = ("Buffers", "Workers", "base_config", "target_directory", "Options")
# the setup's `Options:` of mimoCoRB2's early-2025 versions: output_directory (later
# target_directory), overarching_config (later base_config), debug_workers (the workers'
# config['debug'] then, which decides whether their template's fail() raises)
OPTION_KEYS = ("output_directory", "overarching_config", "debug_workers")
RESERVED_PREFIX = "mimo_"


@dataclass
class Conversion:
    """The result of converting a setup: the .flow text and what could not be expressed."""

    flow_text: str
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


def convert_mimocorb2(setup_path: str | os.PathLike) -> Conversion:
    """Convert the mimoCoRB2 setup at `setup_path`; raises OSError when it cannot be read."""
    path = Path(setup_path)
    text = path.read_text(encoding="utf-8")
    return _Converter(SourceFile(str(setup_path), text), path.resolve().parent).run()


# ---------------------------------------------------------------------------------------------
# YAML with positions


class _Loader(yaml.SafeLoader):
    """A safe loader that remembers the anchor names of the nodes it composed."""

    def compose_document(self):
        self.get_event()
        node = self.compose_node(None, None)
        self.get_event()
        self.anchor_names = {id(n): name for name, n in self.anchors.items()}
        self.anchors = {}
        return node


@dataclass
class _Yaml:
    """A composed YAML document: its root node, constructed value, and anchor names."""

    source: SourceFile
    root: yaml.Node
    value: object
    anchors: dict[int, str]

    def span(self, node: yaml.Node | None) -> Span:
        if node is None:
            return Span(self.source, 0, 0)
        return Span(
            self.source, node.start_mark.index, max(node.end_mark.index, node.start_mark.index + 1)
        )

    def key_span(self, mapping: yaml.Node, key: str) -> Span:
        for key_node, _ in _pairs(mapping):
            if key_node.value == key:
                return self.span(key_node)
        return self.span(mapping)


def _load_yaml(source: SourceFile) -> _Yaml:
    """Raises yaml.YAMLError with its mark for invalid YAML."""
    loader = _Loader(source.text)
    try:
        root = loader.get_single_node()
        if root is None:
            return _Yaml(source, yaml.MappingNode("tag:yaml.org,2002:map", []), None, {})
        value = loader.construct_document(root)
        return _Yaml(source, root, value, loader.anchor_names)
    finally:
        loader.dispose()


def _pairs(node: yaml.Node) -> list[tuple[yaml.Node, yaml.Node]]:
    return node.value if isinstance(node, yaml.MappingNode) else []


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    """The value of `key` in a mapping node; the last one wins, as over a `<<:` merge."""
    found = None
    for key_node, value_node in _pairs(node):
        if key_node.value == key:
            found = value_node
    return found


# ---------------------------------------------------------------------------------------------
# flow text pieces


def _flow_string(text: str) -> str:
    escaped = (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    )
    return f'"{escaped}"'


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _flow_value(value) -> str | None:
    """A config value as a flow literal, or None when flow cannot express it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    if isinstance(value, str):
        return _flow_string(value)
    if isinstance(value, list | tuple):
        items = [_flow_value(v) for v in value]
        if any(i is None for i in items):
            return None
        return "[" + ", ".join(items) + "]"
    if isinstance(value, dict):
        entries = []
        for key, item in value.items():
            text = _flow_value(item)
            if text is None:
                return None
            key = str(key)
            name = key if _IDENT.match(key) and key not in KEYWORDS else _flow_string(key)
            entries.append(f"{name}: {text}")
        return "{" + ", ".join(entries) + "}"
    return None


def _describe(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple | dict):
        kind = "a mapping" if isinstance(value, dict) else "a list"
        return f"{kind} holding a null or an infinite or NaN float"
    return type(value).__name__


def _field_code(spec) -> tuple[str | None, tuple[int, ...], str | None]:
    """(canonical code, shape, why not) of a numpy dtype spec of one field."""
    try:
        dtype = np.dtype(spec) if not isinstance(spec, list) else np.dtype(tuple(spec))
    except (TypeError, ValueError) as exc:
        return None, (), f"numpy does not read it as a dtype ({exc})"
    shape: tuple[int, ...] = ()
    if dtype.subdtype is not None:
        dtype, shape = dtype.subdtype
    if dtype.fields is not None:
        return None, (), "nested structs cannot be expressed"
    if not dtype.isnative:
        return None, (), "it is not in native byte order"
    if dtype.kind in "SU":
        count = dtype.itemsize // (4 if dtype.kind == "U" else 1)
        code = canonical_code(f"{dtype.kind}{count}")
        if code is None:
            return None, (), f"dtype `{dtype}` has no flow code (S<n> and U<n> need n >= 1)"
        return code, tuple(int(n) for n in shape), None
    if dtype.kind not in "iufcb":
        return None, (), f"dtype `{dtype}` is not a number or bool"
    code = canonical_code("b1" if dtype.kind == "b" else f"{dtype.kind}{dtype.itemsize}")
    if code is None:
        return None, (), f"dtype `{dtype}` has no flow code"
    return code, tuple(int(n) for n in shape), None


def _construct(node: yaml.Node):
    """The Python value of a composed node (merge keys already flattened)."""
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


# ---------------------------------------------------------------------------------------------
# the worker's code


def _template_of(file: Path, function: str) -> tuple[str | None, str | None]:
    """(mimoCoRB2 template the function uses, why the function cannot be used)."""
    try:
        tree = pyast.parse(file.read_text(encoding="utf-8"), filename=str(file))
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"cannot read {file.name}: {exc}"
    except SyntaxError as exc:
        return None, f"{file.name} is not valid Python (line {exc.lineno}: {exc.msg})"
    found = None
    for node in tree.body:
        if isinstance(node, pyast.FunctionDef | pyast.AsyncFunctionDef) and node.name == function:
            found = node
    if found is None:
        names = [n.name for n in tree.body if isinstance(n, pyast.FunctionDef)]
        known = f" (it has {', '.join(f'`{n}`' for n in names)})" if names else ""
        return None, f"{file.name} has no top-level function `{function}`{known}"
    for node in pyast.walk(found):
        if isinstance(node, pyast.Call):
            callee = node.func
            name = callee.id if isinstance(callee, pyast.Name) else getattr(callee, "attr", None)
            if name in TEMPLATE_KINDS:
                return name, None
    return None, None


def _kind_from_buffers(sources: list, sinks: list, observes: list) -> str:
    if observes and not sources and not sinks:
        return "observer"
    if not sources:
        return "importer"
    if not sinks:
        return "exporter"
    return "processor"


# ---------------------------------------------------------------------------------------------
# the conversion


@dataclass
class _Buffer:
    name: str  # in the setup
    flow_name: str
    element: ElementType | None
    length: int
    slots: int
    dtype_node: yaml.Node | None
    node: yaml.Node


class _Converter:
    def __init__(self, source: SourceFile, setup_dir: Path):
        self.source = source
        self.setup_dir = setup_dir
        self.diagnostics: list[Diagnostic] = []
        self.taken: set[str] = {"SETUP_DIR", "RUN_DIR"}
        self.path_consts: list[str] = []
        self.doc: _Yaml | None = None
        self.type_names: dict[ElementType, str] = {}
        self.config_failed = False  # a config file of the worker being converted was unreadable
        self.debug_workers = False  # the setup's Options: debug_workers
        self.base_config_failed = False

    def report(self, diagnostic: Diagnostic) -> None:
        self.diagnostics.append(diagnostic)

    def run(self) -> Conversion:
        try:
            doc = _load_yaml(self.source)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            at = mark.index if mark is not None else 0
            problem = getattr(exc, "problem", None) or str(exc)
            self.report(
                error(
                    "M001", f"the setup is not valid YAML: {problem}", Span(self.source, at, at + 1)
                )
            )
            return Conversion("", sort_diagnostics(self.diagnostics))
        self.doc = doc
        if (
            not isinstance(doc.value, dict)
            or "Workers" not in doc.value
            or "Buffers" not in doc.value
        ):
            missing = (
                "a mapping at the top level"
                if not isinstance(doc.value, dict)
                else ("both `Buffers` and `Workers`")
            )
            self.report(
                error(
                    "M001",
                    f"this is not a mimoCoRB2 setup: it needs {missing}",
                    doc.span(doc.root if isinstance(doc.value, dict) else None),
                    help="a setup has `Buffers:` (slot_count, data_length, data_dtype) and "
                    "`Workers:` (file, function, sources, sinks...)",
                )
            )
            return Conversion("", sort_diagnostics(self.diagnostics))
        for key_node, value_node in _pairs(doc.root):
            if key_node.value not in TOP_KEYS and id(value_node) not in doc.anchors:
                self.report(
                    warning(
                        "M002",
                        f"`{key_node.value}` is not part of a mimoCoRB2 setup; it is ignored",
                        doc.span(key_node),
                        help=f"the top-level keys are {', '.join(TOP_KEYS)}",
                    )
                )
        buffers = self.buffers(_child(doc.root, "Buffers"))
        options = _child(doc.root, "Options")
        self.unknown_keys("option", "Options", options, OPTION_KEYS)
        base_node = _child(doc.root, "base_config") or _child(options, "overarching_config")
        base_config, base_spans = self.config(base_node, "base_config")
        self.base_config_failed = self.config_failed
        debug = _child(options, "debug_workers")
        self.debug_workers = debug is not None and _construct(debug) is True
        run_dir = self.run_dir(
            _child(doc.root, "target_directory") or _child(options, "output_directory")
        )
        header = [
            f"# Converted from the mimoCoRB2 setup {Path(self.source.name).name} by "
            "`flowc import mimocorb2`.",
            "# Workers with a file run their original function through flowc.compat.mimocorb2.",
            f"pipeline {self.name_for(Path(self.source.name).stem, None, 'pipeline', taken=set())}",
            "",
            "# where the workers' files and config files are (the setup's folder)",
            f"const SETUP_DIR = {_flow_string(str(self.setup_dir))}",
            "# where workers write (BufferIO.run_dir; mimoCoRB2's target_directory)",
            f"const RUN_DIR = {_flow_string(str(run_dir))}",
        ]
        types = self.type_lines(buffers)
        buffer_lines = [self.buffer_line(b) for b in buffers.values() if b.element]
        worker_lines: list[str] = []
        workers = _child(doc.root, "Workers")
        for key_node, value_node in _pairs(workers):
            worker_lines += self.worker(
                key_node, value_node, buffers, base_config, base_spans, str(run_dir)
            )
        if self.path_consts:
            header += ["# files written by standard workers (flow has no string concatenation)"]
        body = header + self.path_consts + [""] + [line for _, line in sorted(types.values())]
        if types:
            body.append("")
        body += buffer_lines + [""] + worker_lines
        text = "\n".join(body).rstrip() + "\n"
        try:
            text = format_source(SourceFile("<generated>", text))
        except Exception as exc:  # the generated text must parse; say so if it does not
            raise RuntimeError(f"flowc import generated text that does not parse: {exc}") from exc
        return Conversion(text, sort_diagnostics(self.diagnostics))

    def run_dir(self, node: yaml.Node | None) -> Path:
        """mimoCoRB2's target_directory (relative to the setup's folder), default `target`."""
        target = _construct(node) if node is not None else None
        if target is not None and not isinstance(target, str):
            self.report(
                error(
                    "M004",
                    f"`target_directory` must be a path, not {target!r}; `target` is used",
                    self.doc.span(node),
                )
            )
            target = None
        run_dir = Path(os.path.expanduser(target or "target"))
        return run_dir if run_dir.is_absolute() else self.setup_dir / run_dir

    # --- names

    def name_for(
        self, name: str, node: yaml.Node | None, what: str, taken: set[str] | None = None
    ) -> str:
        """A flow name for `name`, unique in `taken` (the shared namespace by default)."""
        taken = self.taken if taken is None else taken
        flow = re.sub(r"[^A-Za-z0-9_]", "_", str(name)) or "_"
        if flow[0].isdigit():
            flow = "_" + flow
        if flow in KEYWORDS:
            flow += "_"
        base, n = flow, 2
        while flow in taken:
            flow = f"{base}_{n}"
            n += 1
        taken.add(flow)
        if flow != name and node is not None:
            self.report(
                warning(
                    "M003",
                    f"{what} `{name}` is written as `{flow}`",
                    self.doc.span(node),
                    help="flow names are identifiers, not keywords, unique among buffers, "
                    "workers, types and consts",
                )
            )
        return flow

    # --- buffers and types

    def buffers(self, node: yaml.Node | None) -> dict[str, _Buffer]:
        found: dict[str, _Buffer] = {}
        for key_node, value_node in _pairs(node):
            name = str(key_node.value)
            if not isinstance(value_node, yaml.MappingNode):
                self.report(
                    error("M101", f"buffer `{name}` is not a mapping", self.doc.span(value_node))
                )
                continue
            self.unknown_keys("buffer", name, value_node, BUFFER_KEYS)
            numbers = {}
            for key in ("slot_count", "data_length"):
                value_at = _child(value_node, key)
                value = None if value_at is None else _construct(value_at)
                if value_at is None:
                    self.report(
                        error("M101", f"buffer `{name}` has no `{key}`", self.doc.span(key_node))
                    )
                elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    self.report(
                        error(
                            "M101",
                            f"buffer `{name}`: `{key}` must be a positive integer, not {value!r}",
                            self.doc.span(value_at),
                        )
                    )
                else:
                    numbers[key] = value
            dtype_node = _child(value_node, "data_dtype")
            element = self.element(name, dtype_node, key_node)
            if element is None or len(numbers) < 2:
                continue
            flow_name = self.name_for(name, key_node, "buffer")
            found[name] = _Buffer(
                name,
                flow_name,
                element,
                numbers["data_length"],
                numbers["slot_count"],
                dtype_node,
                value_node,
            )
        return found

    def element(self, name: str, node: yaml.Node | None, key_node: yaml.Node) -> ElementType | None:
        if not isinstance(node, yaml.MappingNode) or not node.value:
            self.report(
                error(
                    "M101",
                    f"buffer `{name}` needs `data_dtype`, a mapping of field names to dtypes",
                    self.doc.span(node if node is not None else key_node),
                )
            )
            return None
        fields = []
        for field_node, dtype_node in _pairs(node):
            spec = _construct(dtype_node)
            code, shape, why = _field_code(spec)
            if code is None:
                self.report(
                    error(
                        "M102",
                        f"field `{field_node.value}` of buffer `{name}`: {spec!r} cannot be "
                        f"expressed in flow: {why}; the field is left out",
                        self.doc.span(dtype_node),
                        help="use a number or bool dtype (f4, float64, int32, uint8, bool...)",
                    )
                )
                continue
            fields.append(FieldType(str(field_node.value), code, shape))
        if not fields:
            return None
        return ElementType.struct(fields)

    def type_lines(self, buffers: dict[str, _Buffer]) -> dict[ElementType, tuple[int, str]]:
        """Named types: every dtype that is anchored or shared by several buffers."""
        users: dict[ElementType, list[_Buffer]] = {}
        for b in buffers.values():
            users.setdefault(b.element, []).append(b)
        types: dict[ElementType, tuple[int, str]] = {}
        for element, group in users.items():
            anchor = None
            for b in group:
                anchor = self.doc.anchors.get(id(b.dtype_node)) or self.doc.anchors.get(id(b.node))
                if anchor:
                    break
            if anchor is None and len(group) < 2:
                continue
            type_name = self.name_for(anchor or f"{group[0].flow_name}_event", None, "type")
            types[element] = (len(types), f"type {type_name} = {element.to_flow()}")
        self.type_names = {element: line.split()[1] for element, (_, line) in types.items()}
        return types

    def buffer_line(self, b: _Buffer) -> str:
        type_text = self.type_names.get(b.element, b.element.to_flow())
        length = f"[{b.length}]" if b.length != 1 else ""
        return f"buffer {b.flow_name} : {type_text}{length} slots={b.slots}"

    # --- config

    def config(self, node: yaml.Node | None, what: str, doc: _Yaml | None = None):
        """(merged config, key -> (value node, its document)) of a config entry."""
        doc = doc or self.doc
        merged: dict = {}
        where: dict[str, tuple[yaml.Node, yaml.Node, _Yaml]] = {}
        if node is None:
            return merged, where
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for item in items:
            if isinstance(item, yaml.ScalarNode) and item.tag.endswith(":str"):
                loaded = self.config_file(item, doc)
                if loaded is None:
                    continue
                item_doc, item_node = loaded
            elif isinstance(item, yaml.MappingNode):
                item_doc, item_node = doc, item
            elif isinstance(item, yaml.ScalarNode) and item.tag.endswith(":null"):
                continue
            else:
                self.report(
                    error(
                        "M303",
                        f"`{what}` must be a mapping, a path of a YAML file, or a list of them",
                        doc.span(item),
                    )
                )
                continue
            for key_node, value_node in _pairs(item_node):
                merged[key_node.value] = _construct(value_node)
                where[key_node.value] = (key_node, value_node, item_doc)
        return merged, where

    def config_file(self, node: yaml.ScalarNode, doc: _Yaml):
        loaded = self.read_config_file(node, doc)
        if loaded is None:
            self.config_failed = True
        return loaded

    def read_config_file(self, node: yaml.ScalarNode, doc: _Yaml):
        path = Path(os.path.expanduser(node.value))
        if not path.is_absolute():
            path = self.setup_dir / path
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            self.report(
                error(
                    "M303",
                    f"config file `{node.value}` cannot be read: {exc.strerror or exc}",
                    doc.span(node),
                    help="config paths are relative to the setup's folder",
                )
            )
            return None
        source = SourceFile(str(path), text)
        try:
            loaded = _load_yaml(source)
        except yaml.YAMLError as exc:
            self.report(
                error(
                    "M303", f"config file `{node.value}` is not valid YAML: {exc}", doc.span(node)
                )
            )
            return None
        if loaded.value is None:
            return loaded, yaml.MappingNode("tag:yaml.org,2002:map", [])
        if not isinstance(loaded.value, dict):
            self.report(
                error("M303", f"config file `{node.value}` does not hold a mapping", doc.span(node))
            )
            return None
        return loaded, loaded.root

    def arguments(self, worker: str, config: dict, where: dict) -> tuple[list[str], list[str]]:
        """(flow arguments, comment lines) of a worker's merged config."""
        args, comments = [], []
        for key, value in config.items():
            key_node, value_node, doc = where[key]
            key_text = str(key)
            if not _IDENT.match(key_text) or key_text.startswith(RESERVED_PREFIX):
                why = (
                    "starts with `mimo_`, which the compatibility layer uses"
                    if key_text.startswith(RESERVED_PREFIX)
                    else "is not an identifier"
                )
                self.report(
                    error(
                        "M302",
                        f"worker `{worker}`: config key `{key_text}` {why}; it is left out",
                        doc.span(key_node),
                        help="rename the key in the config and in the worker's code",
                    )
                )
                comments.append(f"# left out: config key {key_text!r} (M302)")
                continue
            literal = _flow_value(value)
            if literal is None:
                self.report(
                    error(
                        "M301",
                        f"worker `{worker}`: config `{key_text}` is {_describe(value)}, which "
                        "flow cannot express; it is left out",
                        doc.span(value_node),
                        help="worker arguments are numbers, strings, bools and lists of them",
                    )
                )
                comments.append(f"# left out: config {key_text} = {_describe(value)} (M301)")
                continue
            args.append(f"{key_text}={literal}")
        return args, comments

    # --- workers

    def buffer_list(self, worker: str, node: yaml.Node, key: str) -> list[str] | None:
        value_node = _child(node, key)
        if value_node is None:
            return []
        value = _construct(value_node)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.report(
                error(
                    "M401",
                    f"worker `{worker}`: `{key}` must be a list of buffer names",
                    self.doc.span(value_node),
                )
            )
            return None
        return value

    def unknown_keys(self, what: str, name: str, node, known) -> None:
        """M002 for every key of a buffer's or worker's mapping that mimoCoRB2 does not know."""
        for k, _ in _pairs(node):
            if k.value not in known:
                article = "an" if what[0] in "aeiou" else "a"
                self.report(
                    warning(
                        "M002",
                        f"{what} `{name}`: `{k.value}` is not {article} {what} key; it is ignored",
                        self.doc.span(k),
                        help=f"{article} {what} has {', '.join(known)}",
                    )
                )

    def worker(self, key_node, node, buffers, base_config, base_where, run_dir) -> list[str]:
        name = str(key_node.value)
        if not isinstance(node, yaml.MappingNode):
            self.report(error("M401", f"worker `{name}` is not a mapping", self.doc.span(node)))
            return []
        self.unknown_keys("worker", name, node, WORKER_KEYS)
        lists = [self.buffer_list(name, node, key) for key in ("sources", "sinks", "observes")]
        if any(v is None for v in lists):
            return []
        sources, sinks, observes = lists
        self.config_failed = self.base_config_failed
        processes = 1
        processes_node = _child(node, "number_of_processes")
        if processes_node is not None:
            value = _construct(processes_node)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                self.report(
                    error(
                        "M401",
                        f"worker `{name}`: number_of_processes must be a positive integer, "
                        f"not {value!r}",
                        self.doc.span(processes_node),
                    )
                )
            else:
                processes = value
        config, where = self.config(_child(node, "config"), f"{name}.config")
        merged = dict(base_config)
        merged.update(config)
        merged_where = dict(base_where)
        merged_where.update(where)
        function_node = _child(node, "function")
        function = function_node.value if isinstance(function_node, yaml.ScalarNode) else None
        file_node = _child(node, "file")
        file = file_node.value if isinstance(file_node, yaml.ScalarNode) else None
        flow_name = self.name_for(name, key_node, "worker")
        if not function:
            self.report(
                error(
                    "M201",
                    f"worker `{name}` has no `function`",
                    self.doc.span(key_node),
                    help="name the function that runs the worker: `function: my_function`",
                )
            )
            return []
        wiring = self.wiring(sources, sinks, observes, buffers)
        options = f" processes={processes}" if processes != 1 else ""
        if not file:
            return convert(
                LibraryWorker(
                    flow_name=flow_name,
                    name=name,
                    function=function,
                    span=self.doc.span(function_node),
                    sources=sources,
                    sinks=sinks,
                    observes=observes,
                    config=merged,
                    own=where,
                    wiring=wiring,
                    options=options,
                    run_dir=run_dir,
                    buffers=buffers,
                    config_failed=self.config_failed,
                    report=self.report,
                    path_const=self.path_const,
                    worker_name=lambda wanted: self.name_for(wanted, None, "worker"),
                    literal=_flow_value,
                )
            )
        path = Path(os.path.expanduser(file))
        if not path.is_absolute():
            path = self.setup_dir / path
        if not path.is_file():
            self.report(
                error(
                    "M201",
                    f"worker `{name}`: file `{file}` not found",
                    self.doc.span(file_node),
                    help=f"the path is relative to the setup's folder, {self.setup_dir}",
                )
            )
            return []
        template, problem = _template_of(path, function)
        if problem:
            self.report(error("M201", f"worker `{name}`: {problem}", self.doc.span(function_node)))
            return []
        if template is None:
            kind = _kind_from_buffers(sources, sinks, observes)
            article = "an" if kind[0] in "aeiou" else "a"
            self.report(
                warning(
                    "M202",
                    f"worker `{name}`: `{function}` uses no mimoCoRB2 template; from its "
                    f"buffers it is taken to be {article} {kind}",
                    self.doc.span(function_node),
                    help="the kind decides how flowc calls it; check it in the .flow",
                )
            )
        else:
            kind = TEMPLATE_KINDS[template]
        args, comments = self.arguments(name, merged, merged_where)
        specs = []
        for key, names in (
            ("mimo_sources", sources),
            ("mimo_sinks", sinks),
            ("mimo_observes", observes),
        ):
            known = [buffers[n] for n in names if n in buffers]
            if known:
                items = ", ".join(
                    _flow_string(f"{b.flow_name}: {b.element.to_flow()}[{b.length}]") for b in known
                )
                specs.append(f"{key}=[{items}]")
        arguments = [
            f"mimo_file={_flow_string(file)}",
            f"mimo_function={_flow_string(function)}",
            f"mimo_name={_flow_string(name)}",
            "mimo_setup_dir=SETUP_DIR",
            "mimo_run_dir=RUN_DIR",
            *(["mimo_debug=true"] if self.debug_workers else []),
            *specs,
            *args,
        ]
        call = f"{ADAPTERS}.{ADAPTER_OF_KIND[kind]}(\n    " + ",\n    ".join(arguments) + ",\n)"
        return [
            f"# {name}: {file}:{function}" + (f" (mimoCoRB2 {template})" if template else ""),
            *comments,
            f"{kind} {flow_name} = {call}{wiring}{options}",
            "",
        ]

    def path_const(self, worker: str, path: str) -> str:
        """A const holding a file path under RUN_DIR, so `--set` can move it."""
        name = self.name_for(f"{worker}_PATH".upper(), None, "const")
        self.path_consts.append(f"const {name} = {_flow_string(path)}")
        return name

    def wiring(self, sources, sinks, observes, buffers) -> str:
        def ref(n: str) -> str:
            # an undeclared buffer keeps its name, for `flowc check` to report (E102)
            return buffers[n].flow_name if n in buffers else self.name_for(n, None, "", taken=set())

        text = ""
        if sources:
            text += " " + ", ".join(ref(n) for n in sources)
        if sinks:
            text += " -> " + ", ".join(ref(n) for n in sinks)
        if observes:
            text += " observes " + ", ".join(ref(n) for n in observes)
        return text
