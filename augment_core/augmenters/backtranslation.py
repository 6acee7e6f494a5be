"""Backtranslation: source -> pivot -> source, for each pivot language, or through a chain.

``pivots=de,fr,ja`` gives three candidates (one per pivot); with ``chain`` on it gives one,
en -> de -> fr -> ja -> en. A round trip that comes back identical to the original is dropped.
The translator is a seam: ``Backtranslation(translator=...)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from augment_core.augmenters.base import Augmenter, Output, PlannedCall, Setting, Usage
from augment_core.augmenters.translators import TRANSLATORS, LLMTranslator, Translator, make_translator
from augment_core.errors import AugmentError, ConfigError, InputError
from augment_core.guards import normalise
from augment_core.llm.usage import estimate_tokens
from augment_core.records import get_field

if TYPE_CHECKING:
    from augment_core.llm.client import LLMClient
    from augment_core.store import Store


class Backtranslation(Augmenter):
    """Round trips through pivot languages (deep-translator services or the LLM)."""

    name = "backtranslation"
    description = "Translate each instruction to a pivot language and back (one candidate per pivot)."
    side = "instruction"
    settings = (
        Setting("pivots", "list", ("de",), "pivot languages, e.g. de,fr,ja", identity=False),
        Setting("chain", "bool", False, "one chained round trip through all pivots instead of one per pivot",
                identity=False),
        Setting("translator", "choice", "llm", "translation backend (llm, the configured LLM, works offline)",
                choices=tuple(TRANSLATORS)),
        Setting("source", "str", "en", "language of the dataset"),
        Setting("libre_url", "str", "", "URL of your LibreTranslate server (translator libre)"),
        Setting("include_input", "bool", False, "also backtranslate the input field (off: instructions only)"),
    )  # fmt: skip

    def __init__(self, translator: Translator, /, **options: Any) -> None:
        """``translator`` is the backend object; the ``translator`` setting only names one for ``from_options``."""
        super().__init__(**options)
        self.translator = translator
        translator.label = self.name
        if not self.options["pivots"]:
            raise ConfigError("backtranslation needs at least one pivot language (setting pivots)")

    @classmethod
    def from_options(
        cls, options: dict[str, Any], *, llm: LLMClient | None = None, store: Store | None = None
    ) -> Augmenter:
        resolved = cls.resolve(options)
        translator = make_translator(str(resolved["translator"]), llm=llm, store=store, url=str(resolved["libre_url"]))
        return cls(translator, **options)

    def identity(self) -> dict[str, Any]:
        ident = {k: v for k, v in super().identity().items() if k != "libre_url"}
        ident["translator"] = self.translator.name
        if isinstance(self.translator, LLMTranslator):  # provider and model apart, as the other LLM augmenters
            ident |= {"provider": self.translator.llm.provider.name, "model": self.translator.llm.provider.model}
        return ident

    def backend(self) -> dict[str, str | None]:
        if isinstance(self.translator, LLMTranslator):
            return {"provider": self.translator.llm.provider.name, "model": self.translator.llm.provider.model}
        return {"provider": self.translator.name, "model": None}  # a translation service has no model name

    def routes(self) -> list[tuple[str, ...]]:
        pivots = tuple(str(p) for p in self.options["pivots"])
        return [pivots] if self.options["chain"] else [(p,) for p in pivots]

    def slots(self) -> list[str] | None:
        return [">".join(route) for route in self.routes()]

    def plan(self, record: dict[str, Any], field: str, schema: str) -> list[PlannedCall]:
        text = get_field(record, field)
        if not text.strip():
            return []
        llm = self.translator if isinstance(self.translator, LLMTranslator) else None
        source = str(self.options["source"])
        calls: list[PlannedCall] = []
        for route in self.routes():
            hops = (source, *route, source)
            current: str | None = text
            for a, b in zip(hops, hops[1:], strict=False):
                # A later hop translates the previous hop's reply: known when that reply is cached (so
                # a cached round trip is estimated as cached, as the run will find it), else not yet
                # known, and the original stands in for its size.
                hop_text = text if current is None else current
                request = LLMTranslator.request_for(hop_text, a, b) if llm is not None else None
                calls.append(PlannedCall(request, estimate_tokens(hop_text) + 8))
                current = llm.cached_translation(hop_text, a, b) if llm is not None and current is not None else None
        return calls

    async def augment(self, record: dict[str, Any], field: str, schema: str) -> list[Output]:
        text = get_field(record, field)
        if not text.strip():
            return []
        source = str(self.options["source"])
        outputs = []
        for route in self.routes():
            slot = ">".join(route)
            usage = Usage()
            current, language = text, source
            try:
                for target in (*route, source):
                    step = await self.translator.run(current, language, target)
                    usage.add(step.usage)
                    current, language = step.text, target
            except (ConfigError, InputError):
                raise  # a missing key or a bad language fails every item alike: stop the run, say why
            except AugmentError as exc:
                outputs.append(Output(slot=slot, usage=usage, error=str(exc), params=self._params(route)))
                continue
            if current.strip() and normalise(current) != normalise(text):
                outputs.append(Output(slot=slot, text=current.strip(), usage=usage, params=self._params(route)))
        return outputs

    def _params(self, route: tuple[str, ...]) -> dict[str, Any]:
        return {"pivot": ">".join(route), "translator": self.translator.name}
