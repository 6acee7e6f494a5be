"""The review page in a real browser (Debian's Chromium via Playwright) against `streamlit run app.py`.

A link to /review?dataset=... is the first page a freshly started server is asked for (a click on
a table row opens that candidate); a reload
keeps the dataset, the filters and the candidate; the search finds a candidate; a bulk action
shows the rows it will change, and its undo, after a reload, gives every candidate back its
earlier decision.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import sqlalchemy as sa

from augment_core.importer import import_file
from augment_core.store import Store
from augment_core.store.schema import decisions, responses
from tests.conftest import SAMPLE
from tests.studio_server import CHROMIUM, choose, open_tab, studio_server
from tests.test_pages import seed

pytestmark = pytest.mark.browser
TIMEOUT_MS = 60_000
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

if not Path(CHROMIUM).exists():  # `make test` installs Debian's chromium first
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A fresh server on a store holding 'aaa' (first in the picker, no candidates) and 'sample'
    (48 scored candidates); (base URL, database URL). No page is opened before the test's."""
    db_url = f"sqlite:///{tmp_path / 'studio.db'}"
    store = Store(db_url)
    try:
        import_file(store, SAMPLE, name="aaa")
        seed(store)
    finally:
        store.close()
    log = tmp_path / "streamlit.log"
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)  # expect's own 5 s is short on a busy 2-core machine
    try:
        with studio_server(db_url, log) as (_, base):
            yield base, db_url
    finally:
        expect.set_options(timeout=5_000)
        print(log.read_text(errors="replace")[-5000:] if log.exists() else "")


def _params(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def _main(page: Any) -> Any:
    return page.locator('[data-testid="stMain"]')


def _sidebar_says(page: Any, pattern: str) -> Any:
    return page.locator('[data-testid="stSidebar"]').get_by_text(re.compile(pattern))


def test_a_link_to_review_is_the_first_page_of_a_fresh_server(server: tuple[str, str]) -> None:
    from playwright.sync_api import expect

    base, _ = server
    with open_tab(f"{base}/review?dataset=sample&status=all&sort=similarity%2C+high+first") as page:
        page.set_default_timeout(TIMEOUT_MS)
        expect(page.get_by_text(re.compile(r"Candidate 1 of 48"))).to_be_visible()
        expect(page.get_by_text("similarity 0.950").first).to_be_visible()  # the sort from the link
        expect(page.get_by_text("No dataset yet")).to_have_count(0)
        # app.py's navigation and sidebar, not Streamlit's raw list of pages/
        expect(_sidebar_says(page, "alpaca · 24 examples · 48")).to_be_visible()
        assert page.locator('[data-testid="stSidebarNav"]').get_by_text("Review").count() == 1
        assert _params(page)["dataset"] == ["sample"]
        # A click on the table's fifth row opens that candidate (the row marker column, 35 px rows).
        page.set_viewport_size({"width": 1400, "height": 1600})
        grid = _main(page).locator('[data-testid="stDataFrame"]').first
        grid.scroll_into_view_if_needed()
        box = grid.bounding_box()
        page.mouse.click(box["x"] + 15, box["y"] + 35 + 35 * 4 + 17)
        expect(page.get_by_text(re.compile(r"Candidate 5 of 48"))).to_be_visible()
        # Every other page opened from a link (a new session each) has app.py's sidebar and the dataset.
        for path in ("insights", "augment", "export"):
            page.goto(f"{base}/{path}?dataset=sample")
            expect(_sidebar_says(page, "48 candidates")).to_be_visible()
            expect(page.get_by_text("No dataset yet")).to_have_count(0)
            assert _params(page)["dataset"] == ["sample"]


def test_a_reload_keeps_dataset_filters_and_candidate_and_search_finds_one(server: tuple[str, str]) -> None:
    from playwright.sync_api import expect

    base, _ = server
    with open_tab(f"{base}/review?dataset=sample") as page:
        page.set_default_timeout(TIMEOUT_MS)
        expect(page.get_by_text(re.compile(r"Candidate 1 of 48"))).to_be_visible()
        # Filter by augmenter, move on two candidates.
        choose(page, "rv_augmenters", "paraphrase")
        page.keyboard.press("Escape")
        expect(page.get_by_text(re.compile(r"Candidate 1 of 24\b"))).to_be_visible()
        page.locator(".st-key-rv_next button").click()
        expect(page.get_by_text(re.compile(r"Candidate 2 of 24\b"))).to_be_visible()
        page.locator(".st-key-rv_next button").click()
        expect(page.get_by_text(re.compile(r"Candidate 3 of 24\b"))).to_be_visible()
        expect(page).to_have_url(re.compile(r"candidate=sample-003-1"))
        assert _params(page)["augmenter"] == ["paraphrase"] and _params(page)["dataset"] == ["sample"]

        page.reload()
        expect(page.get_by_text(re.compile(r"Candidate 3 of 24\b"))).to_be_visible()
        expect(page.locator(".st-key-rv_augmenters")).to_contain_text("paraphrase")
        expect(_sidebar_says(page, "48 candidates")).to_be_visible()

        # The search: the original record's output, which no candidate rewrote.
        box = page.get_by_role("textbox", name="Search")
        box.fill("[0, 2, 4, 6, 8]")
        box.press("Enter")
        expect(page.get_by_text(re.compile(r"Candidate 1 of 1\b"))).to_be_visible()
        expect(page.locator(".aug-side").nth(1)).to_contain_text("Please, explain what a python list comprehension")
        _main(page).get_by_text("Whole record").click()  # collapsed until opened
        expect(_main(page).get_by_text(re.compile(r"output: A list comprehension builds"))).to_be_visible()
        assert _params(page)["q"] == ["[0, 2, 4, 6, 8]"]
        page.reload()
        expect(page.get_by_text(re.compile(r"Candidate 1 of 1\b"))).to_be_visible()
        expect(page.get_by_role("textbox", name="Search")).to_have_value("[0, 2, 4, 6, 8]")


def _decisions(db_url: str) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return ({tuple(r) for r in conn.execute(sa.select(decisions))},
                    {tuple(r) for r in conn.execute(sa.select(responses))})  # fmt: skip
    finally:
        engine.dispose()


def test_bulk_preview_then_undo_restores_every_decision(server: tuple[str, str]) -> None:
    from playwright.sync_api import expect

    base, db_url = server
    store = Store(db_url)
    try:
        ids = [f"sample-{p:03d}-{k}" for p in range(1, 25) for k in range(2)]
        store.set_decision(ids[0], "approved", edited_text="An edit that must survive.", reviewer="ana")
        store.set_decision(ids[1], "rejected", reviewer="bo")
        store.set_decision(ids[2], "approved")
    finally:
        store.close()
    before = _decisions(db_url)

    with open_tab(f"{base}/review?dataset=sample&status=all") as page:
        page.set_default_timeout(TIMEOUT_MS)
        expect(page.get_by_text(re.compile(r"Candidate 1 of 48"))).to_be_visible()
        page.locator(".st-key-rv_bulk_open").get_by_text("Bulk actions").click()
        choose(page, "rv_bulk_preset", re.compile("Reject ... candidates matching the filters"))
        expect(page.get_by_text("The first 50 of the", exact=False)).to_have_count(0)
        expect(page.get_by_text("The 47 candidates this will change, in file order:")).to_be_visible()
        expect(_main(page).locator('[data-testid="stDataFrame"]')).to_have_count(2)  # the card's table, the preview
        page.locator('[data-testid="stCheckbox"]').filter(has_text="Yes: reject 47").click()
        page.locator(".st-key-rv_bulk_go button").click()
        expect(page.get_by_text("Reject 47 candidates matching the filters: done.")).to_be_visible()
        expect(_sidebar_says(page, "0 approved · 48 rejected")).to_be_visible()
        assert _decisions(db_url) != before

        # A reload between the action and its undo: the undo is kept in the store, not the session.
        page.reload()
        expect(page.get_by_text(re.compile(r"Candidate 1 of 48"))).to_be_visible()
        undo = page.get_by_role("button", name=re.compile("^Undo: Reject 47 candidates"))
        expect(undo).to_have_count(1)
        undo.click()
        expect(page.get_by_text(re.compile("47 decisions restored"))).to_be_visible()
        expect(_sidebar_says(page, "2 approved · 1 rejected")).to_be_visible()
    assert _decisions(db_url) == before  # status, edit, time and every response as they were


# What is cut off: a button label's ellipsis box or a select's value wider than the room it has.
TRUNCATED = """els => els.filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.innerText || e.value)"""


def test_the_card_holds_at_800_px(server: tuple[str, str]) -> None:
    from playwright.sync_api import expect

    base, _ = server
    with open_tab(f"{base}/review?dataset=sample") as page:
        page.set_viewport_size({"width": 800, "height": 1000})
        page.reload()  # drawn at 800 px from the start
        expect(page.get_by_text(re.compile(r"Candidate 1 of 48"))).to_be_visible()
        page.wait_for_timeout(1000)  # the columns settle
        for key in ("rv_approve", "rv_reject", "rv_prev", "rv_next", "rv_reset"):
            expect(page.locator(f".st-key-{key} button")).to_contain_text(
                {"rv_approve": "Approve", "rv_reject": "Reject", "rv_prev": "Previous", "rv_next": "Next",
                 "rv_reset": "Back to pending"}[key])  # fmt: skip
        page.screenshot(path=str(ARTIFACTS / "review-800.png"))
        labels = page.locator('[data-testid="stMain"] button .stMarkdownEllipsis')
        assert labels.evaluate_all(TRUNCATED) == []  # no button label is cut off
        chosen = page.locator('[data-testid="stMain"] [data-baseweb="select"] input')
        assert chosen.evaluate_all(TRUNCATED) == []  # nor a select's value
