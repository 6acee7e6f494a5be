"""The errors this library raises on purpose.

AugmentError                 base: pages and the CLI catch only this tree
  InputError                 bad user input (a file, a flag, a mapping); CLI exit code 2
    DatasetFormatError       a dataset file that cannot be read; names file, line/row, field
  ConfigError                a missing key, package or setting; says what to set or install
  ProviderError              an LLM or translation backend failed after its retries
  ParseError                 a model reply that is not the JSON shape asked for
  StoreError                 the database itself failed (locked too long, gone, full); URL masked
"""

from __future__ import annotations


class AugmentError(Exception):
    """Base of every error this library raises on purpose."""


class InputError(AugmentError):
    """Bad input from the user; the CLI exits with code 2."""


class DatasetFormatError(InputError):
    """A dataset file that cannot be read, with where: file, line or row, field."""

    def __init__(self, path: str, problem: str, line: int | None = None, field: str | None = None) -> None:
        self.path = path
        self.problem = problem
        self.line = line
        self.field = field
        where = path if line is None else f"{path}:{line}"
        what = problem if field is None else f"field '{field}': {problem}"
        super().__init__(f"{where}: {what}")


class ConfigError(AugmentError):
    """Something to install or set before this can work."""


class ProviderError(AugmentError):
    """A backend (LLM or translator) failed after retries."""


class ParseError(AugmentError):
    """A model reply that does not have the shape asked for."""


class StoreError(AugmentError):
    """The database failed underneath a query (locked, unreachable, full); the message masks the URL."""
