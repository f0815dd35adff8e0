"""A real client talking to `python -m flowc lsp` over stdio (pytest-lsp), and helpers to open
documents and wait for their diagnostics."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest_lsp
from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
# the example of SPEC section 2, laid out as there (columns aligned), so that tests can point
# at its words; opened as a file of examples/ so that "peaks.py" resolves
PULSES_TEXT = """\
# pulses.flow: the example of the flowc contract (SPEC section 2), a detector read-out chain.
# A simulated two-channel digitizer feeds a pulse finder running in two processes; a filter
# keeps the pulses above 0.3, an exporter streams them to out/kept.npy, and an observer keeps
# a live histogram of the pulse heights it sees (the latest ones; it never slows the chain).
#   flowc run examples/pulses.flow --set N=500
pipeline pulses                                   # optional; names the run and its report

const N = 20000                                   # overridable: flowc run pulses.flow --set N=500

type Sample = {ch0: f4, ch1: f4}                  # numpy structured dtype
type Pulse  = {height: f8, time: f8, channel: i2, shape: f4[16]}   # a field may be a sub-array

buffer raw    : Sample[4096] slots=128            # 128 slots, each 4096 Samples
buffer pulses : Pulse slots=64                    # length 1 when no [n] is given
buffer kept   : Pulse slots=64 overflow=drop      # overflow=block (default) or drop

importer  sim    = stdlib.sources.pulses(n=N, rate=5000)            -> raw
processor finder = "peaks.py":find_pulses(threshold=0.2)     raw   -> pulses   processes=2
filter    cut    = stdlib.filters.select(field="height", min=0.3) pulses -> kept
exporter  save   = stdlib.sinks.npy(path="out/kept.npy")       kept
observer  scope  = stdlib.monitors.histogram(field="height", bins=50) observes pulses
"""
PULSES = EXAMPLES / "pulses-spec.flow"


def _publish_diagnostics(client: LanguageClient, params: types.PublishDiagnosticsParams):
    client.diagnostics[params.uri] = params.diagnostics
    client.published[params.uri] = (params.version, params.diagnostics)


def make_client() -> LanguageClient:
    """pytest-lsp's test client, also keeping the version each diagnostics list is for."""
    client = LanguageClient(converter_factory=default_converter)
    client.published = {}
    features = dict(DEFAULT_CLIENT_FEATURES)
    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = _publish_diagnostics
    register_lsp_features(client, features)
    return client


SERVER = ClientServerConfig(
    server_command=[sys.executable, "-m", "flowc", "lsp"], client_factory=make_client
)


@pytest_lsp.fixture(scope="module", config=SERVER)
async def client(lsp_client: LanguageClient):
    lsp_client.initialize_result = await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=pytest_lsp.client_capabilities("visual-studio-code"),
            root_uri=EXAMPLES.as_uri(),
        )
    )
    yield
    await lsp_client.shutdown_session()


class Opened:
    """A document opened in the client, with its text and version."""

    def __init__(self, client: LanguageClient, uri: str, text: str):
        self.client = client
        self.uri = uri
        self.text = text
        self.version = 1

    @property
    def id(self) -> types.TextDocumentIdentifier:
        return types.TextDocumentIdentifier(uri=self.uri)

    def position(self, needle: str, shift: int = 0, nth: int = 0) -> types.Position:
        """The LSP position (UTF-16) of `needle` in the text, plus `shift` characters."""
        offset = -1
        for _ in range(nth + 1):
            offset = self.text.index(needle, offset + 1)
        return position_of(self.text, offset + shift)

    async def diagnostics(self, timeout: float = 10.0) -> list[types.Diagnostic]:
        """The diagnostics published for the current version."""
        return await published(self.client, self.uri, self.version, timeout)

    async def replace(self, old: str, new: str) -> None:
        """Edit the text: the first `old` becomes `new`, sent as an incremental change."""
        start = self.text.index(old)
        change = types.TextDocumentContentChangePartial(
            range=types.Range(
                start=position_of(self.text, start), end=position_of(self.text, start + len(old))
            ),
            text=new,
        )
        self.text = self.text[:start] + new + self.text[start + len(old) :]
        self.version += 1
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri=self.uri, version=self.version
                ),
                content_changes=[change],
            )
        )


def position_of(text: str, offset: int) -> types.Position:
    """LSP position of a character offset: lines at \\n, columns in UTF-16 code units."""
    before = text[:offset]
    line = before.count("\n")
    column_text = before[before.rfind("\n") + 1 :]
    return types.Position(line=line, character=len(column_text.encode("utf-16-le")) // 2)


def offset_of(text: str, position: types.Position) -> int:
    lines = text.split("\n")
    start = sum(len(line) + 1 for line in lines[: position.line])
    units = lines[position.line].encode("utf-16-le")[: position.character * 2]
    return start + len(units.decode("utf-16-le"))


def range_text(text: str, range_: types.Range) -> str:
    return text[offset_of(text, range_.start) : offset_of(text, range_.end)]


async def published(client: LanguageClient, uri: str, version: int, timeout: float):
    """The diagnostics the server published for `version` of a document."""

    async def wait():
        while True:
            found = client.published.get(uri)
            if found is not None and found[0] == version:
                return found[1]
            await asyncio.sleep(0.005)

    return await asyncio.wait_for(wait(), timeout)


def open_document(client: LanguageClient, path: Path, text: str | None = None) -> Opened:
    if text is None:
        text = PULSES_TEXT if path == PULSES else path.read_text(encoding="utf-8")
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="flow", version=1, text=text)
        )
    )
    return Opened(client, uri, text)
