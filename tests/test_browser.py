"""End to end in a real browser: Debian's Chromium (headless, via Playwright) against `streamlit run app.py`.

Upload a JSONL file, run the templates augmenter, approve two candidates and reject one with the
mouse and one with the keyboard, reload and find the decisions kept, export and read the file back.
Dataset text with ``<script>`` and ``<img onerror>`` must show as text. Screenshots of every page
go to test-artifacts/.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from augment_core.review import ReviewFilter
from augment_core.store import DecisionCounts, Store
from tests.conftest import REPO
from tests.studio_server import CHROMIUM, CHROMIUM_ARGS, studio_server

pytestmark = pytest.mark.browser

ARTIFACTS = REPO / "test-artifacts"
SCRIPT = '<script>alert("x")</script>'
IMG = '<img src=x onerror="alert(1)">'
RECORDS = [
    {"id": "r1", "instruction": f"Explain why {SCRIPT} stays text, and {IMG} too.", "input": "", "output": "Escaping."},
    {"id": "r2", "instruction": "Give three tips for staying healthy.", "input": "", "output": "Eat, sleep, move."},
    {"id": "r3", "instruction": "Translate the sentence into French.", "input": "Good morning.", "output": "Bonjour."},
    {"id": "r4", "instruction": "Summarize the article in one sentence.", "input": "Cats sleep.", "output": "Naps."},
    {"id": "r5", "instruction": "Write a haiku about the sea.", "input": "", "output": "Waves fold on the shore."},
]
TIMEOUT_MS = 60_000

if not Path(CHROMIUM).exists():  # `make test` installs Debian's chromium first
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """`streamlit run app.py` on 127.0.0.1 with a temp database; (base URL, database URL); stopped after."""
    db_url = f"sqlite:///{tmp_path / 'studio.db'}"
    log = tmp_path / "streamlit.log"
    try:
        with studio_server(db_url, log) as (_, base):
            yield base, db_url
    finally:
        # Shown by pytest only when the test fails: the server's side of the story.
        print(log.read_text(errors="replace")[-5000:] if log.exists() else "")


def test_upload_augment_review_reload_export(server: tuple[str, str], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, db_url = server
    ARTIFACTS.mkdir(exist_ok=True)
    data = tmp_path / "tiny.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in RECORDS), encoding="utf-8")
    dialogs: list[str] = []
    outside: list[str] = []

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
            page.set_default_timeout(TIMEOUT_MS)
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            # A local tool makes no outside request (a ":material/" page icon was fetched from Google).
            page.on("request", lambda r: r.url.startswith((base, "data:", "blob:")) or outside.append(r.url))
            page.goto(base)

            # ---- upload ----
            page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(data))
            expect(page.get_by_text("Detected schema: alpaca")).to_be_visible()
            expect(page.locator('[data-testid="stAppDeployButton"]')).to_have_count(0)  # .streamlit/config.toml
            page.get_by_role("button", name="Import", exact=True).click()
            expect(page.get_by_text("Imported 5 records from tiny.jsonl into 'tiny' (alpaca).")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "upload.png"), full_page=True)

            # ---- augment: templates, then scoring with the local embedding model ----
            page.get_by_role("link", name="Augment").click()
            templates = page.locator('[data-testid="stCheckbox"]').filter(has_text="Rewrite instructions with fixed")
            templates.click()
            run = page.get_by_role("button", name="Run")
            expect(run).to_be_enabled()
            run.click()
            outcome = page.get_by_text(re.compile("Finished in|The run stopped"))
            expect(outcome).to_be_visible(timeout=180_000)
            assert "Finished in" in outcome.inner_text(), outcome.inner_text()
            expect(page.get_by_text("15 new candidates, 0 failed")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "augment.png"), full_page=True)

            # ---- review: the hostile text shows as text ----
            page.get_by_role("link", name="Review", exact=True).click()
            expect(page.get_by_text("Candidate 1 of 15")).to_be_visible()
            candidate_side = page.locator(".aug-side").nth(1)
            expect(candidate_side).to_contain_text(SCRIPT)
            expect(candidate_side).to_contain_text(IMG)
            assert page.locator(".aug-side img").count() == 0
            assert page.locator(".aug-side script").count() == 0
            assert page.locator(".aug-side mark").count() > 0  # the changed words are highlighted
            page.screenshot(path=str(ARTIFACTS / "review.png"), full_page=True)

            # Two approvals and a rejection with the mouse, a rejection with the keyboard.
            for key, left in (("rv_approve", 14), ("rv_approve", 13), ("rv_reject", 12)):
                page.locator(f".st-key-{key} button").click()
                expect(page.get_by_text(f"Candidate 1 of {left}")).to_be_visible()
            page.evaluate("document.activeElement && document.activeElement.blur()")  # no widget has the focus
            page.keyboard.press("x")
            expect(page.get_by_text("Candidate 1 of 11")).to_be_visible()

            # ---- a reload is a new session: the decisions come back from the store ----
            page.reload()
            expect(page.get_by_text("Candidate 1 of 11")).to_be_visible()
            expect(page.get_by_text("2 approved · 2 rejected")).to_be_visible()

            # ---- insights ----
            page.get_by_role("link", name="Insights").click()
            # expect's own timeout is 5 s, not the page's: the charts take longer on a busy machine
            expect(page.locator('[data-testid="stPlotlyChart"]').first).to_be_visible(timeout=TIMEOUT_MS)
            page.wait_for_timeout(1500)  # let plotly finish drawing before the screenshot
            page.screenshot(path=str(ARTIFACTS / "insights.png"), full_page=True)

            # ---- export: the approved candidates with their originals ----
            page.get_by_role("link", name="Export").click()
            page.get_by_role("button", name="Prepare the file").click()
            download_button = page.get_by_role("button", name="Download tiny-curated.jsonl")
            expect(download_button).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "export.png"), full_page=True)
            with page.expect_download() as info:
                download_button.click()
            exported = Path(info.value.path()).read_text(encoding="utf-8")
        finally:
            browser.close()
    assert outside == [], f"requests outside the studio: {outside}"

    assert dialogs == []  # no script from the data ever ran
    rows = [json.loads(line) for line in exported.splitlines()]
    store = Store(db_url)
    try:
        dataset = store.get_dataset("tiny")
        assert dataset is not None
        counts = store.dataset_counts(dataset.id)
        assert counts.decisions == DecisionCounts(approved=2, rejected=2, pending=11)
        approved = {row.candidate.text for row in store.review_page(dataset.id, ReviewFilter(status="approved"))}
    finally:
        store.close()
    assert len(rows) == 5 + 2
    assert [r["id"] for r in rows[:1]] == ["r1"]
    assert {r["instruction"] for r in rows} >= {r["instruction"] for r in RECORDS}
    assert len(approved) == 2
    assert {r["instruction"] for r in rows} - {r["instruction"] for r in RECORDS} == approved


def test_try_on_5_records_shows_the_candidates_in_the_browser(server: tuple[str, str], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    from augment_core.importer import import_file

    base, db_url = server
    ARTIFACTS.mkdir(exist_ok=True)
    data = tmp_path / "tiny.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in RECORDS), encoding="utf-8")
    store = Store(db_url)
    try:
        import_file(store, data, name="tiny")
    finally:
        store.close()
    dialogs: list[str] = []

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2600})  # tall: the candidates show
            page.set_default_timeout(TIMEOUT_MS)
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(base)
            expect(page.get_by_text(re.compile("alpaca · 5 examples"))).to_be_visible()  # app.py's sidebar is up
            page.get_by_role("link", name="Augment").click()
            page.locator('[data-testid="stCheckbox"]').filter(has_text="Rewrite instructions with fixed").click()
            page.locator('[data-testid="stCheckbox"]').filter(has_text="Score the new candidates").click()  # off
            page.get_by_role("button", name="Try on 5 records").click()
            expect(page.get_by_text("Candidates of the 5 records tried")).to_be_visible(timeout=120_000)
            expect(page.get_by_text(re.compile("Preview of 5 records: finished"))).to_be_visible()
            expect(page.get_by_text("Give three tips for staying healthy.", exact=True)).to_have_count(1)
            expect(page.get_by_text("Can you give three tips for staying healthy?", exact=True)).to_be_visible()
            expect(page.get_by_text(re.compile(r"stays text, and <img src=x")).first).to_be_visible()
            assert page.locator('[data-testid="stMain"] img').count() == 0  # the data's <img> is text
            page.screenshot(path=str(ARTIFACTS / "augment-try.png"), full_page=True)
        finally:
            browser.close()
    assert dialogs == []
