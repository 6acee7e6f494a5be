"""The Upload page under AppTest: hostile files are one line naming the file (never a traceback, never
the server's temp path), the count before import, chats as chat bubbles, skip-invalid with the list
of what it skipped, and a malformed line pointed at its real column (issue 16 point 4, issue 17 point 9)."""

from __future__ import annotations

import datetime
import decimal
import io
import json
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from augment_core.store import Store
from tests.test_pages import MakeApp, shown
from tests.test_pages import make_app as make_app  # a fixture


def _parquet(columns: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table(columns), buffer)
    return buffer.getvalue()


BASE = {"instruction": ["a", "b"], "output": ["x", "y"]}
HOSTILE: dict[str, tuple[str, bytes, str]] = {
    # name: (file name, bytes, the one line shown)
    "deep": ("deep.jsonl", ('{"instruction": ' + "[" * 100_000 + "]" * 100_000 + ', "output": "x"}\n').encode(),
             "**deep.jsonl**, line 1: JSON nested too deeply to read (hundreds of levels)"),
    "bigint": ("big.jsonl", ('{"instruction": "a", "output": "x", "n": ' + "9" * 5000 + "}\n").encode(),
               "**big.jsonl**, line 1: a number too long to read"),
    "corrupt": ("broken.parquet", b"PAR1" + b"\x00garbage" * 100, "**broken.parquet**: not a readable Parquet file"),
    "binary": ("blob.parquet", _parquet({**BASE, "blob": pa.array([b"\x00", b"\xff"])}),
               "**blob.parquet**: column 'blob' holds binary data"),
}  # fmt: skip


def _upload(at: Any, name: str, body: bytes) -> None:
    at.file_uploader[0].set_value((name, body, "application/octet-stream")).run()


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_file_is_one_line_naming_it_and_stores_nothing(make_app: MakeApp, store: Store, case: str) -> None:
    name, body, message = HOSTILE[case]
    at = make_app()
    _upload(at, name, body)
    assert not at.exception, at.exception
    errors = [shown(e.value) for e in at.error]
    assert len(errors) == 1 and errors[0].startswith(shown(message)), errors
    assert "\n" not in errors[0] and "augment-upload-" not in errors[0] and "Traceback" not in errors[0]
    assert not any(b.label == "Import" for b in at.button)
    assert store.dataset_names() == []


def test_a_lone_surrogate_previews_and_its_import_is_one_line(make_app: MakeApp, store: Store) -> None:
    body = b'{"instruction": "fine", "output": "x"}\n{"instruction": "a \\ud800 b", "output": "x"}\n'
    at = make_app()
    _upload(at, "lone.jsonl", body)
    assert not at.exception, at.exception
    next(b for b in at.button if b.label == "Import").click().run()
    assert not at.exception, at.exception
    errors = [shown(e.value) for e in at.error]
    assert errors == ["**lone.jsonl**, line 2, field `instruction`: contains a lone surrogate (U+D800), "
                      "which is not valid Unicode text"]
    assert store.dataset_names() == []


def test_parquet_times_and_decimals_preview_and_import_as_text(make_app: MakeApp, store: Store) -> None:
    body = _parquet({**BASE, "ts": pa.array([datetime.datetime(2020, 1, 1, 12, 30), None]),
                     "price": pa.array([decimal.Decimal("1.50"), decimal.Decimal("2.25")])})  # fmt: skip
    at = make_app()
    _upload(at, "types.parquet", body)
    assert not at.exception and not at.error
    next(b for b in at.button if b.label == "Import").click().run()
    assert not at.exception and not at.error
    dataset = store.get_dataset("types")
    assert dataset is not None and dataset.example_count == 2
    first = next(store.iter_examples(dataset.id))[0].record
    assert first["price"] == "1.50" and first["ts"] == "2020-01-01 12:30:00.000000"


def test_the_preview_counts_the_file_and_skip_invalid_lists_what_it_left_out(
    make_app: MakeApp, store: Store
) -> None:
    rows = [json.dumps({"instruction": f"task {i}", "output": f"answer {i}"}) for i in range(30)]
    rows[24] = json.dumps({"instruction": "task 24"})  # line 25 lacks its output
    rows[27] = '{"instruction": "task 27", "output": "answer 27"'  # line 28 ends too early
    body = ("\n".join(rows) + "\n").encode()
    at = make_app()
    _upload(at, "mixed.jsonl", body)
    assert not at.exception and not at.error
    assert any(h.value == "Preview (first 20 of 30 records)" for h in at.subheader)
    assert any(m.value == "The file holds **30** records." for m in at.markdown)
    at.checkbox(key="upload_skip_invalid").check().run()
    next(b for b in at.button if b.label == "Import").click().run()
    assert not at.exception and not at.error
    assert "Imported 28 records from mixed.jsonl into 'mixed' (alpaca)" in shown(at.success[0].value)
    assert shown(at.warning[0].value) == "Skipped 2 invalid records (not stored):"
    listed = list(at.dataframe[0].value["skipped"])
    assert listed == [
        "mixed.jsonl:25: field 'output': missing required field",
        f"mixed.jsonl:28: malformed JSON at column {len(rows[27]) + 1}: Expecting ',' delimiter",  # just past its end
    ]
    dataset = store.get_dataset("mixed")
    assert dataset is not None and dataset.example_count == 28


def test_without_skip_invalid_a_line_ending_too_early_is_pointed_at_its_end(make_app: MakeApp, store: Store) -> None:
    body = b'{"instruction": "a", "output": "b"}\n{"instruction": "c", "output": "d"\n'
    at = make_app()
    _upload(at, "short.jsonl", body)
    end = len('{"instruction": "c", "output": "d"') + 1  # just past the line's last character, not column 1
    message = f"**short.jsonl**, line 2: malformed JSON at column {end}: Expecting ',' delimiter"
    assert shown(at.error[0].value) == message
    assert store.dataset_names() == []


def test_chats_preview_as_chat_bubbles_not_python_reprs(make_app: MakeApp, store: Store) -> None:
    chats = [{"messages": [{"role": "system", "content": "Be brief."},
                           {"role": "user", "content": f"Hi **{i}**"},
                           {"role": "assistant", "content": f"Hello {i}."}]} for i in range(5)]  # fmt: skip
    body = "".join(json.dumps(c) + "\n" for c in chats).encode()
    at = make_app()
    _upload(at, "chat.jsonl", body)
    assert not at.exception and not at.error
    bubbles = at.chat_message
    assert [b.name for b in bubbles] == ["system", "user", "assistant"] * 3
    assert shown(bubbles[1].markdown[0].value) == "Hi **0**"  # escaped: shown literally, not bold
    cells = list(at.dataframe[0].value["messages"])
    assert cells[0].startswith('[{"role": "system", "content": "Be brief."}') and "{'role'" not in cells[0]
