"""The original:augmented mix: which candidates go into an export, and how many.

The seed's advice, enforced at export time: a target ratio of originals to augmented examples
(default 1:2), a cap on the augmented share of the set (default 70 %), and a separate cap on
refusal examples (default 10 % of the set). Refusals are augmented examples too: they count in
the ratio and the share, and also against their own cap.

When more candidates are eligible than the budget allows, the choice is spread: the next pick
always goes to the augmenter with the fewest picks so far, and within it to the candidate whose
original has the fewest picks so far, best scores first (approved before pending, in the optimal
band, fewer guard flags, higher similarity). No original gets more than ceil(ratio) augmented
records (2 at 1:2) while another original still has an eligible candidate; only when none has
does the rest of the budget go to the originals with more candidates. Ties are broken by a hash
of (seed, candidate id), so the same seed gives the same set whatever order the database returns
rows in.

Every default is a setting (store settings ``mix.*``), read by :func:`mix_settings`.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

from augment_core.errors import InputError
from augment_core.hashing import order_key
from augment_core.records import CandidateKind, DecisionStatus, Selection
from augment_core.review import accept_rule
from augment_core.settings import MIX_KEYS, setting
from augment_core.store import Store

# Store settings keys, and the seed's defaults when a key is not set.


@dataclass(frozen=True)
class MixSettings:
    """The mix control: target ``originals:augmented`` ratio, share caps, and the tie-break seed."""

    ratio: str = "1:2"
    max_augmented_share: float = 0.70
    max_refusal_share: float = 0.10
    seed: int = 0

    def validated(self) -> MixSettings:
        """Self, after checking every value; InputError names the bad one."""
        parse_ratio(self.ratio)
        if not 0 < self.max_augmented_share <= 1:
            raise InputError(f"--max-augmented-share {self.max_augmented_share}: expected a number in (0, 1]")
        if not 0 <= self.max_refusal_share < 1:
            raise InputError(f"--max-refusal-share {self.max_refusal_share}: expected a number in [0, 1)")
        return self


def mix_settings(store: Store, **overrides: Any) -> MixSettings:
    """The mix settings stored in ``store`` (defaults where unset), with non-None ``overrides`` on top."""
    stored = {name: setting(store, key) for name, key in MIX_KEYS.items()}
    chosen = {name: value for name, value in overrides.items() if value is not None}
    values = {**stored, **chosen}
    try:
        settings = MixSettings(
            ratio=str(values["ratio"]),
            max_augmented_share=float(values["max_augmented_share"]),
            max_refusal_share=float(values["max_refusal_share"]),
            seed=int(values["seed"]),
        )
    except (TypeError, ValueError) as exc:
        raise InputError(f"mix settings: {exc}") from None
    return settings.validated()


def save_mix_settings(store: Store, settings: MixSettings) -> None:
    """Store ``settings`` as the defaults for later exports (studio and CLI alike)."""
    settings.validated()
    for name, key in MIX_KEYS.items():
        store.set_setting(key, getattr(settings, name))


def parse_ratio(text: str) -> tuple[Fraction, Fraction]:
    """``"1:2"`` -> (1, 2); decimals allowed (``"1:2.5"``); InputError on anything else."""
    left, sep, right = str(text).partition(":")
    try:
        if not sep:
            raise ValueError
        originals, augmented = Fraction(left.strip()), Fraction(right.strip())
    except (ValueError, ZeroDivisionError):
        raise InputError(f"--ratio '{text}': expected ORIGINALS:AUGMENTED, e.g. 1:2") from None
    if originals <= 0 or augmented < 0:
        raise InputError(f"--ratio '{text}': the originals side must be > 0 and the augmented side >= 0")
    return originals, augmented


@dataclass(frozen=True, slots=True)
class Eligible:
    """What the mix needs to know about one eligible candidate (no texts)."""

    candidate_id: str
    example_id: int | None
    augmenter: str
    kind: str = CandidateKind.REWRITE  # a CandidateKind value, as read (light rows stay plain)
    decision: str | None = None  # a DecisionStatus value, None while pending
    scored: bool = False
    is_valid: bool = False
    in_optimal_band: bool = False
    similarity: float = 0.0
    flag_count: int = 0
    near_duplicate: bool = False
    target_field: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Eligible:
        """From a row of :meth:`Store.iter_mix_rows`."""
        scored = row["is_valid"] is not None
        return cls(
            candidate_id=row["id"],
            example_id=row["example_id"],
            augmenter=row["augmenter"],
            kind=row["kind"],
            decision=row["decision"],
            scored=scored,
            is_valid=bool(row["is_valid"]),
            in_optimal_band=bool(row["in_optimal_band"]),
            similarity=float(row["semantic_similarity"] or 0.0),
            flag_count=int(row["flag_count"] or 0),
            near_duplicate=bool(row["near_duplicate"]),
            target_field=row["target_field"],
        )


@dataclass
class MixReport:
    """What the mix chose, for the CLI printout, the studio and the side file."""

    originals: int  # originals written (0 with --no-originals)
    dataset_originals: int  # originals the budget is computed from
    augmented_by_augmenter: dict[str, int]
    refusals: int
    eligible: int
    target_augmented: int
    budget: int
    limited_by: str  # "ratio", "augmented share cap", "refusal cap" or "candidates"
    settings: MixSettings = field(default_factory=MixSettings)

    @property
    def augmented(self) -> int:
        """Every non-original record written, refusals included."""
        return sum(self.augmented_by_augmenter.values())

    @property
    def total(self) -> int:
        return self.originals + self.augmented

    @property
    def ratio_reached(self) -> str:
        """``1:x`` against the dataset's originals, x with two decimals."""
        if self.dataset_originals == 0:
            return "0:" + str(self.augmented)
        return f"1:{self.augmented / self.dataset_originals:.2f}"

    @property
    def augmented_share(self) -> float:
        """Augmented records over the records written: the share in the file (1.0 without originals)."""
        return self.augmented / self.total if self.total else 0.0

    @property
    def mix_augmented_share(self) -> float:
        """Augmented records over the dataset's originals plus augmented: what the share cap limits.

        The same as ``augmented_share`` unless the originals are left out of the file.
        """
        whole = self.dataset_originals + self.augmented
        return self.augmented / whole if whole else 0.0

    @property
    def growth_factor(self) -> float:
        """Records written over the dataset's originals."""
        return self.total / self.dataset_originals if self.dataset_originals else 0.0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(
            augmented=self.augmented,
            total=self.total,
            ratio_reached=self.ratio_reached,
            augmented_share=round(self.augmented_share, 4),
            mix_augmented_share=round(self.mix_augmented_share, 4),
            growth_factor=round(self.growth_factor, 4),
        )
        return data

    def lines(self) -> list[str]:
        """The report as printed by `augment export` (and shown in the studio)."""
        s = self.settings
        per = ", ".join(f"{name} {n}" for name, n in sorted(self.augmented_by_augmenter.items())) or "none"
        originals = str(self.originals)
        share = f"{self.augmented_share:.1%} (cap {s.max_augmented_share:.0%})"
        growth = f"{self.growth_factor:.2f}x"
        if self.originals != self.dataset_originals:
            # The file holds only augmented records; the ratio and the caps still reason about the
            # mix they were drawn against, the dataset's originals plus these.
            originals += f" (left out; the mix is computed against the dataset's {self.dataset_originals})"
            share = (
                f"{self.augmented_share:.1%} of the file (with the originals {self.mix_augmented_share:.1%}, "
                f"cap {s.max_augmented_share:.0%})"
            )
            growth += f" (records written over the dataset's {self.dataset_originals} originals)"
        return [
            f"originals        {originals}",
            f"augmented        {self.augmented} ({per})",
            f"refusals         {self.refusals} (cap {s.max_refusal_share:.0%} of the set)",
            f"ratio reached    {self.ratio_reached} (target {s.ratio}; limited by {self.limited_by})",
            f"augmented share  {share}",
            f"growth factor    {growth}",
            f"candidates       {self.eligible} eligible, {self.eligible - self.augmented} left out",
        ]


@dataclass
class MixPlan:
    """The chosen candidates (in pick order) and the report."""

    chosen: list[Eligible]
    report: MixReport

    @property
    def selected(self) -> list[str]:
        return [item.candidate_id for item in self.chosen]


def budget(n_originals: int, settings: MixSettings) -> tuple[int, int, str]:
    """(augmented records the target ratio asks for, the budget after the share cap, what limits it)."""
    originals, augmented = parse_ratio(settings.ratio)
    # Fractions from the decimal text keep 0.7 exact: 100 originals and a 70 % cap allow 233.
    target = math.floor(n_originals * augmented / originals)
    share = Fraction(str(settings.max_augmented_share))
    if share >= 1:
        return target, target, "ratio"
    cap = math.floor(n_originals * share / (1 - share))
    return target, min(target, cap), "ratio" if target <= cap else "augmented share cap"


_DECISION_RANK: dict[str | None, int] = {DecisionStatus.APPROVED: 0, None: 1, DecisionStatus.REJECTED: 2}


def _quality_key(item: Eligible, seed: int) -> tuple[Any, ...]:
    """Smaller is better: approved first, scored, in the optimal band, fewer flags, closer meaning."""
    return (
        _DECISION_RANK.get(item.decision, 1),
        not item.scored,
        not item.in_optimal_band,
        item.flag_count,
        item.near_duplicate,
        -item.similarity,
        order_key(seed, item.candidate_id),
    )


def plan_mix(
    items: Iterable[Eligible], n_originals: int, settings: MixSettings, include_originals: bool = True
) -> MixPlan:
    """Choose which eligible candidates go in, within the ratio, the share cap and the refusal cap."""
    settings = settings.validated()
    pool = list(items)
    target, limit, limited_by = budget(n_originals, settings)
    refusal_share = Fraction(str(settings.max_refusal_share))
    refusal_limit = math.floor(refusal_share * (n_originals + limit))

    # An original's key: refusals without an example each count as their own.
    def origin(item: Eligible) -> Any:
        return item.example_id if item.example_id is not None else (CandidateKind.REFUSAL.value, item.candidate_id)

    per_origin: Counter[Any] = Counter()
    per_augmenter: Counter[str] = Counter()
    # Per augmenter, its candidates best first; a heap entry is (picks of its original, rank), so
    # the heap compares two ints, and a list in rank order is already a heap.
    ranked: dict[str, list[int]] = {}
    for index, item in enumerate(pool):
        ranked.setdefault(item.augmenter, []).append(index)
    for indexes in ranked.values():
        indexes.sort(key=lambda i: _quality_key(pool[i], settings.seed))
    heaps = {name: [(0, rank) for rank in range(len(indexes))] for name, indexes in ranked.items()}
    selected: list[int] = []
    refusals = 0
    refusal_capped = False

    def fill(cap: int | None) -> None:
        """Pick until the budget is spent or no augmenter has a candidate under ``cap`` picks of its original."""
        nonlocal refusals, refusal_capped
        parked: list[tuple[str, tuple[int, int]]] = []  # entries whose original reached the cap
        # (picks so far, augmenter): fewest picks goes next
        turn = [(per_augmenter[name], name) for name in sorted(heaps) if heaps[name]]
        heapq.heapify(turn)
        while turn and len(selected) < limit:
            picks, name = heapq.heappop(turn)
            heap = heaps[name]
            while heap:
                seen, rank = heapq.heappop(heap)
                index = ranked[name][rank]
                item = pool[index]
                now_seen = per_origin[origin(item)]
                if seen != now_seen:
                    # Its original got picks since this entry was queued: requeue with the current count.
                    heapq.heappush(heap, (now_seen, rank))
                    continue
                if cap is not None and now_seen >= cap:
                    parked.append((name, (now_seen, rank)))
                    continue
                if item.kind == CandidateKind.REFUSAL and refusals >= refusal_limit:
                    refusal_capped = True
                    continue
                selected.append(index)
                per_origin[origin(item)] += 1
                per_augmenter[name] += 1
                refusals += item.kind == CandidateKind.REFUSAL
                break
            if heap:
                heapq.heappush(turn, (picks + 1, name))
        for name, entry in parked:
            heapq.heappush(heaps[name], entry)

    # No original takes more than ceil(ratio) while another original still has a candidate; only
    # then does the rest of the budget go to the originals with more candidates.
    originals_side, augmented_side = parse_ratio(settings.ratio)
    fill(math.ceil(augmented_side / originals_side))
    fill(None)

    if len(selected) < limit:
        limited_by = "refusal cap" if refusal_capped else "candidates"
        # The set came out smaller than planned: the refusal cap holds against the real total.
        rewrites = len(selected) - refusals
        allowed = math.floor(refusal_share * (n_originals + rewrites) / (1 - refusal_share))
        if refusals > allowed:
            drop = refusals - allowed
            kept: list[int] = []
            for index in reversed(selected):  # the last picked refusals go first
                if drop and pool[index].kind == CandidateKind.REFUSAL:
                    drop -= 1
                    per_augmenter[pool[index].augmenter] -= 1
                    refusals -= 1
                    continue
                kept.append(index)
            selected = kept[::-1]
            limited_by = "refusal cap"

    report = MixReport(
        originals=n_originals if include_originals else 0,
        dataset_originals=n_originals,
        augmented_by_augmenter={name: n for name, n in sorted(per_augmenter.items()) if n},
        refusals=refusals,
        eligible=len(pool),
        target_augmented=target,
        budget=limit,
        limited_by=limited_by,
        settings=settings,
    )
    return MixPlan(chosen=[pool[i] for i in selected], report=report)


def plan_for_dataset(
    store: Store,
    dataset_id: int,
    n_originals: int,
    selection: str,
    settings: MixSettings,
    include_originals: bool = True,
    keep: Callable[[Eligible], bool] | None = None,
) -> MixPlan:
    """Read the eligible candidates of a dataset from ``store`` (light rows, in batches) and plan the mix.

    ``keep``, when given, leaves out the candidates it returns False for before anything is chosen.
    """
    if selection not in tuple(Selection):
        raise InputError(f"--status '{selection}': choose one of {', '.join(Selection)}")
    rule = accept_rule(store) if selection == Selection.VALID else None
    rows = store.iter_mix_rows(dataset_id, selection, valid_rule=rule)
    items = (Eligible.from_row(row) for batch in rows for row in batch)
    if keep is not None:
        items = (item for item in items if keep(item))
    return plan_mix(items, n_originals, settings, include_originals)
