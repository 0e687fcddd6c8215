"""Write a dossier's story in a few lines: events with local times and sequential ids."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from streams.contract.events import DossierEvent, event_from_dict
from streams.core.calendar import to_instant


def at(local: str) -> int:
    """'2025-09-08T09:00' (local time, +07:00) → epoch seconds."""
    return to_instant(datetime.fromisoformat(local + "+07:00"))


def iso(local: str) -> str:
    return local + ("" if local.count(":") >= 2 else ":00") + "+07:00"


class Story:
    def __init__(self, dossier: str = "HS-1") -> None:
        self.dossier = dossier
        self.events: list[DossierEvent] = []

    def add(self, kind: str, when: str, **data: Any) -> Story:
        self.events.append(
            event_from_dict(
                {
                    "specversion": "1.0",
                    "id": f"{self.dossier}-{len(self.events) + 1}",
                    "source": "test",
                    "type": f"dossier.{kind}",
                    "time": iso(when),
                    "subject": self.dossier,
                    "data": data,
                }
            )
        )
        return self

    def submitted(self, when: str, unit: str = "ONE_STOP") -> Story:
        return self.add("submitted", when, unit=unit, channel="online")

    def received(
        self,
        when: str,
        *,
        procedure: str = "P",
        unit: str = "ONE_STOP",
        time_limit: str | None = "5wd",
        due: str | None = None,
    ) -> Story:
        data: dict[str, Any] = {"procedure": procedure, "unit": unit}
        if time_limit:
            data["time_limit"] = time_limit
        if due:
            data["due"] = iso(due)
        return self.add("received", when, **data)

    def transfer(
        self,
        when: str,
        to: str,
        frm: str = "?",
        officer: str | None = None,
        *,
        step_due: str | None = None,
        across_levels: bool = False,
        medium: str = "electronic",
    ) -> Story:
        data: dict[str, Any] = {"from_unit": frm, "to_unit": to}
        if officer:
            data["officer"] = officer
        if step_due:
            data["step_due"] = iso(step_due)
        if across_levels:
            data["across_levels"] = True
            data["medium"] = medium
        return self.add("transferred", when, **data)

    def back(self, when: str, to: str, frm: str = "?") -> Story:
        return self.add("returned", when, from_unit=frm, to_unit=to)

    def assign(self, when: str, unit: str, officer: str | None = None) -> Story:
        return self.add("assigned", when, unit=unit, officer=officer)

    def consult(self, when: str, unit: str, reply_due: str, cid: str | None = None) -> Story:
        return self.add(
            "consultation_requested",
            when,
            consulted_unit=unit,
            reply_due=iso(reply_due),
            consultation_id=cid,
        )

    def answer(self, when: str, unit: str, cid: str | None = None) -> Story:
        return self.add("consultation_answered", when, consulted_unit=unit, consultation_id=cid)

    def supplement(self, when: str) -> Story:
        return self.add("supplement_requested", when)

    def supplied(self, when: str) -> Story:
        return self.add("supplement_received", when)

    def reschedule(self, when: str, new_due: str) -> Story:
        return self.add("rescheduled", when, new_due=iso(new_due), reason="test")

    def complete(self, when: str, outcome: str = "approved") -> Story:
        return self.add("completed", when, outcome=outcome)

    def withdraw(self, when: str) -> Story:
        return self.add("withdrawn", when)
