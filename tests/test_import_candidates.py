"""`augment import-candidates`: candidates made elsewhere attached to their originals, then scored,
reviewed and exported like the studio's own; rows that match nothing reported one line each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from augment_core.importer import import_file
from augment_core.review import ReviewFilter
from augment_core.store import Store
from augment_core.writers import write_records
from tests.conftest import SAMPLE
from tests.test_pages import MakeApp, make_app  # noqa: F401  # the page fixture

ORIGINALS = [
    {"id": "a", "instruction": "Explain what a Python list comprehension is.", "input": "", "output": "A loop."},
    {"id": "b", "instruction": "Name three primary colours.", "input": "", "output": "Red, blue and yellow."},
]  # fmt: skip
ROWS: list[dict[str, Any]] = [
    {"source_id": "a", "text": "Describe what a list comprehension in Python is.", "augmenter": "distilabel",
     "metadata": {"model": "other-llm", "temperature": 0.7}},
    {"original": "Name three primary colours.", "text": "List three primary colours."},
    {"source_id": "zzz", "text": "Orphan."},
    {"original": "Nothing has this text.", "text": "Orphan too."},
    {"source_id": "b", "text": ""},
    {"source_id": "b", "text": "Which are the three primary colours?", "metadata": "not an object"},
    {"source_id": "b", "text": "Give three primary colours.", "target_field": "messages.0.content"},
    {"source_id": "b", "text": "The primary colours are red, blue and yellow.", "target_field": "output"},
]  # fmt: skip


def _setup(run_cli, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    source = tmp_path / "originals.jsonl"
    write_records(source, ORIGINALS)
    assert run_cli("import", str(source))[0] == 0
    rows = tmp_path / "theirs.jsonl"
    write_records(rows, ROWS)
    return rows


def test_rows_attach_to_their_originals_and_the_others_are_reported(run_cli, tmp_path: Path, db_url: str) -> None:  # type: ignore[no-untyped-def]
    rows = _setup(run_cli, tmp_path)
    code, out, err = run_cli("import-candidates", str(rows))
    assert code == 0, err
    assert err.splitlines() == [
        f"{rows}:3: field 'source_id': no example 'zzz' in dataset 'originals'",
        f"{rows}:4: field 'original': no field of any example in dataset 'originals' has this text",
        f"{rows}:5: field 'text': missing or empty: the candidate's text",
        f"{rows}:6: field 'metadata': expected an object, got str",
        f"{rows}:7: field 'target_field': 'messages.0.content' is no field of example 'b'",
    ]
    assert out.splitlines()[0] == (
        "attached 3 candidates to dataset 'originals' (8 rows, 3 matched, 0 already stored, 5 not attached)"
    )
    # Importing the same file again adds nothing.
    code, out, _ = run_cli("import-candidates", str(rows))
    assert code == 0 and "attached 0 candidates" in out and "3 already stored" in out

    code, out, err = run_cli("score")
    assert code == 0, err
    store = Store(db_url)
    dataset = store.get_dataset("originals")
    assert dataset is not None
    page = store.review_page(dataset.id, ReviewFilter())
    assert len(page) == 3
    assert {row.candidate.augmenter for row in page} == {"distilabel", "imported"}
    assert all(row.score is not None and 0 < row.score.semantic_similarity <= 1 for row in page)
    fields = {row.candidate.text: row.candidate.target_field for row in page}
    assert fields["List three primary colours."] == "instruction"
    assert fields["The primary colours are red, blue and yellow."] == "output"
    store.close()

    out_path = tmp_path / "out.jsonl"
    code, _, err = run_cli("export", str(out_path), "--status", "all", "--ratio", "1:10", "--max-augmented-share", "1",
                           "--provenance")  # fmt: skip
    assert code == 0, err
    written = [json.loads(line) for line in out_path.read_text(encoding="utf-8").splitlines()]
    theirs = next(r for r in written if r["metadata"]["augmenter"] == "distilabel")
    assert theirs["instruction"] == "Describe what a list comprehension in Python is."
    assert theirs["output"] == "A loop." and theirs["metadata"]["source_id"] == "a"
    assert theirs["metadata"]["params"] == {"model": "other-llm", "temperature": 0.7}
    assert theirs["metadata"]["similarity"] is not None


def test_nothing_matched_exits_2_and_stores_nothing(run_cli, tmp_path: Path, db_url: str) -> None:  # type: ignore[no-untyped-def]
    _setup(run_cli, tmp_path)
    rows = tmp_path / "bad.jsonl"
    write_records(rows, [{"source_id": "zzz", "text": "x"}, {"text": "y"}])
    code, out, err = run_cli("import-candidates", str(rows))
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"{rows}:1: field 'source_id': no example 'zzz' in dataset 'originals'",
        f"{rows}:2: field 'source_id': missing: give source_id or original",
        f"error: {rows}: no row matched an original in dataset 'originals'",
    ]
    store = Store(db_url)
    dataset = store.get_dataset("originals")
    assert dataset is not None and store.count_review(dataset.id, ReviewFilter()) == 0
    store.close()


def test_an_unreadable_file_is_one_line_and_stores_nothing(run_cli, tmp_path: Path, db_url: str) -> None:  # type: ignore[no-untyped-def]
    _setup(run_cli, tmp_path)
    rows = tmp_path / "broken.jsonl"
    rows.write_text('{"source_id": "a", "text": "ok"}\n{"source_id": \n', encoding="utf-8")
    code, _, err = run_cli("import-candidates", str(rows))
    assert code == 2 and err.startswith(f"error: {rows}:2: malformed JSON") and len(err.splitlines()) == 1
    store = Store(db_url)
    dataset = store.get_dataset("originals")
    assert dataset is not None and store.count_review(dataset.id, ReviewFilter()) == 0
    store.close()


def test_the_augment_page_attaches_scores_and_reports(make_app: MakeApp, store: Store) -> None:  # noqa: F811
    import_file(store, SAMPLE, name="sample")
    first = json.loads(SAMPLE.read_text(encoding="utf-8").splitlines()[0])
    rows = [{"original": first["instruction"], "text": "Tell me: " + first["instruction"]},
            {"source_id": "nope", "text": "x"}]  # fmt: skip
    body = "".join(json.dumps(r) + "\n" for r in rows).encode()
    at = make_app("views/augment.py", dataset="sample")
    at.file_uploader(key="aug_foreign_file").set_value(("theirs.jsonl", body, "application/jsonl")).run()
    next(b for b in at.button if b.label == "Attach and score").click().run()
    assert not at.exception, at.exception
    assert "attached 1 candidates to dataset 'sample'" in at.success[0].value
    assert at.error[0].value.startswith("**theirs\\.jsonl**, line 2, field `source_id`: no example")
    dataset = store.get_dataset("sample")
    assert dataset is not None
    page = store.review_page(dataset.id, ReviewFilter())
    assert len(page) == 1 and page[0].score is not None
