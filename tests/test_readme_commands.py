"""The README's commands are ones the CLI takes (issue 17 point 10: `--db` is an option of each
subcommand, so `augment --db URL import ...` was a command that fails)."""

from __future__ import annotations

import re
import shlex

import pytest

from augment_core.cli import build_parser
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    """Every `augment ...` line of the README's code blocks (continuations joined, comments cut), and
    every inline `augment ...` that names --db; synopses (``[--flag]``) left out."""
    blocks = re.findall(r"```[a-z]*\n(.*?)```", README, re.S)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.replace("\\\n", " ").splitlines()]
    inline = [span for span in re.findall(r"`(augment [^`]+)`", README) if "--db" in span]
    return [c for c in [*lines, *inline] if c.startswith("augment ") and "[--" not in c]


def test_the_readme_shows_commands() -> None:
    assert len(_commands()) > 20 and any("--db" in c for c in _commands())


@pytest.mark.parametrize("command", _commands())
def test_every_readme_command_parses(command: str) -> None:
    try:
        build_parser().parse_args(shlex.split(command)[1:])
    except SystemExit:
        pytest.fail(f"the README shows a command the CLI refuses: {command}")


def test_db_before_the_subcommand_is_refused_and_not_shown() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--db", "sqlite:///x.db", "import", "data.jsonl"])
    assert "augment --db" not in README
