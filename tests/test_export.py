"""`augment export` end to end on hand-made stores: counts, full records, provenance, formats,
round trips through `augment import`, the studio's bytes, and atomic writes when a write fails."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from augment_core.errors import AugmentError
from augment_core.export import ExportOptions, export_bytes, export_dataset
from augment_core.mixing import MixSettings, save_mix_settings
from augment_core.provenance import PROVENANCE_FIELDS
from augment_core.records import Candidate
from augment_core.store import Store
from tests.conftest import REPO, SAMPLE
from tests.test_mixing import build_dataset, cid


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def dataset_records(db_url: str, name: str) -> list[dict[str, Any]]:
    store = Store(db_url)
    dataset = store.get_dataset(name)
    assert dataset is not None
    records = [e.record for batch in store.iter_examples(dataset.id) for e in batch]
    store.close()
    return records


def test_export_one_to_two_with_report(run_cli, store: Store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    build_dataset(store, 10, {"paraphrase": 3, "backtranslation": 3})
    out = tmp_path / "out.jsonl"
    code, stdout, err = run_cli("export", str(out))
    assert code == 0, err
    assert "exported 30 records to" in stdout
    assert "originals        10\n" in stdout
    assert "augmented        20 (backtranslation 10, paraphrase 10)" in stdout
    assert "refusals         0" in stdout
    assert "ratio reached    1:2.00 (target 1:2; limited by ratio)" in stdout
    assert "augmented share  66.7% (cap 70%)" in stdout
    assert "growth factor    3.00x" in stdout
    assert "candidates       60 eligible, 40 left out" in stdout
    records = read_jsonl(out)
    assert len(records) == 30
    # Each original, then its two chosen rewrites: the instruction replaced, input and output kept.
    for group in range(10):
        original, *copies = records[group * 3 : group * 3 + 3]
        e = group + 1
        assert original == {"id": f"ex-{e}", "instruction": f"Task {e}?", "input": f"in {e}", "output": f"out {e}"}
        for copy in copies:
            assert copy["input"] == f"in {e}" and copy["output"] == f"out {e}"
            assert copy["instruction"].startswith(f"Task {e}, said by ")
            assert copy["id"].startswith(f"ex-{e}~") and "metadata" not in copy
    assert len({r["id"] for r in records}) == 30


def test_stored_settings_and_flags(run_cli, store: Store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    build_dataset(store, 10, {"paraphrase": 3})
    save_mix_settings(store, MixSettings(ratio="1:1"))
    out = tmp_path / "out.jsonl"
    assert run_cli("export", str(out))[0] == 0
    assert len(read_jsonl(out)) == 20
    code, stdout, _ = run_cli("export", str(out), "--ratio", "1:5", "--max-augmented-share", "0.7")
    assert code == 0 and len(read_jsonl(out)) == 10 + 23
    assert "limited by augmented share cap" in stdout
    code, stdout, _ = run_cli("export", str(out), "--no-originals", "--ratio", "1:2")
    records = read_jsonl(out)
    assert code == 0 and len(records) == 20 and all("~" in r["id"] for r in records)
    assert "originals        0 (left out; the mix is computed against the dataset's 10)" in stdout


def test_refusal_cap_and_orphan_refusals_last(run_cli, store: Store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    build_dataset(store, 20, {"paraphrase": 3}, n_refusals=30)
    out = tmp_path / "out.jsonl"
    code, stdout, err = run_cli("export", str(out), "--provenance")
    assert code == 0, err
    records = read_jsonl(out)
    origins = [r["metadata"]["origin"] for r in records]
    # Budget 40 over a set of 60: refusals at most 6, after every original and its rewrites.
    assert origins.count("original") == 20 and origins.count("augmented") == 34 and origins.count("refusal") == 6
    assert origins[-6:] == ["refusal"] * 6
    assert records[-1]["output"] == "I can't help with that." and records[-1]["metadata"]["source_id"] is None
    assert "refusals         6 (cap 10% of the set)" in stdout


def test_provenance_object_in_jsonl(store: Store, tmp_path: Path) -> None:
    dataset_id = build_dataset(store, 3, {"paraphrase": 2})
    edited = cid("hand", 1, "paraphrase", 0)
    store.set_decision(edited, "approved", edited_text="An edited task one?")
    dataset = store.get_dataset("hand")
    assert dataset is not None and dataset.id == dataset_id
    report = export_dataset(store, dataset, ExportOptions(provenance=True), tmp_path / "p.jsonl")
    assert report.records == 9 and report.mix.augmented == 6
    records = read_jsonl(tmp_path / "p.jsonl")
    assert all(list(r["metadata"]) == list(PROVENANCE_FIELDS) for r in records)
    assert records[0]["metadata"]["origin"] == "original" and records[0]["metadata"]["source_id"] == "ex-1"
    by_candidate = {r["metadata"]["candidate_id"]: r for r in records if r["metadata"]["candidate_id"]}
    row = by_candidate[edited]
    assert row["instruction"] == "An edited task one?"
    meta = row["metadata"]
    assert meta["origin"] == "augmented" and meta["source_id"] == "ex-1" and meta["augmenter"] == "paraphrase"
    assert meta["params"] == {"n": 0, "model": "m1"}  # the api_key an augmenter left in is not exported
    assert (meta["model"], meta["provider"], meta["usage"]) == ("m1", "fake", {"input_tokens": 3, "cost": 0.001})
    assert (meta["similarity"], meta["length_ratio"], meta["in_optimal_band"], meta["is_valid"]) == (
        0.85,
        1.0,
        True,
        True,
    )
    assert meta["flags"] == [] and meta["embedding_model"] == "mini"
    assert meta["decision"] == "approved" and meta["edited_text"] == "An edited task one?" and meta["decided_at"]
    assert "sk-never" not in (tmp_path / "p.jsonl").read_text()


def test_provenance_columns_in_csv_and_parquet(store: Store, tmp_path: Path) -> None:
    build_dataset(store, 3, {"paraphrase": 2})
    dataset = store.get_dataset("hand")
    assert dataset is not None
    export_dataset(store, dataset, ExportOptions(provenance=True), tmp_path / "p.parquet")
    table = pq.read_table(tmp_path / "p.parquet")
    assert table.num_rows == 9
    assert [c for c in table.column_names if c.startswith("metadata.")] == [f"metadata.{f}" for f in PROVENANCE_FIELDS]
    rows = table.to_pylist()
    assert rows[1]["metadata.origin"] == "augmented" and rows[1]["metadata.similarity"] == 0.85
    assert json.loads(rows[1]["metadata.params"]) == {"n": 0, "model": "m1"} and rows[0]["metadata.params"] is None
    export_dataset(store, dataset, ExportOptions(provenance=True, format="prompt-completion"), tmp_path / "p.csv")
    with (tmp_path / "p.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[1]["prompt"].startswith("Task 1, said by") and rows[1]["prompt"].endswith("\n\nin 1")
    assert rows[1]["completion"] == "out 1" and rows[1]["metadata.decision"] == "approved"
    assert json.loads(rows[1]["metadata.flags"]) == []


def test_parquet_with_a_nested_metadata_object(run_cli, store: Store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    dataset_id = build_dataset(store, 3, {"paraphrase": 1})
    example = next(store.iter_examples(dataset_id))[0]
    # Params of another type under the same name: one Parquet struct column cannot hold both.
    store.add_candidates(
        [
            Candidate(
                id=cid("t"),
                dataset_id=dataset_id,
                example_id=example.id,
                augmenter="templates",
                target_field="instruction",
                text="t",
                params={"n": "five"},
            )
        ]
    )
    store.set_decision(cid("t"), "approved")
    out = tmp_path / "p.parquet"
    code, _, err = run_cli("export", str(out), "--provenance", "--provenance-style", "object")
    assert code == 1 and err.startswith(f"error: {out}: Parquet cannot hold these records: ")
    assert err.strip().endswith("try --provenance-style columns") and not out.exists() and _no_temp_files(tmp_path)
    code, _, err = run_cli("export", str(out), "--provenance")
    assert code == 0, err
    params = [None if p is None else json.loads(p) for p in pq.read_table(out).column("metadata.params").to_pylist()]
    assert params[0] is None and {"n": "five"} in params and {"n": 0, "model": "m1"} in params


@pytest.mark.parametrize("fmt", ["alpaca", "sharegpt", "messages", "prompt-completion"])
def test_schemas(store: Store, tmp_path: Path, fmt: str) -> None:
    build_dataset(store, 2, {"paraphrase": 1})
    dataset = store.get_dataset("hand")
    assert dataset is not None
    export_dataset(store, dataset, ExportOptions(format=fmt), tmp_path / "s.jsonl")
    records = read_jsonl(tmp_path / "s.jsonl")
    assert len(records) == 4
    copy = records[1]
    if fmt == "alpaca":
        assert copy["instruction"].startswith("Task 1, said by") and copy["input"] == "in 1"
    elif fmt == "prompt-completion":
        assert copy["prompt"].endswith("\n\nin 1") and copy["completion"] == "out 1"
    else:
        turns = copy["messages" if fmt == "messages" else "conversations"]
        role, text = ("role", "content") if fmt == "messages" else ("from", "value")
        assert [t[role] for t in turns] == (["user", "assistant"] if fmt == "messages" else ["human", "gpt"])
        assert turns[0][text].startswith("Task 1, said by") and turns[1][text] == "out 1"


@pytest.mark.parametrize("ext", ["jsonl", "json", "csv", "parquet"])
def test_round_trip_through_import(run_cli, db_url: str, tmp_path: Path, ext: str) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("import", str(SAMPLE), "--name", "sample")[0] == 0
    store = Store(db_url)
    dataset = store.get_dataset("sample")
    assert dataset is not None
    examples = [e for batch in store.iter_examples(dataset.id) for e in batch]
    candidates = [
        Candidate(
            id=cid("rt", e.id, i),
            dataset_id=dataset.id,
            example_id=e.id,
            augmenter="templates",
            target_field="instruction",
            text=f"{e.record['instruction']} (variant {i})",
        )
        for e in examples
        for i in range(3)
    ]
    store.add_candidates(candidates)
    for c in candidates:
        store.set_decision(c.id, "approved")
    store.close()
    out = tmp_path / f"curated.{ext}"
    code, _, err = run_cli("export", str(out), "--dataset", "sample")
    assert code == 0, err
    code, stdout, err = run_cli("import", str(out), "--name", "curated")
    assert code == 0, err
    assert "imported 72 records into dataset 'curated' (schema alpaca)" in stdout
    back = dataset_records(db_url, "curated")
    originals = [e.record for e in examples]
    assert [r for r in back if "~" not in r["id"]] == originals
    variants = [r for r in back if "~" in r["id"]]
    assert len(variants) == 48
    for record in variants:
        source = next(o for o in originals if record["id"].startswith(o["id"] + "~"))
        assert record["instruction"].startswith(source["instruction"] + " (variant ")
        assert (record["input"], record["output"]) == (source["input"], source["output"])


def test_same_schema_gives_back_the_users_columns(run_cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "qa.csv"
    source.write_text("question,answer,extra\nWhat is 1+1?,2,x\nWhat is 2+2?,4,y\n", encoding="utf-8")
    assert run_cli("import", str(source), "--map", "instruction=question", "--map", "output=answer")[0] == 0
    store = Store(db_url)
    dataset = store.get_dataset("qa")
    assert dataset is not None
    example = next(store.iter_examples(dataset.id))[0]
    store.add_candidates(
        [
            Candidate(
                id=cid("qa"),
                dataset_id=dataset.id,
                example_id=example.id,
                augmenter="paraphrase",
                target_field="instruction",
                text="How much is 1+1?",
            )
        ]
    )
    store.set_decision(cid("qa"), "approved")
    store.close()
    out = tmp_path / "qa_out.csv"
    assert run_cli("export", str(out), "--provenance")[0] == 0
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["question"], r["answer"], r["extra"]) for r in rows] == [
        ("What is 1+1?", "2", "x"),
        ("How much is 1+1?", "2", "x"),
        ("What is 2+2?", "4", "y"),
    ]
    assert rows[1]["metadata.source_id"] == "#1"  # records without an id are keyed by their place in the file


def test_studio_bytes_equal_the_cli_file(run_cli, store: Store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    build_dataset(store, 12, {"paraphrase": 2, "templates": 3})
    for seed in ("0", "3"):
        out = tmp_path / f"cli{seed}.jsonl"
        code, _, err = run_cli("export", str(out), "--ratio", "1:1.5", "--provenance", "--seed", seed)
        assert code == 0, err
        dataset = store.get_dataset("hand")
        assert dataset is not None
        options = ExportOptions(ratio="1:1.5", provenance=True, seed=int(seed))
        data, report = export_bytes(store, dataset, options, "jsonl")
        # The same store and options through the same code: byte for byte the same file.
        assert data == out.read_bytes() and report.records == 12 + 18
    assert (tmp_path / "cli0.jsonl").read_bytes() != (tmp_path / "cli3.jsonl").read_bytes()


def test_side_file(run_cli, store: Store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    build_dataset(store, 5, {"paraphrase": 3})
    out = tmp_path / "out.jsonl"
    code, stdout, _ = run_cli("export", str(out), "--report-file", "--status", "valid", "--seed", "9")
    side = tmp_path / "out.jsonl.report.json"
    assert code == 0 and f"report written to {side}" in stdout
    data = json.loads(side.read_text())
    assert data["dataset"] == "hand" and data["options"]["status"] == "valid"
    assert data["settings"] == {"ratio": "1:2", "max_augmented_share": 0.7, "max_refusal_share": 0.1, "seed": 9}
    mix = data["report"]["mix"]
    assert (mix["originals"], mix["augmented"], mix["ratio_reached"], mix["growth_factor"]) == (5, 10, "1:2.00", 3.0)
    assert mix["augmented_by_augmenter"] == {"paraphrase": 10} and data["report"]["records"] == 15
    elsewhere = tmp_path / "reports" / "r.json"
    assert run_cli("export", str(out), "--report-file", str(elsewhere))[0] == 0 and elsewhere.exists()


def test_bad_input_is_one_line(run_cli, store: Store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    build_dataset(store, 2, {"paraphrase": 1})
    for args, message in [
        (["--ratio", "two"], "--ratio 'two': expected ORIGINALS:AUGMENTED, e.g. 1:2"),
        (["--max-augmented-share", "0"], "--max-augmented-share 0.0: expected a number in (0, 1]"),
    ]:
        code, _, err = run_cli("export", str(tmp_path / "x.jsonl"), *args)
        assert code == 2 and err.strip() == f"error: {message}", err
    code, _, err = run_cli("export", str(tmp_path / "x.txt"))
    assert code == 2 and "cannot tell the file type" in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.glob("*x.*"))


def _no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_failure_midway_leaves_the_old_file(run_cli, store: Store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    dataset_id = build_dataset(store, 50, {"paraphrase": 1})
    last = [e for batch in store.iter_examples(dataset_id) for e in batch][-1]
    # A rewrite of a field its original does not have: found only when the writer reaches it.
    store.add_candidates(
        [
            Candidate(
                id=cid("bad"),
                dataset_id=dataset_id,
                example_id=last.id,
                augmenter="odd",
                target_field="conversations.3.value",
                text="x",
            )
        ]
    )
    store.set_decision(cid("bad"), "approved")
    out = tmp_path / "out.jsonl"
    out.write_text("previous export\n")
    code, _, err = run_cli("export", str(out))
    assert code == 1 and f"candidate {cid('bad')} (odd): field 'conversations.3.value' not found" in err
    assert out.read_text() == "previous export\n" and _no_temp_files(tmp_path)
    dataset = store.get_dataset("hand")
    assert dataset is not None
    with pytest.raises(AugmentError):
        export_bytes(store, dataset, ExportOptions(), "parquet")


def test_disk_write_failing_midway_is_atomic(db_url: str, store: Store, tmp_path: Path) -> None:
    """A real write error: the export runs in a process whose file size limit is below the export's size."""
    build_dataset(store, 300, {"paraphrase": 2})
    store.close()  # the WAL is checkpointed, so the child process only reads the database
    out = tmp_path / "out.jsonl"
    out.write_text("previous export\n")
    limit = 100_000
    script = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))\n"
        "from augment_core.cli import main\n"
        f"sys.exit(main(['export', {str(out)!r}, '--provenance', '--db', {db_url!r}]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip() == f"error: {out}: could not write the export: File too large"
    assert out.read_text() == "previous export\n" and _no_temp_files(tmp_path)
    # The same export without the limit succeeds and is larger than the limit.
    code = subprocess.run(
        [sys.executable, "-m", "augment_core", "export", str(out), "--provenance", "--db", db_url],
        capture_output=True,
        env=env,
        timeout=120,
    ).returncode
    assert code == 0 and out.stat().st_size > limit and len(read_jsonl(out)) == 900


def test_chat_turn_rewrite_keeps_the_rest_of_the_conversation(store: Store, tmp_path: Path) -> None:
    chat = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Name a prime."},
            {"role": "assistant", "content": "7"},
        ],
        "source": "hand",
    }
    with store.transaction() as conn:
        dataset_id = store.create_dataset(conn, "chat", "messages", "chat.jsonl", "jsonl", {})
        store.add_examples(conn, dataset_id, [(1, "#1", chat)])
    example = next(store.iter_examples(dataset_id))[0]
    store.add_candidates(
        [
            Candidate(
                id=cid("chat"),
                dataset_id=dataset_id,
                example_id=example.id,
                augmenter="paraphrase",
                target_field="messages.1.content",
                text="Give me one prime number.",
            )
        ]
    )
    store.set_decision(cid("chat"), "approved")
    dataset = store.get_dataset("chat")
    assert dataset is not None
    export_dataset(store, dataset, ExportOptions(), tmp_path / "c.jsonl")
    original, copy = read_jsonl(tmp_path / "c.jsonl")
    # A record without an id gets the key the store knows it by; its copy names it.
    assert original == {"id": "#1", **chat} and copy["id"].startswith("#1~")
    assert copy["messages"][1] == {"role": "user", "content": "Give me one prime number."}
    assert copy["messages"][0] == chat["messages"][0] and copy["messages"][2] == chat["messages"][2]
    assert copy["source"] == "hand"
    export_dataset(store, dataset, ExportOptions(format="alpaca"), tmp_path / "a.jsonl")
    assert read_jsonl(tmp_path / "a.jsonl")[1] == {
        "id": copy["id"],
        "instruction": "Give me one prime number.",
        "input": "",
        "output": "7",
        "source": "hand",
    }


@pytest.mark.parametrize("ext", ["jsonl", "csv"])
def test_provenance_of_a_reexport_keeps_the_earlier_lineage(run_cli, db_url: str, tmp_path: Path, ext: str) -> None:  # type: ignore[no-untyped-def]
    store = Store(db_url)
    build_dataset(store, 2, {"paraphrase": 1})
    store.close()
    first = tmp_path / f"first.{ext}"
    assert run_cli("export", str(first), "--dataset", "hand", "--provenance")[0] == 0
    assert run_cli("import", str(first), "--name", "round2")[0] == 0
    store = Store(db_url)
    dataset = store.get_dataset("round2")
    assert dataset is not None
    by_id = {e.record["id"]: e for batch in store.iter_examples(dataset.id) for e in batch}
    copy = by_id[next(i for i in by_id if i.startswith("ex-1~"))]
    store.add_candidates(
        [
            Candidate(
                id=cid("r2"),
                dataset_id=dataset.id,
                example_id=copy.id,
                augmenter="templates",
                target_field="instruction",
                text="Round two?",
            )
        ]
    )
    store.set_decision(cid("r2"), "approved")
    store.close()
    second = tmp_path / "second.jsonl"
    code, _, err = run_cli("export", str(second), "--dataset", "round2", "--provenance", "--provenance-style", "object")
    assert code == 0, err
    records = read_jsonl(second)
    assert all(not k.startswith("metadata.") for r in records for k in r)
    newest = next(r for r in records if r["metadata"]["candidate_id"] == cid("r2"))
    # This round's lineage on top, the first round's (an augmented copy of ex-1) kept under previous.
    assert newest["metadata"]["augmenter"] == "templates" and newest["metadata"]["source_id"] == copy.key
    previous = newest["metadata"]["previous"]
    assert previous["origin"] == "augmented" and previous["augmenter"] == "paraphrase"
    assert previous["source_id"] == "ex-1" and previous["candidate_id"] == cid("hand", 1, "paraphrase", 0)
    original = next(r for r in records if r["id"] == "ex-2")
    assert original["metadata"]["origin"] == "original" and original["metadata"]["previous"]["origin"] == "original"
    # Columns style: the earlier lineage as one JSON column.
    third = tmp_path / "third.csv"
    assert run_cli("export", str(third), "--dataset", "round2", "--provenance")[0] == 0
    with third.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    row = next(r for r in rows if r["metadata.candidate_id"] == cid("r2"))
    assert row["metadata.augmenter"] == "templates"
    assert json.loads(row["metadata.previous"])["augmenter"] == "paraphrase"


def test_chat_to_single_turn_leaves_out_rewrites_of_later_turns(run_cli, store: Store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    long_chat = {
        "id": "a",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Name a prime."},
            {"role": "assistant", "content": "7"},
            {"role": "user", "content": "Another one?"},
            {"role": "assistant", "content": "11"},
        ],
    }
    short_chat = {
        "id": "b",
        "messages": [{"role": "user", "content": "Say hi."}, {"role": "assistant", "content": "Hi."}],
    }
    with store.transaction() as conn:
        dataset_id = store.create_dataset(conn, "chat", "messages", "chat.jsonl", "jsonl", {})
        store.add_examples(conn, dataset_id, [(1, "a", long_chat), (2, "b", short_chat)])
    long_id, short_id = (e.id for e in next(store.iter_examples(dataset_id)))
    rewrites = [
        (long_id, "messages.1.content", "Give me a prime."),
        (long_id, "messages.3.content", "One more?"),  # a later turn: alpaca cannot hold it
        (long_id, "messages.4.content", "Eleven."),  # a later turn too
        (short_id, "messages.1.content", "Hello."),
    ]
    store.add_candidates(
        [
            Candidate(id=cid("turn", i), dataset_id=dataset_id, example_id=e, augmenter="p", target_field=f, text=t)
            for i, (e, f, t) in enumerate(rewrites)
        ]
    )
    for i in range(len(rewrites)):
        store.set_decision(cid("turn", i), "approved")
    out = tmp_path / "a.jsonl"
    mix = ("--ratio", "1:5", "--max-augmented-share", "1")
    code, stdout, err = run_cli("export", str(out), "--format", "alpaca", *mix)
    assert code == 0, err
    records = read_jsonl(out)
    assert [r["instruction"] for r in records] == ["Name a prime.", "Give me a prime.", "Say hi.", "Say hi."]
    assert [r["output"] for r in records] == ["7", "7", "Hi.", "Hello."]
    assert "augmented        2 (p 2)" in stdout and "candidates       2 eligible, 0 left out" in stdout
    assert (
        "single-turn      2 multi-turn conversations kept only their first exchange "
        "(system prompt and later turns dropped); 2 candidates for later turns left out"
    ) in stdout
    # A chat schema holds every turn: nothing left out, no such line.
    code, stdout, _ = run_cli("export", str(out), "--format", "sharegpt", *mix)
    assert code == 0 and len(read_jsonl(out)) == 6 and "single-turn" not in stdout


def test_refusals_get_an_id_when_the_records_carry_ids(run_cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = Store(db_url)
    build_dataset(store, 20, {"paraphrase": 2}, n_refusals=3)
    build_dataset(store, 20, {"paraphrase": 2}, name="no-ids", n_refusals=3)
    dataset = store.get_dataset("no-ids")
    assert dataset is not None
    with store.transaction() as conn:  # the same records without their ids
        sql = "UPDATE examples SET record = json_remove(record, '$.id') WHERE dataset_id = ?"
        conn.exec_driver_sql(sql, (dataset.id,))
    store.close()
    out = tmp_path / "out.jsonl"
    assert run_cli("export", str(out), "--dataset", "hand")[0] == 0
    records = read_jsonl(out)
    refusal_ids = [r["id"] for r in records if r["output"] == "I can't help with that."]
    assert len(refusal_ids) == 3 and all(i.startswith("refusal~") for i in refusal_ids)
    assert list(records[-1])[0] == "id" and len({r["id"] for r in records}) == len(records) == 60
    code, stdout, err = run_cli("import", str(out), "--name", "again")
    assert code == 0, err
    store = Store(db_url)
    again = store.get_dataset("again")
    assert again is not None and again.example_count == 60
    assert sorted(e.key for batch in store.iter_examples(again.id) for e in batch) == sorted(r["id"] for r in records)
    store.close()
    # Records without ids: each gets the key the store knows it by (here the ids they were imported
    # with; #n for a file without any), its copies <key>~<candidate>, so without --provenance every
    # augmented record still names its original (issue 17 point 7).
    assert run_cli("export", str(out), "--dataset", "no-ids")[0] == 0
    records = read_jsonl(out)
    ids = [r["id"] for r in records]
    assert len(set(ids)) == len(records) == 60
    originals = {r["id"]: r for r in records if "~" not in r["id"]}
    assert sorted(originals) == sorted(f"ex-{i}" for i in range(1, 21))
    copies = [r for r in records if "~" in r["id"] and not r["id"].startswith("refusal~")]
    assert len(copies) == 60 - 20 - 3
    for copy in copies:
        original = originals[copy["id"].split("~")[0]]
        assert copy["output"] == original["output"]
