"""The store's version (what the studio caches its counts by) and the review page's counts carried
over its own decisions: they must equal a fresh count, also when another tab decides in between."""

from __future__ import annotations

import threading

from augment_core.store import Store
from tests.test_pages import MakeApp, make_app, seed  # noqa: F401 - make_app is a fixture


def test_every_write_moves_the_version_and_a_lease_does_not(store: Store) -> None:
    ids = seed(store)
    dataset = store.get_dataset("sample")
    assert dataset is not None
    start = store.version()
    store.set_decision(ids[0], "approved")
    assert store.version() == start + 1 == store.db.last_written_version
    store.set_setting("window", [0.6, 0.9])
    store.clear_decision(ids[0])
    assert store.version() == start + 3
    store.next_in_queue(dataset.id, "ann")  # a lease: no count or page shows it
    assert store.version() == start + 3
    other: list[int | None] = []
    thread = threading.Thread(target=lambda: other.append(store.db.last_written_version))
    thread.start()
    thread.join()
    assert other == [None]  # the last write is remembered per thread (per Streamlit session)
    # Another Store on the same file (another process, say) sees the same version move.
    again = Store(store.url)
    try:
        again.set_decision(ids[1], "rejected")
        assert store.version() == start + 4
    finally:
        again.close()


def _caption(at) -> str:  # type: ignore[no-untyped-def]
    return str(at.sidebar.caption[0].value)


def test_counts_carried_over_decisions_equal_a_fresh_count(make_app: MakeApp, store: Store) -> None:  # noqa: F811
    ids = seed(store)
    dataset = store.get_dataset("sample")
    assert dataset is not None
    counted: list[int] = []
    real = Store.dataset_counts

    def counting(self: Store, dataset_id: int):  # type: ignore[no-untyped-def]
        counted.append(dataset_id)
        return real(self, dataset_id)

    Store.dataset_counts = counting  # type: ignore[method-assign]
    try:
        at = make_app("views/review.py", dataset="sample")
        counted.clear()
        for key in ("rv_approve", "rv_reject", "rv_approve"):
            at.button(key=key).click().run()
        assert counted == []  # each own decision moved the counts; nothing was counted again
        assert "2 approved · 1 rejected" in _caption(at) and "3 of 48 decided, 45 left" in at.markdown[0].value
        store.set_decision(ids[40], "rejected")  # another tab: the next run counts again
        at.run()
        assert counted == [dataset.id]
        assert "2 approved · 2 rejected" in _caption(at) and "4 of 48 decided, 44 left" in at.markdown[0].value
        at.selectbox(key="rv_status").set_value("all").run()
        at.button(key="rv_reset").click().run()  # the first candidate back to pending: moved, not counted
        assert counted == [dataset.id]
        fresh = real(store, dataset.id).decisions
        assert (fresh.approved, fresh.rejected) == (1, 2)
        assert "1 approved · 2 rejected" in _caption(at) and "3 of 48 decided, 45 left" in at.markdown[0].value
    finally:
        Store.dataset_counts = real  # type: ignore[method-assign]
