"""The VS Code extension's TextMate grammar: every pattern compiles with Python's `re` (the
grammar keeps to the syntax Oniguruma and `re` share), and a small TextMate tokenizer run with
it over every example gives the scopes a reader expects."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GRAMMAR = ROOT / "editors" / "vscode" / "syntaxes" / "flow.tmLanguage.json"
EXAMPLES = sorted((ROOT / "examples").glob("*.flow"))
# syntax Oniguruma has and `re` lacks, or reads differently: named groups, possessive and
# atomic groups, \h, \A-like anchors \G, and Oniguruma's (?<name>...)
_ONIGURUMA_ONLY = re.compile(r"\(\?<[A-Za-z]|\(\?P|\(\?>|[*+?}]\+|\\h|\\G|\\K|\\z")


def grammar() -> dict:
    return json.loads(GRAMMAR.read_text())


def rules(node):
    """Every rule object of the grammar (with a match, begin or end)."""
    if isinstance(node, dict):
        if any(key in node for key in ("match", "begin", "end")):
            yield node
        for value in node.values():
            yield from rules(value)
    elif isinstance(node, list):
        for value in node:
            yield from rules(value)


def test_every_pattern_compiles_with_re_and_keeps_to_the_common_syntax():
    found = list(rules(grammar()))
    assert len(found) >= 12
    for rule in found:
        for key in ("match", "begin", "end"):
            if key in rule:
                assert not _ONIGURUMA_ONLY.search(rule[key]), rule[key]
                re.compile(rule[key])


class Tokenizer:
    """TextMate's algorithm for one line at a time: at each position the rule whose match
    starts first wins (the first listed on a tie); a begin/end rule scans its own patterns
    until its end matches."""

    def __init__(self, grammar: dict):
        self.repository = grammar["repository"]
        self.top = self.expand(grammar["patterns"])

    def expand(self, patterns):
        out = []
        for pattern in patterns:
            if "include" in pattern:
                target = self.repository[pattern["include"].lstrip("#")]
                out.extend(
                    self.expand([target])
                    if "patterns" not in target or "begin" in target
                    else self.expand(target["patterns"])
                )
            else:
                out.append(pattern)
        return out

    def line(self, text: str) -> list[tuple[str, str]]:
        """(text, scope) pieces of one line; unscoped text is left out."""
        pieces = []
        position = 0
        while position < len(text):
            best = None
            for rule in self.top:
                regex = re.compile(rule.get("match") or rule["begin"])
                found = regex.search(text, position)
                if (
                    found
                    and found.end() > found.start()
                    and (best is None or found.start() < best[1].start())
                ):
                    best = (rule, found)
            if best is None:
                break
            rule, found = best
            if "match" in rule:
                pieces += self.captured(rule, found)
                position = found.end()
            else:
                stop = self.region_end(rule, text, found.end())
                pieces.append((text[found.start() : stop], rule["name"]))
                position = max(stop, found.end())
        return pieces

    @staticmethod
    def region_end(rule, text: str, position: int) -> int:
        """Where a begin/end region ends: its inner patterns (escapes) are tried with `end`,
        the first match wins, so an escaped quote does not end a string."""
        end = re.compile(rule["end"])
        inner = [re.compile(p["match"]) for p in rule.get("patterns", ())]
        while True:
            stop = end.search(text, position)
            if stop is None:
                return len(text)
            first = min(
                (m for m in (r.search(text, position) for r in inner) if m and m.end() > m.start()),
                key=lambda m: m.start(),
                default=None,
            )
            if first is None or first.start() >= stop.start():
                return stop.end()
            position = first.end()

    @staticmethod
    def captured(rule, found):
        if "name" in rule:
            return [(found.group(), rule["name"])]
        return [
            (found.group(int(index)), capture["name"])
            for index, capture in rule.get("captures", {}).items()
            if found.group(int(index))
        ]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_gets_the_expected_scopes(path):
    tokenizer = Tokenizer(grammar())
    scopes: dict[str, set[str]] = {}
    for line in path.read_text().splitlines():
        pieces = tokenizer.line(line)
        for text, scope in pieces:
            scopes.setdefault(scope, set()).add(text)
        if line.lstrip().startswith("#"):
            assert pieces == [(line.lstrip(), "comment.line.number-sign.flow")]
        kind = line.split(" ", 1)[0]
        if kind in ("importer", "processor", "filter", "exporter", "observer"):
            assert pieces[0] == (kind, "keyword.other.worker-kind.flow")
            assert pieces[1] == (line.split()[1], "entity.name.function.worker.flow")
            assert any(scope == "support.function.callable.flow" for _, scope in pieces)
        if kind == "buffer":
            assert pieces[1] == (line.split()[1], "variable.other.buffer.flow")
    assert "buffer" in scopes["storage.type.buffer.flow"]
    assert scopes.get("variable.parameter.flow"), "no argument keys found"


def test_the_scopes_of_the_contract_example():
    tokenizer = Tokenizer(grammar())
    assert tokenizer.line('type Pulse  = {height: f8, "1st_chA_h": f4[16]}') == [
        ("type", "storage.type.type.flow"),
        ("Pulse", "entity.name.type.flow"),
        ("height", "variable.other.property.field.flow"),
        (":", "punctuation.separator.field.flow"),
        ("f8", "support.type.dtype.flow"),
        ('"1st_chA_h"', "variable.other.property.field.flow"),
        (":", "punctuation.separator.field.flow"),
        ("f4", "support.type.dtype.flow"),
        ("16", "constant.numeric.flow"),
    ]
    assert tokenizer.line(
        'processor finder = "peaks.py":find_pulses(threshold=-0.2) raw -> pulses'
    ) == [
        ("processor", "keyword.other.worker-kind.flow"),
        ("finder", "entity.name.function.worker.flow"),
        ("=", "keyword.operator.assignment.flow"),
        ('"peaks.py"', "string.quoted.double.path.flow"),
        (":", "punctuation.separator.callable.flow"),
        ("find_pulses", "support.function.callable.flow"),
        ("threshold", "variable.parameter.flow"),
        ("=", "keyword.operator.assignment.flow"),
        ("-0.2", "constant.numeric.flow"),
        ("->", "keyword.operator.arrow.flow"),
    ]
    assert tokenizer.line("buffer wave : f4[1024] slots=32 overflow=drop  # plain") == [
        ("buffer", "storage.type.buffer.flow"),
        ("wave", "variable.other.buffer.flow"),
        (":", "punctuation.separator.type.flow"),
        ("f4", "support.type.dtype.flow"),
        ("1024", "constant.numeric.flow"),
        ("slots", "variable.parameter.flow"),
        ("=", "keyword.operator.assignment.flow"),
        ("32", "constant.numeric.flow"),
        ("overflow", "variable.parameter.flow"),
        ("=", "keyword.operator.assignment.flow"),
        ("# plain", "comment.line.number-sign.flow"),
    ]
    assert tokenizer.line('exporter e = stdlib.sinks.npy(path="a\\"b.npy") kept observes x') == [
        ("exporter", "keyword.other.worker-kind.flow"),
        ("e", "entity.name.function.worker.flow"),
        ("=", "keyword.operator.assignment.flow"),
        ("stdlib.sinks.npy", "support.function.callable.flow"),
        ("path", "variable.parameter.flow"),
        ("=", "keyword.operator.assignment.flow"),
        ('"a\\"b.npy"', "string.quoted.double.flow"),
        ("observes", "keyword.other.observes.flow"),
    ]


def test_the_extension_manifest_names_files_that_exist_and_starts_flowc_lsp():
    folder = GRAMMAR.parents[1]
    manifest = json.loads((folder / "package.json").read_text())
    assert (folder / manifest["main"]).is_file()
    (language,) = manifest["contributes"]["languages"]
    assert language["extensions"] == [".flow"]
    json.loads((folder / language["configuration"]).read_text())
    (tm,) = manifest["contributes"]["grammars"]
    assert (folder / tm["path"]).resolve() == GRAMMAR
    assert tm["scopeName"] == grammar()["scopeName"]
    setting = manifest["contributes"]["configuration"]["properties"]["flowc.command"]
    assert setting["default"] == ["flowc", "lsp"]
    assert "vscode-languageclient" in manifest["dependencies"]
    source = (folder / manifest["main"]).read_text()
    assert '"flowc.graph"' in source and "LanguageClient" in source


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_extension_script_is_valid_javascript():
    script = GRAMMAR.parents[1] / "extension.js"
    subprocess.run(["node", "--check", str(script)], check=True)
