"""The command line: ``augment import|run|score|review|export|stats|...`` (also ``python -m augment_core``).

This module is the flags (``build_parser``) and ``main``, which turns the library's errors into
one line on stderr: exit code 2 for a user mistake, 1 for a failed run, never a bare traceback.
What each sub-command does is in ``cli_commands``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import overload

import sqlalchemy as sa

from augment_core.cli_commands import (
    cmd_audit,
    cmd_export,
    cmd_import,
    cmd_import_candidates,
    cmd_review,
    cmd_reviewers,
    cmd_run,
    cmd_score,
    cmd_settings,
    cmd_stats,
)
from augment_core.cli_judge import cmd_judge, cmd_score_pairs
from augment_core.engines import ENGINES
from augment_core.errors import AugmentError, InputError
from augment_core.formats import FILE_TYPES
from augment_core.records import SCHEMAS, Selection
from augment_core.store import DEFAULT_URL, ROLES, Store
from augment_core.team import local_reviewer
from augment_core.trainers import TRAINERS


def whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum`` (counts, limits, retries)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected at least {minimum}, got {value}")
        return value

    return parse


positive_int = whole_number(1)
retries_count = whole_number(0)


def seconds(text: str) -> float:
    """An argparse type for --timeout: a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got '{text}'") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text}")
    return value


class RegistryNames(Sequence[str]):
    """Names read from a registry the first time argparse needs them (a value to check, --help).

    The registries of augmenters, translators and providers live beside their code, which loads
    the LLM layer: read eagerly, every command (`augment import` too) paid ~0.1 s to start.
    """

    def __init__(self, load: Callable[[], Iterable[str]]) -> None:
        self._load = load
        self._names: list[str] | None = None

    def _all(self) -> list[str]:
        if self._names is None:
            self._names = list(self._load())
        return self._names

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __contains__(self, name: object) -> bool:
        return name in self._all()

    def __str__(self) -> str:
        return ", ".join(self._all())


def _augmenters() -> Iterable[str]:
    from augment_core.augmenters import AUGMENTERS

    return AUGMENTERS


def _translators() -> Iterable[str]:
    from augment_core.augmenters.translators import TRANSLATORS

    return TRANSLATORS


def _providers() -> Iterable[str]:
    from augment_core.llm import PROVIDERS

    return PROVIDERS


def _refusal_writers() -> Iterable[str]:
    from augment_core.augmenters import AUGMENTERS

    return next(s.choices for s in AUGMENTERS["refusal"].settings if s.name == "writer")


def add_engine_flags(p: argparse.ArgumentParser, output: bool = True) -> None:
    """--engine, --ray-address and --actors (import, run and score), and --output (run and score)."""
    p.add_argument("--engine", choices=list(ENGINES), default="local",
                   help="local (this process, default) or ray (Ray Data over the same functions)")  # fmt: skip
    p.add_argument("--ray-address", metavar="ADDRESS",
                   help="with --engine ray: auto or HOST:PORT joins a cluster (default: start Ray here)")  # fmt: skip
    p.add_argument("--actors", type=positive_int, default=2, help="with --engine ray: workers (default 2)")
    if not output:
        return
    p.add_argument("--output", metavar="DIR",
                   help="with --engine ray: also write what is stored as Parquet shards in this new DIR")  # fmt: skip


REVIEWER_FLAG = ("--reviewer",)
REVIEWER_OPTIONS = {"default": local_reviewer(), "help": "who acts (default: the OS user); roles: `augment reviewers`"}


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db", default=os.environ.get("AUGMENT_DB", DEFAULT_URL), help="SQLAlchemy URL (env AUGMENT_DB)"
    )
    common.add_argument("--dataset", help="dataset name, where more than one is stored")

    parser = argparse.ArgumentParser(
        prog="augment", description="Augment LLM fine-tuning data with a human in the loop."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("import", parents=[common], help="import a dataset file (JSONL, JSON, CSV, Parquet)")
    p.add_argument("input", help="the dataset file, or a folder or glob of shards of one file type")
    p.add_argument("--name", help="dataset name (default: --dataset, else the file name without extension)")
    p.add_argument(
        "--format",
        default="auto",
        choices=["auto", *SCHEMAS],
        help="schema (default: detected)",
    )
    p.add_argument(
        "--map", action="append", metavar="FIELD=COLUMN", help="use COLUMN as FIELD, e.g. instruction=question"
    )
    p.add_argument("--skip-invalid", action="store_true", help="import the valid records, report the others")
    p.add_argument("--file-type", choices=list(FILE_TYPES), help="default: from the file's extension")
    add_engine_flags(p, output=False)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser(
        "import-candidates", parents=[common], help="attach candidates made elsewhere to their originals"
    )
    p.add_argument("input", help="rows with source_id or original, text, and optionally augmenter, "
                   "target_field, metadata")  # fmt: skip
    p.add_argument("--file-type", choices=list(FILE_TYPES), help="default: from the file's extension")
    p.set_defaults(func=cmd_import_candidates)

    p = sub.add_parser("run", parents=[common], help="run augmenters over a dataset")
    # The registries' names are read only when a value is checked or help is shown: a metavar of
    # our own (argparse would list the choices in it while the parser is built), and help texts
    # that argparse fills from the action's attributes (%(choices)s, %(names)s) when it prints them.
    action = p.add_argument("--augmenters", required=True, metavar="NAMES", help="comma-separated, from: %(names)s")
    action.names = RegistryNames(_augmenters)  # type: ignore[attr-defined]
    p.add_argument(
        "--provider",
        choices=RegistryNames(_providers),
        metavar="PROVIDER",
        help="LLM provider, one of %(choices)s (default: anthropic when ANTHROPIC_API_KEY is set, else local)",
    )
    p.add_argument("--model", help="model name (a .gguf path for local)")
    p.add_argument("--base-url", help="API base URL (an OpenAI-compatible server, a proxy)")
    p.add_argument("--n", type=positive_int, help="variants per field (paraphrase default 5, templates 3)")
    p.add_argument("--pivots", help="backtranslation pivot languages, e.g. de,fr,ja (default de)")
    p.add_argument("--chain", action="store_true", help="backtranslate through all pivots in one chain")
    p.add_argument(
        "--translator",
        choices=RegistryNames(_translators),
        metavar="TRANSLATOR",
        help="one of %(choices)s; default llm (the configured LLM; works offline)",
    )
    p.add_argument("--libre-url", help="URL of your LibreTranslate server")
    p.add_argument("--refusal-prompts", metavar="FILE", help="prompts, one per line: '[category] prompt'")
    p.add_argument("--refusal-writer", choices=RegistryNames(_refusal_writers), metavar="WRITER",
                   help="who writes the reason: %(choices)s")  # fmt: skip
    p.add_argument(
        "--include-input",
        action="store_true",
        help="also rewrite the input field (paraphrase, backtranslation; templates never touch it)",
    )
    p.add_argument("--seed", type=int, help="templates seed")
    p.add_argument("--set", action="append", metavar="AUGMENTER.SETTING=VALUE", help="any augmenter setting")
    p.add_argument("--concurrency", type=positive_int, default=16, help="parallel calls (default 16)")
    p.add_argument("--rpm", type=positive_int, help="requests per minute limit")
    p.add_argument("--tpm", type=positive_int, help="tokens per minute limit")
    p.add_argument("--timeout", type=seconds, help="seconds to wait for one reply (setting llm.timeout, default 60)")
    p.add_argument("--max-retries", type=retries_count,
                   help="retries of a failed request (setting llm.max_retries, default 5)")  # fmt: skip
    p.add_argument("--batch-size", type=positive_int, default=200, help="examples per batch written to the store")
    p.add_argument("--limit", type=positive_int, metavar="N",
                   help="a preview: only N records (their candidates are kept; the full run skips them)")
    p.add_argument("--sample", choices=["first", "random"], default="first",
                   help="which records --limit takes (default first)")
    p.add_argument("--sample-seed", type=int, default=0, help="seed of --sample random (default 0)")
    p.add_argument("--dry-run", action="store_true", help="print the estimate and stop")
    add_engine_flags(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("score", parents=[common], help="score every unscored candidate (a rerun is a no-op)")
    p.add_argument("--batch-size", type=positive_int, default=64, help="texts per model call (default 64)")
    p.add_argument("--examples-per-batch", type=positive_int, default=200, help="examples read and saved at a time")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_engine_flags(p)
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("score-pairs", parents=[common],
                       help="score (original, candidate) pairs from a file: one JSON line per pair")  # fmt: skip
    p.add_argument("input", help="JSONL, JSON, CSV, TSV or Parquet with columns original and candidate")
    p.add_argument("--output", metavar="OUT", help="write the JSON lines here (default: stdout)")
    p.add_argument("--columns", metavar="A,B", help="the original and candidate columns (default original,candidate)")
    p.add_argument("--label", metavar="COLUMN",
                   help="a 0/1 column (1 = same meaning): also print ROC-AUC and the accept rule's precision/recall")
    p.set_defaults(func=cmd_score_pairs)

    p = sub.add_parser("judge", parents=[common],
                       help="ask the LLM judge whether pending candidates keep the meaning (its own score and reason)")
    p.add_argument("--provider", choices=RegistryNames(_providers), metavar="PROVIDER",
                   help="LLM provider, one of %(choices)s (the bundled 135M local model is too small to judge)")
    p.add_argument("--model", help="model name (a .gguf path for local)")
    p.add_argument("--base-url", help="API base URL (an OpenAI-compatible server, a proxy)")
    p.add_argument("--limit", type=positive_int, default=100, help="candidates to judge, in file order (default 100)")
    p.add_argument("--again", action="store_true", help="also judge candidates that have a verdict")
    p.add_argument("--concurrency", type=positive_int, default=8, help="parallel calls (default 8)")
    p.add_argument("--timeout", type=seconds, help="seconds to wait for one reply (setting llm.timeout, default 60)")
    p.set_defaults(func=cmd_judge)

    p = sub.add_parser("review", parents=[common], help="bulk decisions from the scores (undecided candidates only)")
    actions = p.add_mutually_exclusive_group(required=True)
    actions.add_argument(
        "--approve-valid",
        dest="action",
        action="store_const",
        const="approve-valid",
        help="approve those in the validity window with no flag, no duplicate, meaning kept",
    )
    actions.add_argument(
        "--approve-optimal",
        dest="action",
        action="store_const",
        const="approve-optimal",
        help="the same, within the optimal band",
    )
    actions.add_argument(
        "--reject-invalid",
        dest="action",
        action="store_const",
        const="reject-invalid",
        help="reject those outside the validity window and the near-duplicates",
    )
    p.add_argument(*REVIEWER_FLAG, **REVIEWER_OPTIONS)  # type: ignore[arg-type]
    p.set_defaults(func=cmd_review)

    p = sub.add_parser("audit", parents=[common], help="check the accept rule against people: draw a sample, report")
    p.add_argument("--sample", type=positive_int, help="queue N more candidates, half per verdict of the accept rule")
    p.add_argument("--for", dest="queue_for", metavar="NAME", help="queue them for this reviewer only")
    p.add_argument("--seed", type=int, help="random seed of the draw")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument(*REVIEWER_FLAG, **REVIEWER_OPTIONS)  # type: ignore[arg-type]
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("reviewers", parents=[common], help="list, add or remove reviewers and their roles")
    p.add_argument("change", nargs="?", choices=["add", "remove"], help="without it, list them")
    p.add_argument("name", nargs="?", help="the reviewer to add or remove")
    p.add_argument("--role", default="reviewer", choices=list(ROLES))
    p.add_argument(*REVIEWER_FLAG, **REVIEWER_OPTIONS)  # type: ignore[arg-type]
    p.set_defaults(func=cmd_reviewers)

    p = sub.add_parser("export", parents=[common], help="export the curated set with a controlled mix")
    p.add_argument("output", help="file to write (.jsonl, .json, .csv, .parquet)")
    p.add_argument("--format", default="same", choices=["same", *SCHEMAS])
    p.add_argument(
        "--status",
        default="approved",
        choices=[s.value for s in Selection],
        help="approved ones; valid: also the pending ones `augment review --approve-valid` would approve, "
        "and pending refusals (never scored; the studio is the only place to approve them one by one); "
        "all: every one not rejected",
    )
    p.add_argument("--ratio", help="target ORIGINALS:AUGMENTED (setting mix.ratio, default 1:2)")
    p.add_argument("--max-augmented-share", type=float, help="cap on the augmented share (setting, default 0.7)")
    p.add_argument("--max-refusal-share", type=float, help="cap on refusal examples in the set (setting, default 0.1)")
    p.add_argument("--seed", type=int, help="tie-break seed for the choice (setting mix.seed, default 0)")
    p.add_argument("--no-originals", action="store_true", help="write only the augmented records")
    p.add_argument(
        "--provenance",
        action="store_true",
        help="add provenance (metadata object/columns); metadata a record already has is kept under metadata.previous",
    )
    p.add_argument("--provenance-style", default="auto", choices=["auto", "object", "columns"])
    p.add_argument("--file-type", choices=list(FILE_TYPES),
                   help="default: from OUTPUT's extension; hf: a datasets.save_to_disk folder")  # fmt: skip
    p.add_argument("--trainer", choices=list(TRAINERS),
                   help="also write llama-factory's dataset_info.json or an axolotl datasets: snippet beside OUTPUT")
    p.add_argument("--report-file", nargs="?", const="", metavar="PATH", help="also write settings and report as JSON")
    p.add_argument("--csv-safe", action="store_true",
                   help="CSV: prefix cells starting with = + - @ with ' so a spreadsheet shows them as text")
    p.add_argument("--push-to-hub", metavar="REPO",
                   help="then push the export and its side files to this Hub dataset (token: HF_TOKEN)")
    p.add_argument("--private", action="store_true", help="with --push-to-hub: create the dataset private")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("stats", parents=[common], help="counts and diversity for a dataset")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--similarity", action="store_true", help="also mean pairwise similarity (loads the model)")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("settings", parents=[common], help="show or change the settings (window, band, mix, prices)")
    p.add_argument("key", nargs="?", help="a setting; without it, list them all")
    p.add_argument("value", nargs="?", help="new value: JSON ([0.7, 0.98], 0.5, {...}) or text (1:2)")
    p.add_argument("--unset", action="store_true", help="back to the default")
    p.set_defaults(func=cmd_settings)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    store: Store | None = None
    try:
        store = Store(args.db)
        code: int = args.func(args, store)
        return code
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except AugmentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `augment ... | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # a path that is a directory, a missing folder, a full disk
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except sa.exc.OperationalError as exc:  # the database cannot be opened or written
        print(f"error: database {args.db}: {exc.orig}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; what finished is stored", file=sys.stderr)
        return 130
    finally:
        if store is not None:
            store.close()


if __name__ == "__main__":
    raise SystemExit(main())
