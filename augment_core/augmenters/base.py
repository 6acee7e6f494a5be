"""The augmenter interface: one abstract method turning an example into candidates for one field.

An augmenter is built from its settings (declared in ``settings``, so the studio can draw its
controls and the CLI can take ``--set name.setting=value``) and, when it needs one, a backend
(an LLM client, a translator). ``augment`` gets a record and the dotted path of the field to
rewrite and returns ``Output`` items; the pipeline turns them into stored candidates with
deterministic ids. Each output fills a named ``slot`` (a template id, a pivot, a sample index),
so a rerun recognises what it already has.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from augment_core.errors import ConfigError, InputError
from augment_core.hashing import content_key, digest
from augment_core.llm.base import Request
from augment_core.llm.usage import Usage as Usage  # what the calls behind one output cost
from augment_core.records import CandidateKind, instruction_fields, output_fields

if TYPE_CHECKING:
    from augment_core.llm.client import LLMClient
    from augment_core.store import Store

SettingType = Literal["int", "float", "bool", "str", "choice", "list", "text"]
Side = Literal["instruction", "output"]


@dataclass(frozen=True)
class Setting:
    """One setting of an augmenter, described for the studio's controls and the CLI.

    ``identity`` settings change what the augmenter writes, so they are part of a candidate's
    id; the others (how many, which pivots) only choose which slots are filled.
    """

    name: str
    type: SettingType
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    identity: bool = True
    minimum: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "default": list(self.default) if isinstance(self.default, tuple) else self.default,
            "help": self.help,
            "choices": list(self.choices),
        }

    def coerce(self, value: Any, owner: str) -> Any:
        """``value`` converted to this setting's type; InputError naming the setting otherwise."""
        where = f"setting '{owner}.{self.name}'"
        try:
            if self.type == "bool":
                if isinstance(value, str):
                    lowered = value.strip().lower()
                    if lowered not in {"true", "false", "1", "0", "yes", "no", "on", "off"}:
                        raise ValueError(value)
                    return lowered in {"true", "1", "yes", "on"}
                return bool(value)
            if self.type == "int":
                number: float = int(value)
            elif self.type == "float":
                number = float(value)
            elif self.type == "list":
                items = value.split(",") if isinstance(value, str) else list(value)
                return tuple(str(item).strip() for item in items if str(item).strip())
            else:
                text = str(value)
                if self.type == "choice" and text not in self.choices:
                    raise InputError(f"{where}: '{text}' is not one of {', '.join(self.choices)}")
                return text
        except (TypeError, ValueError) as exc:
            raise InputError(f"{where}: expected {self.type}, got {value!r}") from exc
        if self.minimum is not None and number < self.minimum:
            raise InputError(f"{where}: must be at least {self.minimum:g}, got {number:g}")
        return number


@dataclass
class Output:
    """One result of ``augment``: new text for the field (or a whole record), or a failure."""

    slot: str
    text: str = ""
    params: dict[str, Any] = field(default_factory=dict)  # per-output provenance: pivot, template id, ...
    usage: Usage = field(default_factory=Usage)
    error: str | None = None
    record: dict[str, Any] | None = None  # a whole new record (refusals)
    kind: CandidateKind = CandidateKind.REWRITE  # a refusal is marked so the export can cap its share


@dataclass(frozen=True)
class PlannedCall:
    """One backend call an augmenter expects to make for a field, for the estimate before a run.

    ``request`` is the LLM request (None for a call to a translation service);
    ``output_tokens`` is what the reply is expected to hold.
    """

    request: Request | None
    output_tokens: int = 0


def prompt_hash(*parts: str) -> str:
    """A short hash of a prompt template, stored in provenance to tell prompt versions apart."""
    return digest("\x1f".join(parts), 12)


class Augmenter(abc.ABC):
    """Turns an example into candidates for one target field.

    Subclasses set ``name``, ``description``, ``side`` and ``settings`` and implement ``augment``.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    side: ClassVar[Side] = "instruction"
    settings: ClassVar[tuple[Setting, ...]] = ()
    needs_llm: ClassVar[bool] = False

    def __init__(self, **options: Any) -> None:
        self.options: dict[str, Any] = self.resolve(options)

    @classmethod
    def resolve(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Every setting, from ``options`` (converted and checked) or its default."""
        known = {s.name: s for s in cls.settings}
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise InputError(f"augmenter '{cls.name}' has no setting {', '.join(repr(u) for u in unknown)}")
        return {s.name: s.coerce(options[s.name], cls.name) if s.name in options else s.default for s in cls.settings}

    @classmethod
    def from_options(
        cls, options: dict[str, Any], *, llm: LLMClient | None = None, store: Store | None = None
    ) -> Augmenter:
        """Build from settings plus whatever backend this augmenter needs (the studio and CLI seam)."""
        return cls(**options)

    @abc.abstractmethod
    async def augment(self, record: dict[str, Any], field: str, schema: str) -> list[Output]:
        """Candidates for ``field`` (a dotted path) of ``record``; may raise, the pipeline records it."""

    # ---- conveniences the pipeline uses; subclasses override where they know better ----------

    def identity(self) -> dict[str, Any]:
        """The parameters that decide what is written; part of every candidate id."""
        return {s.name: _plain(self.options[s.name]) for s in self.settings if s.identity}

    def backend(self) -> dict[str, str | None]:
        """The provider and model that write this augmenter's candidates, for provenance ({} for none)."""
        return {}

    def slots(self) -> list[str] | None:
        """The slots each field will fill, known before any work; None when it depends on the text.

        When every slot of a field is stored, the pipeline skips that field on a rerun.
        """
        return None

    def plan(self, record: dict[str, Any], field: str, schema: str) -> list[PlannedCall]:
        """The calls ``augment`` will make for one field, for estimates (no backend: none)."""
        return []

    def fields(self, record: dict[str, Any], schema: str) -> list[str]:
        """The paths this augmenter rewrites: its side of the record (chat: user or assistant turns)."""
        if self.side == "output":
            return output_fields(record, schema)
        return instruction_fields(record, schema, include_input=bool(self.options.get("include_input", False)))

    def standalone_inputs(self) -> list[dict[str, Any]] | None:
        """Inputs that do not come from the dataset (refusal prompts); None for dataset augmenters."""
        return None

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """Name, description and settings as plain data, for the studio's controls."""
        return {
            "name": cls.name,
            "description": cls.description,
            "side": cls.side,
            "needs_llm": cls.needs_llm,
            "settings": [s.as_dict() for s in cls.settings],
        }


def require_llm(llm: LLMClient | None, augmenter: str) -> LLMClient:
    if llm is None:
        raise ConfigError(f"augmenter '{augmenter}' needs an LLM provider (choose one with --provider)")
    return llm


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def candidate_id(
    dataset_id: int, source: int | str, augmenter: str, params: dict[str, Any], field: str, slot: str
) -> str:
    """Deterministic id: the same example, augmenter, parameters, field and slot give the same id."""
    return content_key(dataset_id, source, augmenter, params, field, slot)
