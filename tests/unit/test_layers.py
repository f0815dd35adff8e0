"""The layers of STYLE.md hold: each module imports only the flowc modules its layer may, and
no flowc module imports another that (directly or not) imports it back.

Imports inside functions count as much as those at the top (a lazy import is still an
import); only `if TYPE_CHECKING:` blocks are left out. The plan is data: the front door
(`flowc.engine`) wires it to the runtime, the renderers and the backends.
"""

import ast
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[2]

# module (or package prefix) -> flowc modules (or package prefixes) it may import at top level
ALLOWED = {
    "flowc.errors": set(),
    "flowc.hooks": set(),
    "flowc.source": set(),
    "flowc.types": set(),
    "flowc.codes": set(),
    "flowc.units": set(),
    "flowc.diagnostics": {"flowc.source"},
    "flowc.params": {"flowc.source", "flowc.diagnostics"},
    "flowc.callables": {"flowc.types"},
    "flowc.syntax": {"flowc.source", "flowc.diagnostics", "flowc.types", "flowc.syntax"},
    "flowc.plan": {"flowc.types", "flowc.callables", "flowc.hooks"},
    "flowc.sema": {
        "flowc.source",
        "flowc.diagnostics",
        "flowc.types",
        "flowc.callables",
        "flowc.syntax",
        "flowc.sema",
        "flowc.plan",
    },
    "flowc.render": {"flowc.units", "flowc.plan", "flowc.types", "flowc.render"},
    "flowc.runtime": {
        "flowc.units",
        "flowc.plan",
        "flowc.types",
        "flowc.callables",
        "flowc.runtime",
        # results and handles show themselves in Jupyter; the notebook renderer imports no runtime
        "flowc.render.notebook",
    },
    # the Ray backend: placement, bridges and a driver around partitions of the local runtime
    "flowc.backends": {
        "flowc.units",
        "flowc.plan",
        "flowc.types",
        "flowc.callables",
        "flowc.runtime",
        "flowc.backends",
    },
    # the front door: wires the plan to the runtime, the backends and the renderers
    "flowc.engine": {
        "flowc.hooks",
        "flowc.plan",
        "flowc.runtime",
        "flowc.backends",
        "flowc.render",
        "flowc.serve",
    },
    "flowc.compiler": {
        "flowc.source",
        "flowc.diagnostics",
        "flowc.params",
        "flowc.types",
        "flowc.callables",
        "flowc.syntax",
        "flowc.sema",
        "flowc.plan",
    },
    "flowc.cli": {
        "flowc.units",
        "flowc",
        "flowc.source",
        "flowc.diagnostics",
        "flowc.compiler",
        "flowc.codes",
        "flowc.plan",
    },
    "flowc.__main__": {"flowc.cli"},
    "flowc.lsp": {
        "flowc.source",
        "flowc.diagnostics",
        "flowc.types",
        "flowc.units",
        "flowc.callables",
        "flowc.syntax",
        "flowc.sema",
        "flowc.compiler",
        "flowc.stdlib.catalog",
        "flowc.lsp",
    },
    "flowc.serve": {"flowc.units", "flowc.plan", "flowc.runtime", "flowc.render", "flowc.serve"},
    "flowc.migrate": {
        "flowc.codes",
        "flowc.source",
        "flowc.diagnostics",
        "flowc.types",
        "flowc.syntax",
        "flowc.migrate",
    },
    "flowc.compat": {"flowc.callables", "flowc.types", "flowc.plan", "flowc.compat"},
    # monitors ask what their observer saw (observing) and feed the live page (publish)
    "flowc.stdlib": {
        "flowc.callables",
        "flowc.types",
        "flowc.stdlib",
        "flowc.runtime.observing",
        "flowc.runtime.publish",
    },
}


def module_files():
    for base, package in ((ROOT / "flowc", "flowc"), (ROOT / "stdlib", "flowc.stdlib")):
        for path in sorted(base.rglob("*.py")):
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            yield ".".join([package, *parts]), path


def layer_of(module: str) -> str | None:
    candidates = [key for key in ALLOWED if module == key or module.startswith(key + ".")]
    return max(candidates, key=len) if candidates else None


def flowc_imports(path: Path, module: str) -> set[str]:
    """Every flowc module `path` imports, at the top or inside a function; `from P import N`
    counts as P.N when that is a module of flowc, else as P."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for b in node.body for n in ast.walk(b))
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = module if is_package else module.rsplit(".", 1)[0]
                for _ in range(node.level - 1):
                    package = package.rsplit(".", 1)[0]
                base = f"{package}.{node.module}" if node.module else package
            else:
                base = node.module or ""
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        else:
            continue
        found.update(n for n in names if n == "flowc" or n.startswith("flowc."))
    return found


MODULES = {module for module, _ in module_files()}


@pytest.mark.parametrize("module,path", list(module_files()), ids=lambda v: str(v))
def test_module_imports_only_its_layers(module, path):
    layer = layer_of(module)
    if module == "flowc":
        return  # the package facade re-exports the public API
    assert layer is not None, f"{module} belongs to no layer of STYLE.md: add it to ALLOWED"
    allowed = ALLOWED[layer]
    bad = sorted(
        name
        for name in flowc_imports(path, module)
        if name != "flowc.errors"  # the root exception: the lowest layer, for everyone
        and not any(name == a or name.startswith(a + ".") for a in allowed)
    )
    assert not bad, f"{module} ({layer} layer) imports {bad}"


def test_no_import_cycle():
    """No flowc module imports one that imports it back, directly or not (imports inside
    functions count): each cycle is named with its modules."""
    graph = nx.DiGraph()
    for module, path in module_files():
        graph.add_node(module)
        for name in flowc_imports(path, module):
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name != module:
                graph.add_edge(module, name)
    cycles = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_the_command_line_starts_without_the_plan_or_numpy():
    """`flowc run` takes charge of the stop signals in its first line; whatever loads before it
    is a window in which Ctrl-C prints a raw traceback. `import flowc.cli` stays light: the
    front door's hooks (`flowc.hooks`) let the plan load later."""
    probe = "import sys, flowc.cli; print(sorted({'numpy', 'flowc.plan'} & set(sys.modules)))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
