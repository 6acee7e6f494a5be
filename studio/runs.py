"""The studio's side of runs: the core's run registry kept once per server process, and the spec
built from the page's choices. Runs themselves (building, closing, scoring) are ``augment_core.runs``,
their background threads ``augment_core.run_registry``.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from augment_core.records import Dataset
from augment_core.run_registry import RunRegistry
from augment_core.runs import RunSpec, Sample
from studio.providers import ProviderChoice

CONCURRENCY = 8  # parallel calls of a studio run (the CLI's default is 16)


def run_spec(
    dataset: Dataset,
    options: dict[str, dict[str, Any]],
    choice: ProviderChoice | None,
    *,
    score: bool = False,
    limit: int | None = None,
    sample: Sample = "first",
    seed: int = 0,
    engine: str = "local",
) -> RunSpec:
    """The spec of a run of ``options`` on ``dataset`` with the sidebar's provider (None: no LLM),
    on ``engine`` (``ray``: a Ray started on this machine, see augment_core.engines)."""
    provider = {} if choice is None else {
        "provider": choice.name, "model": choice.model, "base_url": choice.base_url, "api_key": choice.api_key,
    }  # fmt: skip
    return RunSpec(
        dataset=dataset.id, augmenters=options, llm=choice is not None, concurrency=CONCURRENCY, score=score,
        limit=limit, sample=sample, seed=seed, engine=engine, **provider,
    )  # fmt: skip


@st.cache_resource(show_spinner=False)
def run_registry() -> RunRegistry:
    """One registry per server process: runs outlive the browser sessions that started them."""
    return RunRegistry()
