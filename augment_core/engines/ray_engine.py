"""The Ray engine: a run's items and a scoring pass on Ray Data, the results stored by the driver.

The dataset is shared out as ranges of examples (``Store.example_ranges``: ids only, never the
records); ``ray.data.from_items`` of those ranges is mapped through an actor pool
(``map_batches(Class, compute=ActorPoolStrategy(size=N))``). Each actor opens the store to read
its examples (and, for LLM augmenters, to use the response cache), builds the spec's augmenters
once, and runs the same ``Pipeline.work`` the local engine runs; a scorer loads the encoder once
and runs ``quality.score_group``. Nothing is written by a worker: the driver streams the results
(``iter_batches``) into the store a range at a time, through ``Pipeline.absorb`` and
``save_scores``, so the store stays the one writer and the source of truth. Candidate ids are
the same deterministic hashes, so a range Ray retries after a worker died is stored once, and a
rerun after the driver died skips what is stored, as the local engine does.
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from augment_core.engines.ray_cluster import ClusterLimiter, open_worker_store, ray_session, start_limiter, worker_url
from augment_core.errors import AugmentError, ConfigError
from augment_core.records import CandidateStatus

if TYPE_CHECKING:
    from augment_core.engines.ray_output import ShardWriter
    from augment_core.pipeline import Pipeline
    from augment_core.progress import RunReport
    from augment_core.records import Dataset
    from augment_core.runs import RunSpec
    from augment_core.store import Store

SCORER_CPUS = 1.0  # a scorer keeps a core busy
AUGMENTER_CPUS = 0.25  # an LLM worker mostly waits on the network (templates take little)


def generate_on_ray(store: Store, spec: RunSpec, pipeline: Pipeline, output: ShardWriter | None = None) -> RunReport:
    """Run ``pipeline``'s items on ``spec.actors`` Ray workers; the driver stores each range's results
    (and, with ``output``, writes what it stored as a Parquet shard)."""
    from augment_core.progress import add_usage

    pipeline.begin()
    chunks = list(_chunks(store, pipeline, _share(pipeline.dataset.example_count, pipeline.batch_size, spec.actors)))
    if not chunks:
        return pipeline.report(False)
    cancelled = False
    spent: dict[str, dict[str, Any]] = {}
    with ray_session(spec.ray_address) as ray:
        limiter = start_limiter(spec.rpm, spec.tpm) if spec.llm else None
        stream = ray.data.from_items(chunks, override_num_blocks=min(len(chunks), 10_000)).map_batches(
            AugmentWorker,
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=min(spec.actors, len(chunks))),
            num_cpus=AUGMENTER_CPUS,
            fn_constructor_kwargs={"url": worker_url(store.url), "spec": worker_spec(spec, pipeline),
                                   "dataset_id": pipeline.dataset.id, "limiter": limiter},
        )  # fmt: skip
        try:
            for blob in _results(stream, "done"):
                done, usage = pickle.loads(blob)
                add_usage(spent, usage)
                ids = [c.id for d in done for c in d.candidates]
                before = store.candidate_statuses(ids) if output is not None else {}
                pipeline.absorb(done)
                if output is not None:  # what this range stored: new, or a failure replaced
                    output.write(store, [i for i in ids if before.get(i) != CandidateStatus.OK])
                if pipeline.cancel.is_set():
                    cancelled = True
                    break
        finally:
            pipeline.credit_usage(spent)
    return pipeline.report(cancelled)


def worker_spec(spec: RunSpec, pipeline: Pipeline) -> RunSpec:
    """The spec the workers get (Ray pickles it into its object store): without the key, and with
    the provider the driver chose named. A worker reads the key from its own environment: its
    node's (set where ``ray start`` ran), or this process's for a Ray started here. A key sent
    along instead, even as a runtime_env variable, would be written to Ray's logs."""
    provider = pipeline.llm.provider if pipeline.llm is not None else None
    return dataclasses.replace(spec, api_key=None, provider=provider.name if provider is not None else spec.provider)


def score_on_ray(
    store: Store,
    dataset: Dataset,
    address: str | None,
    actors: int,
    examples_per_batch: int,
    options: dict[str, Any],
    progress: Callable[[int], None],
    output: ShardWriter | None = None,
) -> int:
    """Score the unscored candidates of ``dataset`` on ``actors`` scorers; the driver saves the scores
    (and, with ``output``, writes the candidates it scored, scores and all, as a Parquet shard)."""
    from augment_core.quality import model_name_from_store

    size = _share(dataset.example_count, examples_per_batch, actors)
    ranges = [{"first": a, "last": b} for a, b in store.example_ranges(dataset.id, size, by="id")]
    if not ranges:
        return 0
    total = 0
    with ray_session(address) as ray:
        stream = ray.data.from_items(ranges, override_num_blocks=min(len(ranges), 10_000)).map_batches(
            Scorer,
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=min(actors, len(ranges))),
            num_cpus=SCORER_CPUS,
            fn_constructor_kwargs={"url": worker_url(store.url), "dataset_id": dataset.id,
                                   "model": model_name_from_store(store), "options": options,
                                   "examples_per_batch": examples_per_batch},
        )  # fmt: skip
        for blob in _results(stream, "scores"):
            scores = pickle.loads(blob)
            store.save_scores(scores)
            if output is not None:
                output.write(store, [score.candidate_id for score in scores])
            total += len(scores)
            progress(len(scores))
    return total


def _share(count: int, batch: int, actors: int) -> int:
    """Examples per range: ``batch``, or fewer when that would leave actors idle (two ranges each)."""
    return max(1, min(batch, -(-count // (2 * actors))))


def _chunks(store: Store, pipeline: Pipeline, size: int) -> Iterator[dict[str, Any]]:
    """The ranges a run is shared out in: of examples (positions), then of each standalone input list."""
    if any(a.standalone_inputs() is None for a in pipeline.augmenters):
        for first, last in store.example_ranges(pipeline.dataset.id, size):
            yield {"kind": "examples", "augmenter": "", "first": first, "last": last}
    for a in pipeline.augmenters:
        count = len(a.standalone_inputs() or [])
        for start in range(0, count, size):
            yield {"kind": "inputs", "augmenter": a.name, "first": start, "last": min(start + size, count) - 1}


def _results(stream: Any, column: str) -> Iterator[bytes]:
    """The pickled results of a stream, as the driver receives them; a worker's AugmentError
    (a missing key, a bad setting) is raised as itself, not as Ray's wrapper."""
    try:
        for batch in stream.iter_batches(batch_size=None, batch_format="numpy"):
            yield from batch[column]
    except AugmentError:
        raise
    except Exception as exc:
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, AugmentError):
                raise cause from None
            cause = getattr(cause, "cause", None) or cause.__cause__
        raise


def _column(blobs: list[bytes]) -> Any:
    """An object array of bytes (a plain bytes array would be fixed width)."""
    column = np.empty(len(blobs), dtype=object)
    column[:] = blobs
    return column


class AugmentWorker:
    """One Ray Data actor of a run: the spec's augmenters and LLM client, built once."""

    def __init__(self, url: str, spec: RunSpec, dataset_id: int, limiter: Any) -> None:
        from augment_core.augmenters import build
        from augment_core.pipeline import Pipeline
        from augment_core.runs import find_dataset, make_client

        self.store = open_worker_store(url)
        self.dataset = find_dataset(self.store, dataset_id)
        self.llm = make_client(self.store, spec, limiter=None if limiter is None else ClusterLimiter(limiter))
        self._unusable = None if self.llm is None else self._load(self.llm.provider)
        augmenters = [build(name, dict(opts), llm=self.llm, store=self.store) for name, opts in spec.augmenters.items()]
        self.pipeline = Pipeline(self.store, self.dataset, augmenters, llm=self.llm, batch_size=spec.batch_size,
                                 concurrency=spec.concurrency)  # fmt: skip
        self._told: dict[str, Any] = {}

    @staticmethod
    def _load(provider: Any) -> AugmentError | None:
        """The SDK imported and its client made here, once: done on the first call instead, the import
        would stall the worker's event loop with its requests granted by the limiter, and they would
        then go out all at once. A missing key or package is returned, to be raised by the first
        call, where it stops the run; a missing key says where a worker reads it from."""
        try:
            getattr(provider, "load", lambda: None)()
        except AugmentError as exc:
            if provider.key_variable and not provider.given_key():
                import socket

                return ConfigError(
                    f"Ray node {socket.gethostname()}: {exc}. A worker reads {provider.key_variable} from its "
                    "node's environment (where `ray start` ran); a key given to the driver is never sent"
                )
            return exc
        return None

    async def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        if self._unusable is not None:
            raise self._unusable
        made = []
        for kind, name, first, last in zip(batch["kind"], batch["augmenter"], batch["first"], batch["last"],
                                           strict=True):  # fmt: skip
            if kind == "examples":
                items = self.pipeline.example_items(self.store.examples_between(self.dataset.id, int(first), int(last)))
            else:
                items = self.pipeline.input_items(str(name), int(first), int(last) + 1)
            done = await self.pipeline.work(items)
            made.append(pickle.dumps((done, self._spent())))
        return {"done": _column(made)}

    def _spent(self) -> dict[str, dict[str, Any]]:
        """What this actor's LLM client spent since it last said (ranges may overlap in an async actor:
        each call reports the growth since the one before, so every call is counted once)."""
        from augment_core.progress import usage_between

        if self.llm is None:
            return {}
        now = {k: v.as_dict() for k, v in self.llm.usage.by_label.items()}
        spent, self._told = usage_between(self._told, now), now
        return spent


class Scorer:
    """One Ray Data actor of a scoring pass: the encoder and the meaning model loaded once."""

    def __init__(self, url: str, dataset_id: int, model: str, options: dict[str, Any], examples_per_batch: int) -> None:
        from augment_core.quality import Embedder, thresholds_from_store
        from augment_core.scoring import load_meaning_model

        self.store = open_worker_store(url)
        self.dataset_id = dataset_id
        self.examples_per_batch = examples_per_batch
        self.embedder = Embedder.load(model, **options)
        self.thresholds = thresholds_from_store(self.store)
        self.meaning = load_meaning_model()

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        from augment_core.quality import score_group

        made = []
        for first, last in zip(batch["first"], batch["last"], strict=True):
            scores = []
            size = self.examples_per_batch
            for group in self.store.iter_unscored_groups(self.dataset_id, size, int(first) - 1, int(last)):
                scores += score_group(self.store, group, self.embedder, self.thresholds, self.meaning)
            made.append(pickle.dumps(scores))
        return {"scores": _column(made)}
