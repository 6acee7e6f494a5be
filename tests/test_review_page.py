"""The review page under AppTest on a real store: state in the address, the card's context and
scores, search and jump, progress, the case/punctuation-only diff, bulk preview and undo."""

from __future__ import annotations

import sqlalchemy as sa

from augment_core.review import ReviewFilter, bulk_plan
from augment_core.store import Store, scores
from augment_core.team import local_reviewer
from studio.diff import highlight_changes
from tests.test_pages import MakeApp, make_app, seed, shown  # noqa: F401

APP_PAGE = "views/review.py"


def _heading(at) -> str:  # type: ignore[no-untyped-def]
    return str(at.markdown[0].value)


def test_the_address_picks_dataset_filters_sort_and_candidate(make_app: MakeApp, store: Store) -> None:  # noqa: F811
    from augment_core.importer import import_file
    from tests.conftest import SAMPLE

    import_file(store, SAMPLE, name="aaa")  # first in the picker: what a session without a link shows
    ids = seed(store)
    at = make_app()
    at.query_params.update({"dataset": "sample", "status": "all", "augmenter": ["paraphrase"],
                            "sort": "similarity, high first", "candidate": ids[9]})  # fmt: skip
    at.switch_page(APP_PAGE).run()
    assert not at.exception, at.exception
    assert at.sidebar.selectbox(key="dataset").value == "sample"
    assert at.selectbox(key="rv_status").value == "all" and at.multiselect(key="rv_augmenters").value == ["paraphrase"]
    assert at.selectbox(key="rv_sort").value == "similarity, high first"
    # The linked candidate, at its place in that list.
    dataset = store.get_dataset("sample")
    assert dataset is not None
    assert at.query_params["candidate"] == ids[9]
    assert "of 24**" in _heading(at) and "`paraphrase`" in _heading(at)
    # A value the page does not offer is ignored, not an error.
    again = make_app()
    again.query_params.update({"dataset": "no-such", "status": "maybe", "similarity": ["x", "2"]})
    again.switch_page(APP_PAGE).run()
    assert not again.exception and again.sidebar.selectbox(key="dataset").value == "aaa"


def test_widgets_write_the_address(make_app: MakeApp, store: Store) -> None:  # noqa: F811
    seed(store)
    at = make_app(APP_PAGE, dataset="sample")
    assert at.query_params["dataset"] == "sample" and "status" not in at.query_params  # defaults stay out
    at.multiselect(key="rv_augmenters").set_value(["templates"])
    at.slider(key="rv_similarity").set_value((0.7, 0.9))
    at.text_input(key="rv_search").set_value("please").run()
    assert at.query_params["augmenter"] == "templates"
    assert at.query_params["similarity"] == ["0.70", "0.90"] and at.query_params["q"] == "please"
    assert at.query_params["candidate"].startswith("sample-")
    at.toggle(key="rv_queue").set_value(True).run()
    assert at.query_params["queue"] == "1" and "candidate" not in at.query_params
    again = make_app()
    again.query_params.update({"dataset": "sample", "queue": "1"})
    again.switch_page(APP_PAGE).run()
    assert "**Your queue**" in again.markdown[0].value


def test_the_llm_judge_filter_lives_in_the_address(make_app: MakeApp, store: Store) -> None:  # noqa: F811
    from augment_core.records import Judgement

    ids = seed(store)
    store.save_judgements([Judgement(ids[3], False, 0.15, "a number changed", "why", "openai", "m", 0.0)])
    at = make_app(APP_PAGE, dataset="sample")
    assert "judge" not in at.query_params  # the default ("any") stays out
    at.selectbox(key="rv_llm_judge").set_value("changed").run()
    assert at.query_params["judge"] == "changed" and at.query_params["candidate"] == ids[3]
    # A link (or a reload) with it lands on the same filtered list.
    again = make_app()
    again.query_params.update({"dataset": "sample", "judge": "changed"})
    again.switch_page(APP_PAGE).run()
    assert not again.exception and again.selectbox(key="rv_llm_judge").value == "changed"
    assert "Candidate 1 of 1**" in _heading(again)
    again.selectbox(key="rv_llm_judge").set_value("any").run()
    assert "judge" not in again.query_params
    # A value the select does not offer is ignored.
    odd = make_app()
    odd.query_params.update({"dataset": "sample", "judge": "maybe"})
    odd.switch_page(APP_PAGE).run()
    assert not odd.exception and odd.selectbox(key="rv_llm_judge").value == "any"


def test_the_card_shows_every_score_and_the_whole_record(make_app: MakeApp, store: Store) -> None:  # noqa: F811
    ids = seed(store)
    with store.engine.begin() as conn:
        conn.execute(sa.update(scores).where(scores.c.candidate_id == ids[0]).values(meaning_preserved=0.12))
    at = make_app(APP_PAGE, dataset="sample")
    badges = at.markdown[1].value
    assert "meaning **0.12**" in badges and ":orange-badge[meaning doubtful]" in badges
    record = next(e for e in at.expander if e.label == "Whole record").text[0].value
    assert record.startswith("id: sample-001\n\ninstruction (rewritten): Explain what a Python list comprehension is.")
    assert "output: A list comprehension builds a new list" in record
    assert any("Case/punctuation only" in c.value and "Explain → explain" in shown(c.value) for c in at.caption)
    at.selectbox(key="rv_sort").set_value("meaning, low first").run()
    assert "meaning **0.12**" in at.markdown[1].value


def test_diff_sets_case_and_punctuation_apart() -> None:
    diff = highlight_changes("Describe the <b>cat</b>.", "describe the <b>dog</b>!")
    assert "<del>&lt;b&gt;cat&lt;/b&gt;.</del>" in diff.original_html  # a real change (escaped)
    assert '<span class="aug-minor"' in diff.candidate_html and "<mark>" in diff.candidate_html
    assert diff.minor == [("Describe", "describe")]
    assert highlight_changes("Same words.", "Same words.").minor == []
    assert highlight_changes("Go now", "Go - now").minor == [("", "-")]


def test_search_and_go_to_record(make_app: MakeApp, store: Store) -> None:  # noqa: F811
    ids = seed(store)
    at = make_app(APP_PAGE, dataset="sample")
    at.text_input(key="rv_search").set_value("bibliothèque").run()  # sample-003's output, non-ASCII
    assert "Candidate 1 of 2**" in _heading(at)
    at.text_input(key="rv_search").set_value("")
    at.text_input(key="rv_record").set_value(ids[7]).run()
    assert "Candidate 1 of 1**" in _heading(at)
    assert at.query_params["record"] == ids[7]


def test_progress_and_the_sidebar_follow_each_decision(make_app: MakeApp, store: Store) -> None:  # noqa: F811
    seed(store)
    at = make_app(APP_PAGE, dataset="sample")
    assert "0 of 48 decided, 48 left in this filter" in _heading(at)
    for _ in range(3):
        at.button(key="rv_approve").click().run()
    assert "3 of 48 decided, 45 left in this filter" in _heading(at)
    assert "3 approved · 0 rejected" in at.sidebar.caption[0].value


def test_bulk_preview_lists_the_rows_and_undo_restores(make_app: MakeApp, store: Store) -> None:  # noqa: F811
    ids = seed(store)
    store.set_decision(ids[0], "approved", edited_text="Kept edit.")
    at = make_app(APP_PAGE, dataset="sample")
    at.selectbox(key="rv_status").set_value("all").run()
    at.toggle(key="rv_bulk_open").set_value(True).run()
    at.selectbox(key="rv_bulk_preset").set_value("reject-filtered").run()
    assert any("first 50 of the" not in c.value and "48 candidates this will change" in c.value for c in at.caption)
    preview = at.dataframe[1].value
    assert list(preview.columns) == ["record", "augmenter", "now", "becomes", "similarity", "candidate"]
    assert preview["now"].tolist()[0] == "approved" and set(preview["becomes"]) == {"rejected"}
    at.checkbox(key="rv_bulk_confirm").check().run()
    at.button(key="rv_bulk_go").click().run()
    assert store.dataset_counts(store.get_dataset("sample").id).decisions.rejected == 48  # type: ignore[union-attr]
    at.button(key="rv_bulk_undo_go").click().run()
    assert "48 decisions restored" in shown(at.success[0].value)
    decision = store.get_decision(ids[0])
    assert decision is not None and decision.status == "approved" and decision.edited_text == "Kept edit."
    assert store.get_decision(ids[1]) is None


def test_the_undo_of_a_bulk_action_survives_a_reload_and_applies_once(make_app: MakeApp, store: Store) -> None:  # noqa: F811
    ids = seed(store)
    store.set_decision(ids[0], "approved", edited_text="Kept edit.")
    first = make_app(APP_PAGE, dataset="sample")
    first.toggle(key="rv_bulk_open").set_value(True).run()
    first.selectbox(key="rv_bulk_preset").set_value("reject-filtered").run()
    first.checkbox(key="rv_bulk_confirm").check().run()
    first.button(key="rv_bulk_go").click().run()
    dataset = store.get_dataset("sample")
    assert dataset is not None and store.dataset_counts(dataset.id).decisions.rejected == 47

    # A reload is a new session: the undo is offered there, from the store.
    reloaded = make_app(APP_PAGE, dataset="sample")
    undo = reloaded.button(key="rv_bulk_undo_go")
    assert undo.label == "Undo: Reject 47 candidates matching the filters"
    assert any(f"The last bulk action on this dataset, by `{local_reviewer()}`" in c.value for c in reloaded.caption)
    undo.click().run()
    assert "47 decisions restored" in shown(reloaded.success[0].value)
    decision = store.get_decision(ids[0])
    assert decision is not None and decision.status == "approved" and decision.edited_text == "Kept edit."
    assert store.get_decision(ids[1]) is None
    assert "rv_bulk_undo_go" not in _keys(reloaded)  # undone: nothing left to undo

    # The first tab still shows its button: it applies nothing a second time.
    first.button(key="rv_bulk_undo_go").click().run()
    assert "was undone or replaced meanwhile" in shown(first.warning[0].value)
    assert store.get_decision(ids[0]).status == "approved" and store.get_decision(ids[1]) is None  # type: ignore[union-attr]
    assert "rv_bulk_undo_go" not in _keys(first)

    # A new bulk action replaces the one kept: the undo takes back only the newest.
    store.apply_bulk(dataset.id, bulk_plan(store, "approve-filtered", ReviewFilter(augmenters=("templates",))),
                     action="approve-filtered", reviewer="ana")  # fmt: skip
    store.apply_bulk(dataset.id, bulk_plan(store, "reject-filtered", ReviewFilter(augmenters=("paraphrase",))),
                     action="reject-filtered", reviewer="bo")  # fmt: skip
    last = store.last_bulk(dataset.id)
    assert last is not None and (last.action, last.count, last.reviewer) == ("reject-filtered", 24, "bo")
    assert store.undo_last_bulk(dataset.id) is not None and store.last_bulk(dataset.id) is None
    counts = store.dataset_counts(dataset.id).decisions
    assert (counts.approved, counts.rejected) == (24, 0)


def _keys(at) -> set[str]:  # type: ignore[no-untyped-def]
    return {b.key for b in at.button}


def test_a_saved_edit_is_rescored(make_app: MakeApp, store: Store) -> None:  # noqa: F811
    ids = seed(store)
    at = make_app(APP_PAGE, dataset="sample")
    at.text_area(key=f"rv_edit_{ids[0]}").set_value("Explain what a Python list comprehension is, briefly.").run()
    at.button(key="rv_edit_approve").click().run()
    assert not at.exception, at.exception
    score = store.get_score(ids[0])
    assert score is not None and score.semantic_similarity != 0.65 and score.meaning_preserved is not None


def test_a_linked_candidate_outside_the_filter_opens_on_its_own(make_app: MakeApp, store: Store) -> None:  # noqa: F811
    ids = seed(store)
    store.set_decision(ids[5], "approved")  # the pending list (the default filter) no longer has it
    at = make_app()
    at.query_params.update({"dataset": "sample", "candidate": ids[5]})
    at.switch_page(APP_PAGE).run()
    assert not at.exception, at.exception
    assert at.button(key="rv_unfocus").label == "Back to the list"
    assert ":green-badge[approved]" in at.markdown[0].value
    at.button(key="rv_unfocus").click().run()
    assert "Candidate 1 of 47**" in _heading(at) and at.query_params["candidate"] == ids[0]


def test_the_whole_record_is_plain_text(make_app: MakeApp, store: Store) -> None:  # noqa: F811
    seed(store)
    trap = '<img src=x onerror="alert(1)"> [link](http://127.0.0.1/x) **bold**'
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE examples SET record = json_set(record, '$.output', ?) WHERE key = 'sample-001'",
                             (trap,))  # fmt: skip
    at = make_app(APP_PAGE, dataset="sample")
    record = next(e for e in at.expander if e.label == "Whole record").text[0].value
    assert f"output: {trap}" in record  # st.text: shown as it is, never Markdown or HTML


def test_the_card_shows_the_words_the_alignment_left_unmatched(make_app: MakeApp, store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    import json

    from augment_core.importer import import_file
    from augment_core.quality import Embedder, score_dataset
    from augment_core.records import Candidate

    source = tmp_path / "trips.jsonl"
    rows = [{"instruction": "Write a short poem about Paris in the spring.", "input": "", "output": "A poem."},
            {"instruction": "Give three tips for staying healthy.", "input": "", "output": "Sleep."}]  # fmt: skip
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    import_file(store, source, name="trips")
    dataset = store.get_dataset("trips")
    assert dataset is not None
    first, second = [e for batch in store.iter_examples(dataset.id) for e in batch]
    store.add_candidates([
        Candidate(id="swap", dataset_id=dataset.id, example_id=first.id, augmenter="paraphrase",
                  target_field="instruction", text="Write a short poem about London in the spring."),
        Candidate(id="kept", dataset_id=dataset.id, example_id=second.id, augmenter="paraphrase",
                  target_field="instruction", text="Share three tips to stay healthy."),
    ])  # fmt: skip
    assert score_dataset(store, dataset, Embedder.load()) == 2
    score = store.get_score("swap")
    assert score is not None and score.unmatched == {"original": ["Paris"], "candidate": ["London"]}

    at = make_app(APP_PAGE, dataset="trips")
    evidence = "\n".join(t.value for t in at.text)
    assert "unmatched: 'Paris' → 'London'" in evidence  # beside the guards that fired
    assert "entity 'Paris' missing" in evidence
    # A score stored before the evidence was (NULL) shows none; the card still draws.
    with store.engine.begin() as conn:
        conn.execute(sa.update(scores).where(scores.c.candidate_id == "swap").values(unmatched=None))
    at = make_app(APP_PAGE, dataset="trips")
    assert not at.exception and not any("unmatched:" in t.value for t in at.text)
