"""The embedding model in a child process: ``python -m augment_core.embedding_process NAME FD``.

torch is native code: a segfault, an abort or the kernel's out-of-memory kill in it ends the
process it runs in. The studio runs the model here instead, behind the same ``EmbeddingBackend``
as the in-process model: the child holds a ``LocalBackend`` and answers its calls over a socket
pair (pickled by ``multiprocessing.connection``). The child starts on first use; a call whose
child dies raises ModelCrashed naming how it died, and the next call starts a new child. One
``EmbeddingProcess`` per model name is shared by the process (``shared_process``), stopped at exit.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any

from augment_core import errors
from augment_core.embedding_backend import LocalBackend, TokenPass, Vectors
from augment_core.errors import AugmentError, ConfigError, ModelCrashed
from augment_core.settings import BUNDLED_MODEL

log = logging.getLogger(__name__)

STARTUP_TIMEOUT = 180.0  # seconds for the child to import torch and load the model on a busy machine
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
_CALLS = frozenset({"encode", "encode_tokens", "token_counts"})


def how_it_died(code: int) -> str:
    """A child's exit status in words: a signal by name (SIGKILL is also the OOM killer's), or the code."""
    if code >= 0:
        return f"exit code {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = "an unknown signal"
    hint = ", as the kernel's out-of-memory killer does" if -code == signal.SIGKILL else ""
    return f"signal {-code}, {name}{hint}"


class EmbeddingProcess:
    """One child process serving one model; thread-safe (one call at a time), started on demand."""

    def __init__(self, name: str = BUNDLED_MODEL, startup_timeout: float = STARTUP_TIMEOUT) -> None:
        self.name = name
        self.startup_timeout = startup_timeout
        self.generation = 0  # how many children were started
        self._process: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._info = (0, 0)  # (max_seq_length, dimension), told by the child when it is ready
        self._log: IO[bytes] | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"EmbeddingProcess({self.name!r}, pid={self.pid}, generation={self.generation})"

    @property
    def pid(self) -> int | None:
        """The running child's process id (None when none runs)."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    # ---- EmbeddingBackend ----------------------------------------------------------------------

    def max_seq_length(self) -> int:
        with self._lock:
            self._ensure()
            return self._info[0]

    def dimension(self) -> int:
        with self._lock:
            self._ensure()
            return self._info[1]

    def encode(self, texts: Sequence[str], batch_size: int) -> Vectors:
        result: Vectors = self._call("encode", f"embedding {len(texts)} texts", list(texts), batch_size)
        return result

    def encode_tokens(self, texts: Sequence[str], batch_size: int) -> list[TokenPass]:
        result: list[TokenPass] = self._call(
            "encode_tokens", f"embedding {len(texts)} texts with their tokens", list(texts), batch_size
        )
        return result

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        result: list[int] = self._call("token_counts", f"tokenising {len(texts)} texts", list(texts))
        return result

    def stop(self) -> None:
        """End the child (it exits when its socket closes; killed after 10 s); a no-op when none runs."""
        with self._lock:
            conn, process = self._conn, self._process
            self._conn = self._process = None
            if conn is not None:
                conn.close()
            if process is not None:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            self._close_log()

    # ---- internals -----------------------------------------------------------------------------

    def _call(self, method: str, what: str, *args: Any) -> Any:
        with self._lock:
            conn = self._ensure()
            try:
                conn.send((method, args))
                status, value = conn.recv()
            except (EOFError, OSError):  # the socket closed under the call: the child is gone
                raise ModelCrashed(self._died(what)) from None
        if status == "error":
            raise _rebuilt(*value)
        return value

    def _ensure(self) -> Connection:
        """The connection to a ready child, started first if none runs (under the lock)."""
        if self._process is not None and self._process.poll() is None and self._conn is not None:
            return self._conn
        if self._process is not None:  # died while nobody was asking: no call to fail
            log.warning("the embedding model process had died (%s); starting another", self._died("idle"))
        self._start()
        assert self._conn is not None
        return self._conn

    def _died(self, what: str) -> str:
        """The reason a call fails, once the dead child has been reaped (under the lock)."""
        assert self._process is not None
        try:
            code = self._process.wait(timeout=5)  # the socket closes as the process dies; its status follows
        except subprocess.TimeoutExpired:  # alive but not answering: no use keeping it
            self._process.kill()
            code = self._process.wait()
        log.warning("embedding model process %s died with %s: %s", self._process.pid, code, self._log_tail())
        if self._conn is not None:
            self._conn.close()
        self._process = self._conn = None
        return f"the embedding model process died ({how_it_died(code)}) while {what}; a new one starts on the next call"

    def _start(self) -> None:
        self._close_log()
        self._log = tempfile.NamedTemporaryFile(prefix="embedding_process_", suffix=".log", delete=False)  # noqa: SIM115
        ours, theirs = socket.socketpair()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_PACKAGE_ROOT, os.environ.get("PYTHONPATH")]))}
        command = [sys.executable, "-m", "augment_core.embedding_process", self.name, str(theirs.fileno())]
        try:
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, env=env,
                pass_fds=(theirs.fileno(),),
            )  # fmt: skip
        finally:
            theirs.close()
        self.generation += 1
        self._conn = Connection(ours.detach())
        log.info("embedding model process started for %s (pid %s)", self.name, self._process.pid)
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        assert self._process is not None and self._conn is not None
        deadline = time.monotonic() + self.startup_timeout
        while not self._conn.poll(0.25):
            if self._process.poll() is not None:
                raise ModelCrashed(self._died(f"loading '{self.name}'"))
            if time.monotonic() > deadline:
                self._process.kill()
                raise ConfigError(f"the embedding model process did not load '{self.name}' within "
                                  f"{self.startup_timeout:.0f} s: {self._died('loading')}")  # fmt: skip
        try:
            status, value = self._conn.recv()
        except (EOFError, OSError):
            raise ModelCrashed(self._died(f"loading '{self.name}'")) from None
        if status == "error":
            self._conn.close()
            self._process.wait()
            self._process = self._conn = None
            raise _rebuilt(*value)
        self._info = value

    def _log_tail(self, chars: int = 1500) -> str:
        if self._log is None:
            return ""
        self._log.flush()
        text = Path(self._log.name).read_text(encoding="utf-8", errors="replace")
        return text[-chars:].strip() or "(no output)"

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            Path(self._log.name).unlink(missing_ok=True)
            self._log = None


def _rebuilt(kind: str, message: str) -> Exception:
    """The child's exception again: a type of augment_core.errors by name, else a RuntimeError saying what it was."""
    found = getattr(errors, kind, None)
    if isinstance(found, type) and issubclass(found, AugmentError):
        try:
            return found(message)
        except TypeError:  # an error whose constructor takes more than a message
            return AugmentError(message)
    return RuntimeError(f"in the embedding model process: {kind}: {message}")


_shared: dict[str, EmbeddingProcess] = {}
_shared_lock = threading.Lock()


def shared_process(name: str = BUNDLED_MODEL) -> EmbeddingProcess:
    """The process's child for model ``name`` (made, not started, on first ask)."""
    with _shared_lock:
        if name not in _shared:
            if not _shared:
                atexit.register(stop_shared)
            _shared[name] = EmbeddingProcess(name)
        return _shared[name]


def stop_shared() -> None:
    """Stop every shared child (registered with atexit)."""
    with _shared_lock:
        found = list(_shared.values())
    for process in found:
        process.stop()


# ---- the child -----------------------------------------------------------------------------------


def serve(name: str, fd: int) -> None:
    """Load the model, say ready, then answer calls until the parent closes the socket."""
    conn = Connection(fd)
    try:
        backend = LocalBackend.load(name)
        conn.send(("ready", (backend.max_seq_length(), backend.dimension())))
    except Exception as exc:  # the parent raises it again: a missing package, a bad model name
        conn.send(("error", (type(exc).__name__, str(exc))))
        return
    while True:
        try:
            method, args = conn.recv()
        except (EOFError, OSError):  # the parent stopped us, or died
            return
        try:
            if method not in _CALLS:
                raise ValueError(f"no such call: {method}")
            reply: tuple[str, Any] = ("ok", getattr(backend, method)(*args))
        except Exception as exc:  # one call failed; the model is still fine for the next
            reply = ("error", (type(exc).__name__, str(exc)))
        conn.send(reply)


if __name__ == "__main__":
    import faulthandler

    faulthandler.enable()  # a segfault leaves its Python stack in the log the parent quotes
    serve(sys.argv[1], int(sys.argv[2]))
