"""Side files that let a trainer load an export as it is: LLaMA-Factory's ``dataset_info.json``
and an Axolotl ``datasets:`` snippet.

Both describe the columns of the schema written (with the input's own column names when the
export keeps them) and are written beside the export. A schema a trainer cannot read as written
is refused before anything is written, with the schema to choose instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from augment_core.errors import InputError

TRAINERS = ("llama-factory", "axolotl")
# What LLaMA-Factory's loader reads by file name (it picks the builder from the extension).
_LLAMA_FACTORY_TYPES = ("jsonl", "json", "parquet")
_SHAREGPT_TAGS = {
    "role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt",
    "observation_tag": "observation", "function_tag": "function_call", "system_tag": "system",
}  # fmt: skip
_MESSAGES_TAGS = {
    "role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant",
    "observation_tag": "tool", "function_tag": "function_call", "system_tag": "system",
}  # fmt: skip


def info_path(out: Path, trainer: str) -> Path:
    """Where the side file of ``trainer`` goes for an export written to ``out``."""
    return out.parent / "dataset_info.json" if trainer == "llama-factory" else out.with_name(out.name + ".axolotl.yml")


def _conversational(record: dict[str, Any]) -> bool:
    return isinstance(record.get("prompt"), list)


def llama_factory_entry(
    file_name: str, schema: str, file_type: str, sample: dict[str, Any], column: dict[str, str]
) -> dict[str, Any]:
    """The ``dataset_info.json`` entry for an export (``column`` maps schema names to written ones)."""
    if file_type not in _LLAMA_FACTORY_TYPES:
        raise InputError(f"--trainer llama-factory: write {', '.join(_LLAMA_FACTORY_TYPES)}, not {file_type}")

    def columns(**names: str) -> dict[str, str]:
        """LLaMA-Factory's column names -> the names written (the schema's, or the input's own)."""
        return {theirs: column.get(ours, ours) for theirs, ours in names.items()}

    extra: dict[str, str] = {key: key for key in ("system", "tools", "images", "videos", "audios") if key in sample}
    entry: dict[str, Any] = {"file_name": file_name}
    if schema == "alpaca":
        alpaca = columns(prompt="instruction", query="input", response="output")
        entry.update(formatting="alpaca", columns=alpaca | extra)
    elif schema == "prompt-completion":
        entry.update(formatting="alpaca", columns=columns(prompt="prompt", response="completion") | extra)
    elif schema in ("sharegpt", "messages", "sharegpt-ranking"):
        key = "messages" if schema == "messages" else "conversations"
        chat = columns(messages=key) | extra
        if schema == "sharegpt-ranking":
            entry["ranking"] = True
            chat.update(columns(chosen="chosen", rejected="rejected"))
        tags = _MESSAGES_TAGS if schema == "messages" else _SHAREGPT_TAGS
        entry.update(formatting="sharegpt", columns=chat, tags=tags)
    elif schema == "preference":
        if _conversational(sample):
            raise InputError(
                "--trainer llama-factory: its ranking data holds one chosen and one rejected turn; "
                "export conversational preference data with --format sharegpt-ranking"
            )
        pair = columns(prompt="prompt", chosen="chosen", rejected="rejected")
        entry.update(formatting="alpaca", ranking=True, columns=pair | extra)
    elif schema == "kto":
        if _conversational(sample):
            raise InputError("--trainer llama-factory: KTO data with message lists is not a shape it reads")
        single = columns(prompt="prompt", response="completion", kto_tag="label")
        entry.update(formatting="alpaca", columns=single | extra)
    else:  # pragma: no cover - every schema has a branch above
        raise InputError(f"--trainer llama-factory: no entry for {schema}")
    return entry


def axolotl_snippet(path: Path, schema: str, sample: dict[str, Any], column: dict[str, str]) -> str:
    """An Axolotl ``datasets:`` block (with ``rl:`` for preference data) that loads ``path``."""
    c = column.get
    lines = []
    dataset = [f"  - path: {json.dumps(str(path))}", "    ds_type: json" if path.suffix in (".jsonl", ".json") else
               "    ds_type: parquet", "    split: train"]  # fmt: skip
    if schema == "alpaca" and all(c(k, k) == k for k in ("instruction", "input", "output")):
        dataset.append("    type: alpaca")
    elif schema in ("alpaca", "prompt-completion"):
        names = ("instruction", "input", "output") if schema == "alpaca" else ("prompt", None, "completion")
        dataset += ["    type:", f"      field_instruction: {c(names[0], names[0])}"]
        if names[1]:
            dataset.append(f"      field_input: {c(names[1], names[1])}")
        dataset += [f"      field_output: {c(names[2], names[2])}",
                    '      format: "{instruction}\\n{input}"', '      no_input_format: "{instruction}"']  # fmt: skip
    elif schema in ("messages", "sharegpt"):
        chat_keys = {"messages": ("messages", "role", "content"), "sharegpt": ("conversations", "from", "value")}
        key, role, content = chat_keys[schema]
        dataset += ["    type: chat_template", f"    field_messages: {c(key, key)}", "    message_property_mappings:",
                    f"      role: {role}", f"      content: {content}"]  # fmt: skip
        if schema == "sharegpt":
            dataset += ["    roles:", "      user: [human, user]", "      assistant: [gpt, assistant, model]",
                        "      system: [system]"]  # fmt: skip
    elif schema == "preference" and not _conversational(sample):
        lines.append("rl: dpo")
        dataset += [
            "    type:",
            f"      field_prompt: {c('prompt', 'prompt')}",
            f"      field_chosen: {c('chosen', 'chosen')}",
            f"      field_rejected: {c('rejected', 'rejected')}",
            '      prompt_format: "{prompt}"',
            '      chosen_format: "{chosen}"',
            '      rejected_format: "{rejected}"',
        ]
    elif schema == "sharegpt-ranking":
        # Axolotl's chat_template DPO: the prompt conversation, then one chosen and one rejected turn.
        lines.append("rl: dpo")
        dataset += ["    type: chat_template.default", f"    field_messages: {c('conversations', 'conversations')}",
                    f"    field_chosen: {c('chosen', 'chosen')}", f"    field_rejected: {c('rejected', 'rejected')}",
                    "    message_property_mappings:", "      role: from", "      content: value",
                    "    roles:", "      user: [human, user]", "      assistant: [gpt, assistant, model]",
                    "      system: [system]"]  # fmt: skip
    else:
        raise InputError(
            f"--trainer axolotl: no snippet for {schema} as written; paired preference data goes as "
            "--format preference (strings) or --format sharegpt-ranking (conversations)"
        )
    return "\n".join([*lines, "datasets:", *dataset]) + "\n"


def write_trainer_file(
    trainer: str, out: Path, schema: str, file_type: str, sample: dict[str, Any], column: dict[str, str]
) -> Path:
    """Write ``trainer``'s side file for the export at ``out``; returns its path.

    ``dataset_info.json`` keeps the entries other datasets have in it: the export's is named by
    its file name without extension.
    """
    from augment_core.writers import atomic_path

    side = info_path(out, trainer)
    if trainer == "llama-factory":
        entry = llama_factory_entry(out.name, schema, file_type, sample, column)
        info: dict[str, Any] = {}
        if side.exists():
            try:
                info = json.loads(side.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                problem = f"not valid JSON ({exc.msg}); LLaMA-Factory could not read it either"
                raise InputError(f"{side}: {problem}") from None
        info[out.name.split(".", 1)[0]] = entry
        text = json.dumps(info, indent=2, ensure_ascii=False) + "\n"
    elif trainer == "axolotl":
        text = axolotl_snippet(out.resolve(), schema, sample, column)
    else:
        raise InputError(f"--trainer '{trainer}': choose one of {', '.join(TRAINERS)}")
    with atomic_path(side) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return side


def check_trainer(trainer: str, out: Path, schema: str, file_type: str, sample: dict[str, Any]) -> None:
    """Refuse, before anything is written, an export the trainer could not read."""
    if trainer == "llama-factory":
        llama_factory_entry(out.name, schema, file_type, sample, {})
    elif trainer == "axolotl":
        if file_type not in ("jsonl", "json", "parquet"):
            raise InputError(f"--trainer axolotl: write jsonl, json or parquet, not {file_type}")
        axolotl_snippet(out, schema, sample, {})
    else:
        raise InputError(f"--trainer '{trainer}': choose one of {', '.join(TRAINERS)}")
