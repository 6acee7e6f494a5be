"""Export of 100,000 records with provenance to JSONL and to Parquet: seconds and peak RSS.

Builds a store directly through Store methods: 33,334 originals (alpaca_5000 repeated), three
approved and scored instruction rewrites each from two augmenters (100,002 candidates), so the
1:2 mix has to choose 66,668 of them; 100,002 records go out. Each export runs `augment export
--provenance` in a child process (so its peak RSS is its own); prints one line per file type,
the Parquet figure last.
Usage: .venv/bin/python benchmarks/bench_export.py [--records 100000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SOURCE = REPO.parent / "shared" / "datasets" / "alpaca_5000.json"

from augment_core.records import Candidate, Score  # noqa: E402
from augment_core.review import ReviewFilter  # noqa: E402
from augment_core.store import Store  # noqa: E402


def build(db_url: str, n_originals: int) -> None:
    base = json.loads(SOURCE.read_text())
    store = Store(db_url)
    with store.transaction() as conn:
        dataset_id = store.create_dataset(conn, "bench", "alpaca", str(SOURCE), "json", {})
        rows = [(i + 1, f"#{i + 1}", base[i % len(base)]) for i in range(n_originals)]
        for start in range(0, len(rows), 5000):
            store.add_examples(conn, dataset_id, rows[start : start + 5000])
    batch: list[Candidate] = []
    for examples in store.iter_examples(dataset_id, batch_size=2000):
        for e in examples:
            for augmenter, n in (("paraphrase", 2), ("backtranslation", 1)):
                for k in range(n):
                    batch.append(
                        Candidate(
                            id=hashlib.sha256(f"{e.id}/{augmenter}/{k}".encode()).hexdigest(),
                            dataset_id=dataset_id,
                            example_id=e.id,
                            augmenter=augmenter,
                            target_field="instruction",
                            text=f"{e.record['instruction']} (rephrased {k})",
                            params={"pivot": "de"} if augmenter == "backtranslation" else {"n": 5, "temperature": 0.9},
                            provenance={"provider": "local", "model": "smollm2-135m", "usage": {"input_tokens": 60}},
                        )
                    )
        store.add_candidates(batch)
        sim = [0.72, 0.85, 0.9, 0.96]
        store.save_scores(
            [
                Score(c.id, sim[i % 4], True, 0.75 <= sim[i % 4] <= 0.95, 1.1, 3, model="minilm")
                for i, c in enumerate(batch)
            ]
        )
        batch = []
    store.bulk_decide(dataset_id, ReviewFilter(), "approved")
    store.close()


def measure(db_url: str, out: Path) -> tuple[int, float, float, float, float]:
    """(records, seconds inside the export call, its CPU seconds, seconds of the whole child, peak RSS in MB).

    CPU seconds are printed too: on a machine shared with other jobs, wall time says more about the neighbours.
    """
    code = (
        "import resource, sys, time\n"
        "from augment_core.cli import main\n"
        "start, cpu = time.perf_counter(), time.process_time()\n"
        f"rc = main(['export', {str(out)!r}, '--provenance', '--db', {db_url!r}])\n"
        "print(time.perf_counter() - start, time.process_time() - cpu,\n"
        "      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    wall = time.perf_counter() - start
    inside, cpu, rss = result.stderr.strip().splitlines()[-1].split()
    records = int(result.stdout.split()[1])
    return records, float(inside), float(cpu), wall, int(rss) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        db_url = f"sqlite:///{workdir / 'bench.db'}"
        start = time.perf_counter()
        build(db_url, args.records // 3 + 1)
        print(f"built the store in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        for kind in ("jsonl", "parquet"):
            out = workdir / f"curated.{kind}"
            records, inside, cpu, wall, rss = measure(db_url, out)
            size = out.stat().st_size / 1e6
            print(
                f"{kind:<7} {records} records with provenance ({size:.0f} MB): {inside:.2f} s export "
                f"({cpu:.2f} s CPU; {wall:.2f} s with interpreter start), peak RSS {rss:.0f} MB"
            )


if __name__ == "__main__":
    main()
