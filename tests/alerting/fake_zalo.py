"""A local stand-in for the Zalo OA API that checks the documented request shapes.

POST /v3.0/oa/message/cs: header access_token, JSON {"recipient": {"user_id"}, "message":
{"text"}} and nothing else.  POST /v4/oa/access_token: header secret_key, form app_id,
grant_type=refresh_token, refresh_token (each refresh token works once).  Errors come as
HTTP 200 with a non-zero `error`, as Zalo answers them.  Scripted trouble: the first send
finds its token expired (-216), the first send after the refresh hits the rate limit (-32).
POST /message/template (ZNS): header access_token, JSON {"phone": "84…", "template_id",
"template_data": {name: string}, "tracking_id"} and nothing else; `zns_script` answers the
next calls in turn (a positive number an HTTP status, a negative one a ZNS error code).
`oa_unreachable` users get -230 from the OA send (no interaction in the last 7 days).
Anything off-shape is recorded in `problems`, which a test expects to stay empty.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Call:
    path: str
    at: float
    answer: dict[str, Any]
    token: str = ""
    user_id: str = ""
    text: str = ""
    phone: str = ""
    template_id: str = ""
    params: dict[str, str] | None = None
    tracking_id: str = ""


def reply_json(handler: BaseHTTPRequestHandler, status: int, answer: dict[str, Any]) -> None:
    """Answer a request of a fake provider with `answer` as JSON."""
    raw = json.dumps(answer).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(raw)))
    handler.end_headers()
    handler.wfile.write(raw)


class FakeZalo:
    def __init__(
        self,
        *,
        app_id: str = "app-42",
        secret_key: str = "s3cret",
        access_token: str = "AT-1",
        refresh_token: str = "RT-1",
        expire_first: bool = True,
        rate_limit_after_refresh: bool = True,
        refused_users: tuple[str, ...] = (),
        oa_unreachable: tuple[str, ...] = (),
        zns_script: tuple[int, ...] = (),
    ) -> None:
        self.app_id = app_id
        self.secret_key = secret_key
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.expire_first = expire_first
        self.rate_limit_after_refresh = rate_limit_after_refresh
        self.refused_users = refused_users
        self.oa_unreachable = oa_unreachable
        self.zns_script = list(zns_script)
        self.calls: list[Call] = []
        self.problems: list[str] = []
        self.refreshes = 0
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = 200
                with outer._lock:
                    if self.path == "/v3.0/oa/message/cs":
                        answer = outer._send(self.headers, body)
                    elif self.path == "/message/template":
                        status, answer = outer._template(self.headers, body)
                    elif self.path == "/v4/oa/access_token":
                        answer = outer._refresh(self.headers, body)
                    else:
                        outer.problems.append(f"unknown path {self.path}")
                        answer = {"error": -209, "message": "Not supported this api"}
                reply_json(self, status, answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def delivered(self) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.path.endswith("/cs") and c.answer["error"] == 0]

    @property
    def templates(self) -> list[Call]:
        """ZNS messages delivered."""
        with self._lock:
            return [
                c for c in self.calls if c.path == "/message/template" and c.answer["error"] == 0
            ]

    def _template(self, headers: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        now = time.monotonic()
        token = headers.get("access_token", "")
        if headers.get_content_type() != "application/json":
            self.problems.append(f"template as {headers.get_content_type()}")
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if not isinstance(data, dict) or set(data) != {
            "phone",
            "template_id",
            "template_data",
            "tracking_id",
        }:
            self.problems.append(f"template body {data!r}")
            data = {}
        phone, template_id = data.get("phone", ""), data.get("template_id", "")
        params, tracking = data.get("template_data", {}), data.get("tracking_id", "")
        if not isinstance(phone, str) or not re.fullmatch(r"84[35789][0-9]{8}", phone):
            self.problems.append(f"phone {phone!r}")
        if not isinstance(params, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in params.items()
        ):
            self.problems.append(f"template_data {params!r}")
        if not isinstance(tracking, str) or not 0 < len(tracking) <= 48:
            self.problems.append(f"tracking_id {tracking!r}")
        status, answer = 200, {"error": 0, "message": "Success"}
        step = self.zns_script.pop(0) if self.zns_script else 0
        if token != self.access_token:
            answer = {"error": -124, "message": "Access token invalid"}
        elif step > 0:
            status, answer = step, {"error": -1, "message": f"HTTP {step}"}
        elif step < 0:
            answer = {"error": step, "message": "scripted error"}
        else:
            answer["data"] = {"msg_id": f"zns{len(self.calls)}", "sent_time": str(int(now))}
        self.calls.append(
            Call(
                "/message/template",
                now,
                answer,
                token,
                "",
                "",
                phone,
                template_id,
                params,
                tracking,
            )
        )
        return status, answer

    def _send(self, headers: Any, body: bytes) -> dict[str, Any]:
        now = time.monotonic()
        token = headers.get("access_token", "")
        if not token:
            self.problems.append("send without an access_token header")
        if headers.get_content_type() != "application/json":
            self.problems.append(f"send as {headers.get_content_type()}, not application/json")
        try:
            data = json.loads(body)
        except ValueError:
            self.problems.append("send body is not JSON")
            data = {}
        user, text = "", ""
        if not isinstance(data, dict) or set(data) != {"recipient", "message"}:
            self.problems.append(
                f"send body keys {sorted(data) if isinstance(data, dict) else data}"
            )
        else:
            recipient, message = data["recipient"], data["message"]
            if not isinstance(recipient, dict) or set(recipient) != {"user_id"}:
                self.problems.append(f"recipient {recipient!r}")
            else:
                user = recipient["user_id"]
            if not isinstance(message, dict) or set(message) != {"text"}:
                self.problems.append(f"message {message!r}")
            else:
                text = message["text"]
            if not isinstance(user, str) or not user:
                self.problems.append(f"user_id {user!r}")
            if not isinstance(text, str) or not text or len(text) > 2000:
                self.problems.append(f"text of {len(text)} characters")
        answer: dict[str, Any]
        if self.expire_first:
            # The token the adapter holds has just expired.
            self.expire_first = False
            self.access_token = "expired"
            answer = {"error": -216, "message": "Access token is invalid"}
        elif token != self.access_token:
            answer = {"error": -216, "message": "Access token is invalid"}
        elif self.rate_limit_after_refresh and self.refreshes:
            self.rate_limit_after_refresh = False
            answer = {"error": -32, "message": "Your application reached limit call api"}
        elif user in self.refused_users:
            answer = {"error": -213, "message": "User has not followed OA"}
        elif user in self.oa_unreachable:
            answer = {"error": -230, "message": "User has not interacted with the OA in 7 days"}
        else:
            answer = {
                "error": 0,
                "message": "Success",
                "data": {"message_id": f"m{len(self.calls)}", "user_id": user},
            }
        self.calls.append(Call("/v3.0/oa/message/cs", now, answer, token, user, text))
        return answer

    def _refresh(self, headers: Any, body: bytes) -> dict[str, Any]:
        now = time.monotonic()
        if headers.get("secret_key") != self.secret_key:
            self.problems.append(f"refresh with secret_key {headers.get('secret_key')!r}")
        if headers.get_content_type() != "application/x-www-form-urlencoded":
            self.problems.append(f"refresh as {headers.get_content_type()}")
        form = dict(urllib.parse.parse_qsl(body.decode()))
        expected = {"app_id", "grant_type", "refresh_token"}
        if set(form) != expected:
            self.problems.append(f"refresh form {sorted(form)}")
        if form.get("app_id") != self.app_id or form.get("grant_type") != "refresh_token":
            self.problems.append(f"refresh form {form}")
        answer: dict[str, Any]
        if form.get("refresh_token") != self.refresh_token:
            self.problems.append(f"refresh token {form.get('refresh_token')!r} is not current")
            answer = {"error": -14020, "error_name": "Invalid refresh token"}
        else:
            self.refreshes += 1
            n = self.refreshes + 1
            self.access_token, self.refresh_token = f"AT-{n}", f"RT-{n}"
            answer = {
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "expires_in": "90000",
            }
        self.calls.append(Call("/v4/oa/access_token", now, answer))
        return answer
