"""A run from its spec: provider, LLM client, augmenters and pipeline built in one place, run, the
client always closed, what is new optionally scored, a report out.

The CLI's ``augment run`` and the studio's Augment page both go through ``Job``, which builds a
``Pipeline`` (``augment_core.pipeline``) and runs it on the local or the Ray engine; the studio's
background runs are ``augment_core.run_registry``, a ``Job`` each in a thread.
A preview is a run with ``limit``: the first N records, or N at random (seeded). Its candidates
are real ones, with the same deterministic ids, so the full run later skips them.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from augment_core.augmenters import build
from augment_core.errors import InputError
from augment_core.pipeline import Pipeline
from augment_core.progress import EstimateRow, Progress, RunReport
from augment_core.records import Dataset, Example, get_field

if TYPE_CHECKING:
    from augment_core.llm import LLMClient, Provider
    from augment_core.llm.ratelimit import RateLimiter
    from augment_core.store import Store

Sample = Literal["first", "random"]
SAMPLES: tuple[Sample, ...] = ("first", "random")
Scoring = Callable[[int, int], None]  # (scored so far, to score)


@dataclass(frozen=True)
class RunSpec:
    """What to run: which dataset, which augmenters with which settings, on which LLM, how fast.

    ``dataset`` is a name or an id (None: the only one stored). ``provider`` None picks the
    default (Anthropic with a key, else the local model); ``llm=False`` builds no client at all,
    so only augmenters that need none can run. ``limit`` makes a preview of that many records
    (``sample`` first or random, ``seed`` for random). The key is kept out of repr: never logged.
    """

    dataset: str | int | None
    augmenters: Mapping[str, Mapping[str, Any]]
    provider: str | None = None
    model: str | None = None
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    llm: bool = True
    concurrency: int = 16
    rpm: int | None = None
    tpm: int | None = None
    timeout: float | None = None  # per LLM call; None: the client's default
    max_retries: int | None = None
    batch_size: int = 200
    limit: int | None = None
    sample: Sample = "first"
    seed: int = 0
    score: bool = False
    engine: str = "local"  # or "ray": the same functions over Ray Data (augment_core.engines)
    ray_address: str | None = None  # None: a Ray started on this machine; "auto" or an address: a cluster
    actors: int = 2  # the Ray engine's workers (each with ``concurrency`` LLM calls in flight)
    output: str | None = None  # Ray engine: a new folder to write what is stored as Parquet shards

    def __post_init__(self) -> None:
        from augment_core.engines import check_engine

        check_engine(self.engine, self.limit, self.actors, self.output)
        if not self.augmenters:
            raise InputError("no augmenter chosen")
        if self.limit is not None and self.limit < 1:
            raise InputError(f"limit: expected at least 1 record, got {self.limit}")
        if self.sample not in SAMPLES:
            raise InputError(f"sample: '{self.sample}' is not one of {', '.join(SAMPLES)}")


@dataclass(frozen=True)
class RunEstimate:
    """The work a spec asks for before anything is sent: per augmenter, items, calls, tokens, cost."""

    dataset: Dataset
    examples: int  # records the run covers (the preview's, or the dataset's)
    llm: str | None  # "provider model", None without a client
    rows: dict[str, EstimateRow]


@dataclass(frozen=True)
class RunResult:
    """What a run did: the pipeline's report, how many candidates were scored, and how long it took."""

    report: RunReport
    scored: int
    seconds: float  # generation and scoring
    examples: int  # records the run covered
    candidate_ids: tuple[str, ...] = ()  # a preview's: every candidate of its records, made now or before


@dataclass(frozen=True)
class PreviewRow:
    """One candidate of a preview beside the text it rewrites (for a refusal, its prompt)."""

    example_id: int | None  # None for a refusal (made from a prompt)
    augmenter: str
    field: str
    original: str
    text: str
    error: str | None
    similarity: float | None


def find_dataset(store: Store, ref: str | int | None) -> Dataset:
    """The dataset named (or numbered) ``ref``; InputError when there is no such one."""
    if isinstance(ref, int):
        for name in store.dataset_names():
            found = store.get_dataset(name)
            if found is not None and found.id == ref:
                return found
        raise InputError(f"no dataset with id {ref} (deleted?)")
    dataset = store.get_dataset(ref)
    if dataset is None:
        names = ", ".join(store.dataset_names()) or "none"
        raise InputError(f"no dataset called '{ref}'; stored: {names}" if ref else f"choose a dataset; stored: {names}")
    return dataset


def select_examples(
    store: Store, dataset: Dataset, limit: int, sample: Sample = "first", seed: int = 0
) -> list[Example]:
    """``limit`` examples of ``dataset``, in file order: the first ones, or a seeded random sample
    (one pass over the dataset, holding only the sample)."""
    if sample == "first":
        return next(iter(store.iter_examples(dataset.id, limit)), [])[:limit]
    rng = random.Random(seed)
    kept: list[Example] = []
    seen = 0
    for batch in store.iter_examples(dataset.id):
        for example in batch:  # reservoir sampling: every example equally likely
            seen += 1
            if len(kept) < limit:
                kept.append(example)
            elif (slot := rng.randrange(seen)) < limit:
                kept[slot] = example
    return sorted(kept, key=lambda e: e.position)


def score_new(
    store: Store,
    dataset: Dataset,
    *,
    model_batch_size: int | None = None,
    examples_per_batch: int = 200,
    progress: Scoring | None = None,
    cancel: threading.Event | None = None,
    engine: str = "local",
    ray_address: str | None = None,
    actors: int = 2,
    output: str | None = None,
) -> int:
    """Score the candidates of ``dataset`` that have no scores yet; returns how many were scored.

    The model loads only when there is something to score; ``progress(scored, total)`` is called
    first with 0 and then after every saved batch; ``cancel`` stops it between batches (local
    engine). ``engine`` "ray": ``actors`` scorers on Ray, and ``output`` a new folder for the
    scored candidates as Parquet shards.
    """
    from augment_core.engines import check_engine

    check_engine(engine, None, actors, output)
    from augment_core.quality import Embedder, model_name_from_store, score_dataset

    total = store.count_unscored_candidates(dataset.id)
    if total == 0:
        return 0
    scored = 0

    def step(count: int) -> None:
        nonlocal scored
        scored += count
        if progress is not None:
            progress(scored, total)

    if progress is not None:
        progress(0, total)
    options: dict[str, Any] = {} if model_batch_size is None else {"batch_size": model_batch_size}
    if engine == "ray":
        from augment_core.engines.ray_engine import score_on_ray
        from augment_core.engines.ray_output import ShardWriter

        shards = None if output is None else ShardWriter(output)
        return score_on_ray(store, dataset, ray_address, actors, examples_per_batch, options, step, shards)
    embedder = Embedder.load(model_name_from_store(store), **options)
    return score_dataset(store, dataset, embedder, examples_per_batch=examples_per_batch, progress=step, cancel=cancel)


class Job:
    """One spec built: dataset, LLM client, augmenters and pipeline. ``estimate`` any number of
    times, ``run`` once; the client is closed by ``run`` (whatever happens) or by ``close``.

    Building is cheap (no SDK import, no model load, no network until the first call) and raises
    InputError for a bad setting, ConfigError for a missing key or package. ``provider`` is a ready
    provider instead of the spec's name (the tests' seam for a fake).
    """

    def __init__(
        self, store: Store, spec: RunSpec, *, provider: Provider | None = None, cancel: threading.Event | None = None
    ) -> None:
        self.store = store
        self.spec = spec
        self.cancel = cancel or threading.Event()
        self.dataset = find_dataset(store, spec.dataset)
        self.examples = (
            None if spec.limit is None else select_examples(store, self.dataset, spec.limit, spec.sample, spec.seed)
        )
        self.llm = make_client(store, spec, provider)
        self._closed = False
        self._ids: list[str] = []
        try:
            augmenters = [build(name, dict(opts), llm=self.llm, store=store) for name, opts in spec.augmenters.items()]
            self.pipeline = Pipeline(
                store, self.dataset, augmenters, llm=self.llm, batch_size=spec.batch_size,
                concurrency=spec.concurrency, cancel=self.cancel, examples=self.examples,
                on_item=self._ids.extend if spec.limit is not None else None,
            )  # fmt: skip
        except BaseException:
            self.close()
            raise

    @property
    def covered(self) -> int:
        """How many records the run covers."""
        return self.dataset.example_count if self.examples is None else len(self.examples)

    def estimate(self) -> RunEstimate:
        """Calls, tokens and cost per augmenter; work already stored or in the LLM cache is free."""
        label = f"{self.llm.provider.name} {self.llm.provider.model}".strip() if self.llm is not None else None
        return RunEstimate(self.dataset, self.covered, label, self.pipeline.estimate())

    def run(self, progress: Callable[[Progress], None] | None = None, scoring: Scoring | None = None) -> RunResult:
        """Generate (stored batch by batch), close the client, then score what is new if the spec says so
        and the run was not cancelled. A KeyboardInterrupt keeps what finished, closes, and propagates."""
        started = time.monotonic()
        self.pipeline.on_progress = progress

        async def generate() -> RunReport:
            try:
                return await self.pipeline.run_async()
            finally:
                await self._aclose()  # in the loop that opened the connections

        try:
            if self.spec.engine == "ray":
                from augment_core.engines.ray_engine import generate_on_ray
                from augment_core.engines.ray_output import ShardWriter

                self.close()  # the workers make their own clients
                shards = None if self.spec.output is None else ShardWriter(self.spec.output)
                report = generate_on_ray(self.store, self.spec, self.pipeline, shards)
            else:
                report = asyncio.run(generate())
        finally:
            self.close()  # the loop may have died before ``generate`` got to its finally
        scored = 0
        if self.spec.score and not (report.cancelled or self.cancel.is_set()):
            spec = self.spec
            scored = score_new(self.store, self.dataset, progress=scoring, cancel=self.cancel, engine=spec.engine,
                               ray_address=spec.ray_address, actors=spec.actors)  # fmt: skip
            report.cancelled = self.cancel.is_set()  # stopped while scoring: Resume scores the rest
        ids = tuple(dict.fromkeys(self._ids))
        return RunResult(report, scored, time.monotonic() - started, self.covered, ids)

    def close(self) -> None:
        """Close the LLM client (a no-op once closed); for a job that is only estimated."""
        if self.llm is not None and not self._closed:
            asyncio.run(self._aclose())

    async def _aclose(self) -> None:
        if self.llm is not None and not self._closed:
            self._closed = True
            await self.llm.aclose()

    def __enter__(self) -> Job:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def make_client(
    store: Store, spec: RunSpec, provider: Provider | None = None, limiter: RateLimiter | None = None
) -> LLMClient | None:
    """The spec's LLM client (None when it asks for none); ``limiter`` replaces its rpm/tpm one."""
    from augment_core.llm import LLMClient, make_provider

    if provider is None:
        if not spec.llm:
            return None
        provider = make_provider(spec.provider, spec.model, spec.base_url, spec.api_key)
    return LLMClient(provider, store, concurrency=spec.concurrency, rpm=spec.rpm, tpm=spec.tpm,
                     timeout=spec.timeout, max_retries=spec.max_retries, limiter=limiter)  # fmt: skip


def run(
    store: Store,
    spec: RunSpec,
    *,
    progress: Callable[[Progress], None] | None = None,
    scoring: Scoring | None = None,
    cancel: threading.Event | None = None,
    provider: Provider | None = None,
) -> RunResult:
    """Build, run, close and (per the spec) score: ``Job(...).run()`` in one call."""
    return Job(store, spec, provider=provider, cancel=cancel).run(progress, scoring)


def estimate(store: Store, spec: RunSpec, *, provider: Provider | None = None) -> RunEstimate:
    """The estimate of ``spec``, built as the run would be and closed again."""
    with Job(store, spec, provider=provider) as job:
        return job.estimate()


def preview_rows(store: Store, result: RunResult) -> list[PreviewRow]:
    """The stored candidates of a preview, in the order they were made, beside their originals."""
    found = store.export_candidates(result.candidate_ids)
    examples = store.get_examples({c.example_id for c, _, _ in found.values() if c.example_id is not None})
    rows = []
    for cid in result.candidate_ids:
        if cid not in found:  # a duplicate of a stored text: not stored
            continue
        c, score, _ = found[cid]
        example = examples.get(c.example_id) if c.example_id is not None else None
        if example is not None and c.target_field:
            original = get_field(example.record, c.target_field)
        else:  # a refusal: a new example made from a prompt
            original = str(c.provenance.get("prompt") or "")
        similarity = score.semantic_similarity if score is not None else None
        rows.append(PreviewRow(c.example_id, c.augmenter, c.target_field or "", original, c.text, c.error, similarity))
    return rows
