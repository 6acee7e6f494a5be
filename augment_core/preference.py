"""Preference data: TRL's paired (``prompt``/``chosen``/``rejected``) and unpaired KTO
(``prompt``/``completion``/``label``) formats, and ShareGPT ranking (``conversations`` plus a
``chosen`` and a ``rejected`` turn, as LLaMA-Factory reads it).

The prompt side is what augmenters rewrite by default; the output side is ``chosen`` (or a KTO
completion labelled desirable). ``rejected`` and undesirable completions are never a field to
rewrite: a paraphrased bad answer is no longer the answer that was judged bad. ``records``
dispatches here for these schemas; problems come back as ``(field, problem)`` for its RecordError.
"""

from __future__ import annotations

from typing import Any

from augment_core.parts import content_paths, content_problem, content_text

PREFERENCE_SCHEMAS = ("preference", "kto", "sharegpt-ranking")
PAIRED = ("preference", "sharegpt-ranking")
# Conversational TRL values are OpenAI messages; ShareGPT ranking turns are from/value.
_USER = ("user",)
_ASSISTANT = ("assistant",)
_RANKING_USER = ("human", "user")

Problem = tuple[str, str]


def _messages_problem(value: Any, key: str, need_role: tuple[str, ...] | None) -> Problem | None:
    """A string, or a non-empty list of role/content messages (content parts allowed)."""
    if isinstance(value, str):
        return None if value.strip() or need_role is None else (key, "empty")
    if not isinstance(value, list) or not value:
        got = "null" if value is None else type(value).__name__
        return key, f"expected a string or a non-empty list of messages, got {got}"
    for i, turn in enumerate(value):
        if not isinstance(turn, dict):
            return f"{key}.{i}", "expected an object"
        if not isinstance(turn.get("role"), str):
            return f"{key}.{i}.role", "expected a string"
        problem = content_problem(turn, "content")
        if problem is not None:
            return f"{key}.{i}.{problem[0]}", problem[1]
    if need_role and not any(turn["role"] in need_role for turn in value):
        return key, f"no {need_role[0]} turn"
    return None


def _ranking_turn_problem(value: Any, key: str) -> Problem | None:
    if not isinstance(value, dict):
        return key, f"expected a turn object with 'from' and 'value', got {type(value).__name__}"
    for part in ("from", "value"):
        if not isinstance(value.get(part), str):
            return f"{key}.{part}", "expected a string"
    return None


def problem(record: dict[str, Any], schema: str) -> Problem | None:
    """Why ``record`` does not fit the preference ``schema``, or None (required keys are checked before)."""
    if schema == "sharegpt-ranking":
        turns = record["conversations"]
        if not isinstance(turns, list) or not turns:
            return "conversations", "expected a non-empty list of turns"
        for i, turn in enumerate(turns):
            found = _ranking_turn_problem(turn, f"conversations.{i}")
            if found is not None:
                return found
        if not any(turn["from"] in _RANKING_USER for turn in turns):
            return "conversations", "no user turn"
        return _ranking_turn_problem(record["chosen"], "chosen") or _ranking_turn_problem(
            record["rejected"], "rejected"
        )
    found = _messages_problem(record["prompt"], "prompt", _USER)
    if found is not None:
        return found
    if schema == "kto":
        if not isinstance(record["label"], bool):
            return "label", f"expected true or false, got {type(record['label']).__name__}"
        return _messages_problem(record["completion"], "completion", None)
    for key in ("chosen", "rejected"):
        found = _messages_problem(record[key], key, None)
        if found is not None:
            return found
    if isinstance(record["chosen"], str) != isinstance(record["rejected"], str):
        return "rejected", "chosen and rejected must both be strings or both be lists of messages"
    return None


def _paths(value: Any, key: str, roles: tuple[str, ...]) -> list[str]:
    if isinstance(value, str):
        return [key]
    return [
        path
        for i, turn in enumerate(value)
        if turn.get("role") in roles
        for path in content_paths(f"{key}.{i}.content", turn.get("content"))
    ]


def prompt_fields(record: dict[str, Any], schema: str) -> list[str]:
    """Paths of the prompt side: the prompt string, or its user turns' text."""
    if schema == "sharegpt-ranking":
        return [f"conversations.{i}.value" for i, t in enumerate(record["conversations"]) if t["from"] in _RANKING_USER]
    return _paths(record["prompt"], "prompt", _USER)


def answer_fields(record: dict[str, Any], schema: str) -> list[str]:
    """Paths an output augmenter may rewrite: the chosen answer, a desirable KTO completion; never rejected."""
    if schema == "sharegpt-ranking":
        return ["chosen.value"]
    if schema == "kto":
        return _paths(record["completion"], "completion", _ASSISTANT) if record["label"] is True else []
    return _paths(record["chosen"], "chosen", _ASSISTANT)


def side_of(schema: str, path: str | None) -> str | None:
    """Which side a rewritten path belongs to (``prompt``, ``chosen`` or ``completion``), for provenance."""
    if schema not in PREFERENCE_SCHEMAS or not path:
        return None
    head = path.split(".", 1)[0]
    return "prompt" if head in ("prompt", "conversations") else head


def _as_turns(value: Any, default_role: str) -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(default_role, value)]
    return [(turn["role"], content_text(turn.get("content"))) for turn in value]


def turns(record: dict[str, Any], schema: str) -> list[tuple[str, str]]:
    """The preferred conversation (prompt, then chosen or the completion), as (role, text) pairs."""
    if schema == "sharegpt-ranking":
        common = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "model": "assistant"}
        prompt = [(common.get(t["from"], "system"), t["value"]) for t in record["conversations"]]
        return [*prompt, ("assistant", record["chosen"]["value"])]
    answer = record["completion"] if schema == "kto" else record["chosen"]
    return [*_as_turns(record["prompt"], "user"), *_as_turns(answer, "assistant")]


def rejected_text(record: dict[str, Any], schema: str) -> str | None:
    """The rejected answer as text (for review's context); None for KTO and other schemas."""
    if schema == "sharegpt-ranking":
        return str(record["rejected"].get("value", ""))
    if schema == "preference":
        return "\n".join(t for _, t in _as_turns(record["rejected"], "assistant"))
    return None


def convert(record: dict[str, Any], source: str, target: str) -> dict[str, Any]:
    """The paired record's body in the other paired schema (TRL conversational <-> ShareGPT ranking)."""
    if source == "sharegpt-ranking":
        prompt = turns(record, source)[:-1]
        body: dict[str, Any] = {"prompt": [{"role": r, "content": t} for r, t in prompt]}
        for key in ("chosen", "rejected"):
            body[key] = [{"role": "assistant", "content": record[key]["value"]}]
        return body
    names = {"user": "human", "assistant": "gpt", "system": "system"}
    conversations = [{"from": names.get(r, r), "value": t} for r, t in _as_turns(record["prompt"], "user")]
    body = {"conversations": conversations}
    for key in ("chosen", "rejected"):
        text = "\n".join(t for r, t in _as_turns(record[key], "assistant") if r == "assistant")
        body[key] = {"from": "gpt", "value": text}
    return body
