"""OpenCPS (VietOpenCPS/opencps-v2): a dossier as its REST API gives it, with its
action log under `actions` (the dossier actions, oldest first or not: they are sorted).
Field names and status codes: docs/adapters.md, with the source files they come from.

OpenCPS writes dates two ways in the same JSON: `dd/MM/yyyy HH:mm:ss` (the fields it
converts) and the search index's `yyyyMMddHHmmss` (those it passes through); both are
local time, and each shape has one reading, so both are taken.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from streams.contract.events import DossierEvent
from streams.eventlogs.adapters.common import (
    COMPACT,
    DMY_HMS,
    Events,
    InvalidPayload,
    code,
    flag,
    items,
    local_time,
    obj,
    path,
    text,
)

FORMATS = {**COMPACT, **DMY_HMS}

BEFORE_RECEIPT = ("new", "collecting", "receiving")
IN_PROGRESS = (
    "interoperating",
    "processing",
    "paying",
    "handover",
    "releasing",
    "posting",
    "pausing",
)
SUPPLEMENT = ("waiting", "correcting")
REFUSED = ("denied", "unresolved")
WITHDRAWN = ("cancelling", "cancelled")
DONE = ("done",)

STATUS = {
    **{s: "before receipt" for s in BEFORE_RECEIPT},
    **{s: "in progress" for s in IN_PROGRESS},
    **{s: "waiting for the citizen" for s in SUPPLEMENT},
    **{s: "refused" for s in REFUSED},
    **{s: "withdrawn" for s in WITHDRAWN},
    "done": "done",
}
"""dossierStatus (DossierTerm.DOSSIER_STATUS_*, DossierStatusConstants)."""

BOOLEAN_WORDS = {"true": True, "false": False}


def _time(
    rec: Mapping[str, Any], key: str, where: str, *, required: bool = False
) -> datetime | None:
    return local_time(rec, key, where, FORMATS, required=required)


def adapt(payload: object, source: str) -> list[DossierEvent]:
    rec = obj(payload, "")
    dossier = text(rec, "referenceUid", "", required=True)
    assert dossier is not None
    status = code(rec, "dossierStatus", "", STATUS, required=True)
    assert status is not None
    online = flag(rec, "online", "", BOOLEAN_WORDS)
    unit = text(rec, "govAgencyCode", "", required=True)
    text(rec, "dossierNo", "")
    submitted = _time(rec, "submitDate", "")
    received = _time(rec, "receiveDate", "")
    due = _time(rec, "dueDate", "")
    released = _time(rec, "releaseDate", "")
    finished = _time(rec, "finishDate", "")
    cancelling = _time(rec, "cancellingDate", "")
    correcting = _time(rec, "correctingDate", "")
    _time(rec, "extendDate", "")
    ev = Events(source, dossier, "")
    channel = "online" if online else "direct"

    actions: list[tuple[datetime, str, Mapping[str, Any]]] = []
    for i, raw in enumerate(items(rec.get("actions"), "actions")):
        at = path("actions", i)
        action = obj(raw, at)
        when = _time(action, "createDate", at, required=True)
        assert when is not None
        _time(action, "dueDate", at)
        actions.append((when, at, action))
    actions.sort(key=lambda a: a[0])
    last_action = actions[-1][0] if actions else None

    if submitted is not None and (received is None or submitted < received):
        ev.add("submitted", submitted, unit=unit, channel=channel)
    if received is not None:
        procedure = text(rec, "serviceCode", "", required=True)
        ev.add("received", received, procedure=procedure, unit=unit, channel=channel, due=due)
    elif status not in BEFORE_RECEIPT + REFUSED + WITHDRAWN:
        raise InvalidPayload("missing_field", "receiveDate", None, f"status {status!r} needs it")

    for when, at, action in actions:
        ev.add(
            "assigned",
            when,
            unit=unit,
            officer=text(action, "actionUser", at),
            step_due=_time(action, "dueDate", at),
        )

    def moment(key: str, value: datetime | None) -> datetime:
        if value is not None:
            return value
        if last_action is not None:
            return last_action
        raise InvalidPayload(
            "missing_field", key, None, f"status {status!r} needs it (or an action)"
        )

    if status in SUPPLEMENT:
        ev.add("supplement_requested", moment("correctingDate", correcting))
    elif status in REFUSED:
        ev.add("completed", moment("releaseDate", released or finished), outcome="refused")
    elif status in WITHDRAWN:
        ev.add("withdrawn", moment("cancellingDate", cancelling))
    elif status in DONE:
        if released is None and finished is None:
            raise InvalidPayload(
                "missing_field", "releaseDate", None, "status 'done' needs it or finishDate"
            )
        if released is not None:
            ev.add("completed", released, outcome="approved")
        if finished is not None:
            ev.add("delivered", finished)
    return ev.events()
