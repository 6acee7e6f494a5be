"""Streamlit, started where `make run` starts it (the repo root), reads the studio's own settings.

Two of them are measured costs, not taste (issue 17): the file watcher kept a core busy while
idle, and the full garbage collection Streamlit runs after every rerun held the server's GIL for
about 0.18 s per 2 s progress poll, stalling the scoring thread (benchmarks/bench_studio_browser.py:
0.83 of the CLI's scoring rate with the Augment page open before, 0.89 after). Option names are
not checked by Streamlit, so a misspelt one would be ignored silently: this reads them back.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.studio_server import REPO

READ_BACK = """
import json
from streamlit import config
config.get_config_options(force_reparse=True)
names = ["server.fileWatcherType", "server.runOnSave", "runner.postScriptGC", "server.address"]
print(json.dumps({name: config.get_option(name) for name in names}))
"""


def _options(cwd: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", READ_BACK], cwd=cwd, capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def test_the_repo_settings_are_what_streamlit_reads(tmp_path: Path) -> None:
    options = _options(str(REPO))
    assert options == {
        "server.fileWatcherType": "none",
        "server.runOnSave": False,
        "runner.postScriptGC": False,
        "server.address": "127.0.0.1",
    }
    # Elsewhere Streamlit's defaults apply: the values above come from the repo's file.
    assert _options(str(tmp_path))["runner.postScriptGC"] is True
