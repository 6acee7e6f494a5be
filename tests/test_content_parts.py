"""OpenAI messages with content parts, tool calls and extra keys: read, augmented, written back unchanged."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from augment_core.formats import detect_schema
from augment_core.parts import content_text, placeholder
from augment_core.readers import read_records
from augment_core.record_checks import validate_record
from augment_core.records import (
    RecordError,
    get_field,
    instruction_fields,
    output_fields,
    to_turns,
    with_field,
)
from augment_core.writers import write_records
from tests.test_pages import MakeApp, make_app  # noqa: F401  # the page fixture

IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUg=="}}
PARTS = {
    "messages": [
        {"role": "system", "content": [{"type": "text", "text": "You describe pictures."}]},
        {"role": "user", "content": [{"type": "text", "text": "What is in this picture?"}, IMAGE], "name": "ann"},
        {"role": "assistant", "content": [{"type": "text", "text": "A red cat."}], "loss_weight": 0.0},
        {"role": "user", "content": [{"type": "text", "value": "And its colour?"}]},
        {"role": "assistant", "content": "Red.", "loss_weight": 1.0},
    ],
    "id": "p1",
}
TOOLS = {
    "messages": [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Paris"}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 21}'},
        {"role": "assistant", "content": "It is 21 degrees."},
    ],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "weather",
                "description": "Current weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            },
        }
    ],
}


def test_text_parts_are_the_fields_and_other_parts_are_left_alone() -> None:
    validate_record(PARTS, "messages")
    assert detect_schema(PARTS) == "messages"
    assert instruction_fields(PARTS, "messages") == ["messages.1.content.0.text", "messages.3.content.0.value"]
    assert output_fields(PARTS, "messages") == ["messages.2.content.0.text", "messages.4.content"]
    assert get_field(PARTS, "messages.3.content.0.value") == "And its colour?"
    before = copy.deepcopy(PARTS)
    new = with_field(PARTS, "messages.1.content.0.text", "Tell me what this picture shows.")
    assert PARTS == before  # the original untouched
    assert new["messages"][1]["content"] == [{"type": "text", "text": "Tell me what this picture shows."}, IMAGE]
    assert json.dumps(new["messages"][1]["content"][1]) == json.dumps(IMAGE)  # the image byte for byte
    assert new["messages"][1]["name"] == "ann" and new["messages"][2]["loss_weight"] == 0.0
    validate_record(new, "messages")


def test_placeholders_for_review_and_plain_text_for_conversion() -> None:
    assert placeholder(IMAGE) == "[image]"
    assert placeholder({"type": "input_audio", "input_audio": {}}) == "[audio]"
    assert content_text(PARTS["messages"][1]["content"], placeholders=True) == "What is in this picture?\n[image]"
    assert to_turns(PARTS, "messages")[1] == ("user", "What is in this picture?")
    assert to_turns(PARTS, "messages", placeholders=True)[1] == ("user", "What is in this picture?\n[image]")


def test_tool_call_turns_validate_and_only_their_text_is_augmented() -> None:
    validate_record(TOOLS, "messages")
    assert instruction_fields(TOOLS, "messages") == ["messages.0.content"]
    assert output_fields(TOOLS, "messages") == ["messages.3.content"]


@pytest.mark.parametrize(
    ("turn", "field", "problem"),
    [
        ({"role": "user", "content": 3}, "messages.0.content", "expected a string or a list of content parts, got int"),
        ({"role": "user", "content": None}, "messages.0.content", "got null"),
        ({"role": "user", "content": ["hi"]}, "messages.0.content.0", "expected a content part object"),
        ({"role": "user", "content": [{"type": "text", "text": 1}]}, "messages.0.content.0", "a text part needs"),
    ],
)
def test_bad_content_names_the_field(turn: dict[str, Any], field: str, problem: str) -> None:
    record = {"messages": [turn, {"role": "assistant", "content": "ok"}]}
    with pytest.raises(RecordError) as info:
        validate_record(record, "messages")
    assert info.value.field == field and problem in info.value.problem


@pytest.mark.parametrize("file_type", ["jsonl", "json", "parquet"])
def test_parts_and_tools_round_trip(tmp_path: Path, file_type: str) -> None:
    records = [PARTS, TOOLS]
    path = tmp_path / f"data.{file_type}"
    write_records(path, records)
    back = [r for _, r in read_records(path)]
    assert back == records  # in Parquet, mixed string and list content is held as JSON text
    for record in back:
        validate_record(record, "messages")
    write_records(path, back)
    assert [r for _, r in read_records(path)] == back


def test_augment_and_export_keep_every_part_and_key(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "parts.jsonl"
    write_records(source, [PARTS, TOOLS])
    code, _, err = run_cli("import", str(source))
    assert code == 0, err
    code, _, err = run_cli("run", "--augmenters", "templates", "--n", "2")
    assert code == 0, err
    out = tmp_path / "out.jsonl"
    code, _, err = run_cli("export", str(out), "--status", "all", "--ratio", "1:100", "--max-augmented-share", "1")
    assert code == 0, err
    written = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    originals = [r for r in written if r.get("id") == "p1" or ("tools" in r and "id" not in r)]
    assert PARTS in originals
    copies = [r for r in written if str(r.get("id", "")).startswith("p1~")]
    assert copies, written
    for record in copies:
        turns, first = record["messages"], PARTS["messages"]
        assert json.dumps(turns[1]["content"][1]) == json.dumps(IMAGE)
        untouched = [i for i in range(len(first)) if i not in (1, 3)]
        assert [turns[i] for i in untouched] == [first[i] for i in untouched]
        assert turns[1]["name"] == "ann"
        changed = [i for i in (1, 3) if turns[i] != first[i]]
        assert len(changed) == 1  # one text part rewritten
    tool_copies = [r for r in written if "tools" in r and r != TOOLS]
    for record in tool_copies:
        assert record["tools"] == TOOLS["tools"]
        assert record["messages"][1:] == TOOLS["messages"][1:]


def test_parquet_turns_of_one_type_stay_arrow_structs(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    path = tmp_path / "tools.parquet"
    write_records(path, [TOOLS])
    assert pq.read_schema(path).field("messages").type.value_type.num_fields == 4  # role, content, tool_calls, id
    # Arrow structs give every turn every key: a null reads as an absent key, as for top-level cells.
    expected = copy.deepcopy(TOOLS)
    del expected["messages"][1]["content"]
    assert [r for _, r in read_records(path)] == [expected]


def test_review_shows_the_conversation_with_placeholders(make_app: MakeApp, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    source = tmp_path / "parts.jsonl"
    write_records(source, [PARTS])
    assert run_cli("import", str(source))[0] == 0
    assert run_cli("run", "--augmenters", "templates", "--n", "1")[0] == 0
    at = make_app("views/review.py", dataset="parts")
    conversation = next(e for e in at.expander if e.label == "Conversation")
    text = conversation.text[0].value
    assert "user: What is in this picture?\n[image]" in text and "assistant: Red." in text
    assert "base64" not in text
