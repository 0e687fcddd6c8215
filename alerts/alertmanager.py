"""A small client of Alertmanager's API v2: post alerts, find one by its alert id.

POST /api/v2/alerts takes a JSON array of {labels, annotations, startsAt, endsAt,
generatorURL}; labels identify the alert, so posting the same labels again refreshes it
and posting them with `endsAt` now resolves it.  A 400 means the batch holds an alert
Alertmanager will never accept; anything else that is not a 200 may pass.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any, cast

from alerts.firing import Postable
from streams.contract.errors import AlertDeliveryError


class Unavailable(AlertDeliveryError):
    """Alertmanager did not take the request; trying again later may succeed."""


class Rejected(AlertDeliveryError):
    """Alertmanager refused the request as invalid; sending it again will not help."""


class AlertmanagerClient:
    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def post(self, alerts: Sequence[Postable]) -> None:
        body = json.dumps(list(alerts), ensure_ascii=False).encode()
        request = urllib.request.Request(
            f"{self.base_url}/api/v2/alerts",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        self._send(request)

    def find(self, alert_id: str) -> list[Postable]:
        """The alerts Alertmanager holds with this `alert_id` label (active or not)."""
        quoted = alert_id.replace("\\", "\\\\").replace('"', '\\"')
        query = urllib.parse.urlencode({"filter": f'alert_id="{quoted}"'})
        request = urllib.request.Request(f"{self.base_url}/api/v2/alerts?{query}")
        found = cast(list[dict[str, Any]], json.loads(self._send(request) or b"[]"))
        return [
            {
                "labels": a["labels"],
                "annotations": a.get("annotations", {}),
                "startsAt": a["startsAt"],
                "generatorURL": a.get("generatorURL", ""),
            }
            for a in found
        ]

    def _send(self, request: urllib.request.Request) -> bytes:
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return cast(bytes, response.read())
        except urllib.error.HTTPError as err:
            detail = err.read()[:500].decode(errors="replace")
            if 400 <= err.code < 500 and err.code not in (408, 429):
                raise Rejected(f"HTTP {err.code}: {detail}") from None
            raise Unavailable(f"HTTP {err.code}: {detail}") from None
        except (OSError, TimeoutError) as err:
            # URLError, connection refused or reset, DNS failure, timeout.
            raise Unavailable(str(getattr(err, "reason", err))) from None
