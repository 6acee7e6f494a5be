"""Engines: where a run's items and a scoring pass are worked on.

``local`` is the pipeline in this process (``augment_core.pipeline``, ``quality.score_dataset``);
``ray`` maps the very same functions (``Pipeline.work``, ``quality.score_group``) over Ray Data
batches on a cluster, and the driver stores what comes back (``ray_engine``). The store is the
single writer either way.
"""

from __future__ import annotations

import importlib.util

from augment_core.errors import InputError

ENGINES = ("local", "ray")


def check_engine(engine: str, limit: int | None = None, actors: int = 1, output: str | None = None) -> None:
    """InputError for an engine that does not exist or a setting it cannot run with."""
    if engine not in ENGINES:
        raise InputError(f"engine: '{engine}' is not one of {', '.join(ENGINES)}")
    if output is not None and engine != "ray":
        raise InputError("--output: Parquet shards are written by the Ray engine; add --engine ray")
    if engine == "ray" and limit is not None:
        raise InputError("--limit: a preview runs on the local engine; drop --engine ray")
    if actors < 1:
        raise InputError(f"actors: expected at least 1, got {actors}")


def ray_installed() -> bool:
    """Whether the Ray engine can be offered (``ray[data]`` is installed)."""
    return importlib.util.find_spec("ray") is not None and importlib.util.find_spec("pyarrow") is not None
