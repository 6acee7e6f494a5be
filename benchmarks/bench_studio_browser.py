"""The studio as a reviewer feels it, in the browser (issue 17's figures), and its scoring rate against the CLI's.

1. Responsiveness with 100,000 candidates (bench_studio.py's synthetic store, built by its ``fill``):
   the real server (tests/studio_server.py) and Debian's Chromium through Playwright, headless.
   - a Review filter change: the Band select on /review?dataset=bench, from the option's pointerdown
     until the rerun has finished (Streamlit's status widget no longer running, no stale element)
     and the card shows the new filter's count ("Candidate 1 of N", N counted in the store); the
     status widget's removal from the page (after its fade-out) on the same line;
   - Insights: to the first chart drawn (the Vega-Lite histogram's SVG, or a plotly SVG, with a size),
     opened by its address (from the navigation's start: a new session, the whole frontend loaded;
     cold = the first Insights of the server, its first queries; warm = the server's caches filled), and
     opened from the sidebar's link in the same session (from the click).
   Times are taken in the page (performance.now()), so Playwright's round trips are not in them.
   The card's own SQL for the same filters is timed in this process (server-side, no Streamlit).
2. Scoring rate, the studio against the CLI, on copies of one database: ``--records`` Alpaca
   instructions (../shared/datasets/alpaca_5000.json) x 3 template candidates, unscored.
   (a) ``augment score`` in a subprocess; (b) the Augment page: templates ticked (every candidate is
   already stored, so generation skips them all), Run with "score the new candidates" on, until the
   page says "Finished". The rate is counted from the store's scored_at stamps alike for both
   (candidates after the first saved batch / time from the first to the last batch: no process start
   or model load), beside each side's end-to-end figure. ``--page-left``: one more studio run whose
   tab leaves right after the click, so the page's once-a-second polling is not running beside it.

    .venv/bin/python benchmarks/bench_studio_browser.py [--candidates 100000] [--changes 5] [--records 1000]
        [--rounds 1] [--page-left] [--only browser|scoring] [--server-side]

``--server-side`` also runs bench_studio.py on a store of the same content (its ``fill`` is seeded):
the AppTest figures (review rerun after Approve, Insights page run) without a browser.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_studio import fill  # noqa: E402

from augment_core import runs  # noqa: E402
from augment_core.importer import import_file  # noqa: E402
from augment_core.review import ReviewFilter  # noqa: E402
from augment_core.store import Store  # noqa: E402
from tests.studio_server import choose, open_tab, studio_server  # noqa: E402

BENCH_DATASET = "bench"  # bench_studio.fill's name
SCORING_DATASET = "alpaca"
# The Band select's choices (views/review.py's BANDS), in an order where each count differs from the last.
BAND_FILTERS: dict[str, dict[str, bool]] = {
    "optimal band": {"optimal": True},
    "valid window": {"valid": True},
    "outside window": {"valid": False},
    "any": {},
}
TEMPLATES = {"templates": {"n": 3, "seed": 0, "noisy": False}}  # the Augment page's defaults for it
TIMEOUT_MS = 180_000
SCORING_TIMEOUT_MS = 900_000  # a studio run watched by its page on a busy 2-core machine: minutes

# The rerun is over: the status widget gone or leaving (its exit transition), no element of the
# previous run left stale, the card says `want` and the table below it is drawn.
RERUN_DONE = """([want]) => {
  const widget = document.querySelector('[data-testid="stStatusWidget"]');
  if (widget && !widget.className.includes('StatusWidget-exit')) return false;
  const main = document.querySelector('[data-testid="stMain"]');
  if (!main || main.querySelector('[data-stale="true"]')) return false;
  if (!new RegExp(want + '(?![0-9,])').test(main.innerText)) return false;
  if (!main.querySelector('[data-testid="stDataFrame"]')) return false;
  return performance.now();
}"""
WIDGET_GONE = "() => !document.querySelector('[data-testid=\"stStatusWidget\"]') && performance.now()"
# The first chart drawn, whichever it is: the histogram is Vega-Lite (studio/charts.py), the others plotly.
CHARTS = '[data-testid="stVegaLiteChart"], [data-testid="stPlotlyChart"]'
FIRST_PLOT = """() => {
  const drawn = '[data-testid="stVegaLiteChart"] svg, [data-testid="stPlotlyChart"] .main-svg';
  for (const svg of document.querySelectorAll(drawn)) {
    const box = svg.getBoundingClientRect();
    if (box.width > 0 && box.height > 0) return performance.now();
  }
  return false;
}"""
SIDEBAR = "() => !!document.querySelector('[data-testid=\"stSidebar\"]') && performance.now()"
CHART_ELEMENT = f"() => !!document.querySelector('{CHARTS}') && performance.now()"
NO_PLOT = f"() => !document.querySelector('{CHARTS}')"
# The moment of the last pointerdown, in the page's clock (kept across reruns and navigations).
MARK_POINTER = "document.addEventListener('pointerdown', () => { window.__pointer = performance.now(); }, true);"


def shared_datasets() -> Path:
    """../shared/datasets beside the checkout (or beside a worktree's parent folder)."""
    if found := os.environ.get("AUGMENT_SHARED_DATASETS"):
        return Path(found)
    for base in (REPO.parent, REPO.parent.parent):
        if (base / "shared" / "datasets").is_dir():
            return base / "shared" / "datasets"
    raise SystemExit("../shared/datasets not found (set AUGMENT_SHARED_DATASETS)")


# ---- 1. review filter change and Insights' first chart, in the browser --------------------------


def band_counts(store: Store, dataset_id: int) -> dict[str, int]:
    return {band: store.count_review(dataset_id, ReviewFilter(status="pending", **flt))
            for band, flt in BAND_FILTERS.items()}  # fmt: skip


def card_queries_ms(store: Store, dataset_id: int, runs_per_band: int = 3) -> float:
    """Median of the card's queries (count, one page of 20) for the Band filters: the SQL side of a change."""
    times = []
    for _ in range(runs_per_band):
        for flt in BAND_FILTERS.values():
            chosen = ReviewFilter(status="pending", **flt)
            t0 = time.perf_counter()
            store.count_review(dataset_id, chosen)
            store.review_page(dataset_id, chosen, "file order", limit=20, offset=0)
            times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def wait_ms(page: Any, script: str, arg: Any = None) -> float:
    """The page's clock when ``script`` first returns a time (polled on every animation frame)."""
    return float(page.wait_for_function(script, arg=arg, timeout=TIMEOUT_MS).json_value())


def filter_changes(page: Any, base: str, counts: dict[str, int], changes: int) -> list[tuple[float, float]]:
    """(ms to the rerun's end, ms to the status widget gone) for ``changes`` Band changes on Review."""
    page.goto(f"{base}/review?dataset={BENCH_DATASET}")
    wait_ms(page, RERUN_DONE, [f"Candidate 1 of {counts['any']:,}"])
    bands = list(BAND_FILTERS)
    times = []
    for i in range(changes):
        band = bands[i % len(bands)]
        choose(page, "rv_band", band, exact=True)
        pointer = float(page.evaluate("window.__pointer"))
        done = wait_ms(page, RERUN_DONE, [f"Candidate 1 of {counts[band]:,}"])
        gone = wait_ms(page, WIDGET_GONE)
        times.append((done - pointer, gone - pointer))
    return times


def insights_by_address_ms(page: Any, base: str) -> tuple[float, float, float]:
    """(ms to the app's sidebar, to the first chart's element, to its plot drawn) from navigating to
    /insights?dataset=... in a new session (the new document's clock starts at the navigation)."""
    page.goto(f"{base}/insights?dataset={BENCH_DATASET}", wait_until="commit")
    shell = wait_ms(page, SIDEBAR)
    element = wait_ms(page, CHART_ELEMENT)
    return shell, element, wait_ms(page, FIRST_PLOT)


def insights_by_link_ms(page: Any, base: str) -> float:
    """ms from a click on the sidebar's Insights link (from Upload, same session) to the first plot drawn."""
    page.get_by_role("link", name="Upload").click()
    page.locator('[data-testid="stFileUploader"]').wait_for(timeout=TIMEOUT_MS)
    page.wait_for_function(NO_PLOT, timeout=TIMEOUT_MS)
    page.get_by_role("link", name="Insights").click()
    pointer = float(page.evaluate("window.__pointer"))
    return wait_ms(page, FIRST_PLOT) - pointer


def browser_figures(args: argparse.Namespace, tmp: Path) -> None:
    url = f"sqlite:///{tmp}/bench.db"
    store = Store(url)
    started = time.perf_counter()
    dataset_id = fill(store, args.candidates)
    counts = band_counts(store, dataset_id)
    print(f"store: {counts['any']:,} candidates (bench_studio.fill), filled in {time.perf_counter() - started:.1f} s; "
          f"pending per band: " + ", ".join(f"{band} {n:,}" for band, n in counts.items()))
    sql_ms = card_queries_ms(store, dataset_id)
    print(f"server side, the card's SQL for a Band filter (count + a page of 20): median {sql_ms:.0f} ms")
    store.close()

    with studio_server(url, tmp / "streamlit-browser.log") as (_, base), open_tab(base) as page:
        page.set_viewport_size({"width": 1400, "height": 1000})
        page.add_init_script(MARK_POINTER)
        cold_shell, cold_element, cold = insights_by_address_ms(page, base)
        by_address = [insights_by_address_ms(page, base) for _ in range(args.warm)]
        by_link = [insights_by_link_ms(page, base) for _ in range(args.warm)]
        changes = filter_changes(page, base, counts, args.changes)

    done = [d for d, _ in changes]
    gone = [g for _, g in changes]
    warm_shell, warm_element, warm = (statistics.median(t[i] for t in by_address) for i in range(3))
    link = statistics.median(by_link)
    print(f"browser, Review Band filter change ({args.changes} changes, {counts['any']:,} candidates): rerun finished "
          f"median {statistics.median(done):.0f} ms (max {max(done):.0f}); status widget removed median "
          f"{statistics.median(gone):.0f} ms")
    print(f"browser, Insights first chart, opened by its address (a new session, the whole frontend loaded): "
          f"cold {cold / 1000:.2f} s (first Insights of the server; sidebar at {cold_shell / 1000:.2f} s, "
          f"chart element at {cold_element / 1000:.2f} s), warm median {warm / 1000:.2f} s "
          f"(sidebar at {warm_shell / 1000:.2f} s, chart element at {warm_element / 1000:.2f} s; {args.warm} openings)")
    print(f"browser, Insights first chart, opened from the sidebar's link (same session, warm): median "
          f"{link / 1000:.2f} s ({args.warm} clicks)")
    print(f"FIGURES (browser): filter change {statistics.median(done):.0f} ms (target < 1 s); Insights first chart "
          f"cold {cold / 1000:.2f} s, warm {warm / 1000:.2f} s by address, {link / 1000:.2f} s by link "
          f"(target < 2 s); {counts['any']:,} candidates")


def server_side_figures(candidates: int) -> None:
    """bench_studio.py's own figures (AppTest) on a store of the same content, in its own process."""
    command = [sys.executable, str(REPO / "benchmarks" / "bench_studio.py"), "--candidates", str(candidates)]
    out = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        print(f"server side (bench_studio.py): {line}")


# ---- 2. scoring rate: the studio's Augment page against `augment score` --------------------------


def unscored_store(tmp: Path, records: int) -> Path:
    """A SQLite file with ``records`` Alpaca records and 3 template candidates each, none scored."""
    rows = json.loads((shared_datasets() / "alpaca_5000.json").read_text(encoding="utf-8"))[:records]
    source = tmp / f"{SCORING_DATASET}.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    path = tmp / "unscored.db"
    store = Store(f"sqlite:///{path}")
    try:
        import_file(store, source, name=SCORING_DATASET)
        runs.run(store, runs.RunSpec(dataset=SCORING_DATASET, augmenters=TEMPLATES, llm=False, score=False))
    finally:
        store.close()
    with sqlite3.connect(path) as conn:  # one file to copy: the WAL folded in
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def copy_of(path: Path, name: str) -> str:
    target = path.with_name(name)
    shutil.copyfile(path, target)
    return f"sqlite:///{target}"


def scored_stamps(url: str) -> tuple[int, list[tuple[datetime, int]]]:
    """(scored candidates, [(a saved batch's stamp, its size)] in time order) of a scored copy."""
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        rows = conn.execute("SELECT scored_at, COUNT(*) FROM scores GROUP BY scored_at ORDER BY scored_at").fetchall()
    batches = [(datetime.fromisoformat(stamp), n) for stamp, n in rows]
    return sum(n for _, n in batches), batches


def steady_rate(url: str) -> tuple[int, float | None, int]:
    """(pairs scored, pairs/s from the first saved batch to the last, batches)."""
    total, batches = scored_stamps(url)
    if len(batches) < 2:
        return total, None, len(batches)
    seconds = (batches[-1][0] - batches[0][0]).total_seconds()
    return total, (total - batches[0][1]) / seconds, len(batches)


def unscored(url: str) -> int:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM candidates").fetchone()[0])


def score_with_cli(url: str) -> float:
    """Seconds of `augment score` in its own process (start-up and model load included)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    command = [sys.executable, "-m", "augment_core", "score", "--db", url, "--dataset", SCORING_DATASET, "--quiet"]
    t0 = time.perf_counter()
    subprocess.run(command, cwd=REPO, env=env, check=True, capture_output=True)
    return time.perf_counter() - t0


def score_in_studio(url: str, log: Path, pairs: int, watched: bool = True) -> tuple[float, float | None]:
    """(seconds from the Run click to the end, the page's own scoring seconds = run - generation).

    ``watched``: the page stays open (it polls the run once a second) until it says "Finished";
    else the tab leaves for about:blank right after the click and the store's scored count is polled.
    """
    from playwright.sync_api import expect

    with studio_server(url, log) as (_, base), open_tab(base) as page:
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(f"{base}/augment?dataset={SCORING_DATASET}")
        page.locator('[data-testid="stCheckbox"]').filter(has_text="Rewrite instructions with fixed").click()
        run = page.get_by_role("button", name="Run")
        expect(run).to_be_enabled(timeout=TIMEOUT_MS)
        expect(page.get_by_text("Estimate", exact=True).first).to_be_visible(timeout=TIMEOUT_MS)  # its rerun is over
        t0 = time.perf_counter()
        run.click()
        if not watched:
            page.get_by_text(re.compile("Generating|Scoring")).first.wait_for(timeout=TIMEOUT_MS)  # the run started
            page.goto("about:blank")
            while scored_stamps(url)[0] < pairs:
                if time.perf_counter() - t0 > SCORING_TIMEOUT_MS / 1000:
                    raise RuntimeError("the studio's run did not score every candidate in time")
                time.sleep(0.5)
            return time.perf_counter() - t0, None
        outcome = page.get_by_text(re.compile("Finished in|The run stopped"))
        expect(outcome).to_be_visible(timeout=SCORING_TIMEOUT_MS)
        seconds = time.perf_counter() - t0
        text = outcome.inner_text()
    found = re.search(r"Finished in ([\d,.]+) s \(generation ([\d,.]+) s\)", text)
    if found is None:
        raise RuntimeError(f"the run did not finish: {text}")
    total, generation = (float(v.replace(",", "")) for v in found.groups())
    return seconds, total - generation


def scoring_figures(args: argparse.Namespace, tmp: Path) -> None:
    source = unscored_store(tmp, args.records)
    pairs = unscored(f"sqlite:///{source}")
    print(f"scoring store: {args.records:,} Alpaca records x 3 template candidates = {pairs:,} unscored pairs")
    ratios: dict[str, list[float]] = {"page open": [], "page left": []}
    for round_ in range(1, args.rounds + 1):
        cli_url = copy_of(source, f"cli-{round_}.db")
        cli_seconds = score_with_cli(cli_url)
        cli_scored, cli_rate, cli_batches = steady_rate(cli_url)
        assert cli_scored == pairs, (cli_scored, pairs)
        print(f"round {round_}, CLI `augment score`: {cli_scored:,} pairs in {cli_seconds:.1f} s wall "
              f"(process start and model load included) = {cli_scored / cli_seconds:.0f} pairs/s; "
              f"steady {cli_rate or 0:.0f} pairs/s over {cli_batches} saved batches")
        for how in ["page open", "page left"] if args.page_left else ["page open"]:
            studio_url = copy_of(source, f"studio-{round_}-{how.replace(' ', '-')}.db")
            log = tmp / f"streamlit-score-{round_}.log"
            seconds, page_scoring = score_in_studio(studio_url, log, pairs, watched=how == "page open")
            studio_scored, studio_rate, studio_batches = steady_rate(studio_url)
            assert studio_scored == pairs, (studio_scored, pairs)
            said = "" if page_scoring is None else (
                f"the page's scoring {page_scoring:.1f} s (model load included) = {pairs / page_scoring:.0f} pairs/s; ")
            print(f"round {round_}, studio Augment page Run ({how}): {studio_scored:,} pairs, {said}"
                  f"click to all scored {seconds:.1f} s; steady {studio_rate or 0:.0f} pairs/s "
                  f"over {studio_batches} saved batches")
            if cli_rate and studio_rate:
                ratios[how].append(studio_rate / cli_rate)
    for how, found in ratios.items():
        if found:
            print(f"FIGURES (scoring, {how}): studio / CLI steady scoring rate {statistics.median(found):.2f} "
                  f"(median of {len(found)} round(s): {', '.join(f'{r:.2f}' for r in found)}; target within 10 %), "
                  f"{pairs:,} pairs")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--candidates", type=int, default=100_000, help="the review store's size")
    parser.add_argument("--changes", type=int, default=5, help="Band filter changes timed")
    parser.add_argument("--warm", type=int, default=3, help="warm Insights openings timed")
    parser.add_argument("--records", type=int, default=1000, help="Alpaca records of the scoring store (x 3 pairs)")
    parser.add_argument("--rounds", type=int, default=1, help="CLI-then-studio scoring rounds")
    parser.add_argument("--page-left", action="store_true",
                        help="also a studio run whose tab leaves right after the Run click (no page polling)")
    parser.add_argument("--only", choices=["browser", "scoring"], help="one half only")
    parser.add_argument("--server-side", action="store_true", help="also bench_studio.py on the same store content")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        if args.only != "scoring":
            browser_figures(args, tmp)
            if args.server_side:
                server_side_figures(args.candidates)
        if args.only != "browser":
            scoring_figures(args, tmp)


if __name__ == "__main__":
    main()
