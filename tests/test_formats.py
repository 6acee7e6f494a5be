"""Reading, detecting, mapping and writing every schema in every file type."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from augment_core.errors import DatasetFormatError, InputError
from augment_core.formats import FILE_TYPES, apply_mapping, detect_schema
from augment_core.readers import read_records
from augment_core.records import convert_record, get_field, instruction_fields, output_fields, with_field
from augment_core.writers import write_records

ALPACA = [
    {"instruction": "Say hi, politely", "input": "", "output": "Hi!", "source": "hand"},
    {"instruction": "Sum 2 and 3", "input": "2, 3\nplease", "output": "5", "source": "hand"},
]
PROMPT_COMPLETION = [{"prompt": 'Quote: "a, b"', "completion": "Done.\nTwo lines.", "lang": "en"}]
MESSAGES = [
    {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What is 2+2?"},
            {"role": "assistant", "content": "4"},
            {"role": "user", "content": "And 3+3?"},
            {"role": "assistant", "content": "6"},
        ],
        "topic": "math",
    }
]
SHAREGPT = [
    {
        "conversations": [
            {"from": "system", "value": "Be brief."},
            {"from": "human", "value": "Name a colour, please."},
            {"from": "gpt", "value": "Blue."},
        ],
        "id": "c1",
    }
]
DATASETS = {"alpaca": ALPACA, "prompt-completion": PROMPT_COMPLETION, "messages": MESSAGES, "sharegpt": SHAREGPT}


def _read(path: Path) -> list[dict[str, Any]]:
    return [record for _, record in read_records(path)]


@pytest.mark.parametrize("file_type", FILE_TYPES)
@pytest.mark.parametrize("schema", sorted(DATASETS))
def test_round_trip_every_schema_and_file_type(tmp_path: Path, schema: str, file_type: str) -> None:
    records = DATASETS[schema]
    path = tmp_path / f"data.{file_type}"
    assert write_records(path, records) == len(records)
    back = _read(path)
    assert back == records
    assert detect_schema(back[0]) == schema
    # and a second trip through the same type changes nothing
    write_records(path, back)
    assert _read(path) == records


def test_json_accepts_data_wrapper(tmp_path: Path) -> None:
    path = tmp_path / "wrapped.json"
    path.write_text(json.dumps({"data": ALPACA}))
    assert _read(path) == ALPACA


def test_csv_with_embedded_newlines_and_commas(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text('instruction,input,output\n"Split ""a, b""","line one\nline two","ok, done"\n')
    assert _read(path) == [{"instruction": 'Split "a, b"', "input": "line one\nline two", "output": "ok, done"}]


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"instruction": "a", "output": "b"}, "alpaca"),
        ({"instruction": "a", "input": "", "output": "b", "prompt_id": 3}, "alpaca"),
        ({"prompt": "a", "completion": "b", "instruction_set": "x"}, "prompt-completion"),
        ({"messages": [{"role": "user", "content": "a"}], "prompt": "x"}, "messages"),
        ({"conversations": [{"from": "human", "value": "a"}]}, "sharegpt"),
    ],
)
def test_detection(record: dict[str, Any], expected: str) -> None:
    assert detect_schema(record) == expected


def test_detection_ambiguous_and_unknown() -> None:
    with pytest.raises(InputError, match="several schemas: alpaca, prompt-completion"):
        detect_schema({"instruction": "a", "output": "b", "prompt": "c", "completion": "d"})
    with pytest.raises(InputError, match=r"cannot detect the schema from the columns \(answer, question\)"):
        detect_schema({"question": "a", "answer": "b"})
    # a 'messages' column that is not a list is not chat
    with pytest.raises(InputError):
        detect_schema({"messages": "hello"})


def test_mapping() -> None:
    record = apply_mapping({"question": "q", "answer": "a", "x": 1}, {"instruction": "question", "output": "answer"})
    assert record == {"instruction": "q", "output": "a", "x": 1}
    assert detect_schema(record) == "alpaca"


def test_field_paths_for_chat() -> None:
    record = MESSAGES[0]
    assert instruction_fields(record, "messages") == ["messages.1.content", "messages.3.content"]
    assert output_fields(record, "messages") == ["messages.2.content", "messages.4.content"]
    changed = with_field(record, "messages.3.content", "And three plus three?")
    assert get_field(changed, "messages.3.content") == "And three plus three?"
    assert changed["messages"][:3] == record["messages"][:3] and changed["messages"][4] == record["messages"][4]
    assert get_field(record, "messages.3.content") == "And 3+3?"  # original untouched
    assert instruction_fields(SHAREGPT[0], "sharegpt") == ["conversations.1.value"]
    assert instruction_fields(ALPACA[1], "alpaca", include_input=True) == ["instruction", "input"]
    assert instruction_fields(ALPACA[0], "alpaca", include_input=True) == ["instruction"]  # empty input


def test_convert_between_schemas_keeps_extras() -> None:
    chat = convert_record(ALPACA[1], "alpaca", "messages")
    assert chat == {
        "messages": [{"role": "user", "content": "Sum 2 and 3\n\n2, 3\nplease"}, {"role": "assistant", "content": "5"}],
        "source": "hand",
    }
    assert convert_record(SHAREGPT[0], "sharegpt", "alpaca") == {
        "instruction": "Name a colour, please.",
        "input": "",
        "output": "Blue.",
        "id": "c1",
    }
    assert convert_record(MESSAGES[0], "messages", "sharegpt")["conversations"][2] == {"from": "gpt", "value": "4"}


def test_bad_json_line_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"instruction": "a", "output": "b"}\n{"instruction": "a", "output": }\n')
    with pytest.raises(DatasetFormatError) as info:
        list(read_records(path))
    assert str(info.value).startswith(f"{path}:2: malformed JSON at column")


def test_non_utf8_names_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"instruction": "a", "output": "b"}\n{"instruction": "caf\xe9", "output": "b"}\n')
    with pytest.raises(DatasetFormatError, match=r"latin1.jsonl:2: not valid UTF-8"):
        list(read_records(path))
    csv_path = tmp_path / "latin1.csv"
    csv_path.write_bytes(b"instruction,output\na,b\ncaf\xe9,b\n")
    with pytest.raises(DatasetFormatError, match=r"latin1.csv:\d+: not valid UTF-8"):
        list(read_records(csv_path))


def test_write_is_atomic(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text("previous content\n")

    def broken() -> Any:
        yield {"instruction": "a", "output": "b"}
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_records(path, broken())
    assert path.read_text() == "previous content\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_parquet_chunks_with_different_columns_and_null_only_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import augment_core.writers as writers

    monkeypatch.setattr(writers, "PARQUET_CHUNK", 2)
    records = [
        {"instruction": "a", "output": "b", "note": None},
        {"instruction": "c", "output": "d"},
        {"instruction": "e", "output": "f", "note": "later a string", "score": 0.5},
        {"instruction": "g", "output": "h", "score": 1.0},
        {"instruction": "i", "output": "j"},
    ]
    path = tmp_path / "chunks.parquet"
    assert write_records(path, records) == 5
    # a null cell reads back as an absent field
    assert _read(path) == [{k: v for k, v in r.items() if v is not None} for r in records]
