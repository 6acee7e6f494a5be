"""Run chosen augmenters over a dataset: examples streamed from the store in batches, candidates
written back after each batch, progress reported through a callback.

Items (an example or standalone input, and one augmenter) and the candidates made for them are
``augment_core.candidate_making``.
Resume: a candidate's id is a hash of (example, augmenter, identity parameters, target field,
slot), so a rerun inserts nothing twice; a field whose slots are all stored as ``ok`` is skipped
before any work, and a stored failure is retried and replaced (or deleted, when the retry fills
fewer slots). A new candidate whose text (case and punctuation aside) is already stored for the
same example and field, by any augmenter, is not stored: it counts as a duplicate. An item
whose every candidate is already stored counts as already done. That write of a batch is
``augment_core.candidate_writes``. A failure on one item is
recorded on a candidate with status ``failed`` and its reason; only a ConfigError (a missing
key, package or model: every item would fail alike; also errors.ProviderDown, a refused key or
a backend the circuit breaker gave up on, see ``augment_core.retry``) or an InputError (a bad
setting) stops the run.
Progress: the run's counts, events and report are a ``RunTally`` (``augment_core.run_tally``); the
event after a batch's write is the last of that batch, so its counts are the report's; a long wait
of the LLM client (a rate limit) is reported at once, in ``note``.
A preview runs over ``examples`` (a few records) instead of the whole dataset.
Engines: ``work`` makes the candidates of some items without writing (a Ray worker runs it) and
``absorb`` counts and stores them on the driver, with the same write as a local batch.
Cancellation: set the ``threading.Event`` (the studio's Cancel button: within ``CANCEL_POLL`` seconds
the requests in flight are abandoned, not stored; what finished is stored) or cancel the asyncio task
(what finished is stored, then CancelledError propagates).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from augment_core.augmenters.base import Augmenter
from augment_core.candidate_making import CandidateMaker, Item
from augment_core.candidate_writes import write_candidates
from augment_core.errors import InputError
from augment_core.llm.usage import estimate_tokens
from augment_core.progress import EstimateRow, Progress, RunReport, usage_between
from augment_core.records import Candidate, Dataset, Example
from augment_core.run_tally import RunTally
from augment_core.store import Store

if TYPE_CHECKING:
    from augment_core.llm.client import LLMClient

CANCEL_POLL = 0.25  # seconds between looks at the cancel event while items are in flight

_Result = tuple[Item, list[Candidate], list[str]]  # an item, its candidates, its slots left empty


@dataclass
class Done:
    """One item worked on, as plain data that crosses a process boundary: what ``absorb`` stores."""

    augmenter: str
    source: int | str
    example_id: int | None
    fields: list[str]
    todo: list[str]
    candidates: list[Candidate]
    empty: list[str]

    @classmethod
    def of(cls, item: Item, candidates: list[Candidate], empty: list[str]) -> Done:
        return cls(item.augmenter.name, item.source, item.example_id, item.fields, item.todo, candidates, empty)


class Pipeline:
    """Runs augmenters over one dataset of a store."""

    def __init__(
        self,
        store: Store,
        dataset: Dataset,
        augmenters: Sequence[Augmenter],
        *,
        llm: LLMClient | None = None,
        batch_size: int = 200,
        concurrency: int = 16,
        on_progress: Callable[[Progress], None] | None = None,
        cancel: threading.Event | None = None,
        examples: Sequence[Example] | None = None,
        on_item: Callable[[list[str]], None] | None = None,
    ) -> None:
        """``examples``: run over these instead of the whole dataset (a preview), and over as many of
        each augmenter's standalone inputs; ``on_item`` gets the ids of every candidate an item
        has once it is done (made now or stored before), for showing a preview's results."""
        names = [a.name for a in augmenters]
        if len(set(names)) != len(names):
            raise InputError(f"an augmenter is listed twice: {', '.join(names)}")
        self.store = store
        self.dataset = dataset
        self.augmenters = list(augmenters)
        self.llm = llm
        self.batch_size = max(1, batch_size)
        self.concurrency = max(1, concurrency)
        self.on_progress = on_progress
        self.cancel = cancel or threading.Event()
        self.examples = None if examples is None else list(examples)
        self.on_item = on_item
        self._maker = CandidateMaker(dataset, self.augmenters)

    # ---- planning -------------------------------------------------------------------------

    def total(self) -> int:
        per_example = [a for a in self.augmenters if a.standalone_inputs() is None]
        standalone = sum(len(self._inputs(a)) for a in self.augmenters)
        count = self.dataset.example_count if self.examples is None else len(self.examples)
        return count * len(per_example) + standalone

    def _inputs(self, augmenter: Augmenter) -> list[dict[str, Any]]:
        inputs = augmenter.standalone_inputs() or []
        return inputs if self.examples is None else inputs[: len(self.examples)]

    def _example_batches(self) -> Any:
        if self.examples is None:
            yield from self.store.iter_examples(self.dataset.id, self.batch_size)
            return
        for start in range(0, len(self.examples), self.batch_size):
            yield self.examples[start : start + self.batch_size]

    def _batches(self) -> Any:
        """Lists of items, a batch of examples (or standalone inputs) at a time."""
        if any(a.standalone_inputs() is None for a in self.augmenters):
            for examples in self._example_batches():
                yield self.example_items(examples)
        for a in self.augmenters:
            inputs = self._inputs(a)
            for start in range(0, len(inputs), self.batch_size):
                yield self.input_items(a.name, start, start + self.batch_size)

    def example_items(self, examples: Sequence[Example]) -> list[Item]:
        """The items of these examples: one per example and dataset augmenter."""
        per_example = [a for a in self.augmenters if a.standalone_inputs() is None]
        schema = self.dataset.schema
        return [Item(a, x.id, x.id, x.record, a.fields(x.record, schema)) for x in examples for a in per_example]

    def input_items(self, name: str, start: int, stop: int) -> list[Item]:
        """The items of standalone inputs ``start:stop`` of the augmenter called ``name``."""
        a = next(a for a in self.augmenters if a.name == name)
        return [Item(a, f"input:{i['key']}", None, i, ["output"]) for i in self._inputs(a)[start:stop]]

    def _mark_todo(self, items: list[Item]) -> None:
        """Fill each item's ``todo`` with the fields not complete in the store."""
        make_id = self._maker.id
        expected: list[str] = []
        for item in items:
            slots = item.augmenter.slots()
            if slots:
                expected += [make_id(item, f, s) for f in item.fields for s in slots]
        statuses = self.store.candidate_statuses(expected) if expected else {}
        for item in items:
            slots = item.augmenter.slots()
            item.todo = [
                f for f in item.fields if not slots or any(statuses.get(make_id(item, f, s)) != "ok" for s in slots)
            ]

    def estimate(self) -> dict[str, EstimateRow]:
        """Requests, tokens and cost each augmenter will need; work already stored or cached is free."""
        # items, calls, llm calls, tokens in, tokens out, items stored, calls cached
        rows = {a.name: [0, 0, 0, 0, 0, 0, 0] for a in self.augmenters}
        for items in self._batches():
            self._mark_todo(items)
            for item in items:
                row = rows[item.augmenter.name]
                row[0] += 1
                row[5] += not item.todo
                for f in item.todo:
                    for call in item.augmenter.plan(item.record, f, self.dataset.schema):
                        if call.request is not None and self.llm is not None:
                            if self.llm.is_cached(call.request):
                                row[6] += 1
                                continue
                            row[2] += 1
                            row[3] += estimate_tokens(call.request.system) + estimate_tokens(call.request.prompt)
                            row[4] += call.output_tokens
                        row[1] += 1
        result = {}
        for name, (items, calls, llm_calls, tokens_in, tokens_out, stored, cached) in rows.items():
            cost, priced = 0.0, True
            if llm_calls and self.llm is not None:
                money = self.llm.estimate(llm_calls, tokens_in, tokens_out)
                cost, priced = money.cost_usd, money.priced
            result[name] = EstimateRow(
                name, items, calls, llm_calls, tokens_in, tokens_out, cost, priced, stored, cached
            )
        return result

    # ---- running --------------------------------------------------------------------------

    def run(self) -> RunReport:
        """Run to the end (or until ``cancel`` is set) in a fresh event loop."""
        return asyncio.run(self.run_async())

    async def run_async(self) -> RunReport:
        self.begin()
        spent_before = self._spent()
        cancelled = False
        stop_listening = self.llm.guard.listen(self._tally.heard) if self.llm is not None else None
        try:
            for items in self._batches():
                if self.cancel.is_set():
                    cancelled = True
                    break
                await self._run_batch(items)
            cancelled = cancelled or self.cancel.is_set()
        finally:
            if stop_listening is not None:
                stop_listening()
            self.credit_usage(usage_between(spent_before, self._spent()))
        return self.report(cancelled)

    def begin(self) -> None:
        """Zero the run's counts (``run_async`` does; an engine that runs items elsewhere calls it)."""
        self._tally = RunTally([a.name for a in self.augmenters], self.on_progress)
        self._tally.total = self.total()  # counted once the clock runs: it may read an augmenter's inputs

    def report(self, cancelled: bool) -> RunReport:
        """The report of the run so far."""
        return self._tally.report(cancelled)

    def credit_usage(self, spent: dict[str, dict[str, Any]]) -> None:
        """Put ``spent`` (per augmenter, as ``usage_between`` gives it) on the report; an engine's
        workers send theirs."""
        self._tally.credit_usage(spent)

    async def _run_batch(self, items: list[Item]) -> None:
        self._mark_todo(items)
        semaphore = asyncio.Semaphore(self.concurrency)
        results: list[_Result] = []

        halted = False  # a fatal error: start nothing more in this batch

        async def work(item: Item) -> tuple[list[Candidate], list[str]] | None:
            nonlocal halted
            async with semaphore:
                if self.cancel.is_set() or halted:
                    return None
                try:
                    return await self._maker.make(item)
                except BaseException:
                    halted = True
                    raise

        pending = [item for item in items if item.todo]
        tasks = [asyncio.ensure_future(work(item)) for item in pending]
        for item in items:
            if not item.todo:
                self._skip(item)
        consumed = 0
        try:
            for task, item in zip(tasks, pending, strict=True):
                while not task.done() and not self.cancel.is_set():
                    await asyncio.wait({task}, timeout=CANCEL_POLL)
                if not task.done():  # cancelled: abandon what is in flight, keep what finished
                    break
                done = task.result()
                consumed += 1
                if done is not None:
                    results.append((item, *done))
                    self._tally.tick()
                    # The batch's last event comes after its write (below), with the stored counts.
                    self._advance(item, done[0], report=consumed < len(pending))
        except BaseException:
            self._keep_finished(tasks[consumed:], pending[consumed:], results)
            self._store(results)
            raise
        if consumed < len(tasks):
            self._keep_finished(tasks[consumed:], pending[consumed:], results)
            await asyncio.gather(*tasks, return_exceptions=True)  # let the abandoned requests unwind
        self._store(results)

    def _keep_finished(self, tasks: Sequence[asyncio.Future[Any]], items: list[Item], results: list[_Result]) -> None:
        """Cancel the tasks still running; add the results of those that finished (stored, so a rerun
        does not redo them)."""
        for task in tasks:
            task.cancel()
        for task, item in zip(tasks, items, strict=True):
            if task.done() and not task.cancelled() and task.exception() is None:
                finished = task.result()
                if finished is not None:
                    results.append((item, *finished))
                    self._advance(item, finished[0], report=False)

    async def work(self, items: list[Item]) -> list[Done]:
        """Mark what is to do and make the candidates of those items, ``concurrency`` at a time, without
        writing anything: what an engine's worker runs (``absorb`` then stores it on the driver)."""
        self._mark_todo(items)
        semaphore = asyncio.Semaphore(self.concurrency)

        async def one(item: Item) -> Done:
            if not item.todo:
                return Done.of(item, [], [])
            async with semaphore:
                return Done.of(item, *await self._maker.make(item))

        return list(await asyncio.gather(*(one(item) for item in items)))

    def absorb(self, done: Sequence[Done]) -> None:
        """Count, store and report items made elsewhere (by ``work`` in an engine's worker), as
        ``_run_batch`` does for its own: one write for all of ``done``."""
        by_name = {a.name: a for a in self.augmenters}
        results: list[_Result] = []
        for d in done:
            item = Item(by_name[d.augmenter], d.source, d.example_id, {}, d.fields, d.todo)
            if not item.todo:
                self._skip(item)
                continue
            results.append((item, d.candidates, d.empty))
            self._tally.tick()
            self._advance(item, d.candidates, report=False)
        self._store(results)

    def _store(self, results: list[_Result]) -> None:
        """Write a batch's results, count what the write did, and report: the batch's last event."""
        made = [(item.augmenter.name, candidates_, empty) for item, candidates_, empty in results]
        self._tally.wrote(write_candidates(self.store, self.dataset.id, made))
        self._tally.emit()

    def _skip(self, item: Item) -> None:
        """Count an item found complete in the store as done."""
        self._tally.skip(item.augmenter.name)
        self._advance(item, [], report=False)

    def _advance(self, item: Item, made: list[Candidate], *, report: bool = True) -> None:
        self._tally.advance(item.augmenter.name, made)
        if self.on_item is not None:
            slots = item.augmenter.slots() or []
            done_before = [self._maker.id(item, f, s) for f in item.fields if f not in item.todo for s in slots]
            self.on_item([c.id for c in made] + done_before)
        if report:
            self._tally.emit()

    # ---- money ----------------------------------------------------------------------------

    def _spent(self) -> dict[str, Any]:
        if self.llm is None:
            return {}
        return {k: v.as_dict() for k, v in self.llm.usage.by_label.items()}
