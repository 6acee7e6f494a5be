"""Every studio page under streamlit.testing.v1.AppTest: loads, and its main interactions hit the real store."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import plotly.io
import pytest
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest, app_test

from augment_core import embedding_backend
from augment_core.cli import main as cli_main
from augment_core.importer import import_file
from augment_core.records import Candidate, Flag, Score
from augment_core.store import Store
from tests.conftest import REPO, SAMPLE, replace_flags

APP = str(REPO / "app.py")
PAGES = ["views/upload.py", "views/augment.py", "views/review.py", "views/insights.py", "views/export.py"]
HOSTILE = '<script>alert("x")</script> and <img src=x onerror="alert(1)">'

MakeApp = Callable[..., AppTest]


def shown(markdown: str) -> str:
    """What a reader sees of Markdown whose data was escaped (backslash before punctuation removed)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


class _NavigationOnly(PagesManager):
    """AppTest resets the v1 "pages/ directory" flag before every run, so from the second run on an
    app that keeps its pages in pages/ would run a page without app.py (no sidebar). A real server
    keeps the False that st.navigation sets; this subclass lets AppTest reset only its own copy."""


@pytest.fixture
def make_app(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakeApp]:
    """An AppTest of app.py on the temp database, optionally on a page with a dataset picked."""
    # app.py would put the embedding model of this whole pytest process in a child process; the
    # pages are tested on the in-process model as before (a child's start on a busy machine can
    # outlast AppTest's 60 s), the child under the real studio in test_browser_model_crash.py.
    monkeypatch.setattr(embedding_backend, "use_backend", lambda kind: None)
    monkeypatch.setattr(app_test, "PagesManager", _NavigationOnly)
    monkeypatch.setattr(PagesManager, "uses_pages_directory", False)
    monkeypatch.setenv("AUGMENT_DB", db_url)
    for variable in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(variable, raising=False)

    def make(page: str | None = None, dataset: str | None = None) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=60)
        if dataset is not None:
            at.session_state["dataset"] = dataset
        at.run()
        if page is not None:
            at.switch_page(page).run()
        assert not at.exception, at.exception
        return at

    yield make
    import streamlit as st

    from studio.common import _open_store

    _open_store.clear()
    st.cache_data.clear()  # the pages' cached figures belong to this test's database


def seed(store: Store, name: str = "sample", per_example: int = 2, hostile: bool = False) -> list[str]:
    """The sample dataset with ``per_example`` scored template candidates per example; returns their ids."""
    import_file(store, SAMPLE, name=name)
    dataset = store.get_dataset(name)
    assert dataset is not None
    examples = [e for batch in store.iter_examples(dataset.id) for e in batch]
    candidates, scores = [], []
    for e in examples:
        for k in range(per_example):
            cid = f"{name}-{e.position:03d}-{k}"
            text = f"Please, {e.record['instruction'].lower()}" + (f" {HOSTILE}" if hostile else "")
            augmenter = "templates" if k % 2 == 0 else "paraphrase"
            candidates.append(
                Candidate(
                    id=cid,
                    dataset_id=dataset.id,
                    example_id=e.id,
                    augmenter=augmenter,
                    target_field="instruction",
                    text=text,
                )
            )
            similarity = 0.60 + (e.position % 8) * 0.05  # 0.60 .. 0.95: outside, window and band
            scores.append(
                Score(
                    candidate_id=cid,
                    semantic_similarity=similarity,
                    is_valid=0.70 < similarity < 0.98,
                    in_optimal_band=0.75 <= similarity <= 0.95,
                    length_ratio=1.2,
                    unique_words=1,
                    flags=[Flag("number", "3", "changed to 4")] if e.position % 5 == 0 else [],
                    meaning_preserved=0.9,
                )
            )
    store.add_candidates(candidates)
    store.save_scores(scores)
    return [c.id for c in candidates]


def histogram_spec(at: AppTest) -> dict[str, Any]:
    """The Insights histogram's Vega-Lite spec (the page's one Vega-Lite chart)."""
    charts = at.get("vega_lite_chart")
    assert len(charts) == 1
    spec: dict[str, Any] = json.loads(charts[0].proto.spec)
    return spec


def shaded(spec: dict[str, Any]) -> list[tuple[float, float]]:
    """The (from, to) of each shaded span of a Vega-Lite spec (the valid window, the optimal band)."""
    rects = [layer for layer in spec["layer"] if layer["mark"]["type"] == "rect"]
    return [(layer["encoding"]["x"]["datum"], layer["encoding"]["x2"]["datum"]) for layer in rects]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_loads_on_an_empty_store(make_app: MakeApp, page: str) -> None:
    at = make_app(page)
    assert at.title[0].value
    if page != "views/upload.py":
        assert "No dataset yet" in at.info[0].value


@pytest.mark.parametrize("page", PAGES)
def test_every_page_loads_with_candidates(make_app: MakeApp, store: Store, page: str) -> None:
    seed(store)
    at = make_app(page, dataset="sample")
    assert not at.error


def test_sidebar_picks_the_dataset_and_counts_it(make_app: MakeApp, store: Store) -> None:
    seed(store)
    import_file(store, SAMPLE, name="second")
    at = make_app()
    picker = at.sidebar.selectbox(key="dataset")
    assert picker.options == ["sample", "second"]
    picker.set_value("second").run()
    assert "24 examples · 0 candidates" in at.sidebar.caption[0].value


def test_load_sample_button_imports_and_selects_it(make_app: MakeApp, store: Store) -> None:
    at = make_app()
    at.button[0].click().run()
    assert "Loaded the sample dataset: 24 records (alpaca)" in shown(at.success[0].value)
    assert at.sidebar.selectbox(key="dataset").value == "sample"
    dataset = store.get_dataset("sample")
    assert dataset is not None and dataset.example_count == 24
    at.button[0].click().run()  # a second click selects, never imports twice
    assert "already stored" in shown(at.success[0].value)
    assert store.dataset_names() == ["sample"]


def test_upload_maps_columns_previews_and_imports(make_app: MakeApp, store: Store) -> None:
    rows = [{"question": f"What is {i} + {i}?", "answer": str(2 * i), "topic": "maths"} for i in range(30)]
    body = "".join(json.dumps(r) + "\n" for r in rows).encode()
    at = make_app()
    at.file_uploader[0].set_value(("quiz.jsonl", body, "application/jsonl")).run()
    assert "cannot detect the schema" in at.warning[0].value
    assert at.dataframe[0].value.shape == (20, 3)  # the preview: first 20 records, every column
    at.selectbox(key="upload_schema").set_value("alpaca").run()
    mapping = {s.label: s for s in at.selectbox if s.label.endswith("comes from")}
    mapping["`instruction` comes from"].set_value("question")
    mapping["`output` comes from"].set_value("answer").run()
    assert any("Detected schema: **alpaca**" in m.value for m in at.markdown)
    assert list(at.dataframe[0].value.columns) == ["instruction", "output", "topic"]
    at.text_input[0].set_value("quiz").run()
    import_button = next(b for b in at.button if b.label == "Import")
    import_button.click().run()
    assert not at.exception
    assert "Imported 30 records from quiz.jsonl into 'quiz' (alpaca)" in shown(at.success[0].value)
    dataset = store.get_dataset("quiz")
    assert dataset is not None and dataset.example_count == 30
    assert dataset.mapping == {"instruction": "question", "output": "answer"}
    first = next(store.iter_examples(dataset.id))[0]
    assert first.record == {"instruction": "What is 0 + 0?", "output": "0", "topic": "maths"}
    assert at.sidebar.selectbox(key="dataset").value == "quiz"


def test_upload_of_unparseable_file_names_file_and_line(make_app: MakeApp, store: Store) -> None:
    body = b'{"instruction": "a", "output": "b"}\n{"instruction": "c", "output": "d"}\n{"instruction": oops}\n'
    at = make_app()
    at.file_uploader[0].set_value(("broken.jsonl", body, "application/jsonl")).run()
    message = shown(at.error[0].value)
    assert "**broken.jsonl**, line 3" in message and "malformed JSON" in message
    assert not any(b.label == "Import" for b in at.button)
    assert store.dataset_names() == []


def test_upload_with_a_bad_record_past_the_preview_stores_nothing(make_app: MakeApp, store: Store) -> None:
    rows = [{"instruction": f"task {i}", "output": f"answer {i}"} for i in range(30)]
    rows[26] = {"instruction": "task 26"}  # line 27 lacks its output
    body = "".join(json.dumps(r) + "\n" for r in rows).encode()
    at = make_app()
    at.file_uploader[0].set_value(("late.jsonl", body, "application/jsonl")).run()
    assert not at.error  # the first 20 records preview fine
    next(b for b in at.button if b.label == "Import").click().run()
    message = shown(at.error[0].value)
    assert "**late.jsonl**, line 27, field `output`: missing required field" in message
    assert any("Nothing was stored" in c.value for c in at.caption)
    assert store.dataset_names() == []


def _card_html(at: AppTest) -> tuple[str, str]:
    original, candidate = (h.value for h in at.html[:2])
    return original, candidate


def test_review_shows_candidate_beside_original_with_changes_highlighted(make_app: MakeApp, store: Store) -> None:
    seed(store)
    at = make_app("views/review.py", dataset="sample")
    assert "Candidate 1 of 48" in at.markdown[0].value
    original, candidate = _card_html(at)
    assert ">Explain</span> what a <span class=\"aug-minor\"" in original  # case only: not struck through
    assert "<mark>Please,</mark> <span class=\"aug-minor\"" in candidate and "<del>" not in original
    badges = at.markdown[1].value
    assert "similarity **0.650**" in badges and ":red-badge[outside window]" in badges
    assert "length ratio **1.20**" in badges and "new words **1**" in badges


def test_review_escapes_html_and_script_in_dataset_text(make_app: MakeApp, store: Store) -> None:
    seed(store, hostile=True)
    at = make_app("views/review.py", dataset="sample")
    _, candidate = _card_html(at)
    assert "<script" not in candidate and "<img" not in candidate
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in candidate
    assert "&lt;img" in candidate and "onerror=&quot;alert(1)&quot;&gt;" in candidate


def test_approve_and_reject_are_stored_at_once_and_advance(make_app: MakeApp, store: Store) -> None:
    ids = seed(store)
    at = make_app("views/review.py", dataset="sample")
    at.button(key="rv_approve").click().run()
    assert store.get_decision(ids[0]).status == "approved"  # type: ignore[union-attr]
    # The pending list lost one; the next candidate slid into place.
    assert "Candidate 1 of 47" in at.markdown[0].value
    at.button(key="rv_reject").click().run()
    assert store.get_decision(ids[1]).status == "rejected"  # type: ignore[union-attr]
    # A fresh session (a reload, another tab) sees both decisions.
    again = make_app("views/review.py", dataset="sample")
    again.selectbox(key="rv_status").set_value("all").run()
    assert ":green-badge[approved]" in again.markdown[0].value
    assert "1 approved · 1 rejected" in again.sidebar.caption[0].value


def test_next_previous_and_back_to_pending(make_app: MakeApp, store: Store) -> None:
    ids = seed(store)
    at = make_app("views/review.py", dataset="sample")
    at.selectbox(key="rv_status").set_value("all").run()
    at.button(key="rv_next").click().run()
    assert "Candidate 2 of 48" in at.markdown[0].value
    at.button(key="rv_approve").click().run()  # with "all" shown, approving moves on
    assert "Candidate 3 of 48" in at.markdown[0].value
    at.button(key="rv_prev").click().run()
    assert ":green-badge[approved]" in at.markdown[0].value
    at.button(key="rv_reset").click().run()
    assert store.get_decision(ids[1]) is None


def test_edit_then_approve_stores_the_edited_text(make_app: MakeApp, store: Store) -> None:
    ids = seed(store)
    at = make_app("views/review.py", dataset="sample")
    at.text_area(key=f"rv_edit_{ids[0]}").set_value("Describe a Python list comprehension.").run()
    at.button(key="rv_edit_approve").click().run()
    decision = store.get_decision(ids[0])
    assert decision is not None and decision.status == "approved"
    assert decision.edited_text == "Describe a Python list comprehension."


def test_an_emptied_edit_is_refused_and_the_export_keeps_working(
    make_app: MakeApp, store: Store, tmp_path: Path
) -> None:
    ids = seed(store)
    at = make_app("views/review.py", dataset="sample")
    at.text_area(key=f"rv_edit_{ids[0]}").set_value("   ").run()
    at.button(key="rv_edit_approve").click().run()
    assert not at.exception
    assert store.get_decision(ids[0]) is None  # nothing stored
    assert any("the edited text is empty" in e.value for e in at.error)
    assert "Candidate 1 of" in at.markdown[0].value  # still on the same card
    store.set_decision(ids[0], "approved")
    assert cli_main(["export", str(tmp_path / "out.jsonl"), "--db", store.url, "--status", "approved"]) == 0


def test_filters_and_pages_are_done_in_sql(make_app: MakeApp, store: Store) -> None:
    seed(store)
    at = make_app("views/review.py", dataset="sample")
    at.multiselect(key="rv_augmenters").set_value(["paraphrase"]).run()
    assert "Candidate 1 of 24" in at.markdown[0].value and "`paraphrase`" in at.markdown[0].value
    at.slider(key="rv_similarity").set_value((0.80, 0.90)).run()
    # positions 1..24: similarity 0.60 + (p % 8) * 0.05 in [0.80, 0.90] for p % 8 in {4, 5, 6}
    assert "of 9**" in at.markdown[0].value
    at.selectbox(key="rv_flag").set_value("flagged").run()
    assert "of 2**" in at.markdown[0].value  # positions 5 and 20
    at.selectbox(key="rv_flag").set_value("all")
    at.slider(key="rv_similarity").set_value((0.0, 1.0))
    at.multiselect(key="rv_augmenters").set_value([])
    at.selectbox(key="rv_sort").set_value("similarity, high first").run()
    assert "similarity **0.950**" in at.markdown[1].value
    for _ in range(20):
        at.button(key="rv_next").click().run()
    assert "Candidate 21 of 48" in at.markdown[0].value and any("Page 2 of 3" in c.value for c in at.caption)
    assert at.dataframe[0].value["#"].tolist()[0] == 21


def test_bulk_action_shows_the_count_and_needs_confirmation(make_app: MakeApp, store: Store) -> None:
    seed(store)
    at = make_app("views/review.py", dataset="sample")
    at.toggle(key="rv_bulk_open").set_value(True).run()
    at.selectbox(key="rv_bulk_preset").set_value("reject-filtered").run()
    go = at.button(key="rv_bulk_go")
    assert go.label == "Reject 48 candidates matching the filters"
    assert go.disabled
    at.checkbox(key="rv_bulk_confirm").check().run()
    at.button(key="rv_bulk_go").click().run()
    assert "Reject 48 candidates matching the filters: done." in shown(at.success[0].value)
    counts = store.dataset_counts(store.get_dataset("sample").id)  # type: ignore[union-attr]
    assert counts.decisions.rejected == 48
    assert "No candidates match these filters." in at.info[0].value


def test_bulk_score_actions_follow_the_review_rules(make_app: MakeApp, store: Store) -> None:
    seed(store)
    at = make_app("views/review.py", dataset="sample")
    at.toggle(key="rv_bulk_open").set_value(True).run()
    # Optimal band 0.75-0.95 and no guard flag: positions p % 8 in 3..7, p % 5 != 0, two candidates each.
    expected = 2 * sum(1 for p in range(1, 25) if p % 8 in (3, 4, 5, 6, 7) and p % 5 != 0)
    assert at.button(key="rv_bulk_go").label == f"Approve all {expected} valid candidates in the optimal band"
    at.checkbox(key="rv_bulk_confirm").check().run()
    at.button(key="rv_bulk_go").click().run()
    counts = store.dataset_counts(store.get_dataset("sample").id)  # type: ignore[union-attr]
    assert counts.decisions.approved == expected
    at.selectbox(key="rv_bulk_preset").set_value("reject-invalid").run()
    invalid = 2 * sum(1 for p in range(1, 25) if p % 8 in (0, 1, 2))  # similarity 0.60-0.70: outside the window
    assert at.button(key="rv_bulk_go").label.startswith(f"Reject all {invalid} invalid candidates")


def test_insights_draws_the_figures_and_warns_above_the_cap(make_app: MakeApp, store: Store) -> None:
    ids = seed(store, per_example=4)
    for cid in ids[:80]:
        store.set_decision(cid, "approved")
    at = make_app("views/insights.py", dataset="sample")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Originals"] == "24" and metrics["Approved augmentations"] == "80"
    assert metrics["Augmented share"] == "77%" and metrics["Growth factor"] == "4.33x"
    assert "above the 70% cap" in at.warning[0].value
    assert len(at.get("plotly_chart")) == 3  # scatter, acceptance, mix; the histogram first, in Vega-Lite
    histogram = histogram_spec(at)
    bars = next(layer for layer in histogram["layer"] if layer["mark"]["type"] == "bar")["data"]["values"]
    assert {b["augmenter"] for b in bars} == {"templates", "paraphrase"}
    assert sum(b["candidates"] for b in bars) == 96
    assert shaded(histogram) == [(0.70, 0.98), (0.75, 0.95)]
    diversity = {m.label: m for m in at.metric}
    # Every approved candidate adds "Please," to an instruction: distinct-1 over more words goes down.
    assert float(diversity["distinct-1"].value) > 0 and diversity["distinct-1"].proto.delta.startswith("-")


def test_insights_reads_the_scores_once_per_change_and_reuses_the_sidebar_counts(
    make_app: MakeApp, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = seed(store)
    reads, counted = [], []
    real_table, real_counts = Store.review_table, Store.dataset_counts
    monkeypatch.setattr(Store, "review_table", lambda self, *a: reads.append(1) or real_table(self, *a))
    monkeypatch.setattr(Store, "dataset_counts", lambda self, *a: counted.append(1) or real_counts(self, *a))
    at = make_app("views/insights.py", dataset="sample")
    assert len(reads) == 1
    counted.clear()
    at.run()
    at.run()
    assert len(reads) == 1  # nothing changed: the cached table
    assert len(counted) == 0  # nor the counts: cached per store version, the page takes the sidebar's
    store.set_decision(ids[0], "approved")  # another tab decides: the store's version moves
    at.run()
    assert len(reads) == 2 and len(counted) == 1
    assert {m.label: m.value for m in at.metric}["Approved augmentations"] == "1"
    scatter = plotly.io.from_json(at.get("plotly_chart")[0].proto.spec)  # the histogram is Vega-Lite
    assert "approved" in {t.name for t in scatter.data}


def test_export_previews_counts_and_gives_the_same_file_as_the_cli(
    make_app: MakeApp, store: Store, tmp_path: Path, run_cli: Callable[..., tuple[int, str, str]]
) -> None:
    ids = seed(store)
    for cid in ids[:10]:
        store.set_decision(cid, "approved")
    store.set_decision(ids[10], "rejected")
    at = make_app("views/export.py", dataset="sample")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Originals"] == "24" and metrics["Augmented"] == "10" and metrics["Records"] == "34"
    at.selectbox(key="ex_format").set_value("messages")
    at.checkbox(key="ex_provenance").check()
    at.text_input(key="ex_ratio").set_value("1:0.25").run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Augmented"] == "6" and metrics["Records"] == "30"  # 24 originals x 0.25
    at.button(key="ex_prepare").click().run()
    assert not at.exception
    assert shown(at.get("download_button")[0].proto.label).startswith("Download sample-curated.jsonl (30 records")
    _, data, written = at.session_state["export_prepared"]
    assert written.records == 30
    out = tmp_path / "cli.jsonl"
    code, _, err = run_cli(
        "export",
        str(out),
        "--dataset",
        "sample",
        "--format",
        "messages",
        "--ratio",
        "1:0.25",
        "--max-augmented-share",
        "0.7",
        "--provenance",
    )
    assert code == 0, err
    assert data == out.read_bytes()
    rows = [json.loads(line) for line in data.decode().splitlines()]
    assert all("messages" in r for r in rows)
    assert sum(1 for r in rows if r["metadata"]["origin"] != "original") == 6


def test_export_preview_of_chat_to_alpaca_counts_what_the_file_will_hold(
    make_app: MakeApp, store: Store, tmp_path: Path
) -> None:
    chat = tmp_path / "chat.jsonl"
    turns = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "And then?"},
        {"role": "assistant", "content": "Bye"},
    ]
    chat.write_text(json.dumps({"messages": turns}) + "\n")
    import_file(store, chat, name="chat")
    dataset = store.get_dataset("chat")
    assert dataset is not None
    example = next(store.iter_examples(dataset.id))[0]
    later_turn = Candidate(
        id="later",
        dataset_id=dataset.id,
        example_id=example.id,
        augmenter="paraphrase",
        target_field="messages.2.content",
        text="What comes next?",
    )
    store.add_candidates([later_turn])
    store.set_decision("later", "approved")
    at = make_app("views/export.py", dataset="chat")
    assert {m.label: m.value for m in at.metric}["Records"] == "2"  # as messages: the original and the rewrite
    at.selectbox(key="ex_format").set_value("alpaca").run()
    # alpaca keeps the first exchange only: the rewrite of turn 3 cannot be written, so it is not counted
    assert {m.label: m.value for m in at.metric}["Records"] == "1"


def test_export_bad_ratio_is_one_clear_line(make_app: MakeApp, store: Store) -> None:
    seed(store)
    at = make_app("views/export.py", dataset="sample")
    at.text_input(key="ex_ratio").set_value("two to one").run()
    assert "expected ORIGINALS:AUGMENTED" in shown(at.error[0].value)


def _wait_for_run(at: AppTest, seconds: float = 120.0) -> None:
    """Rerun the page until the run's report is drawn (a real browser polls the same way)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        at.run()
        if at.success or at.error:
            return
        time.sleep(0.2)
    raise AssertionError("the run did not finish")


def test_augment_draws_each_augmenter_and_its_settings_from_the_registry(make_app: MakeApp, store: Store) -> None:
    from augment_core.augmenters import describe_all

    seed(store)
    at = make_app("views/augment.py", dataset="sample")
    for name in describe_all():
        assert at.checkbox(key=f"aug_use_{name}").label.startswith(f"**{name}**")
    at.checkbox(key="aug_use_templates").check().run()
    assert at.number_input(key="aug_templates_n").value == 3
    assert at.checkbox(key="aug_templates_noisy").value is False
    estimate = at.dataframe[0].value
    assert estimate.loc[0, "augmenter"] == "templates" and estimate.loc[0, "items"] == 24
    at.number_input(key="aug_templates_n").set_value(-1).run()
    at.button(key="aug_run").click().run()
    assert "setting 'templates.n'" in shown(at.error[0].value)


def test_augment_run_stores_candidates_and_outlives_the_session(make_app: MakeApp, store: Store) -> None:
    import_file(store, SAMPLE, name="sample")
    at = make_app("views/augment.py", dataset="sample")
    at.checkbox(key="aug_use_templates").check()
    at.checkbox(key="aug_score").uncheck().run()
    at.button(key="aug_run").click().run()
    _wait_for_run(at)
    assert "72 new candidates, 0 failed" in shown(at.success[0].value)
    dataset = store.get_dataset("sample")
    assert dataset is not None
    assert store.dataset_counts(dataset.id).by_augmenter == {"templates": {"ok": 72, "failed": 0}}
    # Another session (a reload, a second tab) finds the run in the server's registry.
    other = make_app("views/augment.py", dataset="sample")
    assert "72 new candidates" in other.success[0].value
    # Running again adds nothing: every slot is stored.
    other.checkbox(key="aug_use_templates").check()
    other.checkbox(key="aug_score").uncheck().run()
    other.button(key="aug_run").click().run()
    _wait_for_run(other)
    assert "Finished" in other.success[0].value and ": 0 new candidates, 0 failed" in other.success[0].value
    assert store.dataset_counts(dataset.id).candidates == 72


def test_augment_estimate_is_not_redone_by_an_unrelated_rerun(
    make_app: MakeApp, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from augment_core.pipeline import Pipeline

    seed(store)
    calls = []
    real_estimate = Pipeline.estimate

    def counted(self: Pipeline) -> dict[str, object]:
        calls.append(1)
        return dict(real_estimate(self))

    monkeypatch.setattr(Pipeline, "estimate", counted)
    at = make_app("views/augment.py", dataset="sample")
    at.checkbox(key="aug_use_templates").check().run()
    assert len(calls) == 1 and at.dataframe[0].value.loc[0, "items"] == 24
    at.checkbox(key="aug_score").uncheck().run()  # nothing the estimate depends on
    at.run()
    assert len(calls) == 1 and at.dataframe[0].value.loc[0, "items"] == 24
    at.number_input(key="aug_templates_n").set_value(2).run()  # a setting: estimated again
    assert len(calls) == 2


def test_cancel_keeps_what_finished_and_resume_completes(make_app: MakeApp, store: Store, tmp_path: Path) -> None:
    from studio.runs import run_registry, run_spec

    big = tmp_path / "big.jsonl"
    big.write_text(
        "".join(json.dumps({"instruction": f"Describe item {i}.", "output": str(i)}) + "\n" for i in range(3000))
    )
    import_file(store, big, name="big")
    dataset = store.get_dataset("big")
    assert dataset is not None
    state = run_registry().start(store, run_spec(dataset, {"templates": {"n": 2}}, None))
    state.cancel.set()
    assert state.thread is not None
    state.thread.join(60)
    assert state.report is not None
    stored_after_cancel = store.dataset_counts(dataset.id).candidates
    assert stored_after_cancel == state.report.added  # everything that finished was stored
    at = make_app("views/augment.py", dataset="big")
    at.checkbox(key="aug_use_templates").check().run()
    at.number_input(key="aug_templates_n").set_value(2)
    at.checkbox(key="aug_score").uncheck().run()
    if state.report.cancelled:
        assert at.button(key="aug_run").label == "Resume"
    at.button(key="aug_run").click().run()
    _wait_for_run(at)
    counts = store.dataset_counts(dataset.id)
    assert counts.candidates == 6000 and counts.by_augmenter["templates"]["failed"] == 0
    assert f"{6000 - stored_after_cancel:,} new candidates" in shown(at.success[0].value)


def test_sidebar_greys_out_providers_without_a_key_and_offers_the_local_model(make_app: MakeApp) -> None:
    at = make_app()
    assert at.selectbox(key="provider").options == ["local"]
    greyed = [c.value for c in at.sidebar.caption if c.value.startswith(":gray[~~")]
    assert any("~~anthropic~~: set ANTHROPIC_API_KEY" in g for g in greyed)


def test_sidebar_and_augment_say_what_the_bundled_model_is(make_app: MakeApp, store: Store) -> None:
    import_file(store, SAMPLE, name="sample")
    at = make_app("views/augment.py", dataset="sample")
    note = [c.value for c in at.sidebar.caption if "SmolLM2-135M-Instruct" in c.value]
    assert note and "135M parameters" in note[0] and "ANTHROPIC_API_KEY" in note[0]
    assert all(server in note[0] for server in ("Ollama", "vLLM", "llama.cpp's server"))
    assert any("SmolLM2-135M-Instruct" in i.value for i in at.info)  # the Augment page says it too
    at.text_input(key="model").set_value("/models/my-own-7b.gguf").run()  # one's own GGUF: not the demo
    assert not any("SmolLM2" in c.value for c in at.sidebar.caption)
    assert not any("SmolLM2" in i.value for i in at.info)


def test_a_typed_key_unlocks_anthropic_for_the_session_only(make_app: MakeApp, store: Store, db_url: str) -> None:
    seed(store)
    secret_key = "sk-ant-test-0123456789-never-stored"
    at = make_app("views/review.py", dataset="sample")
    at.text_input(key="typed_key_anthropic").set_value(secret_key).run()
    assert at.selectbox(key="provider").options == ["anthropic", "local"]
    at.selectbox(key="provider").set_value("anthropic").run()
    at.button(key="rv_approve").click().run()  # write something while the key is in the session
    assert not at.exception
    database = Path(db_url.removeprefix("sqlite:///"))
    for path in database.parent.glob(database.name + "*"):  # the file and its WAL
        assert secret_key.encode() not in path.read_bytes()
    # A new session starts without it.
    assert make_app().selectbox(key="provider").options == ["local"]


def test_upload_parquet_imports_with_its_detected_schema(make_app: MakeApp, store: Store, tmp_path: Path) -> None:
    from augment_core.writers import write_records

    path = tmp_path / "pc.parquet"
    write_records(path, [{"prompt": f"Say {i}.", "completion": str(i)} for i in range(5)])
    at = make_app()
    at.file_uploader[0].set_value(("pc.parquet", path.read_bytes(), "application/octet-stream")).run()
    assert any("Detected schema: **prompt-completion**" in m.value for m in at.markdown)
    next(b for b in at.button if b.label == "Import").click().run()
    assert "Imported 5 records from pc.parquet into 'pc' (prompt-completion)" in shown(at.success[0].value)


def test_flag_filter_offers_the_guard_kinds_and_filters_by_kind(make_app: MakeApp, store: Store) -> None:
    from augment_core.guards import KINDS

    ids = seed(store)
    replace_flags(store, dict.fromkeys(ids, []))  # only three candidates keep a flag, one of each kind
    flags = ([Flag("entity", "'100%_\"x\"'", "missing")], [Flag("number", "3", "missing")],
             [Flag("date", "2020", "added")])  # fmt: skip
    replace_flags(store, dict(zip(ids[:3], flags, strict=True)))
    at = make_app("views/review.py", dataset="sample")
    assert at.selectbox(key="rv_flag").options == ["all", "flagged", "not flagged", *KINDS]
    at.selectbox(key="rv_flag").set_value("entity").run()
    assert "Candidate 1 of 1**" in at.markdown[0].value
    at.selectbox(key="rv_flag").set_value("flagged").run()
    assert "Candidate 1 of 3**" in at.markdown[0].value


def test_review_survives_a_list_shortened_by_another_tab(
    make_app: MakeApp, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(store)
    at = make_app("views/review.py", dataset="sample")
    at.selectbox(key="rv_status").set_value("all").run()  # counted by count_review (pending: by the page's counts)
    # The count was taken before another tab decided three candidates: it is three too high.
    real_count = Store.count_review
    monkeypatch.setattr(Store, "count_review", lambda self, *a: real_count(self, *a) + 3)
    at.session_state["rv_cursor"] = 50  # the last of the 51 counted
    at.run()
    assert not at.exception, at.exception
    assert "Candidate 48 of 51" in at.markdown[0].value
    at.session_state["rv_cursor"] = 0
    monkeypatch.setattr(Store, "count_review", lambda self, *a: real_count(self, *a) + 30)
    at.session_state["rv_cursor"] = 70  # a whole page past the end
    at.run()
    assert not at.exception, at.exception
    assert "Candidate 48 of 78" in at.markdown[0].value


MARKDOWN_TRAPS = "[click](http://127.0.0.1/x) ![img](http://127.0.0.1/i.png) <http://127.0.0.1/a> **bold** $x$"
HOSTILE_FLAG = "entity '![x](http://127.0.0.1/x)' missing"


def _rendered_markdown(at: AppTest) -> list[str]:
    """Every element drawn from Markdown source, sidebar included."""
    kinds = ("markdown", "caption", "error", "warning", "success", "info")
    return [e.value for kind in kinds for e in at.get(kind)] + [b.label for b in at.button]


def _no_live_markdown(sources: list[str]) -> None:
    for source in sources:
        assert not re.search(r"(?<!\\)\]\(|(?<!\\)!\[|(?<!\\)<http|(?<!\\)\*\*bold", source), source


def test_dataset_text_never_renders_as_markdown(make_app: MakeApp, store: Store) -> None:
    ids = seed(store)
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE candidates SET text = ?, target_field = ? WHERE id = ?",
            (f"Please {MARKDOWN_TRAPS}", "instruction`](http://127.0.0.1/f)", ids[0]),
        )

    replace_flags(store, {ids[0]: [Flag("entity", "'![x](http://127.0.0.1/x)'", "missing"),
                                   Flag("url", MARKDOWN_TRAPS, "added")]})  # fmt: skip
    at = make_app("views/review.py", dataset="sample")
    assert ":orange-badge[entity]" in at.markdown[1].value and ":orange-badge[url]" in at.markdown[1].value
    assert at.text[0].value == f"{HOSTILE_FLAG}\nurl {MARKDOWN_TRAPS} added"  # st.text: shown as it is
    assert "``instruction`](http://127.0.0.1/f)``" in at.markdown[0].value  # a literal code span
    _no_live_markdown([s for s in _rendered_markdown(at) if "instruction`](" not in s])
    _, candidate = _card_html(at)
    assert "[click](http://127.0.0.1/x)" in candidate and "&lt;http://127.0.0.1/a&gt;" in candidate  # text in HTML

    # A file name and a parse error quoting the data, on the upload page.
    body = b'{"instruction": "a", "output": "b"}\n{"instruction": ![x](http://127.0.0.1/x)}\n'
    at = make_app()
    at.file_uploader[0].set_value(("[evil](http://127.0.0.1/x).jsonl", body, "application/jsonl")).run()
    assert "**[evil](http://127.0.0.1/x).jsonl**, line 2" in shown(at.error[0].value)
    _no_live_markdown(_rendered_markdown(at))


@pytest.fixture
def spool_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the upload page's temp copies go during the test (empty when none is left behind)."""
    import tempfile

    folder = tmp_path / "spool"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The paths the pages hand to readers.read_records, in order."""
    import augment_core.readers

    seen: list[Path] = []
    real_read = augment_core.readers.read_records
    monkeypatch.setattr(augment_core.readers, "read_records", lambda path, *a: seen.append(path) or real_read(path, *a))
    return seen


def test_upload_spools_to_a_path_not_built_from_the_file_name(
    make_app: MakeApp, store: Store, spool_dir: Path, reads: list[Path]
) -> None:
    long_name = "x" * 300 + ".jsonl"  # longer than a file name may be: a path built from it fails
    body = b'{"instruction": "a", "output": "b"}\n'
    at = make_app()
    at.file_uploader[0].set_value((long_name, body, "application/jsonl")).run()
    assert not at.exception, at.exception
    at.text_input[0].set_value("long").run()
    next(b for b in at.button if b.label == "Import").click().run()
    assert f"Imported 1 records from {long_name} into 'long'" in shown(at.success[0].value)
    assert reads and {p.name for p in reads} == {"upload.jsonl"}


def test_upload_reads_the_preview_once_and_leaves_no_temp_file(
    make_app: MakeApp, store: Store, spool_dir: Path, reads: list[Path]
) -> None:
    rows = [{"instruction": f"task {i}", "output": f"answer {i}"} for i in range(30)]
    at = make_app()
    at.file_uploader[0].set_value(("tasks.json", json.dumps(rows).encode(), "application/json")).run()
    assert at.dataframe[0].value.shape == (20, 2)
    at.selectbox(key="upload_schema").set_value("alpaca").run()  # reruns: the preview is not read again
    at.text_input[0].set_value("tasks").run()
    assert len(reads) == 1 and at.dataframe[0].value.shape == (20, 2)
    assert list(spool_dir.iterdir()) == []  # the preview's copy is gone once read
    # A second file replaces the first: read once, nothing left behind.
    other = [{"prompt": "Say 1.", "completion": "1"}]
    at.file_uploader[0].set_value(("pc.jsonl", json.dumps(other[0]).encode() + b"\n", "application/jsonl")).run()
    assert len(reads) == 2 and any("prompt-completion" in m.value for m in at.markdown)
    at.file_uploader[0].set_value(("tasks.json", json.dumps(rows).encode(), "application/json")).run()
    next(b for b in at.button if b.label == "Import").click().run()
    assert "Imported 30 records from tasks.json" in shown(at.success[0].value)
    assert list(spool_dir.iterdir()) == []  # nor the import's copy
    assert at.file_uploader[0].value is None  # the stored file is not offered again
    assert not at.dataframe


def test_a_base_url_clears_only_the_missing_key_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    import augment_core.llm as llm
    from studio.providers import provider_status

    for variable in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(variable, raising=False)
    assert provider_status(base_url="http://127.0.0.1:8000/v1")["openai"] == ""  # the SDK is installed here
    monkeypatch.setattr(llm, "available_providers", lambda: {"openai": "pip install openai"})
    assert provider_status(base_url="http://127.0.0.1:8000/v1")["openai"] == "pip install openai"


def test_insights_reads_window_and_band_through_the_quality_settings(make_app: MakeApp, store: Store) -> None:
    from augment_core.settings import OPTIMAL_BAND_KEY, VALID_WINDOW_KEY

    seed(store)
    store.set_setting(VALID_WINDOW_KEY, [0.6, "0.9"])  # numbers as text are still numbers
    store.set_setting(OPTIMAL_BAND_KEY, [0.8])  # a broken setting: one clear line, not a traceback
    at = make_app("views/insights.py", dataset="sample")
    assert f"setting {OPTIMAL_BAND_KEY} = [0.8]: expected [low, high]" in shown(at.error[0].value)
    store.set_setting(OPTIMAL_BAND_KEY, [0.8, 0.9])
    at.run()
    assert not at.exception and not at.error
    assert shaded(histogram_spec(at)) == [(0.6, 0.9), (0.8, 0.9)]


def test_export_and_review_offer_the_library_lists(make_app: MakeApp, store: Store) -> None:
    from augment_core.formats import FILE_TYPES
    from augment_core.records import STATUSES

    seed(store)
    assert make_app("views/export.py", dataset="sample").selectbox(key="ex_file_type").options == list(FILE_TYPES)
    assert make_app("views/review.py", dataset="sample").selectbox(key="rv_status").options == [*STATUSES, "all"]


def test_try_on_5_records_shows_their_candidates_at_once_and_the_full_run_skips_them(
    make_app: MakeApp, store: Store, tmp_path: Path
) -> None:
    data = tmp_path / "try.jsonl"
    instructions = [f"Describe item {i}." for i in range(12)]
    instructions[0] = f"Summarise {MARKDOWN_TRAPS} {HOSTILE}"
    data.write_text("".join(json.dumps({"instruction": t, "output": "ok"}) + "\n" for t in instructions))
    import_file(store, data, name="try")
    dataset = store.get_dataset("try")
    assert dataset is not None
    at = make_app("views/augment.py", dataset="try")
    at.checkbox(key="aug_use_templates").check()
    at.checkbox(key="aug_score").uncheck().run()
    assert at.button(key="aug_try").label == "Try on 5 records"
    at.button(key="aug_try").click().run()
    _wait_for_run(at)
    assert "Preview of 5 records: finished" in at.success[0].value and "15 new candidates" in at.success[0].value
    assert at.subheader[-1].value == "Candidates of the 5 records tried"
    markdown = [m.value for m in at.markdown]
    originals = [shown(m) for m in markdown if shown(m).startswith(("Describe item", "Summarise"))]
    assert {o for o in originals if o.startswith("Describe")} == {f"Describe item {i}." for i in range(1, 5)}
    assert sum(1 for m in markdown if "\\<script\\>" in m) >= 2  # the original and its candidates, escaped
    _no_live_markdown(_rendered_markdown(at))
    counts = store.dataset_counts(dataset.id)
    assert counts.candidates == 15 and counts.by_augmenter["templates"]["failed"] == 0

    at.button(key="aug_run").click().run()  # the full run: the 5 tried records are already stored
    _wait_for_run(at)
    assert "Finished in" in at.success[0].value
    assert "21 new candidates, 0 failed, 5 items already stored" in shown(at.success[0].value)
    table = at.dataframe[-1].value
    assert list(table.columns[:4]) == ["augmenter", "items", "already stored", "new"]
    assert "from cache" in table.columns and table.loc[0, "already stored"] == 5
    assert store.dataset_counts(dataset.id).candidates == 36


def test_try_a_random_sample_and_failure_reasons_one_click_away(
    make_app: MakeApp, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import random

    import sqlalchemy as sa

    from augment_core.augmenters.templates import Templates
    from augment_core.runs import select_examples
    from augment_core.store import candidates

    async def broken(self: Templates, record: dict[str, object], field: str, schema: str) -> list[object]:
        raise RuntimeError("the frame does not fit")

    import_file(store, SAMPLE, name="sample")
    monkeypatch.setattr(random, "randrange", lambda n: 11)  # the page's seed for "random"
    monkeypatch.setattr(Templates, "augment", broken)
    at = make_app("views/augment.py", dataset="sample")
    at.checkbox(key="aug_use_templates").check()
    at.checkbox(key="aug_score").uncheck()
    at.radio(key="aug_try_sample").set_value("random").run()
    at.button(key="aug_try").click().run()
    _wait_for_run(at)
    assert "5 failed" in at.success[0].value
    assert at.expander[0].label == "Why 5 failed"
    reasons = at.expander[0].dataframe[0].value
    assert reasons.to_dict("records") == [{"reason": "the frame does not fit", "candidates": 5}]
    assert sum("failed:" in m.value and "the frame does not fit" in m.value for m in at.markdown) == 5
    dataset = store.get_dataset("sample")
    assert dataset is not None
    with store.engine.connect() as conn:
        tried = set(conn.execute(sa.select(candidates.c.example_id)).scalars())
    assert tried == {e.id for e in select_examples(store, dataset, 5, "random", 11)}


def test_augment_says_what_a_running_job_waits_for(make_app: MakeApp, store: Store) -> None:
    import threading

    from augment_core.progress import Progress
    from augment_core.run_registry import RunState
    from augment_core.runs import RunSpec
    from studio.runs import run_registry

    import_file(store, SAMPLE, name="sample")
    dataset = store.get_dataset("sample")
    assert dataset is not None
    note = "rate limited by the provider until 14:05, waiting 120 s"
    spec = RunSpec(dataset=dataset.name, augmenters={"paraphrase": {}})
    state = RunState(dataset_id=dataset.id, spec=spec, cancel=threading.Event(), phase="generating",
                     progress=Progress(3, 0, 24, 9, 0, 5.0, 30.0, note=note))  # fmt: skip
    registry = run_registry()
    registry._runs[dataset.id] = state  # a run waiting on its provider, as the pipeline reports it
    try:
        at = make_app("views/augment.py", dataset="sample")
        assert note in [shown(c.value) for c in at.caption]
        state.progress = Progress(4, 0, 24, 12, 0, 6.0, 30.0)  # the wait is over: nothing said
        at.run()
        assert not [c for c in at.caption if "rate limited" in shown(c.value)]
    finally:
        state.finished = time.time()
        registry._runs.pop(dataset.id, None)
