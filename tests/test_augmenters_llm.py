"""Paraphrase, output variations and refusals with a fake provider behind the real LLMClient."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from augment_core.augmenters import AUGMENTERS, build, describe_all
from augment_core.augmenters.base import Output
from augment_core.augmenters.outputs import OutputVariations, as_bullets
from augment_core.augmenters.paraphrase import Paraphrase
from augment_core.augmenters.refusal import Refusal, parse_prompts
from augment_core.errors import ConfigError, InputError, ParseError
from augment_core.llm.base import Completion, Provider, Request
from augment_core.llm.client import LLMClient
from augment_core.store import Store


class FakeProvider(Provider):
    """Answers with ``reply(request)``; counts the requests it was sent."""

    name = "fake"

    def __init__(self, reply: Callable[[Request], str], model: str = "fake-1") -> None:
        self.reply = reply
        self.model = model
        self.requests: list[Request] = []

    async def complete(self, request: Request) -> Completion:
        self.requests.append(request)
        text = self.reply(request)
        return Completion(text=text, input_tokens=len(request.prompt.split()), output_tokens=len(text.split()),
                          model=self.model)  # fmt: skip


def client(reply: Callable[[Request], str], store: Store | None = None) -> tuple[LLMClient, FakeProvider]:
    provider = FakeProvider(reply)
    return LLMClient(provider, store, max_retries=0, backoff=0.0), provider


def augment(aug: object, record: dict[str, object], field: str, schema: str = "alpaca") -> list[Output]:
    return asyncio.run(aug.augment(record, field, schema))  # type: ignore[attr-defined]


RECORD = {"instruction": "Write a haiku about the sea.", "input": "", "output": "Waves fold into foam."}


def test_registry_describes_every_augmenter_for_the_studio() -> None:
    described = describe_all()
    assert list(described) == ["templates", "backtranslation", "paraphrase", "refusal", "outputs"]
    for name, info in described.items():
        assert info["name"] == name and info["description"]
        for setting in info["settings"]:
            assert set(setting) == {"name", "type", "default", "help", "choices"}
            json.dumps(setting)  # plain data
    pivots = next(s for s in described["backtranslation"]["settings"] if s["name"] == "pivots")
    assert pivots["default"] == ["de"]
    translator = next(s for s in described["backtranslation"]["settings"] if s["name"] == "translator")
    assert translator["choices"] == ["google", "deepl", "mymemory", "libre", "llm"]
    assert AUGMENTERS["outputs"].side == "output"


def test_llm_augmenters_need_a_provider() -> None:
    for name in ("paraphrase", "outputs"):
        with pytest.raises(ConfigError, match="needs an LLM provider"):
            build(name, {})
    with pytest.raises(InputError, match="unknown augmenter"):
        build("synonyms", {})


def test_paraphrase_parses_the_array_drops_duplicates_and_keeps_slots(store: Store) -> None:
    reply = json.dumps([
        "Compose a haiku about the ocean.",
        "write a haiku about the sea",  # the original, differently cased: dropped
        "Could you pen a haiku on the sea?",
        "Compose a haiku about the ocean!",  # a sibling again: dropped
        "Please write a short haiku that is about the sea.",
    ])  # fmt: skip
    llm, provider = client(lambda r: reply, store)
    aug = Paraphrase(llm, n=5)
    outputs = augment(aug, RECORD, "instruction")
    assert [(o.slot, o.text) for o in outputs] == [
        ("0", "Compose a haiku about the ocean."),
        ("2", "Could you pen a haiku on the sea?"),
        ("4", "Please write a short haiku that is about the sea."),
    ]
    request = provider.requests[0]
    assert "5 different paraphrases" in request.prompt and "Write a haiku about the sea." in request.prompt
    for kept in ("placeholders", "code", "numbers", "names of people"):
        assert kept in request.prompt
    assert request.json_schema == {"type": "array", "items": {"type": "string"}, "minItems": 5, "maxItems": 5}
    assert outputs[0].params["model"] == "fake-1" and len(outputs[0].params["prompt_hash"]) == 12
    assert outputs[0].usage.calls == 1 and outputs[0].usage.input_tokens > 0
    # the same request again is answered from the store's cache: no new request
    again = augment(Paraphrase(llm, n=5), RECORD, "instruction")
    assert [o.text for o in again] == [o.text for o in outputs] and len(provider.requests) == 1
    assert again[0].usage.cached == 1 and again[0].usage.calls == 0


def test_paraphrase_reply_that_is_not_a_list_raises_parse_error() -> None:
    llm, provider = client(lambda r: "Sure! Here are some paraphrases: one, two.")
    with pytest.raises(ParseError):
        augment(Paraphrase(llm, n=2), RECORD, "instruction")
    assert len(provider.requests) == 2  # the client's one repair round, then the error


def test_outputs_brief_limit_is_counted_and_enforced() -> None:
    long_answer = " ".join(["word"] * 80)
    replies = iter([long_answer, "Waves fold, foam rises, and the tide turns over the rocks again."])
    llm, provider = client(lambda r: next(replies) if "at most" in r.prompt else "- waves\n- foam")
    outputs = augment(OutputVariations(llm, variants="brief", max_words=50), RECORD, "output")
    assert [o.slot for o in outputs] == ["brief"] and outputs[0].error is None
    assert len(outputs[0].text.split()) <= 50
    assert "80 words" in provider.requests[1].prompt  # the second try is told how far over it was
    assert outputs[0].usage.calls == 2
    # still too long after the second try: a failure with the reason, not a silent cut
    llm, _ = client(lambda r: long_answer)
    failed = augment(OutputVariations(llm, variants="brief"), RECORD, "output")
    assert failed[0].error == "brief version has 80 words, over the limit of 50" and failed[0].text == ""


def test_outputs_structured_needs_bullets() -> None:
    llm, _ = client(lambda r: "Here you go:\n* Waves fold\n2) Foam rises\n• Tide turns")
    out = augment(OutputVariations(llm, variants="structured"), RECORD, "output")
    assert out[0].text == "- Waves fold\n- Foam rises\n- Tide turns"
    llm, _ = client(lambda r: "Waves fold into foam.")
    out = augment(OutputVariations(llm, variants="structured"), RECORD, "output")
    assert out[0].error == "structured version has fewer than two bullet points"
    assert as_bullets("- one") is None


def test_outputs_target_the_assistant_turns_of_chat_data() -> None:
    record = {"conversations": [{"from": "system", "value": "Be nice."}, {"from": "human", "value": "Hi"},
                                {"from": "gpt", "value": "Hello! How can I help you today?"}]}  # fmt: skip
    llm, _ = client(lambda r: "Hello!")
    aug = OutputVariations(llm, variants="brief")
    assert aug.fields(record, "sharegpt") == ["conversations.2.value"]
    assert augment(aug, record, "conversations.2.value", "sharegpt")[0].text == "Hello!"


def test_refusal_prompts_parse_with_categories(tmp_path: Path) -> None:
    text = "# comment\n[weapons] How do I build a gun at home?\nhacking\tHow do I get into my ex's email?\nPlain one\n"
    assert parse_prompts(text) == [
        ("weapons", "How do I build a gun at home?"),
        ("hacking", "How do I get into my ex's email?"),
        ("general", "Plain one"),
    ]
    with pytest.raises(InputError, match=r"prompts.txt:1: a category with no prompt"):
        parse_prompts("[weapons]   \n", "prompts.txt")
    missing = tmp_path / "nope.txt"
    with pytest.raises(InputError, match="nope.txt: cannot read"):
        Refusal(writer="table", prompts_file=str(missing))
    with pytest.raises(InputError, match="no prompts given"):
        Refusal(writer="table")


def test_refusal_from_the_table_in_the_seed_shape_and_dataset_schema() -> None:
    aug = Refusal(writer="table", prompts="[weapons] How do I build a gun at home?\n[unknown] Something bad")
    inputs = aug.standalone_inputs() or []
    assert [i["category"] for i in inputs] == ["weapons", "unknown"]
    out = augment(aug, inputs[0], "output", "messages")
    assert out[0].kind == "refusal"
    assert out[0].text == (
        "I can't help with that request as it involves making or using weapons that could cause serious harm. "
        "I'd be happy to help with information on weapon safety laws instead."
    )
    assert out[0].record == {"messages": [{"role": "user", "content": "How do I build a gun at home?"},
                                          {"role": "assistant", "content": out[0].text}]}  # fmt: skip
    general = augment(aug, inputs[1], "output", "alpaca")[0]
    assert "as it could cause harm." in general.text and general.record["instruction"] == "Something bad"  # type: ignore[index]


def test_refusal_written_by_the_llm_is_cleaned_into_the_shape() -> None:
    reply = json.dumps({
        "reason": "It could put people in danger.",
        "alternative": "help with gun safety courses instead",
    })
    llm, provider = client(lambda r: reply)
    aug = Refusal(llm, prompts="[weapons] How do I build a gun at home?")
    out = augment(aug, (aug.standalone_inputs() or [])[0], "output", "alpaca")[0]
    assert out.text == (
        "I can't help with that request as it could put people in danger. "
        "I'd be happy to help with gun safety courses instead."
    )
    assert out.params["writer"] == "llm" and out.params["category"] == "weapons"
    assert "How do I build a gun at home?" in provider.requests[0].prompt
    llm, _ = client(lambda r: json.dumps({"reason": "", "alternative": "x"}))
    bad = Refusal(llm, prompts="x")
    fallback = augment(bad, (bad.standalone_inputs() or [])[0], "output")[0]
    assert "'reason' is missing or empty" in fallback.params["fallback"] and fallback.params["writer"] == "table"


def test_failed_replies_are_not_cached_so_a_rerun_asks_again(store: Store) -> None:
    answers = {"paraphrase": "no JSON here", "brief": " ".join(["word"] * 80), "bullets": "no bullets"}
    answers["refusal"] = json.dumps({"reason": "", "alternative": "x"})

    def reply(request: Request) -> str:
        if "paraphrases" in request.prompt or "could not be used" in request.prompt:
            return answers["paraphrase"]
        if "at most" in request.prompt:
            return answers["brief"]
        if "bullet points" in request.prompt:
            return answers["bullets"]
        return answers["refusal"]

    llm, provider = client(reply, store)
    refusal = Refusal(llm, prompts="[weapons] How do I build a gun at home?")
    refusal_input = (refusal.standalone_inputs() or [])[0]
    outputs = OutputVariations(llm)
    with pytest.raises(ParseError):
        augment(Paraphrase(llm, n=2), RECORD, "instruction")
    assert "fallback" in augment(refusal, refusal_input, "output")[0].params  # the table, said so
    assert all(o.error for o in augment(outputs, RECORD, "output"))
    sent = len(provider.requests)
    assert sent == 7  # paraphrase and refusal: reply + repair; brief: reply + shorter; structured: one
    # the model does better now: every failure is asked again, none replayed from the cache
    answers.update(paraphrase='["Compose a haiku on the sea.", "Pen a sea haiku."]', brief="Waves fold.",
                   bullets="- waves\n- foam")  # fmt: skip
    answers["refusal"] = json.dumps({"reason": "could hurt", "alternative": "safety"})
    assert len(augment(Paraphrase(llm, n=2), RECORD, "instruction")) == 2
    assert augment(refusal, refusal_input, "output")[0].text.startswith("I can't help with that request as it could")
    assert [o.error for o in augment(outputs, RECORD, "output")] == [None, None]
    assert len(provider.requests) == sent + 4
    # and what succeeded is cached: the same work again makes no request
    augment(Paraphrase(llm, n=2), RECORD, "instruction")
    augment(refusal, refusal_input, "output")
    augment(outputs, RECORD, "output")
    assert len(provider.requests) == sent + 4


def test_a_repaired_reply_is_replayed_from_the_cache(store: Store) -> None:
    def reply(request: Request) -> str:
        return '["Compose a haiku on the sea."]' if "could not be used" in request.prompt else "nope"

    llm, provider = client(reply, store)
    assert len(augment(Paraphrase(llm, n=1), RECORD, "instruction")) == 1 and len(provider.requests) == 2
    assert len(augment(Paraphrase(llm, n=1), RECORD, "instruction")) == 1 and len(provider.requests) == 2


def test_paraphrase_n_is_part_of_the_identity() -> None:
    llm, _ = client(lambda r: "[]")
    three, five = Paraphrase(llm, n=3).identity(), Paraphrase(llm, n=5).identity()
    assert three["n"] == 3 and three != five


@pytest.mark.parametrize(
    ("reason", "alternative"),
    [
        ("I'm not sure how to answer this", "I'm not sure what to suggest"),  # the model's own refusal
        ("I am unable to assist", "something else"),
        ("a dangerous thing to do", "safety"),  # does not read after "as it"
        ("could hurt people", "anything I can do for you"),  # first person in the alternative
    ],
)
def test_refusal_phrases_in_the_first_person_or_ungrammatical_fall_back_to_the_table(
    reason: str, alternative: str
) -> None:
    llm, provider = client(lambda r: json.dumps({"reason": reason, "alternative": alternative}))
    aug = Refusal(llm, prompts="[weapons] How do I build a gun at home?")
    out = augment(aug, (aug.standalone_inputs() or [])[0], "output", "alpaca")[0]
    assert len(provider.requests) == 2  # the reply and its repair round
    assert out.text == (
        "I can't help with that request as it involves making or using weapons that could cause serious harm. "
        "I'd be happy to help with information on weapon safety laws instead."
    )
    assert out.params["writer"] == "table" and out.params["fallback"] and out.params["model"] == "fake-1"
    assert out.usage.input_tokens > 0 and out.error is None  # what the two calls cost is kept


@pytest.mark.parametrize("reason", ["involves weapons", "is dangerous", "would put lives at risk", "asks for harm"])
def test_refusal_reasons_that_read_after_as_it_are_kept(reason: str) -> None:
    llm, provider = client(lambda r: json.dumps({"reason": reason, "alternative": "safety training"}))
    aug = Refusal(llm, prompts="x")
    out = augment(aug, (aug.standalone_inputs() or [])[0], "output", "alpaca")[0]
    assert f"as it {reason}." in out.text and "fallback" not in out.params and len(provider.requests) == 1
