"""A loopback server answering as Google Translate (mobile page), MyMemory, DeepL and
LibreTranslate do, so deep-translator's own request and parsing code runs against it.

    with serve() as server:
        server.point_deep_translator(monkeypatch)   # BASE_URLS -> http://127.0.0.1:PORT/...
        server.libre_url                            # LibreTranslate takes a custom URL itself
        server.fail(429, times=2)                   # the next two requests get 429
        server.requests                             # requests received, per service

Translation is a deterministic stand-in: into a pivot language the text gets a ``[de]`` tag;
back into English the tags go and a few words change to synonyms (so a round trip differs
from the original); a text with none of those words comes back unchanged.
"""

from __future__ import annotations

import html
import json
import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

SYNONYMS = {"write": "compose", "describe": "portray", "give": "provide", "explain": "clarify", "short": "brief"}


def fake_translate(text: str, source: str, target: str) -> str:
    source, target = source.split("-")[0].lower(), target.split("-")[0].lower()
    if target != "en":
        return f"[{target}] {text}"
    text = re.sub(r"^(\[[a-z]{2}\] )+", "", text)

    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        new = SYNONYMS.get(word.lower())
        if new is None:
            return word
        return new.capitalize() if word[0].isupper() else new

    return re.sub(r"[A-Za-z]+", swap, text)


class TranslateServer:
    def __init__(self, httpd: ThreadingHTTPServer) -> None:
        self.httpd = httpd
        self.requests: Counter[str] = Counter()
        self.seen: list[dict[str, str]] = []
        self._faults: list[int] = []
        self._lock = threading.Lock()
        self.deepl_key = "test-key:fx"

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def libre_url(self) -> str:
        return f"{self.url}/libre/"

    def fail(self, status: int, times: int = 1) -> None:
        with self._lock:
            self._faults += [status] * times

    def take_fault(self) -> int | None:
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    def point_deep_translator(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Patch deep-translator's base-URL table (read when a translator is built) to this server."""
        from deep_translator import constants

        monkeypatch.setitem(constants.BASE_URLS, "GOOGLE_TRANSLATE", f"{self.url}/google/m")
        monkeypatch.setitem(constants.BASE_URLS, "MYMEMORY", f"{self.url}/mymemory/get")
        monkeypatch.setitem(constants.BASE_URLS, "DEEPL_FREE", f"{self.url}/deepl/{{version}}/")
        monkeypatch.setitem(constants.BASE_URLS, "DEEPL", f"{self.url}/deepl-pro/{{version}}/")
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.setenv(name, "127.0.0.1,localhost")


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, format: str, *args: Any) -> None:  # silence the default stderr log
        pass

    def do_GET(self) -> None:
        self._route()

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        self._route()

    def _route(self) -> None:
        owner: TranslateServer = self.server.owner
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        service = parts.path.strip("/").split("/")[0]
        owner.requests[service] += 1
        owner.seen.append({"service": service, "path": parts.path, **query})
        fault = owner.take_fault()
        if fault is not None:
            self._send(fault, "text/plain", b"injected failure")
        elif service == "google" and parts.path.endswith("/m"):
            # The mobile page deep-translator scrapes: the translation sits in div.result-container.
            text = fake_translate(query["q"], query.get("sl", "auto"), query["tl"])
            page = f'<html><body><div class="result-container">{html.escape(text)}</div></body></html>'
            self._send(200, "text/html; charset=utf-8", page.encode())
        elif service == "mymemory":
            source, target = query["langpair"].split("|")
            text = fake_translate(query["q"], source, target)
            self._json({"responseData": {"translatedText": text, "match": 1}, "matches": [], "responseStatus": 200})
        elif service == "deepl" and parts.path.endswith("/translate"):
            if query.get("auth_key") != owner.deepl_key:
                self._send(403, "application/json", b'{"message": "Wrong endpoint or key"}')
                return
            text = fake_translate(query["text"], query["source_lang"], query["target_lang"])
            self._json({"translations": [{"detected_source_language": query["source_lang"].upper(), "text": text}]})
        elif service == "libre" and parts.path.endswith("/translate"):
            self._json({"translatedText": fake_translate(query["q"], query["source"], query["target"])})
        else:
            self._send(404, "text/plain", b"not found")

    def _json(self, payload: dict[str, Any]) -> None:
        self._send(200, "application/json", json.dumps(payload).encode())

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def serve() -> Iterator[TranslateServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    server = TranslateServer(httpd)
    httpd.owner = server  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
