"""The Ray engine on a real two-node Ray cluster on this machine (``ray.cluster_utils.Cluster``, one
CPU and a small object store per node): templates and scores identical to the local engine's, a
scoring worker killed mid-job, LLM augmenters under one cluster-wide rate limit measured at the
loopback server, and a rerun that costs nothing."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import sqlalchemy as sa

from augment_core import runs
from augment_core.engines.ray_cluster import LATE_SECONDS
from augment_core.errors import ConfigError, InputError
from augment_core.importer import import_file
from augment_core.runs import RunSpec
from augment_core.store import Store, candidates, scores
from studio.runs import run_registry
from tests.conftest import SAMPLE, SHARED_DATASETS
from tests.llm_server import serve
from tests.test_pages import _wait_for_run, make_app, shown  # noqa: F401 - make_app is a fixture
from tests.test_pipeline import load, paraphrases

ray = pytest.importorskip("ray")

# Ray warns about its own deprecated settings as it reads them: not this project's to fix.
pytestmark = [pytest.mark.slow, pytest.mark.ray, pytest.mark.filterwarnings(r"ignore::DeprecationWarning:ray\..*")]

# The shared datasets beside the checkout; a worktree elsewhere names them in AUGMENT_SHARED_DATASETS.
DATASETS = Path(os.environ.get("AUGMENT_SHARED_DATASETS", SHARED_DATASETS))
RECORDS = 300  # 900 template candidates: the whole module runs in about three minutes on two cores
NODE = {"num_cpus": 1, "object_store_memory": 150 * 2**20}


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """Two Ray nodes on 127.0.0.1, this process connected as the driver; always shut down."""
    from ray.cluster_utils import Cluster

    made = Cluster(initialize_head=True, head_node_args={**NODE, "include_dashboard": False})
    try:
        made.add_node(**NODE)
        ray.init(address=made.address, log_to_driver=False, logging_level="WARNING")
        yield made.address
    finally:
        ray.shutdown()
        made.shutdown()


def alpaca(n: int) -> list[dict[str, Any]]:
    return list(json.loads((DATASETS / "alpaca_5000.json").read_text())[:n])


def templates_spec(**kwargs: Any) -> RunSpec:
    return RunSpec(dataset="data", augmenters={"templates": {}}, llm=False, **{"score": True, **kwargs})


def stored(store: Store) -> tuple[dict[str, tuple[Any, ...]], dict[str, tuple[Any, ...]]]:
    """Candidates (id -> text, status, field, augmenter) and scores (id -> the scores) of a store."""
    with store.engine.connect() as conn:
        made = {r.id: (r.text, r.status, r.target_field, r.augmenter) for r in conn.execute(sa.select(candidates))}
        rows = conn.execute(sa.select(scores)).mappings()
        found = {r["candidate_id"]: tuple(v for k, v in r.items() if k not in ("candidate_id", "scored_at"))
                 for r in rows}  # fmt: skip
    return made, found


def assert_same(local: tuple[dict[str, Any], dict[str, Any]], other: tuple[dict[str, Any], dict[str, Any]]) -> None:
    assert other[0] == local[0]
    assert other[1].keys() == local[1].keys()
    for cid, mine in local[1].items():
        theirs = other[1][cid]
        for a, b in zip(mine, theirs, strict=True):
            if isinstance(a, float) and isinstance(b, float):
                assert abs(a - b) <= 1e-5, cid
            else:
                assert a == b, cid


@pytest.fixture(scope="module")
def local_result(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    """The local engine's candidates and scores of the same records: what Ray must reproduce."""
    folder = tmp_path_factory.mktemp("local")
    store = Store(f"sqlite:///{folder / 'local.db'}")
    try:
        load(store, folder, alpaca(RECORDS))
        runs.run(store, templates_spec())
        return stored(store)
    finally:
        store.close()


def test_ray_makes_and_scores_the_same_candidates_as_the_local_engine(
    cluster: str, local_result: tuple[dict[str, Any], dict[str, Any]], run_cli: Any, tmp_path: Path, db_url: str
) -> None:
    path = tmp_path / "alpaca.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in alpaca(RECORDS)))
    assert run_cli("import", str(path), "--name", "data")[0] == 0
    code, out, err = run_cli("run", "--augmenters", "templates", "--engine", "ray", "--ray-address", cluster)
    assert code == 0, err
    assert f"{3 * RECORDS} candidates stored" in out
    code, out, err = run_cli("score", "--quiet", "--engine", "ray", "--ray-address", cluster,
                             "--examples-per-batch", "50")  # fmt: skip
    assert code == 0, err
    assert f"scored {3 * RECORDS} candidates" in out
    store = Store(db_url)
    try:
        assert_same(local_result, stored(store))
    finally:
        store.close()
    code, out, _ = run_cli("run", "--augmenters", "templates", "--engine", "ray", "--ray-address", cluster)
    assert code == 0 and f"{RECORDS} items already done" in out  # a rerun skips what is stored


def scorer_processes() -> list[psutil.Process]:
    """Ray's worker processes that host a scoring actor (their title names the class)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any("Scorer" in part for part in process.info["cmdline"] or []):
            found.append(process)
    return found


def test_a_scorer_killed_mid_job_is_retried_with_nothing_lost_or_twice(
    cluster: str, local_result: tuple[dict[str, Any], dict[str, Any]], store: Store, tmp_path: Path
) -> None:
    load(store, tmp_path, alpaca(RECORDS))
    runs.run(store, templates_spec(engine="ray", ray_address=cluster, score=False))
    dataset = runs.find_dataset(store, "data")
    killed: list[int] = []

    def kill_one(done: int, total: int) -> None:
        if done and not killed:  # some scores are stored, the rest are in flight or queued
            victims = scorer_processes()
            assert victims, "no scoring worker found to kill"
            killed.append(victims[0].pid)
            os.kill(victims[0].pid, signal.SIGKILL)

    scored = runs.score_new(store, dataset, examples_per_batch=20, progress=kill_one, engine="ray",
                            ray_address=cluster)  # fmt: skip
    assert killed
    assert scored == 3 * RECORDS
    assert store.count_unscored_candidates(dataset.id) == 0
    assert_same(local_result, stored(store))


def test_llm_augmenters_share_one_rate_limit_across_actors_and_a_rerun_is_free(
    cluster: str, store: Store, tmp_path: Path
) -> None:
    load(store, tmp_path, alpaca(40))
    rpm = 600  # 10 a second for the whole cluster
    spec = RunSpec(dataset="data", augmenters={"paraphrase": {"n": 3}}, provider="openai", model="test-model",
                   base_url="", api_key="sk-test-not-a-real-key", rpm=rpm, concurrency=8, engine="ray",
                   ray_address=cluster, actors=2)  # fmt: skip
    with serve(responder=lambda call: paraphrases(call.prompt)) as server:
        spec = RunSpec(**{**spec.__dict__, "base_url": server.openai_base_url})
        result = runs.run(store, spec)
        assert result.report.added == 120 and result.report.failed == 0
        assert server.requests == 40
        arrivals = [call.received for call in server.calls]
        # Each actor alone would send its 20 at once (its own limiter holds a minute's allowance);
        # shared, no two seconds hold more than their worth, give or take a grant's lateness, the
        # limiter's one-request burst and one more for the way from a granted call to the server's
        # socket (a new connection at first). Without the shared limit the busiest two seconds hold 40.
        window = 2.0
        busiest = max(sum(1 for t in arrivals if start <= t < start + window) for start in arrivals)
        assert busiest <= rpm / 60 * (window + LATE_SECONDS) + 2, sorted(t - min(arrivals) for t in arrivals)
        again = runs.run(store, spec)
        assert server.requests == 40  # nothing asked twice
        assert again.report.skipped == 40 and again.report.added == 0


def test_a_rerun_after_the_driver_was_killed_resumes_from_the_store(cluster: str, store: Store, tmp_path: Path) -> None:
    import subprocess
    import sys

    load(store, tmp_path, alpaca(60))
    with serve(latency=0.1, responder=lambda call: paraphrases(call.prompt)) as server:
        command = [sys.executable, "-m", "augment_core", "run", "--augmenters", "paraphrase", "--n", "3",
                   "--provider", "openai", "--model", "test-model", "--base-url", server.openai_base_url,
                   "--rpm", "600", "--concurrency", "4", "--batch-size", "10", "--engine", "ray",
                   "--ray-address", cluster, "--db", store.url]  # fmt: skip
        env = {**os.environ, "OPENAI_API_KEY": "sk-test-not-a-real-key"}
        driver = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while count(store) == 0 and driver.poll() is None and time.monotonic() < deadline:
                time.sleep(0.2)  # until the driver has stored its first range
            assert driver.poll() is None, "the driver finished before it could be killed"
            driver.send_signal(signal.SIGKILL)
        finally:
            driver.wait(timeout=30)
        first = count(store)
        assert 0 < first < 180
        spec = RunSpec(dataset="data", augmenters={"paraphrase": {"n": 3}}, provider="openai", model="test-model",
                       base_url=server.openai_base_url, api_key="sk-test-not-a-real-key", rpm=600, concurrency=4,
                       batch_size=10, engine="ray", ray_address=cluster)  # fmt: skip
        result = runs.run(store, spec)
    assert result.report.skipped >= first // 3  # what the killed driver stored is not done again
    made, _ = stored(store)
    assert len(made) == count(store) == 180  # every record's three, none twice
    with store.engine.connect() as conn:
        query = sa.select(candidates.c.example_id, sa.func.count()).group_by(candidates.c.example_id)
        assert sorted(n for _, n in conn.execute(query)) == [3] * 60


def count(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(candidates)).scalar_one())


def test_the_studio_runs_on_the_engine_chosen_on_the_augment_page(
    cluster: str, make_app: Any, store: Store  # noqa: F811 - the fixture imported above
) -> None:
    import_file(store, SAMPLE, name="sample")
    at = make_app("views/augment.py", dataset="sample")
    at.selectbox(key="aug_engine").select("ray")
    at.checkbox(key="aug_use_templates").check()
    at.checkbox(key="aug_score").uncheck().run()
    at.button(key="aug_run").click().run()
    _wait_for_run(at)
    assert "72 new candidates, 0 failed" in shown(at.success[0].value)
    state = run_registry().get(runs.find_dataset(store, "sample").id)
    assert state is not None and state.spec.engine == "ray"


def test_the_engine_refuses_what_it_cannot_run() -> None:
    with pytest.raises(InputError, match="preview runs on the local engine"):
        RunSpec(dataset="d", augmenters={"templates": {}}, engine="ray", limit=5)
    with pytest.raises(InputError, match="not one of local, ray"):
        RunSpec(dataset="d", augmenters={"templates": {}}, engine="dask")


def test_a_sqlite_store_that_is_not_on_the_node_is_refused(tmp_path: Path) -> None:
    from augment_core.engines.ray_cluster import open_worker_store, worker_url

    missing = tmp_path / "elsewhere.db"
    with pytest.raises(ConfigError, match="postgresql"):
        open_worker_store(f"sqlite:///{missing}")
    assert not missing.exists()
    assert worker_url("sqlite:///rel.db") == f"sqlite:///{Path('rel.db').resolve()}"
