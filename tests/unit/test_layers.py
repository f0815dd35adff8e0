"""The layers of STYLE.md hold: each module imports only the flowc modules its layer may.

Only module-level imports count; a function may import a later stage lazily (Plan.run imports
the runtime, the CLI imports the runtime and renderers when a command needs them).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# module (or package prefix) -> flowc modules (or package prefixes) it may import at top level
ALLOWED = {
    "flowc.source": set(),
    "flowc.types": set(),
    "flowc.codes": set(),
    "flowc.units": set(),
    "flowc.diagnostics": {"flowc.source"},
    "flowc.callables": {"flowc.types"},
    "flowc.syntax": {"flowc.source", "flowc.diagnostics", "flowc.types", "flowc.syntax"},
    "flowc.plan": {"flowc.types", "flowc.callables"},
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
    },
    "flowc.backends": {
        "flowc.plan",
        "flowc.types",
        "flowc.callables",
        "flowc.runtime.result",
        "flowc.runtime.summary",
        "flowc.runtime.stopping",
        "flowc.runtime.stats",
        "flowc.runtime.bottleneck",
        "flowc.runtime.worker",
        "flowc.backends",
    },
    "flowc.compiler": {
        "flowc.source",
        "flowc.diagnostics",
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
    "flowc.serve": {"flowc.units", "flowc.plan", "flowc.runtime", "flowc.render", "flowc.serve"},
    "flowc.migrate": {
        "flowc.source",
        "flowc.diagnostics",
        "flowc.types",
        "flowc.syntax",
        "flowc.migrate",
    },
    "flowc.compat": {"flowc.callables", "flowc.types", "flowc.plan", "flowc.compat"},
    "flowc.stdlib": {"flowc.callables", "flowc.types", "flowc.stdlib"},
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


def top_level_flowc_imports(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    found = set()
    for node in tree.body:
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
            names = [base]
        else:
            continue
        found.update(n for n in names if n == "flowc" or n.startswith("flowc."))
    return found


@pytest.mark.parametrize("module,path", list(module_files()), ids=lambda v: str(v))
def test_module_imports_only_its_layers(module, path):
    layer = layer_of(module)
    if module == "flowc":
        return  # the package facade re-exports the public API
    assert layer is not None, f"{module} belongs to no layer of STYLE.md: add it to ALLOWED"
    allowed = ALLOWED[layer]
    bad = sorted(
        name
        for name in top_level_flowc_imports(path, module)
        if not any(name == a or name.startswith(a + ".") for a in allowed)
    )
    assert not bad, f"{module} ({layer} layer) imports {bad}"
