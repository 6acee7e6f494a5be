"""Instruction-format variations: the issue's rules on tricky instructions, and on all of alpaca_5000."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from augment_core.augmenters import build
from augment_core.augmenters.templates import Templates, lower_first, parse, variations
from augment_core.errors import InputError
from tests.conftest import SHARED_DATASETS


def run(
    aug: Templates, record: dict[str, object],
        field: str = "instruction", schema: str = "alpaca",
) -> dict[str, str]:
    return {o.slot: o.text for o in asyncio.run(aug.augment(record, field, schema))}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Explain recursion.", "explain recursion."),
        ("Python is great", "Python is great"),  # a language name
        ("SQL joins explained", "SQL joins explained"),  # an acronym
        ("I need help", "I need help"),  # the pronoun
        ("JavaScript closures", "JavaScript closures"),  # mixed case
        ("Einstein's theory", "Einstein's theory"),  # a possessive name
        ("Harry Potter books", "Harry Potter books"),  # an unknown name followed by another capital
        ("The Beatles", "the Beatles"),  # a common word before a name is still lowered
        ("Monday is here", "Monday is here"),
        ("123 apples", "123 apples"),
    ],
)
def test_lower_first_keeps_names_and_acronyms(text: str, expected: str) -> None:
    assert lower_first(text) == expected


def test_question_becomes_can_you_tell_me_never_doubled() -> None:
    found = variations("What is the capital of France?")
    assert found["can_you"] == "Can you tell me what is the capital of France?"
    assert "??" not in " ".join(found.values())
    assert all(not v.startswith("Can you what") for v in found.values())
    assert "colon" not in found and "question" not in found and "terse" not in found  # imperative-only forms


def test_imperative_gets_every_form_with_fitted_endings() -> None:
    found = variations("Explain SQL joins.")
    assert found == {
        "please": "Please explain SQL joins.",
        "can_you": "Can you explain SQL joins?",
        "i_need": "I need you to explain SQL joins.",
        "colon": "Explain SQL joins:",
        "question": "Could you explain SQL joins?",
        "polite": "I would appreciate it if you could explain SQL joins.",
    }  # "terse" would equal the original, so it is dropped


def test_trailing_colon_is_kept_where_input_follows() -> None:
    found = variations("Classify the following items:")
    assert found["please"] == "Please classify the following items:"
    assert found["can_you"] == "Can you classify the following items?"
    assert "colon" not in found  # already ends with one: no "::"
    assert not any(re.search(r"[:?.!]{2}", v) for v in found.values())


def test_polite_input_is_not_doubled() -> None:
    found = variations("Can you write a poem about Paris?")
    assert found["please"] == "Please write a poem about Paris."
    assert found["terse"] == "Write a poem about Paris."
    assert not any(v.lower().startswith("can you can you") or "please please" in v.lower() for v in found.values())


def test_statements_and_multi_sentence_are_framed_not_prefixed() -> None:
    found = variations("Python is a language. Explain why it is popular.")
    assert found["please"] == "Please help with the following: Python is a language. Explain why it is popular."
    assert not any(v.startswith(("Please Python", "Please python", "Can you Python")) for v in found.values())
    # a yes/no question followed by more text keeps its own punctuation, framed
    found = variations("Are the two sentences below grammatically correct? Output yes or no.")
    assert found["can_you"] == (
        "Can you help me with the following? Are the two sentences below grammatically correct? Output yes or no."
    )


def test_embedded_quote_keeps_its_ending() -> None:
    found = variations('Rewrite the sentence "I am happy."')
    assert found["please"] == 'Please rewrite the sentence "I am happy."'
    assert "can_you" not in found  # would put a "?" after the quote


def test_noisy_caps_only_on_request_and_deterministic_for_a_seed() -> None:
    record = {"instruction": "Describe the water cycle.", "input": "", "output": "Water evaporates..."}
    plain = run(Templates(n=10), record)
    assert "noisy_caps" not in plain and all(v != v.upper() for v in plain.values())
    noisy = run(Templates(n=10, noisy=True), record)
    assert noisy["noisy_caps"] == "DESCRIBE THE WATER CYCLE."
    first = run(Templates(n=2, seed=7), record)
    assert run(Templates(n=2, seed=7), record) == first
    assert len(first) == 2
    assert any(run(Templates(n=2, seed=s), record) != first for s in range(8))  # another seed, another choice
    # a larger n keeps the smaller choice (resume adds, never replaces)
    assert set(first) <= set(run(Templates(n=4, seed=7), record))


def test_empty_fields_give_nothing_and_input_only_when_asked() -> None:
    aug = Templates(n=3)
    assert run(aug, {"instruction": "", "input": "", "output": "x"}) == {}
    record = {"instruction": "Summarize the text.", "input": "", "output": "A summary."}
    assert aug.fields(record, "alpaca") == ["instruction"]
    with_input = Templates(n=3, include_input=True)
    assert with_input.fields(record, "alpaca") == ["instruction"]  # empty input is not a target
    record["input"] = "Translate this."
    assert with_input.fields(record, "alpaca") == ["instruction", "input"]
    assert aug.fields(record, "alpaca") == ["instruction"]


def test_chat_targets_only_user_turns_and_output_untouched() -> None:
    record = {
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Explain DNS."},
            {"role": "assistant", "content": "DNS maps names to addresses."},
            {"role": "user", "content": "Give an example."},
        ]
    }
    aug = Templates(n=2)
    assert aug.fields(record, "messages") == ["messages.1.content", "messages.3.content"]
    out = run(aug, record, "messages.3.content", "messages")
    assert all("example" in v for v in out.values())
    sharegpt = {"conversations": [{"from": "human", "value": "Name a planet."}, {"from": "gpt", "value": "Mars."}]}
    assert aug.fields(sharegpt, "sharegpt") == ["conversations.0.value"]


def test_settings_are_checked() -> None:
    with pytest.raises(InputError, match="templates.n"):
        build("templates", {"n": "many"})
    with pytest.raises(InputError, match="no setting 'colour'"):
        build("templates", {"colour": "red"})
    assert build("templates", {"n": "4", "noisy": "yes"}).options == {
        "n": 4, "seed": 0, "noisy": True, "include_input": False,
    }  # fmt: skip


def test_rules_hold_on_every_alpaca_instruction() -> None:
    data = json.loads((SHARED_DATASETS / "alpaca_5000.json").read_text())
    doubled = re.compile(r"\?\?|\?\.|\.\?|:\?|\?:|\.\.(?!\.)|::|!\?")
    problems = []
    for record in data:
        text = record["instruction"]
        if doubled.search(text):
            continue  # the original already has it
        for template_id, variant in variations(text, noisy=True).items():
            if doubled.search(variant):
                problems.append((template_id, text, variant))
            if variant.startswith(("Can you what", "Can you how", "Can you why", "Please what", "Please how")):
                problems.append((template_id, text, variant))
        first = text.split()[0] if text.split() else ""
        if parse(text).kind == "imperative" and first.isupper() and len(first) > 1:
            assert variations(text)["please"].split()[1] == first  # an acronym stays as it was
    assert problems == []
