"""Scoring on the Ray engine: the local engine vs Ray with 1 and with 2 scoring actors, and the driver's memory.

The first RECORDS records of ../shared/datasets/alpaca_5000.json, three template rewrites each
(``augment run --augmenters templates``), are stored once; each configuration then scores a copy
of that store from scratch, the way ``augment score --engine local|ray --actors N`` does, with a
Ray started on this machine (the engine's default). For each: the wall time (the Ray ones include
starting Ray and loading the model in every actor), the steady rate (candidates per second between
the first and the last saved range, startup left out), and the driver's peak RSS, sampled every
50 ms: at a quarter of the job and at its end, so a driver that grows with the dataset shows. Each
configuration runs in a fresh interpreter of its own.
A Ray actor reserves one CPU, and Ray runs it with OMP_NUM_THREADS=1; the local engine lets torch
use every core. "local, 1 thread" is the local engine with OMP_NUM_THREADS=1: Ray's cost per core.
Run: .venv/bin/python benchmarks/bench_ray_score.py [RECORDS, default 400; 33334 for 100,002 candidates]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from augment_core import runs  # noqa: E402
from augment_core.importer import import_file  # noqa: E402
from augment_core.runs import RunSpec  # noqa: E402
from augment_core.store import Store  # noqa: E402

ALPACA = Path(os.environ.get("AUGMENT_SHARED_DATASETS", REPO.parent / "shared" / "datasets")) / "alpaca_5000.json"


class PeakRSS:
    """The driver's resident memory, sampled on a thread: the peak so far, in MB."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            self.peak = max(self.peak, me.memory_info().rss / 2**20)
            time.sleep(0.05)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


def score(url: str, engine: str, actors: int) -> dict[str, float]:
    store = Store(url)
    dataset = runs.find_dataset(store, "alpaca")
    stamps: list[tuple[float, int]] = []
    quarter: list[float] = []
    rss = PeakRSS()

    def seen(done: int, total: int) -> None:
        stamps.append((time.monotonic(), done))
        if not quarter and done >= total / 4:
            quarter.append(rss.peak)

    started = time.monotonic()
    count = runs.score_new(store, dataset, progress=seen, engine=engine, actors=actors, examples_per_batch=20)
    wall = time.monotonic() - started
    peak = rss.stop()
    store.close()
    saved = [s for s in stamps if s[1] > 0]
    (t0, n0), (t1, n1) = saved[0], saved[-1]
    return {"scored": count, "wall": wall, "rate": (n1 - n0) / max(t1 - t0, 1e-9), "rss_quarter": quarter[0],
            "rss_end": peak}  # fmt: skip


def distinct_records(rows: list[dict[str, str]], records: int) -> list[dict[str, str]]:
    """The first ``records`` rows; past the file's 5,000 it starts again with each instruction marked
    `` (set 2)`` etc., so every text is new to the scorer's cache (33,334 records: 100,002 candidates)."""
    out = rows[:records]
    for i in range(len(out), records):
        row = rows[i % len(rows)]
        out.append({**row, "instruction": f"{row['instruction']} (set {i // len(rows) + 1})"})
    return out


def in_child(url: str, engine: str, actors: int, threads: int | None = None) -> dict[str, float]:
    """``score`` in a fresh interpreter, so no configuration's model or imports count in another's RSS.
    ``threads``: torch's threads in that interpreter (OMP_NUM_THREADS), else torch's own choice."""
    env = os.environ if threads is None else {**os.environ, "OMP_NUM_THREADS": str(threads)}
    out = subprocess.run([sys.executable, __file__, "--one", url, engine, str(actors)], check=True,
                         stdout=subprocess.PIPE, text=True, env=env).stdout  # fmt: skip
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(score(sys.argv[2], sys.argv[3], int(sys.argv[4]))))
        return
    records = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "alpaca.jsonl"
        rows = distinct_records(json.loads(ALPACA.read_text()), records)
        source.write_text("".join(json.dumps(r) + "\n" for r in rows))
        base = Path(tmp) / "base.db"
        store = Store(f"sqlite:///{base}")
        import_file(store, str(source), name="alpaca")
        runs.run(store, RunSpec(dataset="alpaca", augmenters={"templates": {}}, llm=False))
        candidates = store.count_unscored_candidates(runs.find_dataset(store, "alpaca").id)
        store.close()
        print(f"{candidates} candidates of {records} records; {os.cpu_count()} cores (shared with other work)")
        results = {}
        configurations = (("local", "local", 1, None), ("local, 1 thread", "local", 1, 1),
                          ("ray, 1 actor", "ray", 1, None), ("ray, 2 actors", "ray", 2, None))  # fmt: skip
        for label, engine, actors, threads in configurations:
            copy = Path(tmp) / f"{engine}{actors}-{threads}.db"
            shutil.copy(base, copy)
            results[label] = r = in_child(f"sqlite:///{copy}", engine, actors, threads)
            assert r["scored"] == candidates, r
            print(f"  {label:<14} {r['wall']:6.1f} s wall, {r['rate']:6.1f} candidates/s steady, driver peak RSS "
                  f"{r['rss_quarter']:.0f} MB at 1/4, {r['rss_end']:.0f} MB at the end", flush=True)  # fmt: skip
        local, single, one, two = (results[k]["rate"] for k in ("local", "local, 1 thread", "ray, 1 actor",
                                                                "ray, 2 actors"))  # fmt: skip
        print(f"steady rate: 2 actors / 1 actor = {two / one:.2f}x (target >= 1.7x); "
              f"1 actor / local = {one / local:.2f} (target within 15 %); "
              f"1 actor / local on one thread = {one / single:.2f} (the same core each)")


if __name__ == "__main__":
    main()
