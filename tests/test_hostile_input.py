"""Input a user or a server can send that used to end in a traceback or an unbounded cost:
each is one line naming the place, exit 2, and nothing stored (issue 16 points 3 and 4)."""

from __future__ import annotations

import asyncio
import datetime
import decimal
import json
from pathlib import Path
from typing import Any

import pytest

from augment_core.cli import main as cli_main
from augment_core.errors import ProviderError
from augment_core.llm.base import Request
from augment_core.store import Store
from tests.test_augmenters_llm import client

CASES: dict[str, tuple[str, str]] = {
    # name: (file content, the message's end)
    "deep": ('{"instruction": ' + "[" * 100_000 + "]" * 100_000 + ', "output": "x"}\n',
             "deep.jsonl:1: JSON nested too deeply to read (hundreds of levels)"),
    "bigint": ('{"instruction": "a", "output": "x", "n": ' + "9" * 5000 + "}\n",
               "bigint.jsonl:1: a number too long to read"),
    "surrogate": ('{"instruction": "a \\ud800 b", "output": "x"}\n',
                  "surrogate.jsonl:1: field 'instruction': contains a lone surrogate (U+D800)"),
    "nul": ('{"instruction": "a", "output": "x\\u0000y"}\n', "nul.jsonl:1: field 'output': contains a NUL character"),
    "nan": ('{"instruction": "a", "output": "x", "meta": {"score": NaN}}\n',
            "nan.jsonl:1: field 'meta.score': nan is not a JSON number"),
    "huge": (json.dumps({"instruction": "word " * 50_000, "output": "x"}) + "\n",
             "huge.jsonl:1: field 'instruction': 250,000 characters, over the limit of 200,000"),
    "longid": (json.dumps({"id": "i" * 201, "instruction": "a", "output": "x"}) + "\n",
               "longid.jsonl:1: field 'id': an id of 201 characters; at most 200"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_jsonl_is_one_line_and_stores_nothing(
    name: str, tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    content, message = CASES[name]
    path = tmp_path / f"{name}.jsonl"
    path.write_text(content)
    assert cli_main(["import", str(path), "--db", db_url]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and message in err, err
    store = Store(db_url)
    assert store.dataset_names() == []
    store.close()


def test_a_long_dataset_name_is_refused(tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ok.jsonl"
    path.write_text('{"instruction": "a", "output": "x"}\n')
    assert cli_main(["import", str(path), "--name", "n" * 201, "--db", db_url]) == 2
    assert "a dataset name of 201 characters; at most 200" in capsys.readouterr().err


def test_parquet_times_and_decimals_become_text_and_binary_is_named(
    tmp_path: Path, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from augment_core.importer import import_file

    columns: dict[str, Any] = {
        "instruction": ["a", "b"],
        "output": ["x", "y"],
        "ts": pa.array([datetime.datetime(2020, 1, 1, 12, 30), None]),
        "day": pa.array([datetime.date(2021, 5, 6), datetime.date(2021, 5, 7)]),
        "price": pa.array([decimal.Decimal("1.50"), decimal.Decimal("2.25")]),
    }
    pq.write_table(pa.table(columns), tmp_path / "types.parquet")
    import_file(store, tmp_path / "types.parquet")
    dataset = store.get_dataset("types")
    assert dataset is not None
    records = [e.record for e in next(store.iter_examples(dataset.id))]
    assert records[0] == {"instruction": "a", "output": "x", "ts": "2020-01-01 12:30:00.000000", "day": "2021-05-06",
                          "price": "1.50"}  # fmt: skip
    assert "ts" not in records[1]  # a null cell is an absent field, as before

    pq.write_table(pa.table({**columns, "blob": pa.array([b"\x00", b"\xff"])}), tmp_path / "blob.parquet")
    assert cli_main(["import", str(tmp_path / "blob.parquet"), "--db", store.url]) == 2
    assert "blob.parquet: column 'blob' holds binary data" in capsys.readouterr().err

    (tmp_path / "broken.parquet").write_bytes(b"PAR1" + b"\x00garbage" * 100)
    assert cli_main(["import", str(tmp_path / "broken.parquet"), "--db", store.url]) == 2
    assert "broken.parquet: not a readable Parquet file" in capsys.readouterr().err


def test_a_reply_far_over_max_tokens_is_refused_and_not_cached(store: Store) -> None:
    store.set_setting("llm.max_reply_chars", 1000)
    llm, provider = client(lambda r: "x" * 5000, store)
    with pytest.raises(ProviderError, match="a reply of 5,000 characters, over the limit of 1,000"):
        asyncio.run(llm.complete(Request(prompt="Paraphrase: hi", max_tokens=20)))
    with pytest.raises(ProviderError):  # not cached: asked again, refused again
        asyncio.run(llm.complete(Request(prompt="Paraphrase: hi", max_tokens=20)))
    assert len(provider.requests) == 2


def test_a_nul_in_a_reply_fails_that_candidate_only(store: Store, tmp_path: Path) -> None:
    from augment_core.augmenters import build
    from augment_core.importer import import_file
    from augment_core.pipeline import Pipeline

    path = tmp_path / "two.jsonl"
    path.write_text('{"instruction": "Say hi.", "output": "hi"}\n{"instruction": "Say bye.", "output": "bye"}\n')
    import_file(store, path, name="two")
    dataset = store.get_dataset("two")
    assert dataset is not None
    replies = {"Say hi.": '["Greet me\\u0000 now."]', "Say bye.": '["Wave goodbye."]'}
    llm, _ = client(lambda r: replies[r.prompt.rsplit("\n", 1)[-1]], store)
    paraphrase = build("paraphrase", {"n": 1}, llm=llm, store=store)
    report = Pipeline(store, dataset, [paraphrase], llm=llm).run()
    assert report.added == 2 and report.failed == 1
    assert store.failure_reasons(dataset.id) == [("the new text contains a NUL character (\\u0000)", 1)]


def test_the_length_limit_is_for_text_not_an_inline_image(tmp_path: Path, store: Store) -> None:
    from augment_core.importer import import_file

    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 300_000}}
    record = {"messages": [{"role": "user", "content": [{"type": "text", "text": "What is this?"}, image]},
                           {"role": "assistant", "content": "A cat."}]}  # fmt: skip
    path = tmp_path / "image.jsonl"
    path.write_text(json.dumps(record) + "\n")
    assert import_file(store, path).imported == 1
