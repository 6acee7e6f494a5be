"""The LLM judge's verdicts: one row per candidate, the latest verdict kept."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa

from augment_core.records import Judgement
from augment_core.store.db import Database, chunks, now
from augment_core.store.schema import candidates, llm_judgements

_FIELDS = ("keeps_meaning", "score", "changed", "reason", "provider", "model", "cost_usd")


class JudgementQueries:
    """Store and read the LLM judge's verdicts; part of the Store facade."""

    db: Database

    def save_judgements(self, items: Sequence[Judgement]) -> None:
        """Store verdicts; a candidate judged again keeps the newest one."""
        if not items:
            return
        stamp = now()

        def work(conn: sa.Connection) -> None:
            ids = [j.candidate_id for j in items]
            dataset_of = {cid: did for part in chunks(ids) for cid, did in conn.execute(
                sa.select(candidates.c.id, candidates.c.dataset_id).where(candidates.c.id.in_(part)))}  # fmt: skip
            for j in items:
                row = {"candidate_id": j.candidate_id, "dataset_id": dataset_of[j.candidate_id],
                       **{name: getattr(j, name) for name in _FIELDS}, "judged_at": stamp}  # fmt: skip
                conn.execute(self.db.upsert(llm_judgements, row, [*_FIELDS, "judged_at"]))

        self.db.write(work)

    def get_judgements(self, ids: Iterable[str]) -> dict[str, Judgement]:
        """The stored verdicts of these candidates, by id (unjudged ones are absent)."""
        found: dict[str, Judgement] = {}
        with self.db.connect() as conn:
            for part in chunks(list(ids)):
                query = sa.select(llm_judgements).where(llm_judgements.c.candidate_id.in_(part))
                for row in conn.execute(query).mappings():
                    found[row["candidate_id"]] = Judgement(row["candidate_id"], **{n: row[n] for n in _FIELDS})
        return found
