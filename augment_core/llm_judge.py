"""The LLM judge: a second opinion on "meaning preserved", asked of the configured provider.

Each (original, candidate) pair goes out as one request with a JSON schema: does the candidate
keep the meaning, how sure (0-1), what changed, why. The reply is parsed by
``LLMClient.complete_json`` (code fences, prose around it, one repair round), cached and costed
like every other LLM call. The verdict is stored as its own score (``llm_judgements``), never
mixed into ``meaning_preserved``, and can be filtered on (``ReviewFilter.llm_keeps``,
``min_llm_score``) in review and in bulk rules.

Only offered for providers that can do it: the bundled 135M local model cannot (its verdicts are
close to chance on labelled pairs, see benchmarks/bench_llm_judge.py); ``judge_refusal`` says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from augment_core.errors import ConfigError, ParseError, ProviderError
from augment_core.llm.base import Request
from augment_core.records import Judgement, get_field

if TYPE_CHECKING:
    from augment_core.llm import LLMClient, Provider
    from augment_core.records import Dataset
    from augment_core.review import ReviewFilter
    from augment_core.store import Store

LABEL = "judge"
SYSTEM = (
    "You check rewrites of instructions for a fine-tuning dataset. A good rewrite may use other words, "
    "order and tone, but must ask for exactly the same thing: same numbers, names, constraints, negations "
    "and placeholders. Answer with JSON only."
)
PROMPT = (
    "Original:\n<<<{original}>>>\n\nRewrite:\n<<<{candidate}>>>\n\n"
    "Does the rewrite keep the meaning of the original? Reply with a JSON object: "
    '"keeps_meaning" (true or false), "confidence" (0 to 1, how sure you are of that answer), '
    '"changed" (what the rewrite changed in meaning, "" if nothing) and "reason" (one sentence).'
)
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "keeps_meaning": {"type": "boolean"},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "changed": {"type": "string"},
        "reason": {"type": "string"},
    },
    "required": ["keeps_meaning", "confidence", "changed", "reason"],
}
MAX_TEXT = 4000  # characters of each text sent: a judge needs the gist, not a whole document
# Models too small to judge meaning: by (provider, model) as the client names them.
TOO_SMALL = {("local", "SmolLM2-135M-Instruct")}


def request(original: str, candidate: str) -> Request:
    """The judge's request for one pair (deterministic, so a rerun is answered from the cache)."""
    prompt = PROMPT.format(original=original[:MAX_TEXT], candidate=candidate[:MAX_TEXT])
    return Request(prompt=prompt, system=SYSTEM, max_tokens=150, temperature=0.0, json_schema=SCHEMA)


@dataclass(frozen=True)
class Verdict:
    keeps_meaning: bool
    score: float  # 0-1, meaning kept: the confidence, turned round when the judge says it changed
    changed: str
    reason: str


def _verdict(value: Any) -> Verdict:
    """The parsed reply as a verdict; ParseError (and so the repair round) when a field is unusable."""
    confidence = value["confidence"]
    if isinstance(confidence, bool) or not 0 <= float(confidence) <= 1:
        raise ParseError(f"confidence must be a number from 0 to 1, got {confidence!r}")
    reason = str(value["reason"]).strip()
    if not reason:
        raise ParseError("reason is empty: say in one sentence why")
    keeps = bool(value["keeps_meaning"])
    score = float(confidence) if keeps else 1.0 - float(confidence)
    return Verdict(keeps, round(score, 4), str(value["changed"]).strip(), reason)


def judge_refusal(provider: Provider) -> str | None:
    """Why this provider is not offered as a judge, or None when it is."""
    if (provider.name, provider.model) in TOO_SMALL:
        return (f"{provider.name}: the bundled {provider.model} is too small to judge meaning (close to chance on "
                "labelled pairs); use --provider anthropic or openai, or --model a larger .gguf")  # fmt: skip
    return None


@dataclass(frozen=True)
class PairToJudge:
    candidate_id: str
    original: str
    candidate: str


@dataclass
class JudgeReport:
    judged: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)  # the first few, one line each
    verdicts: dict[str, Judgement] = field(default_factory=dict)


async def judge_pairs(client: LLMClient, pairs: Sequence[PairToJudge]) -> JudgeReport:
    """Ask the judge about every pair, as many at once as the client allows; failures are counted, not raised."""
    report = JudgeReport()

    async def one(pair: PairToJudge) -> None:
        try:
            verdict, completion = await client.complete_json(
                request(pair.original, pair.candidate), expect=dict, label=LABEL, check=_verdict
            )
        except (ProviderError, ParseError) as exc:
            if isinstance(exc, ConfigError):  # a refused key, an unreachable server: every pair would fail alike
                raise
            report.failed += 1
            if len(report.errors) < 5:
                report.errors.append(f"{pair.candidate_id}: {exc}")
            return
        cost = float(completion.extra.get("cost_usd") or 0.0)  # a cache hit: what it cost when fetched
        report.verdicts[pair.candidate_id] = Judgement(
            pair.candidate_id, verdict.keeps_meaning, verdict.score, verdict.changed, verdict.reason,
            client.provider.name, completion.model or client.provider.model, cost,
        )  # fmt: skip
        report.judged += 1

    await asyncio.gather(*(one(p) for p in pairs))
    return report


def pairs_to_judge(store: Store, dataset: Dataset, flt: ReviewFilter, limit: int) -> list[PairToJudge]:
    """Up to ``limit`` rewrites the filter selects, in file order, with their original text."""
    rows = store.review_page(dataset.id, flt, limit=limit)
    return [PairToJudge(r.candidate.id, get_field(r.original, r.candidate.target_field), r.candidate.text)
            for r in rows if r.original is not None and r.candidate.target_field]  # fmt: skip


def judge_dataset(
    store: Store, dataset: Dataset, client: LLMClient, flt: ReviewFilter, limit: int, *, force: bool = False
) -> JudgeReport:
    """Judge up to ``limit`` candidates the filter selects and store the verdicts.

    ``force``: judge even with a provider ``judge_refusal`` turns away (to measure it).
    """
    refusal = judge_refusal(client.provider)
    if refusal and not force:
        raise ConfigError(refusal)
    pairs = pairs_to_judge(store, dataset, flt, limit)

    async def go() -> JudgeReport:
        async with client:
            return await judge_pairs(client, pairs)

    report = asyncio.run(go())
    store.save_judgements(list(report.verdicts.values()))
    return report
