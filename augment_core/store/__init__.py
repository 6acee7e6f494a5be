"""The database: one ``Store`` facade over one engine, its queries grouped by what they are about.

datasets        datasets and their examples            candidates      candidates, scores, flags
decisions       reviewers' decisions, bulk decisions   review_queries  the review page's reads (typed rows)
bulk            bulk preview, apply, undo (the last one kept)
responses       each reviewer's response, the derived  reviewers       reviewers and their roles
                decision                               queue           work queues: leases, "Next"
export_queries  the mix's light rows, full candidates  settings        stored setting values
cache           the LLM response cache                 stats           counts for stats and the sidebar
audits          the accept rule's audit sample         schema          the tables
judgements      the LLM judge's verdicts
migrate         Alembic upgrades on open
search_index    the text search's FTS5 index, caught up out of band
db              engine, transactions, dialect inserts, chunks, errors -> StoreError
rows            table rows -> records

Each public method runs in its own transaction and commits before it returns, so a decision is
stored the moment it is made; ``transaction()`` groups several writes into one (an import).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from augment_core.errors import InputError
from augment_core.store import migrate
from augment_core.store.audits import AuditQueries
from augment_core.store.bulk import BulkChange, BulkQueries, LastBulk, UndoResult
from augment_core.store.cache import CacheQueries, ResponseCache
from augment_core.store.candidates import CandidateQueries
from augment_core.store.datasets import DatasetQueries
from augment_core.store.db import DEFAULT_URL, Database, masked_url, now, one_line
from augment_core.store.decisions import DecisionQueries
from augment_core.store.export_queries import ExportQueries
from augment_core.store.judgements import JudgementQueries
from augment_core.store.queue import QueueQueries
from augment_core.store.responses import LOCAL_REVIEWER, ResponseQueries
from augment_core.store.review_queries import REVIEW_SORTS, ReviewRow
from augment_core.store.review_queries import ReviewQueries as _ReviewQueries
from augment_core.store.reviewers import ROLES, ReviewerQueries
from augment_core.store.schema import candidates, examples, llm_cache, score_flags, scores
from augment_core.store.search_index import Refreshed, SearchIndexQueries
from augment_core.store.settings import SettingQueries
from augment_core.store.stats import DatasetCounts, DecisionCounts, StatsQueries

__all__ = [
    "BulkChange",
    "DEFAULT_URL",
    "REVIEW_SORTS",
    "DatasetCounts",
    "DecisionCounts",
    "LOCAL_REVIEWER",
    "LastBulk",
    "ROLES",
    "Refreshed",
    "ResponseCache",
    "ReviewRow",
    "Store",
    "UndoResult",
    "candidates",
    "examples",
    "llm_cache",
    "masked_url",
    "now",
    "score_flags",
    "scores",
]


class Store(
    DatasetQueries,
    CandidateQueries,
    DecisionQueries,
    BulkQueries,
    ResponseQueries,
    ReviewerQueries,
    QueueQueries,
    AuditQueries,
    JudgementQueries,
    _ReviewQueries,
    SearchIndexQueries,
    ExportQueries,
    SettingQueries,
    CacheQueries,
    StatsQueries,
):
    """A database holding datasets, examples, candidates, scores, responses, decisions, reviewers and settings.

    Opening one brings its schema up to date (``migrate.upgrade``).
    """

    def __init__(self, url: str = DEFAULT_URL) -> None:
        self.url = url
        self.db = Database(url)
        try:
            migrate.upgrade(self.db.engine, masked_url(url))
        except sa.exc.OperationalError as exc:  # a folder that does not exist, a server that is down
            raise InputError(f"--db '{masked_url(url)}': cannot open the database ({one_line(exc.orig)})") from None

    @property
    def engine(self) -> Engine:
        return self.db.engine

    def version(self) -> int:
        """A number that moves with every committed write (any process): what a cache of counts is keyed by."""
        return self.db.version()

    def close(self) -> None:
        self.db.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back on any exception."""
        with self.db.begin() as conn:
            yield conn
