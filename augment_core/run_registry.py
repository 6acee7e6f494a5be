"""The background runs of a process (the studio's): one ``Job`` (``augment_core.runs``) per dataset,
each in a thread of the server process that outlives the session that started it, with live state
(``RunState``) for any session to draw. The studio only keeps the ``RunRegistry`` in
``st.cache_resource`` (``studio.runs``).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from augment_core.errors import AugmentError
from augment_core.progress import Progress, RunReport
from augment_core.runs import Job, RunResult, RunSpec, find_dataset

if TYPE_CHECKING:
    from augment_core.llm import Provider
    from augment_core.store import Store

log = logging.getLogger(__name__)


@dataclass
class RunState:
    """What a session needs to draw a run: live counts, then the result or the error."""

    dataset_id: int
    spec: RunSpec
    cancel: threading.Event
    started: float = field(default_factory=time.time)
    phase: str = "starting"  # starting | generating | scoring | finished
    progress: Progress | None = None
    scored: int = 0
    to_score: int = 0
    result: RunResult | None = None
    error: str | None = None
    finished: float | None = None
    thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self.finished is None

    @property
    def report(self) -> RunReport | None:
        return None if self.result is None else self.result.report

    def on_progress(self, progress: Progress) -> None:
        self.phase = "generating"
        self.progress = progress

    def on_scoring(self, scored: int, total: int) -> None:
        self.phase = "scoring"
        self.scored, self.to_score = scored, total


class RunRegistry:
    """The runs of this process, by dataset id: each in a thread that outlives whoever started it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[int, RunState] = {}

    def get(self, dataset_id: int) -> RunState | None:
        with self._lock:
            return self._runs.get(dataset_id)

    def start(self, store: Store, spec: RunSpec, *, provider: Provider | None = None) -> RunState:
        """Start ``spec`` unless a run is going on its dataset (then that one is returned).

        Built before the thread starts, so a bad setting raises here (InputError, ConfigError).
        """
        dataset = find_dataset(store, spec.dataset)
        with self._lock:
            current = self._runs.get(dataset.id)
            if current is not None and current.running:
                return current
            job = Job(store, spec, provider=provider)
            state = RunState(dataset_id=dataset.id, spec=spec, cancel=job.cancel)
            name = f"augment-run-{dataset.id}"
            state.thread = threading.Thread(target=_work, args=(state, job), name=name, daemon=True)
            self._runs[dataset.id] = state
            state.thread.start()
            return state


def _work(state: RunState, job: Job) -> None:
    """The thread body: the job, its outcome or its error on the state."""
    try:
        state.phase = "generating"
        state.result = job.run(state.on_progress, state.on_scoring)
    except AugmentError as exc:
        state.error = str(exc)
    except Exception as exc:  # a thread has no caller to raise to: log it whole, show it on the page
        log.exception("augmentation run on dataset %s failed", state.dataset_id)
        state.error = f"{type(exc).__name__}: {exc}"
    finally:
        state.phase = "finished"
        state.finished = time.time()
