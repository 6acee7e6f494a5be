"""Augmentation runs in background threads, owned by the server process, not by a browser session.

A run started from the Augment page keeps going (and storing after every batch) when the tab is
closed or reloaded; any session of the same server finds it again through the registry, which
lives in ``st.cache_resource``. One run per dataset at a time.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from augment_core.augmenters import build
from augment_core.errors import AugmentError
from augment_core.pipeline import Pipeline, Progress, RunReport
from augment_core.records import Dataset
from augment_core.store import Store
from studio.providers import ProviderChoice

log = logging.getLogger(__name__)


@dataclass
class RunState:
    """What a session needs to draw a run: live counts, then the report or the error."""

    dataset_id: int
    augmenters: dict[str, dict[str, Any]]
    started: float = field(default_factory=time.time)
    phase: str = "starting"  # starting | generating | scoring | finished
    progress: Progress | None = None
    scored: int = 0
    to_score: int = 0
    report: RunReport | None = None
    error: str | None = None
    finished: float | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self.finished is None


def make_llm(store: Store, choice: ProviderChoice | None, concurrency: int) -> Any:
    """An LLM client for the sidebar's provider (cheap: nothing loads before the first call)."""
    if choice is None:
        return None
    from augment_core.llm import LLMClient, make_provider

    provider = make_provider(choice.name, choice.model, choice.base_url, choice.api_key)
    return LLMClient(provider, store, concurrency=concurrency)


def make_pipeline(
    store: Store,
    dataset: Dataset,
    options: dict[str, dict[str, Any]],
    choice: ProviderChoice | None,
    concurrency: int = 8,
    **kwargs: Any,
) -> Pipeline:
    """The pipeline for the chosen augmenters and their settings; InputError for a bad setting."""
    llm = make_llm(store, choice, concurrency)
    augmenters = [build(name, opts, llm=llm, store=store) for name, opts in options.items()]
    return Pipeline(store, dataset, augmenters, llm=llm, concurrency=concurrency, **kwargs)


class RunRegistry:
    """The runs of this server process, by dataset id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[int, RunState] = {}

    def get(self, dataset_id: int) -> RunState | None:
        with self._lock:
            return self._runs.get(dataset_id)

    def start(
        self,
        store: Store,
        dataset: Dataset,
        options: dict[str, dict[str, Any]],
        choice: ProviderChoice | None,
        score: bool = True,
        concurrency: int = 8,
    ) -> RunState:
        """Start a run unless one is going for this dataset; raises InputError for a bad setting."""
        with self._lock:
            current = self._runs.get(dataset.id)
            if current is not None and current.running:
                return current
            state = RunState(dataset_id=dataset.id, augmenters=options)
            pipeline = make_pipeline(
                store, dataset, options, choice, concurrency, on_progress=lambda p: _record(state, p),
                cancel=state.cancel,
            )
            state.thread = threading.Thread(
                target=_work, args=(state, pipeline, store, dataset, score), name=f"augment-run-{dataset.id}",
                daemon=True,
            )
            self._runs[dataset.id] = state
            state.thread.start()
            return state


def _record(state: RunState, progress: Progress) -> None:
    state.phase = "generating"
    state.progress = progress


def _work(state: RunState, pipeline: Pipeline, store: Store, dataset: Dataset, score: bool) -> None:
    """The thread body: generate (stored batch by batch), then score what is new."""
    try:
        state.phase = "generating"
        state.report = pipeline.run()
        if score and not state.cancel.is_set():
            from augment_core import quality

            state.phase = "scoring"
            state.to_score = store.count_unscored_candidates(dataset.id)

            def scored(n: int) -> None:
                state.scored += n

            quality.score_dataset(store, dataset, progress=scored)
    except AugmentError as exc:
        state.error = str(exc)
    except Exception as exc:  # a thread has no caller to raise to: log it whole, show it on the page
        log.exception("augmentation run on dataset %s failed", dataset.id)
        state.error = f"{type(exc).__name__}: {exc}"
    finally:
        state.phase = "finished"
        state.finished = time.time()


@st.cache_resource(show_spinner=False)
def run_registry() -> RunRegistry:
    """One registry per server process: runs outlive the browser sessions that started them."""
    return RunRegistry()
