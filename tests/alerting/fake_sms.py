"""A local stand-in for an SMS gateway: records each request and answers as scripted.

`script` answers the next requests in turn: an HTTP status (then a JSON body {"code":
"99"} for a 2xx, as a gateway refusing in its body would) or 0 for success ({"code": "0",
"id": …}).  Once the script is spent, every request succeeds.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fake_zalo import reply_json


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    fields: dict[str, Any]
    status: int
    ok: bool


class FakeSms:
    def __init__(self, script: tuple[int, ...] = ()) -> None:
        self.script = list(script)
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                split = urllib.parse.urlsplit(self.path)
                kind = self.headers.get_content_type()
                fields: dict[str, Any]
                if kind == "application/json":
                    fields = json.loads(body)
                elif kind == "application/x-www-form-urlencoded":
                    fields = dict(urllib.parse.parse_qsl(body.decode()))
                else:
                    fields = dict(urllib.parse.parse_qsl(split.query))
                with outer._lock:
                    step = outer.script.pop(0) if outer.script else 0
                    status = step or 200
                    outer.requests.append(
                        Request(
                            self.command, split.path, dict(self.headers), fields, status, step == 0
                        )
                    )
                    n = len(outer.requests)
                answer = {"code": "0", "id": f"sms{n}"} if step == 0 else {"code": "99"}
                reply_json(self, status, answer)

            do_POST = do_GET = do_PUT = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def delivered(self) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.ok]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
