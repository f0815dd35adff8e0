"""Every code sample in docs/ runs, and the generated pages match the code they come from.

Each page is worked through in order in its own folder (holding a copy of examples/):

- ```flow            a whole .flow file: checks with no diagnostic at all, or exactly the codes
                     of `expect=E201,W301`; `fragment` only parses; `file=NAME` also saves it
- ```python          runs as a script (exit 0); `file=NAME` saves it instead
- ```sh              every line starting with `flowc` runs (exit 0, or `# exit N`); others,
                     such as `pip install`, are for the reader only
- ```yaml            `file=NAME` saves it; otherwise it must be valid YAML
- ```toml            must be valid TOML; `file=NAME` also saves it
- ```text, ```console and the rest are output to read
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from flowc.compiler import check_source
from flowc.source import SourceFile
from flowc.syntax import parse

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
RUN_TIMEOUT_S = 180


@dataclass
class Block:
    page: str
    line: int
    language: str
    options: dict[str, str]
    flags: set[str]
    text: str

    def __str__(self) -> str:
        return f"{self.page}:{self.line} ({self.language})"


def blocks_of(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        words = match.group(1).split()
        language = words[0] if words else ""
        options = dict(w.split("=", 1) for w in words[1:] if "=" in w)
        flags = {w for w in words[1:] if "=" not in w}
        line = text.count("\n", 0, match.start()) + 1
        found.append(Block(page.name, line, language, options, flags, match.group(2)))
    return found


def flowc_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def run_flow(block: Block, folder: Path) -> None:
    name = block.options.get("file", "sample.flow")
    if "file" in block.options:
        (folder / name).write_text(block.text, encoding="utf-8")
    source = SourceFile(str(folder / name), block.text)
    if "fragment" in block.flags:
        parse(source)
        return
    result = check_source(source, base_dir=str(folder))
    expected = [c for c in block.options.get("expect", "").split(",") if c]
    found = [d.code for d in result.diagnostics]
    assert found == expected, (
        f"{block}: expected {expected or 'no diagnostics'}, got:\n"
        + "\n".join(d.render() for d in result.diagnostics)
    )


def run_python(block: Block, folder: Path) -> None:
    if "file" in block.options:
        (folder / block.options["file"]).write_text(block.text, encoding="utf-8")
        return
    script = folder / f"_sample_{block.line}.py"
    script.write_text(block.text, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=folder,
        env=flowc_environment(),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, f"{block} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"


def run_sh(block: Block, folder: Path) -> None:
    for offset, line in enumerate(block.text.splitlines()):
        command, _, comment = line.partition("#")
        if not command.strip().startswith("flowc "):
            continue
        wanted = re.search(r"\bexit (\d+)", comment)
        expected = int(wanted.group(1)) if wanted else 0
        args = shlex.split(command)[1:]
        drawing = args[0] == "graph" and any(a.endswith((".svg", ".png", ".pdf")) for a in args)
        if drawing and shutil.which("dot") is None:
            expected = 1  # without Graphviz: one line saying how to install it
        done = subprocess.run(
            [sys.executable, "-m", "flowc", *args],
            cwd=folder,
            env=flowc_environment(),
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            check=False,
        )
        assert done.returncode == expected, (
            f"{block.page}:{block.line + 1 + offset}: `{command.strip()}` exited "
            f"{done.returncode}, not {expected}:\n{done.stdout}\n{done.stderr}"
        )
        if drawing and shutil.which("dot") is None:
            assert "install Graphviz" in done.stderr, done.stderr


def run_yaml(block: Block, folder: Path) -> None:
    yaml.safe_load(block.text)
    if "file" in block.options:
        path = folder / block.options["file"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(block.text, encoding="utf-8")


def run_toml(block: Block, folder: Path) -> None:
    tomllib.loads(block.text)
    if "file" in block.options:
        (folder / block.options["file"]).write_text(block.text, encoding="utf-8")


RUNNERS = {
    "flow": run_flow,
    "python": run_python,
    "sh": run_sh,
    "yaml": run_yaml,
    "toml": run_toml,
}


def test_the_docs_have_pages_with_samples():
    names = {p.name for p in PAGES}
    assert {
        "index.md",
        "tutorial.md",
        "language.md",
        "diagnostics.md",
        "stdlib.md",
        "runtime.md",
        "python-api.md",
        "coming-from-mimocorb2-and-km3pipe.md",
    } <= names
    assert sum(b.language in RUNNERS for p in PAGES for b in blocks_of(p)) > 30


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_sample_of_the_page_runs(page, tmp_path):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    for block in blocks_of(page):
        runner = RUNNERS.get(block.language)
        if runner is not None:
            runner(block, tmp_path)


def test_generated_pages_match_the_code():
    spec = importlib.util.spec_from_file_location("docs_generate", DOCS / "generate.py")
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    for name, render in generate.GENERATED.items():
        committed = (DOCS / name).read_text(encoding="utf-8")
        assert committed == render(), f"docs/{name} is out of date: run python docs/generate.py"


def test_links_between_pages_point_at_pages_that_exist():
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#:]+\.md)(?:#[^)]*)?\)", page.read_text()):
            assert (DOCS / target).exists(), f"{page.name} links to missing {target}"
