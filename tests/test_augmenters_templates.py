"""Instruction-format variations: the issue's rules on tricky instructions, and on all of alpaca_5000."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from augment_core.augmenters import build
from augment_core.augmenters.templates import Templates, lower_first, parse, variations
from augment_core.errors import InputError
from augment_core.guards import normalise
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
    assert found["can_you"] == "Can you tell me what the capital of France is?"
    assert "??" not in " ".join(found.values())
    assert all(not v.startswith("Can you what") for v in found.values())
    assert "colon" not in found and "question" not in found and "terse" not in found  # imperative-only forms


def test_imperative_gets_every_form_with_fitted_endings() -> None:
    found = variations("Explain SQL joins.")
    assert found == {
        "please": "Please explain SQL joins.",
        "can_you": "Can you explain SQL joins?",
        "i_need": "I need you to explain SQL joins.",
        "question": "Could you explain SQL joins?",
        "polite": "I would appreciate it if you could explain SQL joins.",
    }  # "terse" and "colon" differ from the original only in punctuation, so they are dropped


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


def test_empty_fields_give_nothing_and_the_input_is_never_a_target() -> None:
    aug = Templates(n=3)
    assert run(aug, {"instruction": "", "input": "", "output": "x"}) == {}
    record = {
        "instruction": "Summarize the text.",
        "input": "The library opens at 9 a.m. on weekdays.",
        "output": "9 a.m.",
    }
    assert aug.fields(record, "alpaca") == ["instruction"]
    # The input is data the instruction works on: "Please help with the following: The library ..."
    # would no longer match the output, so templates have no include_input setting at all.
    with pytest.raises(InputError, match="no setting 'include_input'"):
        Templates(n=3, include_input=True)
    assert "include_input" not in {s["name"] for s in Templates.describe()["settings"]}


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
        "n": 4, "seed": 0, "noisy": True,
    }  # fmt: skip


def test_rules_hold_on_every_alpaca_instruction() -> None:
    data = json.loads((SHARED_DATASETS / "alpaca_5000.json").read_text())
    doubled = re.compile(r"\?\?|\?\.|\.\?|:\?|\?:|\.\.(?!\.)|::|!\?")
    inverted = re.compile(
        r"Can you tell me (what|how|why|when|where|who|which)('s| (is|are|do|does|did|should|can))\b", re.I
    )
    lower_after_stop = re.compile(r"^[a-z]|\? [a-z]")
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
            same = template_id != "noisy_caps" and normalise(variant) == normalise(text)
            if inverted.match(variant) or lower_after_stop.search(variant) or same:
                problems.append((template_id, text, variant))
        first = text.split()[0] if text.split() else ""
        if parse(text).kind == "imperative" and first.isupper() and len(first) > 1:
            assert variations(text)["please"].split()[1] == first  # an acronym stays as it was
    assert problems == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("What does the HTML <br> tag do?", "Can you tell me what the HTML <br> tag does?"),
        ("How do I bake bread?", "Can you tell me how I bake bread?"),
        ("Where should I go on holiday?", "Can you tell me where I should go on holiday?"),
        ("What are the benefits of exercise?", "Can you tell me what the benefits of exercise are?"),
        ("How does photosynthesis work?", "Can you tell me how photosynthesis works?"),
        ("Who wrote Dune?", "Can you tell me who wrote Dune?"),  # no inversion to undo
        ("Which European countries border France?", "Can you tell me which European countries border France?"),
        ("Why is the sky blue?", None),  # not safe to reorder: no "Can you tell me" form at all
        ("How many legs does a spider have?", None),
        ("What is the sky made of?", None),
        ("What's the difference between a list and a tuple?", None),
    ],
)
def test_embedded_questions_are_uninverted_or_not_offered(text: str, expected: str | None) -> None:
    assert variations(text).get("can_you") == expected


def test_contractions_are_lowered_when_embedded() -> None:
    found = variations("What's the difference between a list and a tuple?")
    assert found["polite"] == "If you don't mind, what's the difference between a list and a tuple?"
    assert variations("Who's the author of Dune?")["i_need"] == "I need to know: who's the author of Dune?"


def test_a_quoted_question_mark_does_not_make_a_question() -> None:
    text = 'translate the sentence "Hola, ¿cómo estás?" to English'
    assert parse(text).kind == "imperative"
    assert variations(text)["please"] == 'Please translate the sentence "Hola, ¿cómo estás?" to English.'


def test_lower_case_imperatives_are_recognised_and_never_start_a_sentence_lower_case() -> None:
    found = variations("rewrite this sentence as a question")
    assert parse("rewrite this sentence as a question").kind == "imperative"
    assert found["can_you"] == "Can you rewrite this sentence as a question?"
    assert "terse" not in found  # "Rewrite this sentence as a question." differs only in case
    framed = variations("the sky is blue. rewrite it as a question.")
    assert framed["can_you"] == "Can you help me with the following? The sky is blue. rewrite it as a question."


def test_punctuation_only_variants_are_dropped() -> None:
    found = variations("Translate the sentence into French.")
    assert "colon" not in found and "terse" not in found
    assert all(normalise(v) != normalise("Translate the sentence into French.") for v in found.values())
