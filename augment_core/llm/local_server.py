"""The local model's server: ``python -m llama_cpp.server`` on 127.0.0.1, one process per model.

llama.cpp is native code: an abort in it (a grammar-sampling assertion, out of memory) ends the
process it runs in. Running it in a child process keeps the studio and the CLI alive; a dead
server is noticed by the request it drops, started again, and that request fails with the
reason. One ``ModelServer`` per (file, context, threads) is shared by every provider of the
process (``shared_server``) and stopped at exit; a private one is stopped by its owner.
"""

from __future__ import annotations

import atexit
import importlib.util
import logging
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

from augment_core.errors import ConfigError

log = logging.getLogger(__name__)

STARTUP_TIMEOUT = 120.0  # seconds for the server to load the model and answer
_LOG_TAIL = 2000  # characters of the server's log quoted in an error


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def crash_reason(exit_code: int) -> str:
    """What an item that was in flight when the server died is failed with."""
    return f"the local model server crashed (exit {exit_code}); restarted"


class ModelServer:
    """One llama.cpp server process for one GGUF file; thread-safe, started on demand."""

    def __init__(
        self, path: Path, alias: str, *, n_ctx: int, n_threads: int, startup_timeout: float = STARTUP_TIMEOUT
    ) -> None:
        self.path = path
        self.alias = alias  # the model name the server answers with
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.startup_timeout = startup_timeout
        self.generation = 0  # how many times a process was started; a request remembers its own
        self.base_url = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._exits: dict[int, int] = {}  # generation -> exit code, for the servers that died
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ModelServer({self.path.name!r}, base_url={self.base_url!r}, generation={self.generation})"

    @property
    def pid(self) -> int | None:
        """The running server's process id (None when none runs)."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def ensure(self) -> tuple[str, int]:
        """(base URL, generation) of a running server, started (or restarted) first if need be.

        Blocks until the server answers; ConfigError with its log tail when it exits or does not
        answer within ``startup_timeout``."""
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                return self.base_url, self.generation
            if self._process is not None:  # died while nobody was asking: no item to fail
                self._note_exit()
                log.warning("local model server had exited; starting it again")
            self._start()
            return self.base_url, self.generation

    def crashed(self, generation: int) -> str | None:
        """The failure reason when the server of ``generation`` died (restarting it), else None."""
        with self._lock:
            if generation == self.generation and self._process is not None:
                try:  # the connection drops as the process dies; its exit status follows at once
                    self._process.wait(timeout=1.0)
                except subprocess.TimeoutExpired:
                    return None  # alive: the error was something else
                self._note_exit()
                self._start()
            code = self._exits.get(generation)
            return None if code is None else crash_reason(code)

    def stop(self) -> None:
        """Stop the server (terminate, then kill after 10 s); a no-op when none runs."""
        with self._lock:
            process, self._process = self._process, None
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            self._close_log()

    # ---- internals (under the lock) ---------------------------------------------------------

    def _note_exit(self) -> None:
        assert self._process is not None
        code = self._process.returncode
        self._exits[self.generation] = code
        log.warning("local model server %s exited with %s: %s", self.base_url, code, self._log_tail()[-500:])
        self._process = None

    def _start(self) -> None:
        if importlib.util.find_spec("llama_cpp") is None:  # found, not imported: no native code in here
            raise ConfigError("local: llama-cpp-python is not installed; pip install 'llama-cpp-python[server]'")
        self._close_log()
        self._log = tempfile.NamedTemporaryFile(prefix="llama_server_", suffix=".log", delete=False)  # noqa: SIM115
        port = free_port()
        command = [
            sys.executable, "-m", "llama_cpp.server", "--model", str(self.path), "--model_alias", self.alias,
            "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(self.n_ctx),
            "--n_threads", str(self.n_threads), "--n_threads_batch", str(self.n_threads),
        ]  # fmt: skip
        self.generation += 1
        self.base_url = f"http://127.0.0.1:{port}/v1"
        self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
        log.info("local model server starting: %s (pid %s)", self.base_url, self._process.pid)
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        while True:
            code = self._process.poll()
            if code is not None:
                self._process = None
                raise ConfigError(f"local: the model server exited with {code} while starting: {self._last_words()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                self._process.kill()
                self._process.wait()
                self._process = None
                raise ConfigError(
                    f"local: the model server did not answer within {self.startup_timeout:.0f} s: {self._last_words()}"
                )
            time.sleep(0.25)

    def _log_tail(self) -> str:
        if self._log is None:
            return ""
        self._log.flush()
        text = Path(self._log.name).read_text(encoding="utf-8", errors="replace")
        return text[-_LOG_TAIL:].strip() or "(no output)"

    def _last_words(self) -> str:
        """The log tail of a server that failed to start; its log file is removed."""
        tail = self._log_tail()
        self._close_log()
        return tail

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            Path(self._log.name).unlink(missing_ok=True)
            self._log = None


_shared: dict[tuple[str, int, int], ModelServer] = {}
_shared_lock = threading.Lock()


def shared_server(path: Path, alias: str, *, n_ctx: int, n_threads: int) -> ModelServer:
    """The process's server for this file and settings (made, not started, on first ask)."""
    key = (str(path), n_ctx, n_threads)
    with _shared_lock:
        if key not in _shared:
            if not _shared:
                atexit.register(stop_shared)
            _shared[key] = ModelServer(path, alias, n_ctx=n_ctx, n_threads=n_threads)
        return _shared[key]


def stop_shared() -> None:
    """Stop every shared server (registered with atexit)."""
    with _shared_lock:
        servers = list(_shared.values())
    for server in servers:
        server.stop()
