"""The files an export leaves (issue 16 point 7, issue 17 point 7): a killed export's temporary file
is removed by the next one, files get the umask's mode, a bad --report-file fails before the old
export is replaced, CSV cells a spreadsheet would run are reported (and prefixed with --csv-safe),
and every exported record carries an id naming its original."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from augment_core.records import Candidate
from augment_core.store import Store
from tests.conftest import REPO
from tests.test_export import read_jsonl
from tests.test_mixing import build_dataset
from tests.test_pages import MakeApp, shown
from tests.test_pages import make_app as make_app  # a fixture

ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def _temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".tmp", ".old")))


def test_a_killed_export_leaves_a_temp_file_that_the_next_export_removes(
    run_cli, store: Store, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    build_dataset(store, 20, {"paraphrase": 1})
    out = tmp_path / "out.jsonl"
    out.write_text("previous export\n")
    # A real kill -9 midway: the writer's records stop with the process killing itself.
    script = (
        "import os, signal\n"
        "from augment_core.writers import write_records\n"
        "def records():\n"
        "    yield {'instruction': 'x' * 100_000}\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        f"write_records({str(out)!r}, records())\n"
    )
    killed = subprocess.run([sys.executable, "-c", script], env=ENV, capture_output=True, timeout=120)
    assert killed.returncode == -9
    (left,) = _temp_files(tmp_path)
    assert left.startswith(".out.jsonl.") and out.read_text() == "previous export\n"
    # Names like ours that are not ours, or a write in progress (this live process), are left alone.
    mine = tmp_path / f".out.jsonl.{os.getpid()}-0badcafe.tmp"
    notes = tmp_path / ".out.jsonl.notes.tmp"
    mine.write_text("in progress")
    notes.write_text("someone's notes")
    code, _, err = run_cli("export", str(out))
    assert code == 0, err
    assert _temp_files(tmp_path) == sorted([mine.name, notes.name])
    assert len(read_jsonl(out)) == 40


def _export_with_umask(db_url: str, out: Path, umask: int, *extra: str) -> None:
    script = (
        "import os, sys\n"
        f"os.umask({umask})\n"
        "from augment_core.cli import main\n"
        f"sys.exit(main(['export', {str(out)!r}, '--db', {db_url!r}, *{list(extra)!r}]))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], env=ENV, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_exported_files_get_the_mode_the_umask_gives(db_url: str, store: Store, tmp_path: Path) -> None:
    build_dataset(store, 5, {"paraphrase": 1})
    store.close()
    for umask, mode in ((0o022, 0o644), (0o077, 0o600), (0o002, 0o664)):
        out = tmp_path / f"u{umask:o}.jsonl"
        _export_with_umask(db_url, out, umask, "--report-file", "--trainer", "llama-factory")
        for written in (out, tmp_path / f"u{umask:o}.jsonl.report.json", tmp_path / "dataset_info.json"):
            assert written.stat().st_mode & 0o777 == mode, (written, oct(written.stat().st_mode))
    folder = tmp_path / "hf-out"
    _export_with_umask(db_url, folder, 0o022, "--file-type", "hf")
    assert folder.stat().st_mode & 0o777 == 0o755
    assert all(p.stat().st_mode & 0o777 == 0o644 for p in folder.iterdir())


def test_a_bad_report_file_fails_before_the_export_replaces_the_old_file(
    run_cli, store: Store, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    build_dataset(store, 5, {"paraphrase": 1})
    out = tmp_path / "out.jsonl"
    out.write_text("previous export\n")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    folder = tmp_path / "a-folder"
    folder.mkdir()
    cases = [
        (str(blocker / "report.json"),
         f"error: --report-file {blocker / 'report.json'}: cannot be written: a-file is a file, not a folder"),
        (str(folder), f"error: {folder}: is a folder; give a file name"),
        (str(out), f"error: --report-file {out}: the same path as the export"),
    ]  # fmt: skip
    for report_file, message in cases:
        code, stdout, err = run_cli("export", str(out), "--report-file", report_file)
        assert (code, err, stdout) == (2, message + "\n", ""), err
        assert out.read_text() == "previous export\n" and _temp_files(tmp_path) == []
    # The export's own path: refused the same way.
    code, _, err = run_cli("export", str(blocker / "out.jsonl"))
    assert code == 2 and err == f"error: {blocker / 'out.jsonl'}: cannot be written: a-file is a file, not a folder\n"


FORMULAS = ["=SUM(A1:A9)", "+1 then more", "-rf is a flag", "@here is a mention"]


def _formula_dataset(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "cells.jsonl"
    rows = [{"instruction": text, "input": "", "output": "fine", "n": -5} for text in FORMULAS]
    rows.append({"instruction": "plain text", "input": "a = b", "output": "ok", "n": 1})
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert run_cli("import", str(source))[0] == 0


def _cells(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [row["instruction"] for row in csv.DictReader(handle)]


def test_csv_cells_a_spreadsheet_would_run_are_kept_and_reported_once(
    run_cli, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    _formula_dataset(run_cli, tmp_path)
    out = tmp_path / "out.csv"
    code, stdout, err = run_cli("export", str(out), "--report-file")
    assert code == 0, err
    warnings = [line for line in stdout.splitlines() if line.startswith("warning")]
    assert warnings == [
        "warning          4 cells start with = + - or @, which a spreadsheet may run as formulas; kept as they are "
        "(training data); --csv-safe prefixes them with '"
    ]
    assert _cells(out) == [*FORMULAS, "plain text"]  # the text kept exactly; the number -5 is no formula
    report = json.loads((tmp_path / "out.csv.report.json").read_text())["report"]
    assert report["formula_cells"] == 4 and report["csv_safe"] is False
    code, stdout, err = run_cli("export", str(out), "--csv-safe")
    assert code == 0, err
    assert "csv-safe         4 cells starting with = + - @ prefixed with '" in stdout and "warning" not in stdout
    assert _cells(out) == [*(f"'{text}" for text in FORMULAS), "plain text"]
    # Other file types hold text, not formulas: no warning.
    code, stdout, _ = run_cli("export", str(tmp_path / "out.jsonl"))
    assert code == 0 and "formula" not in stdout and "csv-safe" not in stdout


def test_the_studio_export_warns_of_formula_cells_and_its_csv_option_prefixes_them(
    run_cli, make_app: MakeApp, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    _formula_dataset(run_cli, tmp_path)
    at = make_app("views/export.py", dataset="cells")
    at.selectbox(key="ex_file_type").set_value("csv").run()
    at.button(key="ex_prepare").click().run()
    assert not at.exception
    assert [shown(w.value) for w in at.warning] == [
        "4 cells start with = + - or @: a spreadsheet may run them as formulas. They are kept as they are; "
        "tick the CSV option above to prefix them with '."
    ]
    _, data, _ = at.session_state["export_prepared"]
    out = tmp_path / "studio.csv"
    out.write_bytes(data)
    assert _cells(out) == [*FORMULAS, "plain text"]
    at.checkbox(key="ex_csv_safe").check().run()
    at.button(key="ex_prepare").click().run()
    assert not at.warning
    _, data, _ = at.session_state["export_prepared"]
    out.write_bytes(data)
    assert _cells(out) == [*(f"'{text}" for text in FORMULAS), "plain text"]
    assert any("--csv-safe" in c.value for c in at.caption)  # the same file from the command line
    code, _, _ = run_cli("export", str(tmp_path / "cli.csv"), "--csv-safe")
    assert code == 0 and (tmp_path / "cli.csv").read_bytes() == data


def test_records_of_a_file_without_ids_are_exported_with_ids_linking_copies_to_originals(
    run_cli, db_url: str, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    source = tmp_path / "plain.jsonl"
    rows = [{"instruction": f"Task {i}?", "input": "", "output": f"Answer {i}."} for i in range(1, 4)]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert run_cli("import", str(source))[0] == 0
    store = Store(db_url)
    dataset = store.get_dataset("plain")
    assert dataset is not None
    examples = [e for batch in store.iter_examples(dataset.id) for e in batch]
    store.add_candidates([
        Candidate(id=f"c{e.position}{k}" + "0" * 20, dataset_id=dataset.id, example_id=e.id, augmenter="paraphrase",
                  target_field="instruction", text=f"Please do task {e.position}, take {k}.")
        for e in examples for k in range(2)
    ])  # fmt: skip
    for e in examples:
        for k in range(2):
            store.set_decision(f"c{e.position}{k}" + "0" * 20, "approved")
    store.close()
    out = tmp_path / "out.jsonl"
    code, _, err = run_cli("export", str(out), "--ratio", "1:2")  # no --provenance
    assert code == 0, err
    records = read_jsonl(out)
    expected = [[f"#{n}", f"#{n}~c{n}0{'0' * 13}", f"#{n}~c{n}1{'0' * 13}"] for n in (1, 2, 3)]
    assert [r["id"] for r in records] == [i for ids in expected for i in ids]
    assert records[0] == {"id": "#1", **rows[0]}
    # The file imports again, every record keyed by its id.
    code, _, err = run_cli("import", str(out), "--name", "again")
    assert code == 0, err
    store = Store(db_url)
    again = store.get_dataset("again")
    assert again is not None
    assert [e.key for batch in store.iter_examples(again.id) for e in batch] == [r["id"] for r in records]
    store.close()


def test_jsonl_and_json_records_keep_their_values_including_what_the_fast_encoder_refuses(tmp_path: Path) -> None:
    """The files are written with orjson; an integer over 64 bits or a non-string key falls back to
    the standard encoder, and non-ASCII text stays as written (not as ``\\u`` escapes)."""
    from augment_core.writers import write_records

    records = [
        {"instruction": "Übersetze: naïve café ☕", "output": "ok", "n": 2**70, "f": 0.1},
        {"instruction": "plain", "output": "x", "nested": {"a": [1, None, True]}},
    ]
    jsonl, array = tmp_path / "out.jsonl", tmp_path / "out.json"
    assert write_records(jsonl, records) == 2
    assert write_records(array, records) == 2
    assert [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()] == records
    assert json.loads(array.read_text(encoding="utf-8")) == records
    assert "Übersetze: naïve café ☕" in jsonl.read_text(encoding="utf-8")
    write_records(array, [])
    assert json.loads(array.read_text(encoding="utf-8")) == []
