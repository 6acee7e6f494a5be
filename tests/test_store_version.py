"""The store's version (what the studio caches its counts by) and the review page's counts carried
over its own decisions: they must equal a fresh count, also when another tab decides in between."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from augment_core.store import Store
from tests.test_pages import MakeApp, make_app, seed  # noqa: F401 - make_app is a fixture
from tests.test_postgres import pg_url  # noqa: F401 - the fixture that starts the server


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


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_concurrent_writers_each_move_the_version_by_one(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # What the page's carried counts rely on: a write that sees version n + 1 was the only one since n.
    url = f"sqlite:///{tmp_path / 'version.db'}" if kind == "sqlite" else request.getfixturevalue("pg_url")
    store = Store(url)
    try:
        ids = seed(store, name=f"version-{kind}")
        start = store.version()
        seen: list[int] = []

        def decide(part: list[str]) -> None:
            for cid in part:
                store.set_decision(cid, "approved", reviewer=f"r-{part[0]}")
                written = store.db.last_written_version
                assert written is not None
                seen.append(written)

        threads = [threading.Thread(target=decide, args=(ids[i::4],)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(seen) == list(range(start + 1, start + len(ids) + 1))  # each write its own number
        assert store.version() == start + len(ids)
    finally:
        store.close()


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
