"""LLM paraphrases: n rewrites of an instruction that vary wording, formality and structure.

The reply is parsed as a JSON array by the LLM client; items that repeat the original or a
sibling are dropped. The prompt asks to keep placeholders, code spans, numbers and named
entities exactly (the quality guards check that afterwards).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from augment_core.augmenters.base import (
    Augmenter,
    Output,
    PlannedCall,
    Setting,
    Usage,
    prompt_hash,
    require_llm,
)
from augment_core.guards import normalise
from augment_core.llm.base import Request
from augment_core.llm.usage import estimate_tokens
from augment_core.records import get_field

if TYPE_CHECKING:
    from augment_core.llm.client import LLMClient
    from augment_core.store import Store

SYSTEM = (
    "You rewrite instructions for a dataset used to fine-tune language models. "
    "Every rewrite must ask for exactly the same thing as the original."
)
PROMPT = """Write {n} different paraphrases of the instruction below.
Vary the wording, the formality (casual to formal) and the sentence structure.
Keep exactly as written, character for character: placeholders (like {{name}} or <NAME>), code in
backticks, numbers, and names of people, places, products and organisations.
Do not answer the instruction and do not add new requirements.
Reply with a JSON array of {n} strings and nothing else.

Instruction:
{text}"""
PROMPT_HASH = prompt_hash(SYSTEM, PROMPT)


class Paraphrase(Augmenter):
    """n paraphrases per instruction from the LLM, duplicates dropped."""

    name = "paraphrase"
    description = "Ask the LLM for n paraphrases of each instruction (wording, formality, structure)."
    side = "instruction"
    needs_llm = True
    settings = (
        # Identity: n is in the prompt, so slots of an n=3 reply and an n=5 reply must not mix.
        Setting("n", "int", 5, "paraphrases per instruction", minimum=1),
        Setting("temperature", "float", 0.9, "sampling temperature (higher: more varied)", minimum=0),
        Setting("include_input", "bool", False, "also paraphrase the input field (off: instructions only)"),
    )

    def __init__(self, llm: LLMClient, **options: Any) -> None:
        super().__init__(**options)
        self.llm = llm

    @classmethod
    def from_options(
        cls, options: dict[str, Any], *, llm: LLMClient | None = None, store: Store | None = None
    ) -> Augmenter:
        return cls(require_llm(llm, cls.name), **options)

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "provider": self.llm.provider.name, "model": self.llm.provider.model}

    def backend(self) -> dict[str, str | None]:
        return {"provider": self.llm.provider.name, "model": self.llm.provider.model}

    def slots(self) -> list[str] | None:
        return [str(i) for i in range(int(self.options["n"]))]

    def request(self, text: str) -> Request:
        n = int(self.options["n"])
        return Request(
            prompt=PROMPT.format(n=n, text=text),
            system=SYSTEM,
            max_tokens=min(4096, 64 + n * (estimate_tokens(text) * 2 + 24)),
            temperature=float(self.options["temperature"]),
            json_schema={"type": "array", "items": {"type": "string"}, "minItems": n, "maxItems": n},
        )

    def plan(self, record: dict[str, Any], field: str, schema: str) -> list[PlannedCall]:
        text = get_field(record, field)
        if not text.strip():
            return []
        return [PlannedCall(self.request(text), int(self.options["n"]) * (estimate_tokens(text) + 4))]

    async def augment(self, record: dict[str, Any], field: str, schema: str) -> list[Output]:
        text = get_field(record, field)
        if not text.strip():
            return []
        items, completion = await self.llm.complete_json(self.request(text), expect=list, label=self.name)
        usage = Usage.of(completion)
        params = {"model": completion.model, "prompt_hash": PROMPT_HASH}
        seen = {normalise(text)}
        outputs: list[Output] = []
        # Slots are reply positions, so a cached reply gives the same ids on a rerun.
        for index, item in enumerate(items[: int(self.options["n"])]):
            if not isinstance(item, str) or not item.strip() or normalise(item) in seen:
                continue
            seen.add(normalise(item))
            outputs.append(Output(slot=str(index), text=item.strip(), params=params, usage=Usage()))
        if outputs:  # the call's cost is carried once, by the first candidate it produced
            outputs[0].usage = usage
        return outputs
