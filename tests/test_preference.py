"""Preference data (TRL paired and KTO, ShareGPT ranking): detected, validated, augmented on the
prompt side, exported with both answers intact, and converted only where nothing is made up."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from augment_core.augmenters.outputs import OutputVariations
from augment_core.formats import FILE_TYPES, detect_schema
from augment_core.readers import read_records
from augment_core.record_checks import validate_record
from augment_core.records import (
    Candidate,
    RecordError,
    convert_record,
    instruction_fields,
    output_fields,
)
from augment_core.store import Store
from augment_core.writers import write_records
from tests.test_pages import MakeApp, make_app  # noqa: F401  # the page fixture

TRL = [
    {"prompt": "Name a primary colour, please.", "chosen": "Blue.", "rejected": "Purple.", "id": "t1"},
    {"prompt": "What is two plus two?", "chosen": "Four.", "rejected": "Five.", "id": "t2"},
]
TRL_CHAT = [
    {
        "prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a planet, please."}],
        "chosen": [{"role": "assistant", "content": "Mars."}],
        "rejected": [{"role": "assistant", "content": "The Moon."}],
    }
]
KTO = [
    {"prompt": "Name a primary colour, please.", "completion": "Blue.", "label": True},
    {"prompt": "Name a primary colour, please.", "completion": "Purple.", "label": False},
]
RANKING = [
    {
        "conversations": [{"from": "human", "value": "Explain what a list comprehension is, please."}],
        "chosen": {"from": "gpt", "value": "A compact way to build a list from an iterable."},
        "rejected": {"from": "gpt", "value": "A kind of loop in C."},
        "id": "r1",
    }
]
SHAPES = {"preference": TRL, "kto": KTO, "sharegpt-ranking": RANKING}


@pytest.mark.parametrize(("schema", "records"), [*SHAPES.items(), ("preference", TRL_CHAT)])
@pytest.mark.parametrize("file_type", FILE_TYPES)
def test_round_trip_and_detection(tmp_path: Path, schema: str, records: list[dict[str, Any]], file_type: str) -> None:
    path = tmp_path / f"data.{file_type}"
    write_records(path, records)
    back = [r for _, r in read_records(path)]
    assert back == records
    assert detect_schema(back[0]) == schema
    for record in back:
        validate_record(record, schema)
    write_records(path, back)
    assert [r for _, r in read_records(path)] == records


def test_a_label_column_that_is_not_true_or_false_stays_prompt_completion() -> None:
    assert detect_schema({"prompt": "p", "completion": "c", "label": "spam"}) == "prompt-completion"
    assert detect_schema({"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}]}) == (
        "sharegpt"
    )


def test_augmenters_see_the_prompt_and_outputs_only_the_chosen_answer() -> None:
    assert instruction_fields(TRL[0], "preference") == ["prompt"]
    assert instruction_fields(TRL_CHAT[0], "preference") == ["prompt.1.content"]
    assert instruction_fields(RANKING[0], "sharegpt-ranking") == ["conversations.0.value"]
    outputs = OutputVariations(llm=None)  # type: ignore[arg-type]  # fields() needs no backend
    assert outputs.fields(TRL[0], "preference") == ["chosen"]
    assert outputs.fields(TRL_CHAT[0], "preference") == ["chosen.0.content"]
    assert outputs.fields(RANKING[0], "sharegpt-ranking") == ["chosen.value"]
    assert output_fields(KTO[0], "kto") == ["completion"]
    assert output_fields(KTO[1], "kto") == []  # an undesirable completion is never rewritten


@pytest.mark.parametrize(
    ("record", "schema", "field", "problem"),
    [
        ({"prompt": "p", "chosen": "a", "rejected": 3}, "preference", "rejected", "got int"),
        ({"prompt": "p", "chosen": "a", "rejected": [{"role": "assistant", "content": "b"}]}, "preference",
         "rejected", "both be strings"),
        ({"prompt": " ", "chosen": "a", "rejected": "b"}, "preference", "prompt", "empty"),
        ({"prompt": "p", "completion": "c", "label": "yes"}, "kto", "label", "expected true or false"),
        ({"conversations": [{"from": "human", "value": "q"}], "chosen": "a", "rejected": {"from": "gpt", "value": "b"}},
         "sharegpt-ranking", "chosen", "expected a turn object"),
        ({"conversations": [{"from": "gpt", "value": "q"}], "chosen": {"from": "gpt", "value": "a"},
          "rejected": {"from": "gpt", "value": "b"}}, "sharegpt-ranking", "conversations", "no user turn"),
    ],
)  # fmt: skip
def test_bad_records_name_the_field(record: dict[str, Any], schema: str, field: str, problem: str) -> None:
    with pytest.raises(RecordError) as info:
        validate_record(record, schema)
    assert info.value.field == field and problem in info.value.problem


def test_conversion_between_paired_schemas_and_to_sft() -> None:
    ranking = convert_record(TRL[0], "preference", "sharegpt-ranking")
    assert ranking == {
        "conversations": [{"from": "human", "value": "Name a primary colour, please."}],
        "chosen": {"from": "gpt", "value": "Blue."},
        "rejected": {"from": "gpt", "value": "Purple."},
        "id": "t1",
    }
    validate_record(ranking, "sharegpt-ranking")
    trl = convert_record(RANKING[0], "sharegpt-ranking", "preference")
    validate_record(trl, "preference")
    assert trl["rejected"] == [{"role": "assistant", "content": "A kind of loop in C."}]
    assert convert_record(TRL[0], "preference", "alpaca") == {
        "instruction": "Name a primary colour, please.", "input": "", "output": "Blue.", "id": "t1"
    }  # fmt: skip
    for source, target in (("alpaca", "preference"), ("kto", "alpaca"), ("preference", "kto")):
        with pytest.raises(RecordError, match="cannot convert"):
            convert_record({}, source, target)


def test_the_llama_factory_ranking_file_imports(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "dpo_en_demo.json"
    source.write_text(json.dumps(RANKING), encoding="utf-8")
    code, out, err = run_cli("import", str(source))
    assert code == 0, err
    assert "sharegpt-ranking" in out


def _export(run_cli, tmp_path: Path, *args: str) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    out = tmp_path / "out.jsonl"
    code, _, err = run_cli("export", str(out), "--status", "all", "--ratio", "1:100", "--max-augmented-share", "1",
                           "--provenance", *args)  # fmt: skip
    assert code == 0, err
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize(("schema", "records"), [*SHAPES.items(), ("preference", TRL_CHAT)])
def test_augment_and_export_keep_both_answers(  # type: ignore[no-untyped-def]
    run_cli, db_url: str, tmp_path: Path, schema: str, records: list[dict[str, Any]]
) -> None:
    source = tmp_path / "pref.jsonl"
    write_records(source, records)
    assert run_cli("import", str(source))[0] == 0
    code, _, err = run_cli("run", "--augmenters", "templates", "--n", "2")
    assert code == 0, err
    # A rewrite of the chosen answer, as an outputs run would make, for the other side.
    store = Store(db_url)
    dataset = store.get_dataset("pref")
    assert dataset is not None
    example = next(store.iter_examples(dataset.id))[0]
    answers = output_fields(example.record, schema)
    if answers:
        better = Candidate(id="c" * 64, dataset_id=dataset.id, example_id=example.id, augmenter="outputs",
                           target_field=answers[0], text="A better answer.")  # fmt: skip
        store.add_candidates([better])
    store.close()
    written = _export(run_cli, tmp_path)
    by_origin: dict[str, list[dict[str, Any]]] = {}
    for record in written:
        by_origin.setdefault(record["metadata"]["origin"], []).append(record)
    originals = [{k: v for k, v in r.items() if k != "metadata"} for r in by_origin["original"]]
    # A record without an id of its own is exported with the store's key for it (#n).
    assert originals == [r if "id" in r else {"id": f"#{n}", **r} for n, r in enumerate(records, start=1)]
    augmented = by_origin["augmented"]
    assert len(augmented) >= len(records)
    sides = {r["metadata"]["side"] for r in augmented}
    assert sides == ({"prompt", answers[0].split(".")[0]} if answers else {"prompt"})
    for record in augmented:
        validate_record({k: v for k, v in record.items() if k != "metadata"}, schema)
        if record["metadata"]["side"] == "prompt":
            # A paraphrased prompt keeps both its answers (or its completion and label) as they were.
            assert any(_answers(r) == _answers(record) for r in records), record
            assert all(_prompt(r) != _prompt(record) for r in records)
        else:
            assert "A better answer." in json.dumps(record)
            assert _prompt(record) == _prompt(records[0])
            assert record.get("rejected") == records[0].get("rejected")  # never touched


def _prompt(record: dict[str, Any]) -> str:
    return json.dumps(record.get("prompt", record.get("conversations")))


def _answers(record: dict[str, Any]) -> str:
    keys = ("chosen", "rejected", "completion", "label")
    return json.dumps({k: record[k] for k in keys if k in record}, sort_keys=True)


def test_export_to_a_schema_that_would_make_up_answers_is_refused(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "pref.jsonl"
    write_records(source, copy.deepcopy(KTO))
    assert run_cli("import", str(source))[0] == 0
    code, _, err = run_cli("export", str(tmp_path / "out.jsonl"), "--format", "alpaca")
    assert code == 2 and err.startswith("error: --format alpaca: kto records cannot be written as alpaca")


@pytest.mark.parametrize(
    ("body", "line"),
    [
        ('{"prompt": "p", "chosen": "a", "rejected": "b"}\n{"prompt": "p", "chosen": "a", "rejected": 3}\n',
         "bad.jsonl:2: field 'rejected': expected a string or a non-empty list of messages, got int"),
        ('{"prompt": "p", "completion": "c", "label": true}\n{"prompt": "p", "completion": "c", "label": "no"}\n',
         "bad.jsonl:2: field 'label': expected true or false, got str"),
        ('{"conversations": [{"from": "human", "value": "q"}], "chosen": {"from": "gpt"}, '
         '"rejected": {"from": "gpt", "value": "b"}}\n',
         "bad.jsonl:1: field 'chosen.value': expected a string"),
        ('{"prompt": [{"role": "user", "content": [{"type": "text"}]}], "chosen": "a", "rejected": "b"}\n',
         "bad.jsonl:1: field 'prompt.0.content.0': a text part needs a string 'text' (or 'value')"),
    ],
)  # fmt: skip
def test_import_errors_are_one_line_and_store_nothing(  # type: ignore[no-untyped-def]
    run_cli, tmp_path: Path, db_url: str, body: str, line: str
) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text(body, encoding="utf-8")
    code, out, err = run_cli("import", str(source))
    assert code == 2 and out == ""
    assert err == f"error: {tmp_path / line}\n"
    store = Store(db_url)
    assert store.dataset_names() == []
    store.close()


def test_review_shows_the_prompt_and_both_answers(make_app: MakeApp, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    source = tmp_path / "pref.jsonl"
    write_records(source, RANKING)
    assert run_cli("import", str(source))[0] == 0
    assert run_cli("run", "--augmenters", "templates", "--n", "1")[0] == 0
    at = make_app("views/review.py", dataset="pref")
    text = next(e for e in at.expander if e.label == "Conversation").text[0].value
    assert text == (
        "user: Explain what a list comprehension is, please.\n\n"
        "assistant: A compact way to build a list from an iterable.\n\nrejected: A kind of loop in C."
    )
