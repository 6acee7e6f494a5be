"""The CLI's own surface: settings, failure reasons in stats, argument checks, plurals, pipes."""

from __future__ import annotations

import json
from pathlib import Path

from augment_core.records import Candidate
from augment_core.store import Store
from tests.conftest import SAMPLE


def test_settings_list_set_check_and_unset(run_cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run_cli("settings")
    assert code == 0 and "quality.valid_window" in out and "mix.ratio" in out and "llm.prices" in out
    assert run_cli("settings", "quality.valid_window", "[0.6, 0.97]")[1] == "quality.valid_window = [0.6, 0.97]\n"
    code, _, err = run_cli("settings", "quality.valid_window", "[0.9, 0.5]")
    assert code == 2 and "setting quality.valid_window = [0.9, 0.5]" in err
    assert Store(db_url).get_setting("quality.valid_window") == [0.6, 0.97]  # the bad value was not kept
    code, _, err = run_cli("settings", "llm.prices", '{"my-model": {"input": "cheap"}}')
    assert code == 2 and "price of 'my-model'" in err
    assert Store(db_url).get_setting("llm.prices") is None
    assert run_cli("settings", "mix.ratio", "1:3")[1] == 'mix.ratio = "1:3"\n'
    assert run_cli("settings", "mix.ratio", "--unset")[1] == "mix.ratio = (default)\n"
    code, _, err = run_cli("settings", "nope")
    assert code == 2 and "unknown setting 'nope'" in err


def test_stats_lists_why_candidates_failed_and_counts_read_well(run_cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run_cli("import", str(SAMPLE), "--name", "s")
    assert out.startswith("imported 24 records")
    store = Store(db_url)
    dataset = store.get_dataset("s")
    assert dataset is not None
    example = next(store.iter_examples(dataset.id))[0]
    store.add_candidates(
        [
            Candidate(
                id=f"f{i}",
                dataset_id=dataset.id,
                example_id=example.id,
                augmenter="paraphrase",
                target_field="instruction",
                text="",
                status="failed",
                error="reply is not a JSON array" if i < 2 else "timed out after 60 s",
            )
            for i in range(3)
        ]
    )
    store.close()
    code, out, _ = run_cli("stats")
    assert "failed x2      reply is not a JSON array" in out and "failed x1      timed out after 60 s" in out
    assert json.loads(run_cli("stats", "--json")[1])["decisions"]["pending"] == 0  # failed ones are not pending


def test_counts_and_limits_must_be_positive(run_cli) -> None:  # type: ignore[no-untyped-def]
    import pytest

    for flag in ("--concurrency", "--rpm", "--batch-size", "--limit"):
        with pytest.raises(SystemExit) as info:
            run_cli("run", "--augmenters", "templates", flag, "0")
        assert info.value.code == 2


def test_one_record_is_singular_and_dataset_names_the_import(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "one.jsonl"
    path.write_text('{"instruction": "a", "output": "b"}\n')
    assert (
        run_cli("import", str(path), "--dataset", "mine")[1]
        == "imported 1 record into dataset 'mine' (schema alpaca)\n"
    )


def test_import_with_explicit_file_type(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "export"
    path.write_text("instruction,output\na,b\n")
    code, out, err = run_cli("import", str(path), "--file-type", "csv")
    assert code == 0, err


def items(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "d.jsonl"
    records = [{"instruction": f"Describe item {i}.", "output": "ok"} for i in range(count)]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_run_limit_previews_n_records_and_the_full_run_skips_them(run_cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run_cli("import", str(items(tmp_path, 10)))
    code, out, err = run_cli("run", "--augmenters", "templates", "--n", "2", "--limit", "3")
    assert code == 0, err
    assert "(preview of 3 examples, the first of 10, LLM: " in out
    assert "  templates        3 items, 0 calls" in out and "6 candidates stored, 0 of them failed" in out
    assert "candidates of the 3 previewed examples (a run without --limit skips them):" in out
    shown = out.split("skips them):\n", 1)[1].splitlines()
    assert len(shown) == 12 and shown[0] == "  templates        Describe item 0."
    assert shown[1].startswith(" " * 19 + "-> ")
    store = Store(db_url)
    dataset = store.get_dataset()
    assert dataset is not None and store.dataset_counts(dataset.id).candidates == 6
    store.close()
    code, out, _ = run_cli("run", "--augmenters", "templates", "--n", "2")
    assert code == 0 and "14 candidates stored, 0 of them failed, 3 items already done" in out
    assert "previewed" not in out


def test_run_limit_takes_a_seeded_random_sample(run_cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from augment_core.runs import select_examples

    run_cli("import", str(items(tmp_path, 40)))
    code, out, _ = run_cli("run", "--augmenters", "templates", "--n", "1", "--limit", "4", "--sample", "random",
                           "--sample-seed", "3", "--dry-run")  # fmt: skip
    assert code == 0 and "(preview of 4 examples, at random (seed 3) of 40, LLM: " in out and "ran in" not in out
    code, out, _ = run_cli("run", "--augmenters", "templates", "--n", "1", "--limit", "4", "--sample", "random",
                           "--sample-seed", "3")  # fmt: skip
    assert code == 0 and "4 candidates stored" in out
    store = Store(db_url)
    dataset = store.get_dataset()
    assert dataset is not None
    expected = {e.record["instruction"] for e in select_examples(store, dataset, 4, "random", 3)}
    store.close()
    lines = out.split("skips them):\n", 1)[1].splitlines()
    assert {line.split(maxsplit=1)[1] for line in lines[::2]} == expected


def test_registries_are_read_only_by_the_commands_that_use_them(tmp_path: Path) -> None:
    """`augment import` does not load the augmenters or the LLM layer; `run --help` still lists them."""
    import subprocess
    import sys

    db = f"sqlite:///{tmp_path / 'r.db'}"
    code = (
        "import sys\n"
        "from augment_core.cli import main\n"
        f"assert main(['import', {str(SAMPLE)!r}, '--db', {db!r}]) == 0\n"
        "print(sorted(m for m in sys.modules if m.startswith(('augment_core.llm', 'augment_core.augmenters'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "[]"
    shown = subprocess.run([sys.executable, "-m", "augment_core", "run", "--help"], capture_output=True, text=True)
    help_text = " ".join(shown.stdout.split())
    assert "from: templates, backtranslation" in help_text and "one of anthropic, openai, local" in help_text
    refused = subprocess.run([sys.executable, "-m", "augment_core", "run", "--db", db, "--augmenters", "refusal",
                              "--refusal-writer", "pen"], capture_output=True, text=True)  # fmt: skip
    assert refused.returncode == 2 and "invalid choice: 'pen' (choose from 'llm', 'table')" in refused.stderr
