"""A social-security (BHXH) dossier's step history as polled: one JSON object a poll,
the same dossier again later with more steps.  Field names and formats: docs/adapters.md.

`Quatrinh` lists the steps (`Buoc`), each in a department (`Tenphongban`) with its
officer (`Canboxuly`) and its actions (`Lichsuquitrinhxulys`: `Hanhdong`, `Thoigianxuly`
as `dd/MM/yyyy HH:mm`); `info.Tthoso` (or `Tthoso` at the top) holds the dossier number,
the procedure's name, the appointment and the completion (`yyyy-MM-ddTHH:mm:ss`).
"""

from __future__ import annotations

from datetime import datetime

from streams.contract.events import DossierEvent
from streams.eventlogs.adapters.common import (
    DMY_HM,
    ISO_LOCAL,
    Events,
    InvalidPayload,
    items,
    local_time,
    obj,
    path,
    text,
)


def adapt(payload: object, source: str) -> list[DossierEvent]:
    body = obj(payload, "")
    info = body.get("info")
    if info is not None and "Tthoso" in obj(info, "info"):
        head, where = obj(info["Tthoso"], "info.Tthoso"), "info.Tthoso"
    elif "Tthoso" in body:
        head, where = obj(body["Tthoso"], "Tthoso"), "Tthoso"
    else:
        raise InvalidPayload("missing_field", "info.Tthoso", None, "or Tthoso at the top")
    dossier = text(head, "Sohoso", where, required=True)
    assert dossier is not None
    procedure = text(head, "Tenthutuc", where, required=True)
    due = local_time(head, "Ngayhentra", where, ISO_LOCAL)
    done = local_time(head, "Ngayxulyxong", where, ISO_LOCAL)

    actions: list[tuple[datetime, int, str, str | None]] = []
    for i, raw in enumerate(items(body.get("Quatrinh"), "Quatrinh")):
        at = path("Quatrinh", i)
        step = obj(raw, at)
        unit = text(step, "Tenphongban", at, required=True)
        assert unit is not None
        officer = text(step, "Canboxuly", at)
        history = path(at, "Lichsuquitrinhxulys")
        for j, entry in enumerate(items(step.get("Lichsuquitrinhxulys"), history)):
            when = local_time(
                obj(entry, path(history, j)),
                "Thoigianxuly",
                path(history, j),
                DMY_HM,
                required=True,
            )
            assert when is not None
            actions.append((when, len(actions), unit, officer))
    actions.sort()

    ev = Events(source, dossier, where)
    if actions:
        first, _, unit, _ = actions[0]
        ev.add("received", first, procedure=procedure, unit=unit, due=due)
        current = unit
        for when, _, here, officer in actions:
            if here != current:
                ev.add("transferred", when, from_unit=current, to_unit=here, officer=officer)
            else:
                ev.add("assigned", when, unit=here, officer=officer)
            current = here
    if done is not None:
        if not actions:
            raise InvalidPayload(
                "missing_field", "Quatrinh", None, "a finished dossier with no dated step"
            )
        ev.add("completed", done, outcome="approved")
    return ev.events()
