"""The errors this library raises on purpose.

AugmentError                 base: pages and the CLI catch only this tree
  InputError                 bad user input (a file, a flag, a mapping); CLI exit code 2
    DatasetFormatError       a dataset file that cannot be read; names file, line/row, field
  ConfigError                a missing key, package or setting; says what to set or install; stops a run
  ProviderError              an LLM or translation backend failed; recorded on the item, the run goes on
    RetryableError           worth another try (the retry policy's business); ``retry_after``, ``status``
      RateLimited            429, 529 (overloaded): the provider asks to wait
      ServerError            5xx, a reply that is not JSON or has the wrong shape
      ProviderTimeout        no reply within the timeout
      ConnectionFailed       the connection was refused or dropped
    GaveUp                   the retries or the wait an item may spend are used up; ``last`` is why
    ProviderDown             also a ConfigError: every item would fail alike, so the run stops
      KeyRefused             401 / 403: the key was refused
      Unreachable            the circuit breaker: connection failures or timeouts in a row
  ParseError                 a model reply that is not the JSON shape asked for
  StoreError                 the database itself failed (locked too long, gone, full); URL masked
  ModelCrashed               a model's child process died under a call (a native crash, a kill); the
                             call fails, what was saved stays, the next call starts a new child
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
    """A backend (LLM or translator) failed: on one item, after its retries."""


class RetryableError(ProviderError):
    """A failure worth another try; ``retry_after`` is the server's hint in seconds, if any."""

    def __init__(self, message: str, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status


class RateLimited(RetryableError):
    """429 or 529: the provider is limiting this client; its ``retry_after`` holds every request."""


class ServerError(RetryableError):
    """A 5xx, or a reply that is not JSON or lacks the expected fields (a proxy's error page)."""


class ProviderTimeout(RetryableError):
    """No reply within the timeout (the server may be hung): counts towards the circuit breaker."""


class ConnectionFailed(RetryableError):
    """The connection was refused or dropped before a reply: counts towards the circuit breaker."""


class GaveUp(ProviderError):
    """Retries, or the total wait one item may spend, used up; ``last`` is the final failure."""

    def __init__(self, message: str, last: RetryableError) -> None:
        super().__init__(message)
        self.last = last


class ProviderDown(ProviderError, ConfigError):
    """The backend cannot serve any item (a refused key, a dead server): stops the run.

    A ConfigError too, so everything that stops on a missing key stops on this: fix, then rerun.
    """


class KeyRefused(ProviderDown):
    """401 or 403: the key was refused; sending the other requests would only be refused too."""


class Unreachable(ProviderDown):
    """The circuit breaker opened: connection failures or timeouts in a row."""


class ParseError(AugmentError):
    """A model reply that does not have the shape asked for."""


class StoreError(AugmentError):
    """The database failed underneath a query (locked, unreachable, full); the message masks the URL."""


class ModelCrashed(AugmentError):
    """A model's child process died during a call; the message says how (signal, exit code) and during what."""
