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
from augment_core.settings import PRICES_KEY, change_setting
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
# The 2,000 records (6,000 template candidates) for the job that must equal the local engine;
# the fault tests (a scorer killed, the driver killed) and the shard import use the first 300 of them,
# as each of their runs scores or reads every record again. AUGMENT_RAY_RECORDS sets the first.
RECORDS = int(os.environ.get("AUGMENT_RAY_RECORDS", "2000"))
FAULT_RECORDS = min(300, RECORDS)
KEY = "sk-test-not-a-real-key-5f3a9c"
NODE = {"num_cpus": 1, "object_store_memory": 150 * 2**20}


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """Two Ray nodes on 127.0.0.1, this process connected as the driver; always shut down."""
    from ray.cluster_utils import Cluster

    # The nodes' own key, as a team sets it where `ray start` runs; this process keeps none.
    before = os.environ.pop("OPENAI_API_KEY", None)
    os.environ["OPENAI_API_KEY"] = KEY
    try:
        made = Cluster(initialize_head=True, head_node_args={**NODE, "include_dashboard": False})
        made.add_node(**NODE)
    finally:
        del os.environ["OPENAI_API_KEY"]
        if before is not None:
            os.environ["OPENAI_API_KEY"] = before
    try:
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
    made_dir, scored_dir = tmp_path / "made", tmp_path / "scored"
    code, out, err = run_cli("run", "--augmenters", "templates", "--engine", "ray", "--ray-address", cluster,
                             "--output", str(made_dir))  # fmt: skip
    assert code == 0, err
    # Three templates a record, less the few whose rewrite the local engine did not keep either.
    assert f"{len(local_result[0])} candidates stored" in out
    code, out, err = run_cli("score", "--quiet", "--engine", "ray", "--ray-address", cluster,
                             "--examples-per-batch", "50", "--output", str(scored_dir))  # fmt: skip
    assert code == 0, err
    assert f"scored {len(local_result[1])} candidates" in out
    store = Store(db_url)
    try:
        held = stored(store)
        assert_same(local_result, held)
        assert_shards_hold(made_dir, held, scored=False)
        assert_shards_hold(scored_dir, held, scored=True)
    finally:
        store.close()
    code, out, _ = run_cli("run", "--augmenters", "templates", "--engine", "ray", "--ray-address", cluster)
    assert code == 0 and f"{RECORDS} items already done" in out  # a rerun skips what is stored


def assert_shards_hold(folder: Path, held: tuple[dict[str, Any], dict[str, Any]], scored: bool) -> None:
    """The Parquet shards of --output, read back by pandas: every stored candidate once, as the store holds it."""
    import pandas as pd

    assert len(list(folder.glob("part-*.parquet"))) > 1  # a shard a range
    frame = pd.read_parquet(folder)
    assert sorted(frame["candidate_id"]) == sorted(held[0])
    for row in frame.itertuples():
        text, status, target, augmenter = held[0][row.candidate_id]
        assert (row.text, row.status, row.target_field, row.augmenter) == (text, status, target, augmenter)
        assert json.loads(row.provenance)["augmenter"] == augmenter
        if scored:
            similarity = held[1][row.candidate_id][0]  # the scores table's first column after the id
            assert abs(row.semantic_similarity - similarity) <= 1e-9
        else:
            assert pd.isna(row.semantic_similarity)


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
    load(store, tmp_path, alpaca(FAULT_RECORDS))
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
    assert scored == 3 * FAULT_RECORDS
    assert store.count_unscored_candidates(dataset.id) == 0
    held = stored(store)
    assert len(held[0]) == 3 * FAULT_RECORDS
    assert_same(first_records(local_result, held), held)


def first_records(
    local: tuple[dict[str, Any], dict[str, Any]], held: tuple[dict[str, Any], dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The local engine's candidates and scores of the records ``held`` was made from (the first
    FAULT_RECORDS of the same file: the same example ids, so the same candidate ids)."""
    return {k: v for k, v in local[0].items() if k in held[0]}, {k: v for k, v in local[1].items() if k in held[0]}


def test_llm_augmenters_share_one_rate_limit_across_actors_and_a_rerun_is_free(
    cluster: str, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(store, tmp_path, alpaca(40))
    change_setting(store, PRICES_KEY, json.dumps({"test-model": {"input": 3, "output": 15}}))
    rpm = 600  # 10 a second for the whole cluster
    # No key here (neither in the spec nor in this process's environment): the workers use their nodes'.
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    spec = RunSpec(dataset="data", augmenters={"paraphrase": {"n": 3}}, provider="openai", model="test-model",
                   base_url="", rpm=rpm, concurrency=8, engine="ray",
                   ray_address=cluster, actors=2)  # fmt: skip
    with serve(responder=lambda call: paraphrases(call.prompt)) as server:
        spec = RunSpec(**{**spec.__dict__, "base_url": server.openai_base_url})
        result = runs.run(store, spec)
        assert result.report.added == 120 and result.report.failed == 0
        assert server.requests == 40
        assert {call.headers.get("authorization") for call in server.calls} == {f"Bearer {KEY}"}  # the nodes' key
        arrivals = [call.received for call in server.calls]
        # Each actor alone would send its 20 at once (its own limiter holds a minute's allowance);
        # shared, no two seconds hold more than their worth, give or take a grant's lateness, the
        # limiter's one-request burst and one more for the way from a granted call to the server's
        # socket (a new connection at first). Without the shared limit the busiest two seconds hold 40.
        window = 2.0
        busiest = max(sum(1 for t in arrivals if start <= t < start + window) for start in arrivals)
        assert busiest <= rpm / 60 * (window + LATE_SECONDS) + 2, sorted(t - min(arrivals) for t in arrivals)
        # Tokens and cost counted as the local engine counts them, on a store of its own (no cache).
        local_store = Store(f"sqlite:///{tmp_path / 'local.db'}")
        try:
            load(local_store, tmp_path, alpaca(40))
            change_setting(local_store, PRICES_KEY, json.dumps({"test-model": {"input": 3, "output": 15}}))
            local = runs.run(local_store, RunSpec(**{**spec.__dict__, "engine": "local", "rpm": None, "api_key": KEY}))
        finally:
            local_store.close()
        ray_usage, local_usage = (r.report.by_augmenter["paraphrase"].usage for r in (result, local))
        assert ray_usage.calls == local_usage.calls == 40
        assert ray_usage.input_tokens == local_usage.input_tokens > 0
        assert ray_usage.output_tokens == local_usage.output_tokens > 0
        assert ray_usage.cost_usd == pytest.approx(local_usage.cost_usd) and ray_usage.cost_usd > 0
        asked = server.requests
        again = runs.run(store, spec)
        assert server.requests == asked  # nothing asked twice
        assert again.report.skipped == 40 and again.report.added == 0
        assert again.report.by_augmenter["paraphrase"].usage.cost_usd == 0
    logs = Path(ray._private.worker.global_worker.node.get_session_dir_path()) / "logs"
    assert logs.is_dir()
    leaked = [p.name for p in logs.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()]
    assert not leaked, leaked  # the key is in no log of the cluster's


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
    cluster: str,
    make_app: Any,  # noqa: F811 - the fixture imported above
    store: Store,
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


def test_the_key_is_never_in_what_is_pickled_for_the_workers(store: Store, tmp_path: Path) -> None:
    from ray import cloudpickle

    from augment_core.engines.ray_engine import AugmentWorker, worker_spec
    from augment_core.llm import make_provider

    load(store, tmp_path, alpaca(3))
    spec = RunSpec(dataset="data", augmenters={"paraphrase": {"n": 3}}, model="test-model", api_key=KEY,
                   engine="ray")  # fmt: skip
    with runs.Job(store, spec) as job:
        named = worker_spec(spec, job.pipeline)
    assert named.api_key is None and named.provider == "anthropic"  # the driver's choice (a key given), named
    kwargs = {"url": store.url, "spec": named, "dataset_id": 1, "limiter": None}  # the actors' arguments
    assert KEY.encode() not in cloudpickle.dumps(kwargs) and KEY not in repr(kwargs)
    # A node without the key: the first call says where a worker reads it from.
    error = AugmentWorker._load(make_provider("anthropic", "test-model"))
    assert isinstance(error, ConfigError) and "ANTHROPIC_API_KEY" in str(error) and "`ray start`" in str(error)


def test_output_needs_the_ray_engine_and_a_new_folder(store: Store, tmp_path: Path) -> None:
    from augment_core.engines.ray_output import ShardWriter

    with pytest.raises(InputError, match="--engine ray"):
        RunSpec(dataset="d", augmenters={"templates": {}}, output=str(tmp_path / "out"))
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "part-00000.parquet").write_text("")
    with pytest.raises(InputError, match="not an empty folder"):
        ShardWriter(tmp_path / "used")


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


def examples_of(store: Store, name: str) -> list[tuple[str, int, dict[str, Any]]]:
    dataset = runs.find_dataset(store, name)
    return [(x.key, x.position, x.record) for batch in store.iter_examples(dataset.id) for x in batch]


def test_sharded_inputs_read_on_ray_import_as_the_local_import_does(cluster: str, store: Store, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    records = alpaca(FAULT_RECORDS)
    whole = tmp_path / "whole.jsonl"
    whole.write_text("".join(json.dumps(r) + "\n" for r in records))
    folder = tmp_path / "shards"
    folder.mkdir()
    size = -(-FAULT_RECORDS // 3)
    for i in range(3):
        part = records[i * size : (i + 1) * size]
        (folder / f"part-{i}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in part))
        pq.write_table(pa.Table.from_pylist(part), tmp_path / f"p{i}.parquet")
    (folder / "_SUCCESS").write_text("")  # what Spark leaves beside its shards: not a dataset file
    import_file(store, whole, name="whole")
    import_file(store, folder, name="local")
    import_file(store, folder, name="ray", engine="ray", ray_address=cluster)
    import_file(store, str(tmp_path / "p*.parquet"), name="parquet", engine="ray", ray_address=cluster)
    expected = examples_of(store, "whole")
    assert len(expected) == FAULT_RECORDS
    for name in ("local", "ray", "parquet"):
        assert examples_of(store, name) == expected, name

    # A bad record in the second shard: the same error, file:line and field, on both engines.
    lines = (folder / "part-1.jsonl").read_text().splitlines()
    lines[4] = json.dumps({"instruction": "", "output": "x"})
    lines[6] = "{not json"
    (folder / "part-1.jsonl").write_text("\n".join(lines) + "\n")
    errors = []
    for engine in ("local", "ray"):
        with pytest.raises(InputError) as caught:
            import_file(store, folder, name=f"bad-{engine}", engine=engine, ray_address=cluster)
        errors.append(str(caught.value))
        assert f"bad-{engine}" not in store.dataset_names()  # all or nothing
    assert errors[0].startswith(f"{folder / 'part-1.jsonl'}:5: field 'instruction'"), errors[0]
    assert errors[1] == errors[0].replace(str(folder), str(folder.resolve()))  # a worker names it whole
    skipped = [import_file(store, folder, name=f"skip-{engine}", engine=engine, ray_address=cluster,
                           skip_invalid=True) for engine in ("local", "ray")]  # fmt: skip
    assert [r.imported for r in skipped] == [FAULT_RECORDS - 2] * 2
    assert [s.replace(str(folder.resolve()), str(folder)) for s in skipped[1].skipped] == skipped[0].skipped
    assert [s.split(": ")[0] for s in skipped[0].skipped] == [f"{folder / 'part-1.jsonl'}:{n}" for n in (5, 7)]
