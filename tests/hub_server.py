"""A stand-in for the Hugging Face Hub's write API on 127.0.0.1, for `augment export --push-to-hub`.

It answers the three calls huggingface_hub makes to commit small files: create a repository,
"preupload" (every file is told to go "regular", inline in the commit, so no LFS or Xet storage is
involved) and the NDJSON commit. What it receives is kept in ``repos`` for the test to compare
with the local export. A real Hub sends large files through LFS/Xet, which this does not cover.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class HubRepo:
    private: bool
    files: dict[str, bytes] = field(default_factory=dict)
    commits: int = 0


class HubServer:
    """``with HubServer(token="hf_x") as hub: ...`` serves at ``hub.url``; a wrong token gets 401."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.repos: dict[str, HubRepo] = {}
        self.authorizations: list[str] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                auth = self.headers.get("Authorization", "")
                hub.authorizations.append(auth)
                if auth != f"Bearer {hub.token}":
                    return self._json(401, {"error": "Invalid credentials in Authorization header"})
                parts = self.path.split("?")[0].strip("/").split("/")
                if parts[:3] == ["api", "repos", "create"]:
                    data = json.loads(body)
                    name = f"{data.get('organization') or 'user'}/{data['name']}"
                    if name in hub.repos:
                        return self._json(409, {"error": "You already created this dataset repo", "url": name})
                    hub.repos[name] = HubRepo(private=data.get("visibility") == "private" or bool(data.get("private")))
                    return self._json(200, {"url": f"{hub.url}/datasets/{name}", "name": name})
                if len(parts) == 6 and parts[:2] == ["api", "datasets"] and parts[4] == "preupload":
                    files = json.loads(body)["files"]
                    answer = [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]
                    return self._json(200, {"files": answer})
                if len(parts) == 6 and parts[:2] == ["api", "datasets"] and parts[4] == "commit":
                    repo = hub.repos.get(f"{parts[2]}/{parts[3]}")
                    if repo is None:
                        return self._json(404, {"error": "Repository not found"})
                    for line in body.splitlines():
                        item = json.loads(line)
                        if item["key"] == "file":
                            repo.files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
                    repo.commits += 1
                    oid = f"{repo.commits:040x}"
                    url = f"{hub.url}/datasets/{parts[2]}/{parts[3]}/commit/{oid}"
                    return self._json(200, {"commitOid": oid, "commitUrl": url})
                return self._json(404, {"error": f"not served here: {self.path}"})

            def _json(self, status: int, data: dict[str, Any]) -> None:
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> HubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
