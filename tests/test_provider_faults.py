"""A provider that rate-limits for an hour, hangs, dies or refuses the key must not freeze a run
or lose what is stored (issue 16, points 1 and 6): through the real SDKs against the loopback
server, the library with the ``sleep`` seam at the default policy, the CLI with small caps."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from augment_core import retry
from augment_core.errors import GaveUp, KeyRefused, Unreachable
from augment_core.llm import LLMClient, Request, make_provider
from augment_core.retry import Notice, RetryPolicy, clock_time
from augment_core.store import Store, candidates
from tests.llm_server import LLMServer, serve
from tests.test_llm_client import SECRET, Sleeps

INSTRUCTIONS = [f"Describe item {i} in two sentences." for i in range(20)]


@pytest.fixture
def server() -> Iterator[LLMServer]:
    def paraphrases(call: Any) -> str:
        text = call.prompt.rsplit("Instruction:\n", 1)[-1].strip()
        return json.dumps([f"{style} {text}" for style in ("Kindly:", "Quickly:", "Formally:")])

    with serve(responder=paraphrases) as running:
        yield running


def dataset_file(tmp_path: Path, n: int) -> str:
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps({"instruction": t, "input": "", "output": "Fine."}) + "\n"
                            for t in INSTRUCTIONS[:n]))  # fmt: skip
    return str(path)


def run_args(server: LLMServer, *extra: str) -> list[str]:
    return ["run", "--augmenters", "paraphrase", "--provider", "anthropic", "--base-url", server.base_url,
            "--n", "3", *extra]  # fmt: skip


def stored(db_url: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(candidates)).mappings()]
    finally:
        engine.dispose()


# retry.clock_time's forms: 14:05 today, with the date on another day (a run near midnight).
CLOCK = r"(?:\d{4}-\d\d-\d\d )?\d\d:\d\d"


# ---- 1. retry-after: 3600 -------------------------------------------------------------------


def test_an_hour_long_retry_after_is_capped_said_and_gives_up_after_the_bounded_wait(server: LLMServer) -> None:
    """The default policy: each wait is capped at 120 s, one request waits 300 s at most in total."""
    sleeps = Sleeps()
    client = LLMClient(make_provider("anthropic", base_url=server.base_url, api_key=SECRET), sleep=sleeps)
    notices: list[Notice] = []
    client.guard.listen(notices.append)
    server.fail("429", times=99, retry_after=3600)
    until = time.time() + 3600

    async def go() -> None:
        async with client:
            await client.complete(Request(prompt="hello"))

    with pytest.raises(GaveUp) as caught:
        asyncio.run(go())
    hours = {clock_time(until - 60), clock_time(until), clock_time(until + 60)}  # a minute may turn
    message = str(caught.value)
    assert re.fullmatch(rf"anthropic: rate limited by the provider until ({CLOCK}); gave up after waiting 24\d s "
                        r"\(at most 300 s per item\)", message), message  # fmt: skip
    assert message.split("until ")[1].split(";")[0] in hours
    assert server.requests == 3  # asked, waited 120 s, asked, waited 120 s, asked: a third wait passes 300 s
    assert len(sleeps.delays) == 2 and all(120 <= d <= 121 for d in sleeps.delays)
    assert notices and notices[0].text.startswith("rate limited by the provider until ")
    assert notices[0].text.endswith(", waiting 120 s") and notices[0].text.split("until ")[1][:-15] in hours
    assert client.guard.resume_at - time.monotonic() <= 121  # the client-wide pause is capped too
    assert client.usage.failed == 1 and client.usage.retries == 2


def test_a_rate_limited_run_goes_on_says_so_and_keeps_what_is_stored(
    server: LLMServer, run_cli: Any, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    monkeypatch.setattr(retry, "LLM_POLICY", RetryPolicy(backoff=0.01, max_retry_after=0.05, max_wait=0.12))
    assert run_cli("import", dataset_file(tmp_path, 6))[0] == 0
    for i in (3, 4, 5):
        server.fail("429", times=99, match=f"item {i} ", retry_after=3600)
    code, out, err = run_cli(*run_args(server, "--concurrency", "1"))  # in order: items 0-2 first
    assert code == 1
    assert re.search(rf"rate limited by the provider until {CLOCK}, waiting 0.05 s", err), err
    assert "9 candidates failed (reasons stored on them)" in err and "18 candidates stored, 9 of them failed" in out
    rows = stored(db_url)
    failed = [r for r in rows if r["status"] == "failed"]
    assert len(rows) == 18 and len(failed) == 9
    assert all(re.match(rf"anthropic: rate limited by the provider until {CLOCK}; (gave up after waiting|not sent)",
                        r["error"]) for r in failed)  # fmt: skip
    assert sum("item 3 " in c.prompt for c in server.calls) == 3  # asked, waited, asked, waited, asked: 0.12 s
    # Item 3 waited in vain and the provider's hour is still ahead: items 4 and 5 are not even sent.
    assert not [c for c in server.calls if "item 4 " in c.prompt or "item 5 " in c.prompt]
    assert sum("; not sent (another request waited 0.12 s in vain; rerun after " in r["error"] for r in failed) == 6
    server.reset()
    code, out, err = run_cli(*run_args(server))
    assert code == 0, err
    assert "9 candidates stored, 0 of them failed, 3 items already done" in out
    assert server.requests == 3 and len(stored(db_url)) == 18  # the failures replaced, the rest kept


# ---- 6. hung or dead server, refused key ------------------------------------------------------


def test_a_server_that_hangs_trips_the_breaker_and_keeps_what_is_done(
    server: LLMServer, run_cli: Any, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    assert run_cli("import", dataset_file(tmp_path, 20))[0] == 0
    for i in range(5, 20):
        server.fail("hang", times=99, match=f"item {i} ")
    code, out, err = run_cli(*run_args(server, "--concurrency", "1", "--timeout", "1", "--max-retries", "1"))
    assert code == 1
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert lines == [f"error: stopping: 5 connection failures or timeouts in a row from {server.base_url} "
                     "(last: no reply within 1 s); what finished is stored, rerun to resume"]  # fmt: skip
    assert "Traceback" not in err
    rows = stored(db_url)
    assert sum(r["status"] == "ok" for r in rows) == 15  # items 0-4, stored
    assert {r["error"] for r in rows if r["status"] == "failed"} == {
        "anthropic: gave up after 2 attempts: no reply within 1 s"
    }  # items 5 and 6 gave up before the breaker opened on item 7; the other 13 items were never sent
    assert server.requests == 5 + 5


def test_a_dead_server_stops_the_run_at_once(run_cli: Any, db_url: str, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    assert run_cli("import", dataset_file(tmp_path, 20))[0] == 0
    with serve() as gone:
        url = gone.base_url  # nothing listens there once the server stopped
    monkeypatch.setattr(retry, "LLM_POLICY", RetryPolicy(backoff=0.01))
    code, out, err = run_cli("run", "--augmenters", "templates,paraphrase", "--provider", "anthropic",
                             "--base-url", url)  # fmt: skip
    assert code == 1 and f"error: cannot reach {url}: connection refused" in err
    assert "Traceback" not in err
    rows = stored(db_url)
    assert rows and all(r["augmenter"] == "templates" for r in rows)  # the templates batch is kept


@pytest.mark.parametrize("status", ["401", "403"])
def test_a_refused_key_stops_the_run_at_the_first_reply(
    server: LLMServer, run_cli: Any, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, status: str
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    assert run_cli("import", dataset_file(tmp_path, 20))[0] == 0
    assert run_cli("run", "--augmenters", "templates")[0] == 0
    before = stored(db_url)
    server.fail(status, times=99)
    code, out, err = run_cli(*run_args(server, "--concurrency", "4"))
    assert code == 1
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and lines[0].startswith(f"error: anthropic: the key was refused (HTTP {status}: ")
    assert SECRET not in err and SECRET[:12] not in err
    assert server.requests <= 4  # the requests already in flight, not one per record
    assert stored(db_url) == before


def test_the_library_raises_types_not_messages(server: LLMServer) -> None:
    sleeps = Sleeps()
    client = LLMClient(make_provider("anthropic", base_url=server.base_url, api_key=SECRET), sleep=sleeps)
    server.fail("401")

    async def twice() -> list[Any]:
        async with client:
            first = await asyncio.gather(client.complete(Request(prompt="a")), return_exceptions=True)
            second = await asyncio.gather(client.complete(Request(prompt="b")), return_exceptions=True)
            return first + second

    results = asyncio.run(twice())
    assert all(isinstance(r, KeyRefused) for r in results) and server.requests == 1  # the second is not sent
    dead = LLMClient(make_provider("openai", base_url="http://127.0.0.1:9/v1", api_key="sk-x"), sleep=Sleeps())

    async def refused() -> None:
        async with dead:
            await dead.complete(Request(prompt="a"))

    with pytest.raises(Unreachable, match=re.escape("cannot reach http://127.0.0.1:9/v1: connection refused")):
        asyncio.run(refused())


# ---- flags and settings -------------------------------------------------------------------------


def test_timeout_and_retries_come_from_flags_else_settings(run_cli: Any, store: Store) -> None:
    provider = make_provider("anthropic", api_key=SECRET)
    assert (LLMClient(provider, store).policy.timeout, LLMClient(provider, store).policy.max_retries) == (60.0, 5)
    assert run_cli("settings", "llm.timeout", "7.5")[0] == 0 and run_cli("settings", "llm.max_retries", "0")[0] == 0
    assert (LLMClient(provider, store).policy.timeout, LLMClient(provider, store).policy.max_retries) == (7.5, 0)
    flagged = LLMClient(provider, store, timeout=2, max_retries=3).policy
    assert (flagged.timeout, flagged.max_retries) == (2, 3)
    code, _, err = run_cli("settings", "llm.timeout", "-1")
    assert code == 2 and "setting llm.timeout" in err and "positive number of seconds" in err
    code, _, err = run_cli("settings", "llm.max_retries", "1.5")
    assert code == 2 and "setting llm.max_retries" in err
    assert LLMClient(provider, store).policy.timeout == 7.5  # the refused values were not kept
    with pytest.raises(SystemExit) as exited:
        run_cli("run", "--augmenters", "paraphrase", "--max-retries", "-1")
    assert exited.value.code == 2
    with pytest.raises(SystemExit) as exited:
        run_cli("run", "--augmenters", "paraphrase", "--timeout", "0")
    assert exited.value.code == 2


def test_a_request_in_flight_is_cut_when_the_circuit_opens(server: LLMServer) -> None:
    client = LLMClient(make_provider("anthropic", base_url=server.base_url, api_key=SECRET), max_retries=0)
    server.fail("slow", times=1, match="slow one", delay=30)  # would answer after 30 s
    server.fail("disconnect", times=1, match="dropped one")

    async def go() -> list[Any]:
        async with client:
            slow = asyncio.ensure_future(client.complete(Request(prompt="the slow one")))
            while server.requests < 1:
                await asyncio.sleep(0.01)
            dropped = asyncio.ensure_future(client.complete(Request(prompt="the dropped one")))
            return list(await asyncio.gather(slow, dropped, return_exceptions=True))

    slow, dropped = asyncio.run(go())
    # The dropped connection, before any reply, opens the circuit; the slow request is not waited for.
    assert isinstance(dropped, Unreachable) and isinstance(slow, Unreachable), (slow, dropped)
    assert str(slow) == f"cannot reach {server.base_url}: connection refused" and server.served == 0
