"""The layout at 800 and 1440 px in Chromium (issue 17 point 8): on every page no label is cut to an
ellipsis ("A... A" buttons, blank selects, clipped metric labels), and the Insights histogram's labels
do not overlap. Screenshots of each page and width go to the test's tmp folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from augment_core.store import Store
from tests.studio_server import CHROMIUM, CHROMIUM_ARGS, studio_server
from tests.test_pages import seed

pytestmark = pytest.mark.browser

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)

PAGES = ["Upload", "Augment", "Review", "Insights", "Export"]
# Every element whose text the browser cuts with an ellipsis, and every select showing nothing.
CUT_TEXT = """() => {
  const cut = [];
  for (const e of document.querySelectorAll('[data-testid="stMain"] *, [data-testid="stSidebar"] *')) {
    const box = e.getBoundingClientRect();
    if (!box.width || !e.innerText || !e.innerText.trim()) continue;
    const style = getComputedStyle(e);
    if (style.textOverflow === 'ellipsis' && e.scrollWidth > e.clientWidth + 1) cut.push(e.innerText.trim());
  }
  for (const s of document.querySelectorAll('[data-testid="stSelectbox"] [data-baseweb="select"]')) {
    if (!s.innerText.trim()) cut.push('(a blank select)');
  }
  return cut;
}"""
# The histogram's labels (Vega-Lite, drawn as SVG: studio/charts.py).
LABELS = '[data-testid="stVegaLiteChart"] .mark-text.role-mark text'
ANNOTATIONS = """() => [...document.querySelectorAll('""" + LABELS + """')].map(a => {
  const b = a.getBoundingClientRect(); return [a.textContent, b.left, b.top, b.right, b.bottom]; })"""


@pytest.fixture
def base(tmp_path: Path) -> Iterator[str]:
    db_url = f"sqlite:///{tmp_path / 'studio.db'}"
    store = Store(db_url)
    ids = seed(store)
    for cid in ids[:30]:
        store.set_decision(cid, "approved")
    store.close()
    log = tmp_path / "streamlit.log"
    try:
        with studio_server(db_url, log) as (_, url):
            yield url
    finally:
        print(log.read_text(errors="replace")[-3000:] if log.exists() else "")


def _overlapping(boxes: list[list[float | str]]) -> list[tuple[str, str]]:
    pairs = []
    for i, (a, *ra) in enumerate(boxes):
        for b, *rb in boxes[i + 1 :]:
            left, top, right, bottom = (float(v) for v in ra)
            if left < float(rb[2]) and float(rb[0]) < right and top < float(rb[3]) and float(rb[1]) < bottom:
                pairs.append((str(a), str(b)))
    return pairs


def _cut_once_settled(page) -> list[str]:  # type: ignore[no-untyped-def]
    """The labels cut once the page's layout settled: a label can be cut for a frame while the
    columns beside it are still being drawn; a real cut stays for the whole 5 s."""
    cut: list[str] = page.evaluate(CUT_TEXT)
    for _ in range(20):
        if not cut:
            break
        page.wait_for_timeout(250)
        cut = page.evaluate(CUT_TEXT)
    return cut


@pytest.mark.parametrize("width", [800, 1440])
def test_no_label_is_cut_and_no_plot_label_overlaps(base: str, tmp_path: Path, width: int) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": 1100})
            page.goto(base)
            # The app's own navigation, drawn once app.py ran (before that, Streamlit lists pages/ raw).
            page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.wait_for(timeout=60_000)
            cut: dict[str, list[str]] = {}
            buttons: dict[str, list[str]] = {}
            for name in PAGES:
                page.locator('[data-testid="stSidebarNav"] a', has_text=name).first.click()
                title = name if name != "Upload" else "Upload a dataset"
                page.get_by_role("heading", name=title, exact=True).wait_for()
                page.wait_for_load_state("networkidle")
                if name == "Insights":
                    page.locator(LABELS).first.wait_for(state="attached", timeout=60_000)
                    page.wait_for_timeout(500)  # the charts' last relayout
                    labels = page.evaluate(ANNOTATIONS)
                    assert sorted(str(label[0]) for label in labels) == ["optimal band", "valid window"]
                    overlaps = _overlapping(labels)
                    assert overlaps == [], f"plot labels overlap at {width} px: {overlaps}"
                page.screenshot(path=str(tmp_path / f"{name.lower()}-{width}.png"), full_page=True)
                cut[name] = _cut_once_settled(page)
                buttons[name] = [t.strip() for t in page.locator('[data-testid="stMain"] button').all_inner_texts()]
        finally:
            browser.close()
    assert {name: texts for name, texts in cut.items() if texts} == {}, f"labels cut at {width} px"
    # The checks saw the buttons that used to be cut ("A... A", "R... X") with their whole labels.
    review = " | ".join(buttons["Review"])
    assert "Approve" in review and "Reject" in review and "Next" in review
    assert (tmp_path / f"review-{width}.png").stat().st_size > 0
