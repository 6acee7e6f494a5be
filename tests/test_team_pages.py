"""The studio as a team uses it (AppTest): the reviewer's name on each response, the work queue, roles."""

from __future__ import annotations

from augment_core.store import Store
from augment_core.team import local_reviewer
from tests.test_pages import MakeApp, make_app, seed  # noqa: F401 - make_app is a fixture

ME = local_reviewer()  # without [auth] in secrets.toml the studio's reviewer is the OS user


def test_the_queue_hands_out_candidates_and_records_the_reviewer(make_app: MakeApp, store: Store) -> None:  # noqa: F811
    ids = seed(store)
    at = make_app("views/review.py", dataset="sample")
    assert f"Reviewing as **{ME}** (admin)" in at.sidebar.caption[-1].value
    at.toggle(key="rv_queue").set_value(True).run()
    assert "**Your queue** · you answered 0 · overall 0 of 48 decided" in at.markdown[0].value
    at.button(key="rv_approve").click().run()
    assert [(r.reviewer, r.status) for r in store.get_responses(ids[0])] == [(ME, "approved")]
    # The card now holds ids[1] for me; another reviewer takes the next free one, ids[2], so after
    # skipping ids[1] my queue passes over ids[2] and hands me ids[3].
    assert store.next_in_queue(store.get_dataset("sample").id, "someone else") == ids[2]  # type: ignore[union-attr]
    at.button(key="rv_skip").click().run()  # skips ids[1]
    at.button(key="rv_reject").click().run()
    assert store.get_decision(ids[1]) is None and store.get_decision(ids[2]) is None
    assert store.get_responses(ids[3])[0].reviewer == ME
    assert "you answered 2" in at.markdown[0].value


def test_a_reviewer_without_the_admin_role_sees_no_bulk_actions_and_no_export(
    make_app: MakeApp,  # noqa: F811
    store: Store,
) -> None:
    seed(store)
    store.set_reviewer("the-admin", "admin")  # listed reviewers: the OS user is not among them
    at = make_app("views/review.py", dataset="sample")
    assert f"Reviewing as **{ME}** (reviewer)" in at.sidebar.caption[-1].value
    assert not [t for t in at.toggle if t.key == "rv_bulk_open"]
    at.button(key="rv_approve").click().run()  # reviewing is allowed
    assert store.dataset_counts(store.get_dataset("sample").id).decisions.approved == 1  # type: ignore[union-attr]
    export = make_app("views/export.py", dataset="sample")
    assert "Exporting is for admins" in export.info[0].value
    store.set_reviewer(ME, "admin")
    at = make_app("views/review.py", dataset="sample")
    assert [t for t in at.toggle if t.key == "rv_bulk_open"]


def test_insights_shows_agreement_and_opens_a_conflict_in_review(make_app: MakeApp, store: Store) -> None:  # noqa: F811
    ids = seed(store)
    for cid, (a, b) in zip(ids[:2], [("approved", "approved"), ("approved", "rejected")], strict=True):
        store.set_decision(cid, a, reviewer="ann")
        store.set_decision(cid, b, reviewer="bob")
    at = make_app("views/insights.py", dataset="sample")
    at.toggle(key="insights_team").set_value(True).run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Candidates in conflict"] == "1" and metrics["Reviewers who answered"] == "2"
    assert at.selectbox(key="tm_conflict").value == ids[1]
    assert any("precision  0 drawn" in t.value for t in at.text)
    at.number_input(key="tm_audit_n").set_value(4).run()
    at.button(key="tm_audit_go").click().run()
    assert "Queued 2 approved and 2 not approved by the rule" in at.success[0].value
    at.button(key="tm_open").click().run()
    assert not at.exception, at.exception
    review = [m.value for m in at.markdown]
    assert any("`ann`" in v and "approved" in v for v in review)
    assert any("`bob`" in v and "rejected" in v for v in review)
    at.button(key="rv_reject").click().run()
    assert [(r.reviewer, r.status) for r in store.get_responses(ids[1])][-1] == (ME, "rejected")
