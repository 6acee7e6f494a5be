"""Two reviewers in two browsers, logged in through a real OpenID Connect provider on 127.0.0.1.

``oidc-provider-mock`` runs as a server of its own; the studio gets ``[auth]`` in a secrets file
of the test's, so ``st.login`` sends each browser context (its own cookies) to the provider's
form, where the reviewer names themselves. Each takes candidates from their queue and decides:
the queues do not overlap (the default rule asks for one response), the responses carry the
right names, and the reviewer without the admin role sees no bulk actions.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from augment_core.records import Candidate
from augment_core.store import Store
from tests.studio_server import CHROMIUM, CHROMIUM_ARGS, free_port, studio_server

pytestmark = pytest.mark.browser
TIMEOUT_MS = 60_000
ANN, BOB = "ann@example.org", "bob@example.org"

if not Path(CHROMIUM).exists():  # `make test` installs Debian's chromium first
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture
def provider(tmp_path: Path) -> Iterator[str]:
    """The OpenID Connect provider on 127.0.0.1; its base URL."""
    port = free_port()
    log = (tmp_path / "oidc.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/.well-known/openid-configuration", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((tmp_path / "oidc.log").read_text()) from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def _store(url: str) -> Store:
    store = Store(url)
    with store.transaction() as conn:
        dataset_id = store.create_dataset(conn, "team", "alpaca", "t.jsonl", "jsonl", {})
        store.add_examples(conn, dataset_id, [(1, "e1", {"instruction": "Say hello.", "output": "Hello."})])
    example = next(store.iter_examples(dataset_id))[0]
    texts = [f"Say hello, friend {i}." for i in range(6)]
    store.add_candidates(
        [Candidate(f"t{i}", dataset_id, example.id, "manual", "instruction", text) for i, text in enumerate(texts)]
    )
    store.set_reviewer(ANN, "admin")
    store.set_reviewer(BOB, "reviewer")
    return store


def _log_in(context: Any, base: str, who: str) -> Any:
    from playwright.sync_api import expect

    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(base)
    page.get_by_role("button", name="Log in").click()
    page.locator('input[name="sub"]').fill(who)  # the provider's own form
    page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_text(f"Reviewing as {who}")).to_be_visible()
    return page


def _open_queue(page: Any) -> None:
    from playwright.sync_api import expect

    page.get_by_role("link", name="Review", exact=True).click()
    page.locator(".st-key-rv_queue label").click()
    expect(page.get_by_text("Your queue")).to_be_visible()


def test_two_reviewers_logged_in_through_oidc_share_the_work(provider: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    db_url = f"sqlite:///{tmp_path / 'team.db'}"
    store = _store(db_url)
    port = free_port()
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        'cookie_secret = "a-test-cookie-secret-of-enough-length"\n'
        'client_id = "augment-studio"\n'
        'client_secret = "augment-studio-secret"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n'
    )
    log = tmp_path / "streamlit.log"
    try:
        with studio_server(db_url, log, extra=("--secrets.files", str(secrets)), port=port) as (_, base), \
                sync_playwright() as pw:  # fmt: skip
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                ann = _log_in(browser.new_context(viewport={"width": 1400, "height": 1000}), base, ANN)
                bob = _log_in(browser.new_context(viewport={"width": 1400, "height": 1000}), base, BOB)
                expect(ann.get_by_text("(admin)")).to_be_visible()
                expect(bob.get_by_text("(reviewer)")).to_be_visible()
                _open_queue(ann)
                _open_queue(bob)
                # Both queues hold a candidate now: never the same one.
                expect(ann.locator(".aug-side")).to_have_count(2)
                expect(bob.locator(".aug-side")).to_have_count(2)
                for answered in (1, 2):
                    for page in (ann, bob):
                        page.locator(".st-key-rv_approve button").click()
                        expect(page.get_by_text(f"you answered {answered}")).to_be_visible()
                # The admin has the bulk actions, the reviewer has none.
                expect(ann.locator(".st-key-rv_bulk_open")).to_have_count(1)
                expect(bob.locator(".st-key-rv_bulk_open")).to_have_count(0)
                ann.screenshot(path=str(tmp_path / "ann.png"), full_page=True)
            finally:
                browser.close()
    finally:
        print(log.read_text(errors="replace")[-5000:] if log.exists() else "")
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT candidate_id, reviewer FROM responses ORDER BY candidate_id").all()
    by_reviewer = {who: {cid for cid, name in rows if name == who} for who in (ANN, BOB)}
    assert len(by_reviewer[ANN]) == len(by_reviewer[BOB]) == 2
    assert not by_reviewer[ANN] & by_reviewer[BOB]  # the queues did not overlap
    assert {name for _, name in rows} == {ANN, BOB}
    store.close()
