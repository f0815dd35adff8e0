"""Diagnostics over LSP are those of `flowc check`: codes, messages, spans, notes as related
information, help, warnings as warnings; published on open and after each change."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import EXAMPLES, PULSES_TEXT, open_document, range_text
from lsprotocol import types

from flowc.compiler import check_file

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.flow")), ids=lambda p: p.name)
async def test_every_example_opens_with_the_checker_s_diagnostics(client, path):
    document = open_document(client, path)
    published = await document.diagnostics()
    expected = check_file(path).diagnostics
    assert [(d.code, d.range.start.line + 1, d.range.start.character + 1) for d in published] == [
        (d.code, d.span.line, d.span.column) for d in expected
    ]


async def test_a_typo_is_reported_as_flowc_check_reports_it(client, tmp_path):
    text = PULSES_TEXT.replace("-> pulses   processes", "-> pulsse   processes")
    path = tmp_path / "typo.flow"
    path.write_text(text)
    (tmp_path / "peaks.py").write_text((EXAMPLES / "peaks.py").read_text())
    document = open_document(client, path)
    published = await document.diagnostics()
    cli = subprocess.run(
        [sys.executable, "-m", "flowc", "check", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    expected = json.loads(cli.stdout)["diagnostics"]
    assert len(published) == len(expected) >= 1
    for lsp, ours in zip(published, expected, strict=True):
        assert lsp.code == ours["code"]
        assert lsp.source == "flowc"
        assert lsp.message.splitlines()[0] == ours["message"]
        assert (lsp.range.start.line + 1, lsp.range.start.character + 1) == (
            ours["line"],
            ours["column"],
        )
        assert (lsp.range.end.line + 1, lsp.range.end.character + 1) == (
            ours["end_line"],
            ours["end_column"],
        )
        if ours["help"]:
            assert lsp.message.endswith(f"help: {ours['help']}")
    typo = published[0]
    assert typo.code == "E102" and range_text(document.text, typo.range) == "pulsse"
    assert typo.severity == types.DiagnosticSeverity.Error
    assert "did you mean `pulses`?" in typo.message


async def test_a_dtype_mismatch_points_at_the_declaration_in_related_information(client):
    text = PULSES_TEXT.replace("buffer kept   : Pulse", "buffer kept   : Sample")
    document = open_document(client, EXAMPLES / "mismatch.flow", text)
    (e201,) = await document.diagnostics()
    assert e201.code == "E201"
    assert range_text(document.text, e201.range) == "kept"
    assert "types differ" in e201.message
    related = {
        r.message: range_text(document.text, r.location.range) for r in e201.related_information
    }
    assert related["`kept` is declared here as Sample"] == "kept"
    assert related["Pulse = {height: f8, time: f8, channel: i2, shape: f4[16]}"] == "pulses"
    assert all(r.location.uri == document.uri for r in e201.related_information)


async def test_a_half_typed_line_gets_its_syntax_error(client):
    document = open_document(client, EXAMPLES / "half.flow", PULSES_TEXT)
    assert list(await document.diagnostics()) == []
    await document.replace(
        "observer  scope", "observer  scope = stdlib.monitors.histogram(fie\nobserver  scope2"
    )
    (syntax,) = await document.diagnostics()
    assert syntax.code == "E001"
    assert range_text(document.text, syntax.range) == "fie"
    assert "write `name=value`" in syntax.message
    await document.replace("(fie\n", '(field="height") observes pulses\n')
    assert list(await document.diagnostics()) == []


async def test_warnings_are_warnings(client):
    text = PULSES_TEXT + "buffer spare : Pulse slots=4\n"
    document = open_document(client, EXAMPLES / "spare.flow", text)
    (unused,) = await document.diagnostics()
    assert unused.code == "W302"
    assert unused.severity == types.DiagnosticSeverity.Warning
    assert range_text(document.text, unused.range) == "spare"


async def test_a_burst_of_edits_ends_with_the_diagnostics_of_the_last_version(client):
    document = open_document(client, EXAMPLES / "edits.flow", PULSES_TEXT)
    await document.diagnostics()
    await document.replace(" kept\nobserver", " \nobserver")
    typed = ""
    for letter in "kepts":  # typed without waiting, as a user types
        await document.replace(f"{typed}\nobserver", f"{typed}{letter}\nobserver")
        typed += letter
    published = await document.diagnostics()
    typo = next(d for d in published if d.code == "E102")
    assert "did you mean `kept`?" in typo.message
    assert range_text(document.text, typo.range) == "kepts"
    await document.replace("kepts\nobserver", "kept\nobserver")
    assert list(await document.diagnostics()) == []


async def test_closing_a_document_clears_its_diagnostics(client):
    document = open_document(client, EXAMPLES / "closed.flow", "buffer x : Nope slots=1\n")
    assert [d.code for d in await document.diagnostics()] == ["W302", "E103"]
    client.text_document_did_close(types.DidCloseTextDocumentParams(text_document=document.id))
    document.version = None
    assert list(await document.diagnostics()) == []


NOISY = '''\
import os
import sys

print("printed by the worker module on import")
sys.stdout.write("written to sys.stdout\\n")
os.write(1, b"written to file descriptor 1\\n")


def work(data, *, gain=1.0):
    """Scale the energies by `gain`."""
    print("printed on each call")
    return data
'''


async def test_worker_code_that_prints_cannot_corrupt_the_protocol(client, tmp_path):
    (tmp_path / "noisy.py").write_text(NOISY)
    text = (
        "type Hit = {energy: f8}\n"
        "buffer raw : Hit slots=4\n"
        "buffer out : Hit slots=4\n"
        "importer sim = stdlib.sources.pulses(n=5) -> raw\n"
        'processor scale = "noisy.py":work(gain=2.0) raw -> out\n'
        "exporter drop = stdlib.sinks.null() out\n"
    )
    path = tmp_path / "noisy.flow"
    path.write_text(text)
    document = open_document(client, path)
    assert list(await document.diagnostics()) == []
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=document.id, position=document.position("scale", 1))
    )
    assert "def work(data, *, gain=1.0)" in hover.contents.value
    assert "Scale the energies by `gain`." in hover.contents.value


async def test_worker_code_edited_on_disk_is_checked_as_it_is_now(client, tmp_path):
    worker = tmp_path / "gain.py"
    worker.write_text("def work(data):\n    return data\n")
    text = (
        "type Hit = {energy: f8}\n"
        "buffer raw : Hit slots=4\n"
        "buffer out : Hit slots=4\n"
        "importer sim = stdlib.sources.pulses(n=5) -> raw\n"
        'processor scale = "gain.py":work(gain=2.0) raw -> out\n'
        "exporter drop = stdlib.sinks.null() out\n"
    )
    path = tmp_path / "gain.flow"
    path.write_text(text)
    document = open_document(client, path)
    assert [d.code for d in await document.diagnostics()] == ["E204"]
    worker.write_text("def work(data, *, gain=1.0):\n    return data * gain\n")
    later = worker.stat().st_mtime + 2
    os.utime(worker, (later, later))
    await document.replace("n=5", "n=6")
    assert list(await document.diagnostics()) == []
