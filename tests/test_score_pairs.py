"""`augment score-pairs`: pairs from JSONL, CSV and TSV through the CLI, judged by the one accept rule."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sklearn.metrics import roc_auc_score

from augment_core.records import DecisionStatus
from augment_core.review import ReviewFilter
from augment_core.store import Store
from augment_core.writers import write_records

# Real instructions with a rewrite that keeps the meaning (1) or one that changes it (0).
PAIRS = [
    ("Tell me about yourself", "I would appreciate it if you could tell me about yourself.", 1),
    ("Name three primary colours.", "List three primary colours.", 1),
    ("List 3 fruits.", "List 5 fruits.", 0),
    ("What is the capital of France?", "What is the capital of Spain?", 0),
    ("Explain what a Python list comprehension is.", "Describe what a list comprehension in Python is.", 1),
    ("Do not use more than 50 words.", "Use more than 50 words.", 0),
    ("Write a haiku about the sea.", "Compose a haiku about the ocean.", 1),
    ("Summarise the article in one sentence.", "Translate the article into French.", 0),
]


def _datasets() -> Path | None:
    for parent in Path(__file__).resolve().parents:
        if (parent / "shared" / "datasets" / "qqp_calibration.tsv").exists():
            return parent / "shared" / "datasets"
    return None


def _rows(out: str) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_jsonl_csv_and_tsv_give_one_line_per_pair_in_order(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    jsonl = tmp_path / "pairs.jsonl"
    write_records(jsonl, [{"original": a, "candidate": b} for a, b, _ in PAIRS])
    code, out, err = run_cli("score-pairs", str(jsonl))
    assert code == 0, err
    rows = _rows(out)
    assert len(rows) == len(PAIRS)
    assert [r["line"] for r in rows] == list(range(1, len(PAIRS) + 1))
    for row in rows:
        assert {"semantic_similarity", "meaning_preserved", "accepted", "flags", "evidence"} <= row.keys()
        assert 0.0 <= row["meaning_preserved"] <= 1.0
        assert "token_worst" in row["evidence"] and "new_words" in row["evidence"]
    assert rows[2]["flags"] and not rows[2]["accepted"]  # 3 -> 5: a number guard blocks the accept rule
    assert "france" in rows[3]["evidence"]["unmatched_words"]

    # The same pairs as CSV with other column names, written to a file: the same scores.
    table = tmp_path / "pairs.csv"
    with table.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["q1", "q2"])
        writer.writerows([a, b] for a, b, _ in PAIRS)
    target = tmp_path / "out" / "scored.jsonl"
    code, out, err = run_cli("score-pairs", str(table), "--columns", "q1,q2", "--output", str(target))
    assert code == 0, err
    assert f"scored {len(PAIRS)} pairs to {target}" in out
    from_csv = _rows(target.read_text(encoding="utf-8"))
    key = ("semantic_similarity", "meaning_preserved", "accepted", "flags")
    assert [[r[k] for k in key] for r in from_csv] == [[r[k] for k in key] for r in rows]

    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("original\tcandidate\n" + "".join(f"{a}\t{b}\n" for a, b, _ in PAIRS), encoding="utf-8")
    code, out, _ = run_cli("score-pairs", str(tsv))
    assert code == 0 and [r["accepted"] for r in _rows(out)] == [r["accepted"] for r in rows]


def test_accepted_is_what_review_approve_valid_approves(run_cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """One accept rule: score-pairs says accepted exactly where `augment review --approve-valid` approves."""
    source = tmp_path / "originals.jsonl"
    originals = [{"id": str(i), "instruction": a, "input": "", "output": "x"} for i, (a, _, _) in enumerate(PAIRS)]
    write_records(source, originals)
    assert run_cli("import", str(source))[0] == 0
    theirs = tmp_path / "theirs.jsonl"
    write_records(theirs, [{"source_id": str(i), "text": b} for i, (_, b, _) in enumerate(PAIRS)])
    assert run_cli("import-candidates", str(theirs))[0] == 0
    assert run_cli("score", "--quiet")[0] == 0
    assert run_cli("review", "--approve-valid")[0] == 0
    store = Store(db_url)
    dataset = store.get_dataset("originals")
    assert dataset is not None
    page = store.review_page(dataset.id, ReviewFilter(status=DecisionStatus.APPROVED), limit=100)
    approved = {r.candidate.text for r in page}
    store.close()
    pairs = tmp_path / "pairs.jsonl"
    write_records(pairs, [{"original": a, "candidate": b} for a, b, _ in PAIRS])
    rows = _rows(run_cli("score-pairs", str(pairs))[1])
    assert {b for (_, b, _), r in zip(PAIRS, rows, strict=True) if r["accepted"]} == approved
    assert approved  # the rule accepts some and turns away others on these pairs
    assert len(approved) < len(PAIRS)

    # The store's window is the rule's: narrowed so nothing fits, nothing is accepted.
    assert run_cli("settings", "quality.valid_window", "[0.99, 0.995]")[0] == 0
    assert not any(r["accepted"] for r in _rows(run_cli("score-pairs", str(pairs))[1]))


def test_label_prints_roc_auc_and_precision_recall(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = _datasets()
    if folder is None:
        pytest.skip("../shared/datasets is not here")
    with (folder / "qqp_calibration.tsv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))[1:61]
    tsv = tmp_path / "qqp.tsv"
    with tsv.open("w", newline="", encoding="utf-8") as fh:  # real question pairs, in the file's own layout
        writer = csv.writer(fh, delimiter="\t")
        writer.writerow(["question1", "question2", "is_duplicate"])
        writer.writerows([r[3], r[4], r[5]] for r in rows)
    target = tmp_path / "scored.jsonl"
    code, out, err = run_cli("score-pairs", str(tsv), "--columns", "question1,question2", "--label", "is_duplicate",
                             "--output", str(target))  # fmt: skip
    assert code == 0, err
    scored = _rows(target.read_text(encoding="utf-8"))
    labels = [int(r[5]) for r in rows]
    assert [r["label"] for r in scored] == labels
    auc = roc_auc_score(labels, [r["meaning_preserved"] for r in scored])
    hits = sum(r["accepted"] and r["label"] for r in scored)
    accepted = sum(r["accepted"] for r in scored)
    assert f"60 labelled pairs ({sum(labels)} same meaning): ROC-AUC {auc:.3f}" in out
    assert f"precision {hits / accepted:.3f}, recall {hits / sum(labels):.3f}" in out
    assert auc > 0.7  # the judge ranks real question pairs far better than chance


def test_bad_input_is_one_line_with_file_and_line(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"original": "a", "candidate": "b"}\n{"original": "c"}\n', encoding="utf-8")
    target = tmp_path / "out.jsonl"
    code, out, err = run_cli("score-pairs", str(bad), "--output", str(target))
    assert code == 2 and err == f"error: {bad}:2: column 'candidate' missing\n"
    assert not target.exists() and out == ""

    labelled = tmp_path / "labelled.csv"
    labelled.write_text("original,candidate,same\na,b,1.0\nc,d,maybe\n", encoding="utf-8")
    code, _, err = run_cli("score-pairs", str(labelled), "--label", "same")
    assert code == 2 and err == f"error: {labelled}:3: column 'same': expected 0/1 or true/false, got 'maybe'\n"

    broken = tmp_path / "broken.tsv"
    broken.write_text("original\tcandidate\na\tb\nonly one cell\n", encoding="utf-8")
    code, _, err = run_cli("score-pairs", str(broken))
    assert code == 2 and err == f"error: {broken}:3: expected 2 columns, found 1\n"

    code, _, err = run_cli("score-pairs", str(bad), "--columns", "justone")
    assert code == 2 and "--columns 'justone'" in err
