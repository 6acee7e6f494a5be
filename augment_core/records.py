"""The records the library passes around, and the four dataset schemas.

A record is kept exactly as it was read (after column mapping), so a round trip gives it back.
Fields inside a record are addressed by a dotted path: ``instruction``, ``input``,
``messages.2.content``, ``conversations.0.value``. Augmenters rewrite one path at a time.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from augment_core import preference
from augment_core.parts import content_paths, content_text
from augment_core.preference import PAIRED, PREFERENCE_SCHEMAS

Schema = Literal["alpaca", "sharegpt", "messages", "prompt-completion", "preference", "kto", "sharegpt-ranking"]
SCHEMAS: tuple[Schema, ...] = (
    "alpaca",
    "sharegpt",
    "messages",
    "prompt-completion",
    "preference",  # TRL: prompt, chosen, rejected (strings or message lists)
    "kto",  # TRL unpaired: prompt, completion, label
    "sharegpt-ranking",  # LLaMA-Factory: conversations + a chosen and a rejected turn
)

# The keys that make up each schema; everything else in a record is an extra column, kept as is.
SCHEMA_KEYS: dict[str, tuple[str, ...]] = {
    "alpaca": ("instruction", "input", "output"),
    "prompt-completion": ("prompt", "completion"),
    "messages": ("messages",),
    "sharegpt": ("conversations",),
    "preference": ("prompt", "chosen", "rejected"),
    "kto": ("prompt", "completion", "label"),
    "sharegpt-ranking": ("conversations", "chosen", "rejected"),
}
REQUIRED_KEYS: dict[str, tuple[str, ...]] = {
    "alpaca": ("instruction", "output"),
    "prompt-completion": ("prompt", "completion"),
    "messages": ("messages",),
    "sharegpt": ("conversations",),
    "preference": ("prompt", "chosen", "rejected"),
    "kto": ("prompt", "completion", "label"),
    "sharegpt-ranking": ("conversations", "chosen", "rejected"),
}
# Chat turn roles: (list key, role key, text key, names of user roles, names of assistant roles)
CHAT_LAYOUT: dict[str, tuple[str, str, str, tuple[str, ...], tuple[str, ...]]] = {
    "messages": ("messages", "role", "content", ("user",), ("assistant",)),
    "sharegpt": ("conversations", "from", "value", ("human", "user"), ("gpt", "assistant", "model")),
}
ID_KEYS = ("id", "_id", "uuid")
# Layouts whose turns may hold OpenAI content (a string or a list of parts, see ``parts``).
CONTENT_PARTS = ("messages",)


# ---- the domain's words: StrEnums, so they are stored, printed and compared as their text ----


class CandidateKind(StrEnum):
    """``rewrite``: new text for one field of an example; ``refusal``: a whole new record."""

    REWRITE = "rewrite"
    REFUSAL = "refusal"


class CandidateStatus(StrEnum):
    """Whether generating the candidate worked; a failed one carries its reason and is never reviewed."""

    OK = "ok"
    FAILED = "failed"


class DecisionStatus(StrEnum):
    """Where a candidate stands in review; ``pending`` means no decision is stored."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Selection(StrEnum):
    """What an export may choose from, each a superset of the one before."""

    APPROVED = "approved"  # decided approved
    VALID = "valid"  # approved, or pending and passing the accept rule
    ALL = "all"  # everything not rejected


STATUSES: tuple[DecisionStatus, ...] = tuple(DecisionStatus)

# The meaning guards' kinds of flag (see ``guards``), a fixed list that filters offer.
FLAG_KINDS = ("number", "quantity", "date", "entity", "code", "url", "placeholder", "negation")


@dataclass(frozen=True)
class Dataset:
    """One imported dataset."""

    id: int
    name: str
    schema: str
    source_path: str
    file_type: str
    mapping: dict[str, str]
    created_at: str
    example_count: int = 0


@dataclass(frozen=True)
class Example:
    """One original record of a dataset, kept whole."""

    id: int
    dataset_id: int
    position: int
    key: str
    record: dict[str, Any]


@dataclass
class Candidate:
    """One augmentation: the new text for one field of an example, or a whole new record.

    ``kind`` is ``rewrite`` (``text`` replaces ``target_field`` of the example) or ``refusal``
    (a new example whose whole record is in ``record``; ``example_id`` may be None).
    ``status`` is ``ok`` or ``failed`` (then ``error`` says why and ``text`` is empty).
    """

    id: str
    dataset_id: int
    example_id: int | None
    augmenter: str
    target_field: str | None
    text: str
    params: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    kind: CandidateKind = CandidateKind.REWRITE
    record: dict[str, Any] | None = None
    status: CandidateStatus = CandidateStatus.OK
    error: str | None = None
    created_at: str = ""


@dataclass(frozen=True)
class Flag:
    """One difference a meaning guard found between original and candidate; ``str()`` reads as a line."""

    kind: str  # number | quantity | date | entity | code | url | placeholder | negation
    item: str
    change: str  # missing | added | changed to ...

    def __str__(self) -> str:
        return " ".join(part for part in (self.kind, self.item, self.change) if part)


@dataclass
class Score:
    """Quality scores of one candidate against its original (names from the seed)."""

    candidate_id: str
    semantic_similarity: float
    is_valid: bool
    in_optimal_band: bool
    length_ratio: float
    unique_words: int
    new_words: list[str] = field(default_factory=list)
    near_duplicate: bool = False
    flags: list[Flag] = field(default_factory=list)
    meaning_preserved: float | None = None
    truncated: bool = False
    model: str = ""
    # The token alignment's evidence: a few words of each side without a counterpart in the other,
    # {"original": [...], "candidate": [...]}; None when scored without it (before it was stored).
    unmatched: dict[str, list[str]] | None = None


@dataclass(frozen=True)
class Judgement:
    """The LLM judge's verdict on one candidate: its own score (0-1, meaning kept), what changed and why."""

    candidate_id: str
    keeps_meaning: bool
    score: float
    changed: str
    reason: str
    provider: str = ""
    model: str = ""
    cost_usd: float = 0.0


@dataclass
class Decision:
    """A reviewer's decision on one candidate."""

    candidate_id: str
    status: DecisionStatus
    edited_text: str | None = None
    decided_at: str = ""


@dataclass(frozen=True)
class Response:
    """One reviewer's own decision on one candidate; the candidate's Decision is derived from these."""

    candidate_id: str
    reviewer: str
    status: DecisionStatus
    edited_text: str | None = None
    decided_at: str = ""


def effective_text(candidate: Candidate, decision: Decision | None) -> str:
    """What the candidate says after review: the reviewer's edit where there is one, else its own text.

    The store refuses an empty edit, so an edit here is never blank.
    """
    if decision is not None and decision.edited_text:
        return decision.edited_text
    return candidate.text


class RecordError(ValueError):
    """A record that does not fit its schema; ``field`` names the offending field."""

    def __init__(self, problem: str, field: str | None = None) -> None:
        self.problem = problem
        self.field = field
        super().__init__(problem if field is None else f"field '{field}': {problem}")


def record_id(record: dict[str, Any]) -> str | None:
    """The record's own id, when it carries one."""
    for key in ID_KEYS:
        value = record.get(key)
        if value is not None and value != "":
            return str(value)
    return None


def get_field(record: dict[str, Any], path: str) -> str:
    """The text at a dotted path; a missing optional field (``input``) reads as ''."""
    node: Any = record
    for part in path.split("."):
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            node = None
        if node is None:
            return ""
    return node if isinstance(node, str) else str(node)


def with_field(record: dict[str, Any], path: str, text: str) -> dict[str, Any]:
    """A copy of ``record`` with the text at ``path`` replaced; the original is untouched."""
    new = copy.deepcopy(record)
    parts = path.split(".")
    node: Any = new
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = text
    else:
        node[last] = text
    return new


def _chat_paths(record: dict[str, Any], schema: str, assistant: bool) -> list[str]:
    list_key, role_key, text_key, user_roles, assistant_roles = CHAT_LAYOUT[schema]
    roles = assistant_roles if assistant else user_roles
    return [
        path
        for i, turn in enumerate(record[list_key])
        if turn.get(role_key) in roles
        for path in content_paths(f"{list_key}.{i}.{text_key}", turn.get(text_key))
    ]


def instruction_fields(record: dict[str, Any], schema: str, include_input: bool = False) -> list[str]:
    """Paths of the instruction side: the instruction (and input when asked), or the user turns."""
    if schema == "alpaca":
        return ["instruction", "input"] if include_input and get_field(record, "input") else ["instruction"]
    if schema == "prompt-completion":
        return ["prompt"]
    if schema in PREFERENCE_SCHEMAS:
        return preference.prompt_fields(record, schema)
    return _chat_paths(record, schema, assistant=False)


def output_fields(record: dict[str, Any], schema: str) -> list[str]:
    """Paths of the output side: the output, the completion, the assistant turns, or the chosen answer.

    Never a rejected answer (see ``preference``).
    """
    if schema == "alpaca":
        return ["output"]
    if schema == "prompt-completion":
        return ["completion"]
    if schema in PREFERENCE_SCHEMAS:
        return preference.answer_fields(record, schema)
    return _chat_paths(record, schema, assistant=True)


def convertible(source: str, target: str) -> bool:
    """Whether records of ``source`` can be written as ``target``: no rejected answer is made up,
    and an unpaired KTO label (a completion judged bad) never turns into plain training data."""
    if source == target:
        return True
    if source == "kto" or target == "kto":
        return False
    if target in PAIRED:
        return source in PAIRED
    return True


Turn = tuple[str, str]  # (role: system | user | assistant, content)


def to_turns(record: dict[str, Any], schema: str, placeholders: bool = False) -> list[Turn]:
    """The record as a conversation, the common ground for converting between schemas.

    Content parts read as their text; with ``placeholders`` other parts show as ``[image]`` etc.
    """
    if schema == "alpaca":
        user = get_field(record, "instruction")
        if get_field(record, "input"):
            user = f"{user}\n\n{get_field(record, 'input')}"
        return [("user", user), ("assistant", get_field(record, "output"))]
    if schema == "prompt-completion":
        return [("user", get_field(record, "prompt")), ("assistant", get_field(record, "completion"))]
    if schema in PREFERENCE_SCHEMAS:
        return preference.turns(record, schema)
    list_key, role_key, text_key, user_roles, assistant_roles = CHAT_LAYOUT[schema]
    turns: list[Turn] = []
    for turn in record[list_key]:
        role = turn[role_key]
        common = "user" if role in user_roles else "assistant" if role in assistant_roles else "system"
        turns.append((common, content_text(turn.get(text_key), placeholders)))
    return turns


def convert_record(record: dict[str, Any], source: str, target: str) -> dict[str, Any]:
    """``record`` rewritten from schema ``source`` to ``target``, extra columns kept.

    Going from chat to a single-turn schema keeps the first system, user and assistant turns.
    Paired preference data converts between its two schemas, or to any other schema as the prompt
    and its chosen answer; nothing else becomes preference data (see ``convertible``).
    """
    if source == target:
        return copy.deepcopy(record)
    if not convertible(source, target):
        raise RecordError(f"cannot convert {source} records to {target}")
    extras = {k: copy.deepcopy(v) for k, v in record.items() if k not in SCHEMA_KEYS[source]}
    if target in PAIRED:
        return {**preference.convert(record, source, target), **extras}
    turns = to_turns(record, source)
    first = {role: next((text for r, text in turns if r == role), "") for role in ("system", "user", "assistant")}
    body: dict[str, Any]
    if target == "alpaca":
        body = {"instruction": first["user"], "input": "", "output": first["assistant"]}
    elif target == "prompt-completion":
        body = {"prompt": first["user"], "completion": first["assistant"]}
    else:
        list_key, role_key, text_key, user_roles, assistant_roles = CHAT_LAYOUT[target]
        names = {"system": "system", "user": user_roles[0], "assistant": assistant_roles[0]}
        body = {list_key: [{role_key: names[role], text_key: text} for role, text in turns]}
    return {**body, **extras}
