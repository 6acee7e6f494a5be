"""Scoring a record at the import size limit: seconds and peak RSS (issue 16 point 3).

An instruction of ``import.max_field_chars`` characters (200,000 by default) and three rewrites
of it are imported and scored through `augment score`; before the limit, a 5 MB instruction took
56 s and 2 GB. Prints the figure last.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    chars = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    with tempfile.TemporaryDirectory() as tmp:
        words = ("Describe the history of the river valley and its towns " * (chars // 56 + 1))[:chars]
        data = Path(tmp) / "long.jsonl"
        data.write_text(json.dumps({"id": "long", "instruction": words, "output": "x"}) + "\n")
        db = f"sqlite:///{tmp}/limit.db"
        run = [sys.executable, "-m", "augment_core"]
        subprocess.run([*run, "import", str(data), "--db", db], check=True, capture_output=True)
        subprocess.run([*run, "run", "--augmenters", "templates", "--db", db], check=True, capture_output=True)
        started = time.perf_counter()
        subprocess.run([*run, "score", "--db", db], check=True, capture_output=True)
        seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"FIGURE: scoring 3 candidates of a {chars:,}-character instruction: {seconds:.1f} s, "
          f"peak RSS {peak:.0f} MB (largest child process)")


if __name__ == "__main__":
    main()
