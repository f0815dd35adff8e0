"""Formatting as edits (the same text as `flowc fmt`), and the graph of a document (the
`flowc.graph` command): SVG through Graphviz where present, else DOT with a message."""

from __future__ import annotations

import asyncio
import difflib
import shutil

from flowc.diagnostics import FlowError
from flowc.lsp.analysis import Analysis
from flowc.syntax import format_source

GRAPHVIZ_MISSING = (
    "Graphviz's `dot` was not found, so the graph is DOT text: install Graphviz "
    "(apt-get install graphviz, brew install graphviz, or conda install graphviz) to see it drawn"
)
DOT_TIMEOUT = 20.0  # seconds


def formatted_edits(analysis: Analysis) -> list[tuple[int, int, str]] | None:
    """(start, end, new text) edits turning the text into its canonical form, replacing only the
    lines that change; None when the text does not parse."""
    try:
        wanted = format_source(analysis.source)
    except FlowError:
        return None
    text = analysis.text
    old = text.splitlines(keepends=True)
    new = wanted.splitlines(keepends=True)
    starts = [0]
    for line in old:
        starts.append(starts[-1] + len(line))
    edits = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            edits.append((starts[i1], starts[i2], "".join(new[j1:j2])))
    return edits


async def graph(analysis: Analysis) -> dict:
    """{"svg": str|None, "dot": str|None, "message": str|None} for the document's plan."""
    plan = analysis.result.plan
    if plan is None:
        errors = len(analysis.result.errors)
        return {
            "svg": None,
            "dot": None,
            "message": f"the flow has {errors} error{'s' if errors != 1 else ''}: "
            "fix them to see its graph",
        }
    dot_text = plan.to_dot()
    dot = shutil.which("dot")
    if dot is None:
        return {"svg": None, "dot": dot_text, "message": GRAPHVIZ_MISSING}
    process = await asyncio.create_subprocess_exec(
        dot,
        "-Tsvg",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(
            process.communicate(dot_text.encode("utf-8")), DOT_TIMEOUT
        )
    except TimeoutError:
        process.kill()
        await process.wait()
        return {"svg": None, "dot": dot_text, "message": f"Graphviz took over {DOT_TIMEOUT:.0f} s"}
    if process.returncode != 0:
        detail = err.decode("utf-8", "replace").strip().splitlines()
        return {
            "svg": None,
            "dot": dot_text,
            "message": "Graphviz `dot` failed" + (f": {detail[-1]}" if detail else ""),
        }
    return {"svg": out.decode("utf-8"), "dot": dot_text, "message": None}
