"""Peak RSS of `augment score` on 100,000 candidates (target under 2 GB), and its rate at that scale.

The 5,000 records of ../shared/datasets/alpaca_5000.json, 20 rewrites of the instruction each
(template variations crossed with a few closing requests, so every candidate text is distinct and
gets embedded), stored in a fresh SQLite file; then the real CLI, `python -m augment_core score`,
runs in a child process whose peak RSS is read from getrusage.
Run: .venv/bin/python benchmarks/bench_score_rss.py [CANDIDATES_PER_RECORD, default 20]
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from augment_core.augmenters.templates import variations  # noqa: E402
from augment_core.importer import import_file  # noqa: E402
from augment_core.records import Candidate  # noqa: E402
from augment_core.store import Store  # noqa: E402

ALPACA = REPO.parent / "shared" / "datasets" / "alpaca_5000.json"
CLOSINGS = ["", " Keep it brief.", " Be concise.", " Answer in detail.", " Explain your reasoning."]


def main() -> None:
    per_record = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/rss.db"
        store = Store(url)
        import_file(store, str(ALPACA), name="alpaca")
        dataset = store.get_dataset("alpaca")
        assert dataset is not None
        total = owed = 0  # a record with fewer distinct rewrites passes its shortfall on to the next
        for batch in store.iter_examples(dataset.id, batch_size=500):
            items = []
            for e in batch:
                instruction = e.record["instruction"]
                variants = [instruction, *dict.fromkeys(variations(instruction).values())]
                texts = list(dict.fromkeys(v + c for c in CLOSINGS for v in variants if v + c != instruction))
                take = texts[: per_record + owed]
                owed = per_record + owed - len(take)
                items += [
                    Candidate(id=f"{e.id}-{i}", dataset_id=dataset.id, example_id=e.id, augmenter="templates",
                              target_field="instruction", text=text)
                    for i, text in enumerate(take)
                ]  # fmt: skip
            total += store.add_candidates(items)
        store.close()
        print(f"{total} candidates on {dataset.example_count} records; running `augment score`")
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "augment_core", "score", "--db", url, "--quiet"],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        elapsed = time.perf_counter() - start
        if result.returncode != 0:
            raise SystemExit(result.stderr)
        print(result.stdout.strip())
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # kB on Linux
    print(f"{total} candidates in {elapsed:.0f} s ({total / elapsed:.0f} pairs/s, model load included)")
    print()
    print(f"peak RSS of `augment score` on {total} candidates: {peak_mb:.0f} MB (target < 2048 MB)")


if __name__ == "__main__":
    main()
