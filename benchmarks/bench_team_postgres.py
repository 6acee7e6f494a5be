"""10 reviewers deciding at once against PostgreSQL for 60 s: decisions per second and lost decisions.

A PostgreSQL server of its own (initdb in a temp folder, 127.0.0.1, as tests/test_postgres.py
starts one), a dataset of ``--candidates`` candidates, then ``--reviewers`` processes, each in a
loop for ``--seconds``: take the next candidate of its work queue (a lease), decide it, count it.
Lost decisions: those a reviewer's process was told were stored but the database does not hold,
and candidates handed to two reviewers (the default rule asks for one response each).

    .venv/bin/python benchmarks/bench_team_postgres.py [--reviewers 10] [--seconds 60] [--candidates 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from augment_core.records import Candidate  # noqa: E402
from augment_core.store import Store  # noqa: E402
from tests.test_postgres import BIN, _as_postgres, _free_port  # noqa: E402

WORKER = """
import json, random, sys, time
from augment_core.store import Store
url, who, seconds, start = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
store = Store(url)
dataset = store.get_dataset("bench")
rng = random.Random(who)
while time.time() < start:
    time.sleep(0.005)
done, empty = [], 0
while time.time() < start + seconds:
    cid = store.next_in_queue(dataset.id, who)
    if cid is None:
        empty += 1
        break
    store.set_decision(cid, "approved" if rng.random() < 0.8 else "rejected", reviewer=who)
    done.append(cid)
print(json.dumps({"who": who, "done": done, "empty": empty}))
"""


def start_server(data: Path) -> tuple[str, list[str]]:
    if os.geteuid() == 0:
        import shutil

        shutil.chown(data, "postgres", "postgres")
    subprocess.run(_as_postgres(str(BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"),
                   check=True, capture_output=True)  # fmt: skip
    port = _free_port()
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c max_connections=100"
    subprocess.run(_as_postgres(str(BIN / "pg_ctl"), "-D", str(data), "-o", options, "-w", "-l",
                                str(data / "server.log"), "start"), check=True, capture_output=True)  # fmt: skip
    stop = _as_postgres(str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
    return f"postgresql://postgres@127.0.0.1:{port}/postgres", stop


def fill(url: str, n: int) -> Store:
    store = Store(url)
    with store.transaction() as conn:
        dataset_id = store.create_dataset(conn, "bench", "alpaca", "b.jsonl", "jsonl", {})
        store.add_examples(conn, dataset_id, [(i + 1, f"e{i}", {"instruction": f"Task {i}", "output": "x"})
                                              for i in range(n // 4)])  # fmt: skip
    ids = [e.id for batch in store.iter_examples(dataset_id, 5000) for e in batch]
    items = [Candidate(f"c{e}-{k}", dataset_id, e, "paraphrase", "instruction", f"Do task {e}, way {k}")
             for e in ids for k in range(4)]  # fmt: skip
    for start in range(0, len(items), 5000):
        store.add_candidates(items[start : start + 5000])
    return store


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reviewers", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--candidates", type=int, default=20_000)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="augment-pg-bench-"))
    url, stop = start_server(data)
    try:
        store = fill(url, args.candidates)
        dataset = store.get_dataset("bench")
        assert dataset is not None
        start = time.time() + 5  # every process imported and connected before the clock starts
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        procs = [subprocess.Popen([sys.executable, "-c", WORKER, url, f"reviewer-{i:02d}", str(args.seconds),
                                   str(start)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for i in range(args.reviewers)]  # fmt: skip
        reports = []
        for proc in procs:
            out, err = proc.communicate(timeout=args.seconds + 120)
            if proc.returncode != 0:
                raise SystemExit(f"a reviewer failed: {err.decode()[-3000:]}")
            reports.append(json.loads(out))
        elapsed = time.time() - start
        told = sum(len(r["done"]) for r in reports)
        handed = [cid for r in reports for cid in r["done"]]
        with store.engine.connect() as conn:
            stored = conn.exec_driver_sql("SELECT count(*) FROM responses").scalar_one()
            decided = conn.exec_driver_sql("SELECT count(*) FROM decisions").scalar_one()
        twice = len(handed) - len(set(handed))
        lost = told - stored
        for r in sorted(reports, key=lambda r: r["who"]):
            print(f"  {r['who']}: {len(r['done'])} decisions")
        print(f"{args.reviewers} reviewers, {elapsed:.0f} s: {told} decisions reported, {stored} responses and "
              f"{decided} decisions stored, {twice} candidates handed to two reviewers")
        store.close()
        print(f"FIGURES: {told / elapsed:.1f} decisions/s with {args.reviewers} concurrent reviewers on PostgreSQL "
              f"for {args.seconds:.0f} s; lost decisions {lost} (target 0); handed out twice {twice}")
    finally:
        subprocess.run(stop, capture_output=True)


if __name__ == "__main__":
    main()
