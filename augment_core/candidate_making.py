"""The items of a run and the candidates made for them.

An ``Item`` is one example (or one standalone input, such as a refusal prompt) and one augmenter,
with the fields that augmenter rewrites there. ``CandidateMaker.make`` calls the augmenter on each
field still to do and turns its outputs into ``Candidate``s: deterministic ids (a hash of example,
augmenter, identity parameters, target field and slot, so a rerun makes the same ones), provenance
(parameters, usage, provider and model), and a failure recorded on the candidate instead of raised,
except a ConfigError or an InputError, which stop the run. ``Pipeline`` plans the items and stores
what is made (``augment_core.pipeline``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from augment_core.augmenters.base import Augmenter, Output, candidate_id
from augment_core.errors import ConfigError, InputError
from augment_core.record_checks import text_problem
from augment_core.records import Candidate, CandidateKind, CandidateStatus, Dataset, output_fields
from augment_core.store import now


@dataclass
class Item:
    """One unit of a run: an example (or a standalone input) and one augmenter, with its fields."""

    augmenter: Augmenter
    source: int | str  # example id, or a standalone input's key
    example_id: int | None
    record: dict[str, Any]
    fields: list[str]
    todo: list[str] = field(default_factory=list)  # fields not complete in the store


class CandidateMaker:
    """Makes the candidates of the items of one dataset, for the augmenters of one run."""

    def __init__(self, dataset: Dataset, augmenters: Sequence[Augmenter]) -> None:
        self.dataset = dataset
        self._identity = {a.name: a.identity() for a in augmenters}
        self._backend = {a.name: a.backend() for a in augmenters}

    def id(self, item: Item, field: str, slot: str) -> str:
        """The deterministic id of the item's candidate for ``field`` and ``slot``."""
        name = item.augmenter.name
        return candidate_id(self.dataset.id, item.source, name, self._identity[name], field, slot)

    async def make(self, item: Item) -> tuple[list[Candidate], list[str]]:
        """The candidates made for the item's fields to do, and the ids of the known slots of those
        fields that got nothing this time (a stored failure there is stale)."""
        made: list[Candidate] = []
        empty: list[str] = []
        augmenter = item.augmenter
        for field_path in item.todo:
            try:
                outputs = await augmenter.augment(item.record, field_path, self.dataset.schema)
            except (ConfigError, InputError):
                raise
            except Exception as exc:  # one item's failure is recorded on it, never fatal
                reason = str(exc) or type(exc).__name__
                outputs = [Output(slot=s, error=reason) for s in (augmenter.slots() or ["0"])]
            fresh = [self._candidate(item, field_path, out) for out in outputs]
            filled = {c.id for c in fresh}
            empty += [i for i in (self.id(item, field_path, s) for s in augmenter.slots() or []) if i not in filled]
            made += fresh
        return made, empty

    def _candidate(self, item: Item, field_path: str, out: Output) -> Candidate:
        name = item.augmenter.name
        target = output_fields(out.record, self.dataset.schema)[0] if out.record is not None else field_path
        params = {**self._identity[name], **out.params}
        stamp = now()
        provenance = {
            "augmenter": name,
            "params": params,
            "slot": out.slot,
            "usage": out.usage.paid(),
            "created_at": stamp,
            **self._backend_of(name, out),
            "refusal": out.kind == CandidateKind.REFUSAL,
        }
        if out.kind == CandidateKind.REFUSAL:
            provenance["prompt"] = item.record.get("prompt")
        error = out.error
        if error is None and (problem := text_problem(out.text)) is not None:
            error = f"the new text {problem}"  # a NUL would fail the whole batch on PostgreSQL
        return Candidate(
            id=self.id(item, field_path, out.slot),
            dataset_id=self.dataset.id,
            example_id=item.example_id,
            augmenter=name,
            target_field=target,
            text=out.text if error is None else "",
            params=params,
            provenance=provenance,
            kind=CandidateKind(out.kind),
            record=out.record,
            status=CandidateStatus.FAILED if error is not None else CandidateStatus.OK,
            error=error,
            created_at=stamp,
        )

    def _backend_of(self, name: str, out: Output) -> dict[str, Any]:
        """Provider and model of a candidate (none for templates or the refusal table); the model the
        reply names, when the augmenter recorded it, else the configured one."""
        backend = self._backend[name]
        if not backend:
            return {}
        return {"provider": backend.get("provider"), "model": out.params.get("model") or backend.get("model")}
