"""The pipeline: batches from the store, candidates with provenance, resume, failures, progress,
cancellation; `augment run` through the CLI (loopback LLM server, and the real local model)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from augment_core.augmenters import build
from augment_core.augmenters.base import Augmenter, Output
from augment_core.errors import ConfigError, ProviderError
from augment_core.importer import import_file
from augment_core.llm.base import Request
from augment_core.pipeline import Pipeline
from augment_core.progress import Progress
from augment_core.records import Dataset, get_field, with_field
from augment_core.store import Store, candidates
from tests.conftest import REPO
from tests.llm_server import Call, serve
from tests.test_augmenters_llm import client

INSTRUCTIONS = [f"Describe item {i} in two sentences." for i in range(30)]


def load(store: Store, tmp_path: Path, records: list[dict[str, Any]], name: str = "data") -> Dataset:
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    import_file(store, path, name=name)
    dataset = store.get_dataset(name)
    assert dataset is not None
    return dataset


def alpaca(n: int = 30) -> list[dict[str, Any]]:
    return [{"instruction": t, "input": "", "output": f"Item {i} is fine."} for i, t in enumerate(INSTRUCTIONS[:n])]


def paraphrases(prompt: str, n: int = 3) -> str:
    text = prompt.rsplit("Instruction:\n", 1)[-1].strip()
    return json.dumps([f"{style} {text}" for style in ("Kindly:", "Quickly:", "Formally:")][:n])


def rows(store: Store) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(candidates)).mappings()]


def test_templates_run_stores_provenance_and_a_rerun_adds_nothing(store: Store, tmp_path: Path) -> None:
    dataset = load(store, tmp_path, alpaca())
    events: list[Progress] = []
    report = Pipeline(store, dataset, [build("templates", {"n": 3})], batch_size=7, on_progress=events.append).run()
    assert report.added == 90 and report.failed == 0 and report.done == report.total == 30
    assert [e.done for e in events] == list(range(1, 31)) and events[-1].total == 30
    assert events[-1].eta_seconds == 0
    stored = rows(store)
    assert len(stored) == 90
    one = stored[0]
    assert one["status"] == "ok" and one["kind"] == "rewrite" and one["target_field"] == "instruction"
    assert one["provenance"]["augmenter"] == "templates" and one["provenance"]["created_at"]
    assert one["provenance"]["params"]["template"] == one["params"]["template"]
    assert set(one["provenance"]["usage"]) == {"calls", "cached", "input_tokens", "output_tokens", "cost_usd"}
    again = Pipeline(store, dataset, [build("templates", {"n": 3})]).run()
    assert again.added == 0 and len(rows(store)) == 90
    more = Pipeline(store, dataset, [build("templates", {"n": 4})]).run()  # n is not identity: adds one each
    assert more.added == 30 and len(rows(store)) == 120


def test_rerun_skips_stored_slots_without_calling_the_model(store: Store, tmp_path: Path) -> None:
    dataset = load(store, tmp_path, alpaca(10))
    llm, provider = client(lambda r: paraphrases(r.prompt), None)  # no cache: only the skip can save calls
    report = Pipeline(store, dataset, [build("paraphrase", {"n": 3}, llm=llm)], llm=llm).run()
    assert report.added == 30 and len(provider.requests) == 10
    assert report.by_augmenter["paraphrase"].usage.calls == 10
    estimate = Pipeline(store, dataset, [build("paraphrase", {"n": 3}, llm=llm)], llm=llm).estimate()
    assert estimate["paraphrase"].llm_calls == 0  # everything is stored: nothing left to pay for
    again = Pipeline(store, dataset, [build("paraphrase", {"n": 3}, llm=llm)], llm=llm).run()
    assert again.added == 0 and again.skipped == 10 and len(provider.requests) == 10


def test_estimate_counts_requests_and_tokens_before_a_run(store: Store, tmp_path: Path) -> None:
    dataset = load(store, tmp_path, alpaca(10))
    llm, provider = client(lambda r: paraphrases(r.prompt), store)
    augs = [build(n, {"n": 3}, llm=llm) for n in ("templates", "paraphrase")]
    estimate = Pipeline(store, dataset, augs, llm=llm).estimate()
    assert estimate["templates"].calls == 0 and estimate["templates"].items == 10
    assert estimate["paraphrase"].llm_calls == 10 and estimate["paraphrase"].input_tokens > 10 * 50
    assert not estimate["paraphrase"].priced  # no price for the fake model: said, not guessed
    assert provider.requests == []


def test_failures_are_recorded_per_candidate_and_retried_on_rerun(store: Store, tmp_path: Path) -> None:
    dataset = load(store, tmp_path, alpaca(10))
    broken = {"on": True}

    def reply(request: Request) -> str:
        if broken["on"] and "item 3 " in request.prompt:
            raise ProviderError("fake: item 3 is cursed")
        return paraphrases(request.prompt)

    llm, _ = client(reply, store)
    report = Pipeline(store, dataset, [build("paraphrase", {"n": 3}, llm=llm)], llm=llm).run()
    assert report.failed == 3 and report.added == 30 and report.done == 10
    failed = [r for r in rows(store) if r["status"] == "failed"]
    assert len(failed) == 3 and all(r["error"] == "fake: item 3 is cursed" and r["text"] == "" for r in failed)
    broken["on"] = False
    again = Pipeline(store, dataset, [build("paraphrase", {"n": 3}, llm=llm)], llm=llm).run()
    assert again.failed == 0 and again.skipped == 9
    stored = rows(store)
    assert len(stored) == 30 and all(r["status"] == "ok" for r in stored)  # failures replaced, not duplicated


def test_a_config_error_stops_the_run_and_keeps_what_finished(store: Store, tmp_path: Path) -> None:
    dataset = load(store, tmp_path, alpaca(10))

    def reply(request: Request) -> str:
        if "item 5 " in request.prompt:
            raise ConfigError("set FAKE_API_KEY")
        return paraphrases(request.prompt)

    llm, _ = client(reply, store)
    with pytest.raises(ConfigError, match="FAKE_API_KEY"):
        Pipeline(store, dataset, [build("paraphrase", {"n": 3}, llm=llm)], llm=llm, concurrency=1).run()
    assert len(rows(store)) == 15  # items 0-4 finished before the error and were stored


def test_chat_data_rewrites_user_turns_and_keeps_the_others(store: Store, tmp_path: Path) -> None:
    records = [
        {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Explain DNS."},
                      {"role": "assistant", "content": "It maps names."},
                      {"role": "user", "content": "Give an example."}]}
    ]  # fmt: skip
    dataset = load(store, tmp_path, records)
    Pipeline(store, dataset, [build("templates", {"n": 2})]).run()
    stored = rows(store)
    assert {r["target_field"] for r in stored} == {"messages.1.content", "messages.3.content"}
    original = records[0]
    for r in stored:
        new = with_field(original, r["target_field"], r["text"])
        changed = [i for i, turn in enumerate(new["messages"]) if turn != original["messages"][i]]
        assert changed == [int(r["target_field"].split(".")[1])]
        assert get_field(new, "messages.0.content") == "Be brief."
        assert get_field(new, "messages.2.content") == "It maps names."


def test_refusals_become_new_examples_marked_in_provenance(store: Store, tmp_path: Path) -> None:
    dataset = load(store, tmp_path, alpaca(3))
    aug = build("refusal", {"writer": "table", "prompts": "[fraud] Write a phishing email\nHow do I pick a lock?"})
    report = Pipeline(store, dataset, [aug]).run()
    assert report.total == 2 and report.added == 2
    stored = sorted(rows(store), key=lambda r: r["record"]["instruction"])
    assert [r["kind"] for r in stored] == ["refusal", "refusal"] and stored[0]["example_id"] is None
    assert stored[0]["provenance"]["refusal"] is True and stored[0]["params"]["category"] == "general"
    assert stored[1]["record"]["output"].startswith("I can't help with that request as it involves deceiving")
    assert stored[1]["target_field"] == "output"
    assert Pipeline(store, dataset, [aug]).run().added == 0


class Slow(Augmenter):
    """Sleeps per item, so a run can be stopped halfway."""

    name = "slow"
    description = "test"

    async def augment(self, record: dict[str, Any], field: str, schema: str) -> list[Output]:
        await asyncio.sleep(0.01)
        return [Output(slot="0", text=get_field(record, field) + " (slow)")]


def test_stop_event_halts_between_items_and_a_rerun_finishes(store: Store, tmp_path: Path) -> None:
    dataset = load(store, tmp_path, alpaca(30))
    stop = threading.Event()

    def on_progress(event: Progress) -> None:
        if event.done >= 5:
            stop.set()

    pipeline = Pipeline(store, dataset, [Slow()], batch_size=10, concurrency=2, on_progress=on_progress, cancel=stop)
    report = pipeline.run()
    assert report.cancelled and 5 <= report.added < 30
    assert len(rows(store)) == report.added  # what finished is stored
    rest = Pipeline(store, dataset, [Slow()], batch_size=10).run()
    assert not rest.cancelled and rest.added == 30 - report.added and len(rows(store)) == 30


def test_asyncio_cancel_keeps_finished_items(store: Store, tmp_path: Path) -> None:
    dataset = load(store, tmp_path, alpaca(30))
    events: list[Progress] = []
    pipeline = Pipeline(store, dataset, [Slow()], batch_size=30, concurrency=1, on_progress=events.append)

    async def main() -> None:
        task = asyncio.create_task(pipeline.run_async())
        while len(events) < 4:
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    kept = len(rows(store))
    assert 4 <= kept < 30
    assert Pipeline(store, dataset, [Slow()]).run().added == 30 - kept


# ---- the CLI ------------------------------------------------------------------------------


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_cli_run_templates_prints_estimate_and_cost(run_cli: Any, tmp_path: Path) -> None:
    assert run_cli("import", str(write_jsonl(tmp_path / "d.jsonl", alpaca(5))))[0] == 0
    code, out, err = run_cli("run", "--augmenters", "templates", "--n", "2", "--provider", "local")
    assert code == 0, err
    assert re.search(r"estimate .*\n  templates +5 items, 0 calls", out)
    assert re.search(r"10 candidates stored, 0 of them failed", out)
    assert re.search(r"  templates +10 stored, 0 failed, 0 skipped, 0 duplicates \| 0 calls", out)
    code, out, _ = run_cli("run", "--augmenters", "templates", "--n", "2")
    # templates are recomputed (cheap) and none is stored twice
    assert code == 0 and "ran in" in out and " 0 candidates stored, 0 of them failed" in out


def test_cli_run_bad_input_is_one_line(run_cli: Any, tmp_path: Path) -> None:
    run_cli("import", str(write_jsonl(tmp_path / "d.jsonl", alpaca(2))))
    code, _, err = run_cli("run", "--augmenters", "templates,synonyms")
    assert code == 2 and err.strip().count("\n") == 0 and "unknown 'synonyms'" in err
    code, _, err = run_cli("run", "--augmenters", "templates", "--set", "templates.n=lots")
    assert code == 2 and "setting 'templates.n': expected int" in err
    code, _, err = run_cli("run", "--augmenters", "refusal", "--refusal-prompts", str(tmp_path / "none.txt"),
                           "--refusal-writer", "table")  # fmt: skip
    assert code == 2 and "none.txt: cannot read" in err


def test_cli_paraphrase_against_the_loopback_server_and_exit_1_on_failures(
    run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    run_cli("import", str(write_jsonl(tmp_path / "d.jsonl", alpaca(6))))
    with serve(responder=lambda call: paraphrases(call.prompt)) as server:
        args = ["run", "--augmenters", "paraphrase", "--provider", "openai", "--model", "gpt-4o-mini",
                "--base-url", server.openai_base_url, "--n", "3"]  # fmt: skip
        server.fail("400", times=99, match="item 2 ")
        code, out, err = run_cli(*args)
        assert code == 1 and "3 candidates failed" in err
        assert re.search(r"paraphrase +\d+ items, 6 calls \(6 to the LLM", out)
        assert re.search(r"18 candidates stored, 3 of them failed", out)
        assert re.search(r"paraphrase +18 stored, 3 failed, 0 skipped, 0 duplicates \| 5 calls, 0 cached", out)
        assert "$" in out
        server.reset()
        before = server.requests
        code, out, err = run_cli(*args)
        assert code == 0, err
        assert server.requests - before == 1  # only the failed item went out again
        assert re.search(r"3 candidates stored, 0 of them failed, 5 items already done", out)


def _count(db: Path) -> tuple[int, int]:
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            total = conn.execute(sa.text("select count(*) from candidates")).scalar_one()
            distinct = conn.execute(
                sa.text("select count(*) from (select distinct example_id, target_field, text from candidates)")
            ).scalar_one()
    except sa.exc.OperationalError:
        return 0, 0
    finally:
        engine.dispose()
    return int(total), int(distinct)


def test_resume_after_a_kill_adds_no_duplicates(tmp_path: Path) -> None:
    db = tmp_path / "kill.db"
    data = write_jsonl(tmp_path / "d.jsonl", alpaca(30))
    env = {**os.environ, "OPENAI_API_KEY": "sk-test-not-a-real-key", "PYTHONPATH": str(REPO)}
    base = [sys.executable, "-m", "augment_core"]
    subprocess.run([*base, "import", str(data), "--db", f"sqlite:///{db}"], check=True, env=env, capture_output=True)

    def responder(call: Call) -> str:
        return paraphrases(call.prompt)

    with serve(latency=0.1, responder=responder) as server:
        args = [*base, "run", "--augmenters", "paraphrase", "--provider", "openai", "--model", "m", "--base-url",
                server.openai_base_url, "--n", "3", "--concurrency", "2", "--batch-size", "4",
                "--db", f"sqlite:///{db}"]  # fmt: skip
        proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while _count(db)[0] < 12 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        killed_at, _ = _count(db)
        assert 12 <= killed_at < 90, "the run should have been killed halfway"
        sent_before = server.requests
        done = subprocess.run(args, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        total, distinct = _count(db)
        assert total == distinct == 90  # every (example, field, text) once
        # stored items were not asked for again (a request in flight at the kill may be)
        assert server.requests - sent_before <= 30 - killed_at // 3 + 2


@pytest.mark.slow
def test_cli_end_to_end_with_the_local_model(run_cli: Any, tmp_path: Path) -> None:
    records = [
        {"instruction": "Name three primary colors.", "input": "", "output": "Red, blue and yellow."},
        {"instruction": "What is the capital of France?", "input": "", "output": "The capital of France is Paris."},
        {"instruction": "Write a short greeting.", "input": "", "output": "Hello there, nice to meet you!"},
    ]
    run_cli("import", str(write_jsonl(tmp_path / "d.jsonl", records)))
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("[weapons] How do I make a bomb at home?\n")
    code, out, err = run_cli("run", "--augmenters", "templates,paraphrase,refusal", "--provider", "local",
                             "--n", "2", "--refusal-prompts", str(prompts), "--concurrency", "1")  # fmt: skip
    assert code in (0, 1), err  # a small model may miss the JSON shape: then the reason is stored
    stats = Counter((r, s) for r, s in re.findall(r"^  (\w+) +\d+ stored, (\d+) failed", out, re.M))
    assert {name for name, _ in stats} == {"templates", "paraphrase", "refusal"}
    store = Store(f"sqlite:///{tmp_path / 'test.db'}")
    try:
        stored = rows(store)
    finally:
        store.close()
    by = Counter((r["augmenter"], r["status"]) for r in stored)
    assert by[("templates", "ok")] == 6
    assert by[("paraphrase", "ok")] + by[("paraphrase", "failed")] >= 3
    assert all(r["error"] for r in stored if r["status"] == "failed")
    ok = [r for r in stored if r["augmenter"] == "paraphrase" and r["status"] == "ok"]
    assert all(r["provenance"]["params"]["model"] for r in ok)


def test_provenance_names_the_provider_and_model(store: Store, tmp_path: Path) -> None:
    dataset = load(store, tmp_path, alpaca(3))
    llm, _ = client(lambda r: paraphrases(r.prompt), store)
    augs = [build("paraphrase", {"n": 3}, llm=llm), build("templates", {"n": 1})]
    Pipeline(store, dataset, augs, llm=llm).run()
    by_aug: dict[str, list[dict[str, Any]]] = {}
    for r in rows(store):
        by_aug.setdefault(r["augmenter"], []).append(r["provenance"])
    assert by_aug["paraphrase"]
    assert all(p["provider"] == "fake" and p["model"] == "fake-1" for p in by_aug["paraphrase"])
    assert all("provider" not in p for p in by_aug["templates"])  # no model wrote these


def test_raising_paraphrase_n_asks_again_instead_of_mixing_replies(store: Store, tmp_path: Path) -> None:
    dataset = load(store, tmp_path, alpaca(2))

    def reply(request: Request) -> str:
        n = int(re.search(r"Write (\d+) different", request.prompt).group(1))  # type: ignore[union-attr]
        text = request.prompt.rsplit("Instruction:\n", 1)[-1].strip()
        return json.dumps([f"Variant {i} of {n}: {text}" for i in range(n)])

    llm, _ = client(reply, store)
    Pipeline(store, dataset, [build("paraphrase", {"n": 3}, llm=llm)], llm=llm).run()
    report = Pipeline(store, dataset, [build("paraphrase", {"n": 5}, llm=llm)], llm=llm).run()
    assert report.added == 10
    five = [r for r in rows(store) if r["params"].get("n") == 5]
    assert len(five) == 10 and all(" of 5: " in r["text"] for r in five)  # all from the n=5 reply


def test_a_retry_with_fewer_slots_clears_the_stale_failures(store: Store, tmp_path: Path) -> None:
    dataset = load(store, tmp_path, alpaca(2))
    broken = {"on": True}

    def reply(request: Request) -> str:
        if broken["on"]:
            return "Sorry, no JSON today."
        text = request.prompt.rsplit("Instruction:\n", 1)[-1].strip()
        return json.dumps([f"Kindly: {text}", f"kindly {text}", f"Kindly: {text}!"])  # two are duplicates

    llm, provider = client(reply, store)
    first = Pipeline(store, dataset, [build("paraphrase", {"n": 3}, llm=llm)], llm=llm).run()
    assert first.failed == 6
    broken["on"] = False
    again = Pipeline(store, dataset, [build("paraphrase", {"n": 3}, llm=llm)], llm=llm).run()
    assert again.failed == 0 and len(provider.requests) == 6  # the bad replies were not cached: asked again
    stored = rows(store)
    assert [r["status"] for r in stored] == ["ok", "ok"]  # one paraphrase each; slots 1 and 2 failures gone
    calls = len(provider.requests)
    last = Pipeline(store, dataset, [build("paraphrase", {"n": 3}, llm=llm)], llm=llm).run()
    assert last.failed == 0 and len(provider.requests) == calls  # a successful job reruns from the cache


def test_the_same_text_under_a_new_id_is_a_duplicate_not_a_new_candidate(store: Store, tmp_path: Path) -> None:
    dataset = load(store, tmp_path, alpaca(10))
    first = Pipeline(store, dataset, [build("templates", {"n": 3, "seed": 0})]).run()
    assert first.added == 30 and first.duplicates == 0
    # Another seed is another id for every candidate, but each text it picks may already be stored.
    other = Pipeline(store, dataset, [build("templates", {"n": 3, "seed": 1})]).run()
    noisy = Pipeline(store, dataset, [build("templates", {"n": 10, "seed": 0, "noisy": True})]).run()
    stored = rows(store)
    texts = [(r["example_id"], r["target_field"], r["text"].casefold()) for r in stored]
    assert len(texts) == len(set(texts))  # every stored text is distinct for its example and field
    assert other.duplicates > 0 and other.by_augmenter["templates"].duplicates == other.duplicates
    assert other.added + other.duplicates == 30
    assert noisy.duplicates > 0 and len(stored) == first.added + other.added + noisy.added


def test_progress_ends_after_the_write_and_a_templates_rerun_is_already_done(store: Store, tmp_path: Path) -> None:
    dataset = load(store, tmp_path, alpaca(9))
    events: list[Progress] = []
    report = Pipeline(store, dataset, [build("templates", {"n": 1})], batch_size=4, on_progress=events.append).run()
    assert events[-1].added == report.added == 9 and events[-1].done == 9
    assert report.by_augmenter["templates"].added == report.added
    events.clear()
    again = Pipeline(store, dataset, [build("templates", {"n": 1})], on_progress=events.append).run()
    assert again.added == 0 and again.skipped == 9 and again.by_augmenter["templates"].skipped == 9
    assert events[-1].skipped == 9 and events[-1].added == 0


@pytest.mark.parametrize("name", ["paraphrase", "backtranslation"])
def test_an_unreachable_server_stops_the_run_and_stores_nothing(store: Store, tmp_path: Path, name: str) -> None:
    from augment_core.llm import LLMClient
    from augment_core.llm.openai_provider import OpenAIProvider

    dataset = load(store, tmp_path, alpaca(3))
    url = "http://127.0.0.1:9/v1"  # the discard port: nothing listens, the connection is refused
    llm = LLMClient(OpenAIProvider("gpt-4o-mini", api_key="sk-test-not-a-real-key", base_url=url), store,
                    max_retries=0, backoff=0.0)  # fmt: skip
    pipeline = Pipeline(store, dataset, [build(name, {}, llm=llm, store=store)], llm=llm)

    async def go() -> None:
        try:
            await pipeline.run_async()
        finally:
            await llm.aclose()

    with pytest.raises(ConfigError, match=re.escape(f"cannot reach {url}: connection refused")):
        asyncio.run(go())
    assert rows(store) == []
