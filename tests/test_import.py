"""Importing through the CLI: every bad-input case stops with one line, exit 2, nothing stored."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from augment_core.cli import main as cli_main
from augment_core.store import Store, examples
from augment_core.writers import write_records
from tests.conftest import SAMPLE, SHARED_DATASETS


def _example_count(db_url: str) -> int:
    store = Store(db_url)
    with store.engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(examples)).scalar_one()
    store.close()
    return int(count)


def test_import_sample_and_stats(run_cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run_cli("import", str(SAMPLE), "--name", "sample")
    assert code == 0, err
    assert "imported 24 records into dataset 'sample' (schema alpaca)" in out
    code, out, _ = run_cli("stats", "--json")
    stats = json.loads(out)
    assert stats["examples"] == 24 and stats["schema"] == "alpaca" and stats["candidates"] == 0


def test_import_shared_alpaca_5000(run_cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run_cli("import", str(SHARED_DATASETS / "alpaca_5000.json"))
    assert code == 0, err
    assert "imported 5000 records into dataset 'alpaca_5000'" in out
    store = Store(db_url)
    dataset = store.get_dataset("alpaca_5000")
    assert dataset is not None and dataset.example_count == 5000
    first = next(store.iter_examples(dataset.id, batch_size=3))
    original = json.loads((SHARED_DATASETS / "alpaca_5000.json").read_text())
    assert [e.record for e in first] == original[:3]
    store.close()


def test_several_datasets_and_picking(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("import", str(SAMPLE), "--name", "a")[0] == 0
    assert run_cli("import", str(SAMPLE), "--name", "b")[0] == 0
    code, _, err = run_cli("stats")
    assert code == 2 and "several datasets are stored (a, b); choose one with --dataset" in err
    assert run_cli("stats", "--dataset", "b")[0] == 0
    code, _, err = run_cli("import", str(SAMPLE), "--name", "a")
    assert code == 2 and "already stored" in err


def test_column_mapping(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "qa.csv"
    path.write_text("question,answer,extra\nWhat is 1+1?,2,x\n")
    code, _, err = run_cli("import", str(path))
    assert code == 2 and "cannot detect the schema" in err and "qa.csv:1" in err
    code, out, err = run_cli("import", str(path), "--map", "instruction=question", "--map", "output=answer")
    assert code == 0, err
    code, _, err = run_cli("import", str(path), "--name", "x", "--map", "instruction=nope")
    assert code == 2 and "mapped column 'nope' not found" in err


BAD_INPUTS = {
    "malformed.jsonl": (
        '{"instruction": "a", "output": "b"}\n{"instruction": "c", "output": "d"\n',
        "malformed.jsonl:2: malformed JSON at column",
    ),
    "missing_column.csv": (
        "instruction,input\nDo it,now\n",
        "missing_column.csv:1: missing required column 'output' for the alpaca schema",
    ),
    "not_utf8.jsonl": (
        b'{"instruction": "a", "output": "b"}\n{"instruction": "\xff", "output": "b"}\n',
        "not_utf8.jsonl:2: not valid UTF-8",
    ),
    "empty.jsonl": ("", "empty.jsonl: the file is empty (no records)"),
    "not_strings.jsonl": (
        '{"instruction": "a", "output": "b"}\n{"instruction": "a", "output": 42}\n',
        "not_strings.jsonl:2: field 'output': expected a string, got int",
    ),
    "duplicate_id.jsonl": (
        '{"id": 1, "instruction": "a", "output": "b"}\n{"id": 2, "instruction": "c", "output": "d"}\n'
        '{"id": 1, "instruction": "e", "output": "f"}\n',
        "duplicate_id.jsonl:3: field 'id': duplicate id '1'",
    ),
    "bad_turn.jsonl": (
        '{"messages": [{"role": "user", "content": ["not", "text"]}]}\n',
        "bad_turn.jsonl:1: field 'messages.0.content.0': expected a content part object with a 'type'",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_stops_with_one_line_and_stores_nothing(run_cli, db_url: str, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("import", str(SAMPLE), "--name", "before")[0] == 0
    content, message = BAD_INPUTS[name]
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    code, out, err = run_cli("import", str(path))
    assert code == 2
    assert err.count("\n") == 1 and message in err, err
    assert "Traceback" not in err
    assert _example_count(db_url) == 24  # only the earlier dataset
    assert Store(db_url).dataset_names() == ["before"]


def test_skip_invalid_reports_each_record(run_cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "mixed.jsonl"
    path.write_text(
        '{"id": 1, "instruction": "a", "output": "b"}\n{"id": 2, "instruction": "c", "output": null}\n'
        '{"id": 1, "instruction": "e", "output": "f"}\n{"id": 3, "instruction": "g", "output": "h"}\n'
    )
    code, out, err = run_cli("import", str(path), "--skip-invalid")
    assert code == 0
    assert "imported 2 records" in out and "skipped 2 invalid records" in out
    assert "mixed.jsonl:2: field 'output': missing required field" in err
    assert "mixed.jsonl:3: field 'id': duplicate id '1'" in err
    assert _example_count(db_url) == 2


def test_module_entry_point_and_no_streamlit_import(tmp_path: Path) -> None:
    # every module of the library, including those added later
    code = (
        "import sys, pkgutil, importlib, augment_core\n"
        "for m in pkgutil.walk_packages(augment_core.__path__, 'augment_core.'):\n"
        "    if m.name != 'augment_core.__main__': importlib.import_module(m.name)\n"
        "print('streamlit' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    result = subprocess.run(
        [sys.executable, "-m", "augment_core", "stats", "--db", f"sqlite:///{tmp_path / 'x.db'}"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "no dataset stored yet" in result.stderr


def test_mapping_onto_an_existing_column_is_refused(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "clash.jsonl"
    path.write_text('{"question": "Q?", "instruction": "old", "output": "A"}\n')
    code, _, err = run_cli("import", str(path), "--map", "instruction=question")
    assert code == 2
    assert "clash.jsonl:1: --map instruction=question: the file already has a column 'instruction'" in err
    # mapping the clashing column away too makes it fine, and both are kept
    code, _, err = run_cli("import", str(path), "--map", "instruction=question", "--map", "draft=instruction")
    assert code == 0, err


def test_csv_chat_column_under_another_name_and_text_column_called_messages(
    run_cli, db_url: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    turns = [{"role": "user", "content": "Hi, there"}, {"role": "assistant", "content": "Hello"}]
    chat = tmp_path / "chat.csv"
    write_records(chat, [{"chat": json.dumps(turns), "topic": "greeting"}])
    code, out, err = run_cli("import", str(chat), "--map", "messages=chat")
    assert code == 0, err
    assert "(schema messages)" in out
    store = Store(db_url)
    dataset = store.get_dataset("chat")
    assert dataset is not None
    assert next(store.iter_examples(dataset.id))[0].record == {"messages": turns, "topic": "greeting"}
    store.close()
    # an Alpaca CSV whose free-text column happens to be called "messages" stays text
    alpaca = tmp_path / "notes.csv"
    alpaca.write_text("instruction,output,messages\nSay hi,Hi,[see the ticket] for context\n")
    code, out, err = run_cli("import", str(alpaca), "--format", "alpaca")
    assert code == 0, err


def test_os_and_database_mistakes_are_one_line(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "folder.jsonl"
    folder.mkdir()
    code, _, err = run_cli("import", str(folder))
    assert code == 2 and err == f"error: {folder}: Is a directory\n"
    code = cli_main(["stats", "--db", f"sqlite:///{tmp_path}/no/such/dir/x.db"])
    assert code == 2


def test_skip_invalid_also_skips_lines_that_do_not_parse(run_cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "messy.jsonl"
    path.write_bytes(
        b'{"instruction": "a", "output": "b"}\n{"instruction": "c", "output": }\n[1]\n'
        b'{"instruction": "\xff", "output": "b"}\n{"instruction": "e", "output": "f"}\n'
    )
    code, out, err = run_cli("import", str(path), "--skip-invalid")
    assert code == 0, err
    assert "imported 2 records" in out and "skipped 3 invalid records" in out
    assert "messy.jsonl:2: malformed JSON at column 32" in err
    assert "messy.jsonl:3: expected a JSON object, got an array" in err
    assert "messy.jsonl:4: not valid UTF-8" in err
    rows = tmp_path / "rows.csv"
    rows.write_text('instruction,output\na,b\n"c","d",extra\ne,f\n')
    code, out, err = run_cli("import", str(rows), "--skip-invalid")
    assert code == 0 and "imported 2 records" in out and "rows.csv:3: expected 2 columns, found 3" in err


def test_pretty_json_array_errors_name_the_real_line(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    records = [{"instruction": "a", "output": "b"}, {"instruction": "c", "output": 7}]
    path = tmp_path / "pretty.json"
    path.write_text(json.dumps(records, indent=2))
    code, _, err = run_cli("import", str(path))
    assert code == 2
    assert "pretty.json:6: field 'output': expected a string, got int" in err  # the second record opens on line 6


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"instruction": "  ", "output": "b"}', "field 'instruction': empty"),
        ('{"prompt": "", "completion": "b"}', "field 'prompt': empty"),
        ('{"messages": [{"role": "user", "content": "hi"}]}', "field 'messages': no assistant turn (roles: user)"),
        ('{"conversations": [{"from": "gpt", "value": "hi"}]}', "field 'conversations': no user turn (roles: gpt)"),
    ],
)
def test_records_useless_for_training_are_refused(run_cli, tmp_path: Path, line: str, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "useless.jsonl"
    path.write_text(line + "\n")
    code, _, err = run_cli("import", str(path))
    assert code == 2 and f"useless.jsonl:1: {message}" in err, err


def test_nested_records_get_a_hint(run_cli) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run_cli("import", str(SHARED_DATASETS / "alpaca_seed_tasks.jsonl"))
    assert code == 2
    assert "missing required column 'output'" in err
    assert "'instances' holds a list of objects: flatten it to one record per item first" in err


@pytest.mark.parametrize(
    "url", ["postgresql://alice:SECRETPW@127.0.0.1:1/x", "postgresql+nosuch://alice:SECRETPW@h/x", "mysql://alice:SECRETPW@h/x"]
)
def test_a_database_password_is_never_printed(url: str, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    for args, env in ((["stats", "--db", url], None), (["stats"], url)):
        if env:
            monkeypatch.setenv("AUGMENT_DB", env)
        assert cli_main(args) == 2
        err = capsys.readouterr().err
        assert "SECRETPW" not in err and "alice:***@" in err and err.count("\n") == 1, err
