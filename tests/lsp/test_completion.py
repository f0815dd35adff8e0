"""Completion over a real client, in each place the language offers names, including lines
that are still being typed (the file does not parse)."""

from __future__ import annotations

import pytest
from conftest import EXAMPLES, PULSES_TEXT, open_document, position_of
from lsprotocol import types

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def complete_after(client, tail: str, name: str) -> list[types.CompletionItem]:
    """Completion at the end of the pulses example with `tail` typed on a new last line."""
    text = PULSES_TEXT + tail
    document = open_document(client, EXAMPLES / name, text)
    found = await client.text_document_completion_async(
        types.CompletionParams(text_document=document.id, position=position_of(text, len(text)))
    )
    return found.items


def labels(items) -> list[str]:
    return [item.label for item in items]


async def test_keywords_where_a_statement_starts(client):
    items = await complete_after(client, "proc", "kw.flow")
    assert {"processor", "buffer", "type", "const", "observer"} <= set(labels(items))
    processor = next(i for i in items if i.label == "processor")
    assert processor.text_edit.new_text == "processor "
    # the edit replaces the word being typed
    assert processor.text_edit.range.end.character - processor.text_edit.range.start.character == 4


async def test_buffer_names_after_an_arrow_in_inputs_and_after_observes(client):
    for tail in (
        'filter more = stdlib.filters.select(field="height", min=1) pulses -> ',
        'filter more = stdlib.filters.select(field="height", min=1) ',
        "observer rate = stdlib.monitors.rate() observes ",
        "observer rate = stdlib.monitors.rate() observes pulses, k",
    ):
        items = await complete_after(client, tail, "buffers.flow")
        assert set(labels(items)) == {"raw", "pulses", "kept"}, tail
    detail = next(i for i in items if i.label == "raw").detail
    assert detail == "buffer : Sample[4096]"


async def test_type_names_and_dtypes_after_a_colon(client):
    items = await complete_after(client, "buffer more : ", "types.flow")
    names = labels(items)
    assert names[:2] == ["Sample", "Pulse"] and "f8" in names and "float32" in names
    inside = labels(await complete_after(client, "type Hit = {energy: ", "fields.flow"))
    assert "f8" in inside and "Pulse" not in inside


async def test_stdlib_workers_after_stdlib_dot(client):
    items = await complete_after(client, "exporter keep = stdlib.si", "stdlib.flow")
    npy = next(i for i in items if i.label == "sinks.npy")
    assert npy.detail == "exporter"
    assert "npy" in npy.documentation.value.lower()
    assert npy.text_edit.new_text == "sinks.npy"
    # exporters first for an exporter statement
    assert sorted(items, key=lambda i: i.sort_text)[0].detail == "exporter"


async def test_argument_names_from_the_signature_inside_the_parentheses(client):
    items = await complete_after(client, "importer more = stdlib.sources.pulses(", "args.flow")
    assert "n" in labels(items) and "rate" in labels(items)
    n = next(i for i in items if i.label == "n")
    assert n.text_edit.new_text == "n=" and n.detail == "required"
    given = labels(
        await complete_after(client, "importer more = stdlib.sources.pulses(n=5, ", "args2.flow")
    )
    assert "n" not in given and "rate" in given
    user = labels(
        await complete_after(client, 'processor more = "peaks.py":find_pulses(', "user.flow")
    )
    assert "threshold" in user


async def test_field_names_for_a_field_argument(client):
    items = await complete_after(client, "filter more = stdlib.filters.select(field=", "field.flow")
    assert '"height"' in labels(items) and '"ch0"' in labels(items)
    # the worker's input, written after the parentheses, narrows the fields to its type
    text = PULSES_TEXT + 'filter more = stdlib.filters.select(field="") raw -> kept\n'
    document = open_document(client, EXAMPLES / "narrow.flow", text)
    found = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=document.id,
            position=document.position('field="")', len('field="')),
        )
    )
    assert labels(found.items) == ["ch0", "ch1"]


async def test_options_after_the_buffers_and_nothing_in_a_comment(client):
    items = await complete_after(
        client, 'filter more = stdlib.filters.select(field="height") pulses ', "opts.flow"
    )
    assert {"processes", "on_error", "batch", "->"} <= set(labels(items))
    assert labels(await complete_after(client, "# buffer x : ", "comment.flow")) == []


async def test_the_values_of_overflow_and_on_error(client):
    assert labels(
        await complete_after(client, "buffer more : Pulse slots=4 overflow=", "o.flow")
    ) == [
        "block",
        "drop",
    ]
    tail = 'filter more = stdlib.filters.select(field="height") pulses -> kept on_error='
    assert labels(await complete_after(client, tail, "e.flow")) == ["fail", "skip"]


async def test_field_names_inside_a_list_of_fields(client):
    tail = 'processor p = stdlib.processors.project(fields=["height", '
    items = await complete_after(client, tail, "list.flow")
    assert '"time"' in labels(items) and '"channel"' in labels(items)
