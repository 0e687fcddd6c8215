"""A scripted month for the report tests: every way a dossier can start and end October
2025 at two units, and the figures counted by hand."""

from __future__ import annotations

from pathlib import Path

from helpers.story import Story
from streams.contract.events import DossierEvent, encode_event


def october() -> list[Story]:
    """A month at two units with every way a dossier can end it (October 2025: the 1st
    is a Wednesday).  Due dates are stated on the receipts, so each finish is Sớm, Đúng
    or Trễ hạn by its day alone."""
    return [
        # Unit A.
        Story("CARRIED")  # received in September: Số đầu kỳ; finished early in October
        .received("2025-09-25T09:00", unit="A", time_limit=None, due="2025-10-20T17:00")
        .complete("2025-10-15T10:00"),
        Story("EARLY")
        .received("2025-10-01T09:00", unit="A", time_limit=None, due="2025-10-10T17:00")
        .complete("2025-10-03T09:00"),
        Story("ON-TIME")  # on the due day, before the due instant
        .received("2025-10-02T09:00", unit="A", time_limit=None, due="2025-10-10T17:00")
        .complete("2025-10-10T15:00"),
        Story("LATE")
        .received("2025-10-02T09:00", unit="A", time_limit=None, due="2025-10-08T17:00")
        .complete("2025-10-14T09:00"),
        Story("OVERDUE").received(
            "2025-10-06T09:00", unit="A", time_limit=None, due="2025-10-20T17:00"
        ),
        Story("NOT-DUE").received(
            "2025-10-27T09:00", unit="A", time_limit=None, due="2025-11-10T17:00"
        ),
        Story("GONE")
        .received("2025-10-06T09:00", unit="A", time_limit=None, due="2025-10-20T17:00")
        .withdraw("2025-10-08T09:00"),
        Story("CLOSED")  # asked for documents in September that never come: carried
        # over, then closed when the 15 days end (Sat 11 October → 24:00 Mon 13 October)
        .received("2025-09-24T09:00", unit="A", time_limit=None, due="2025-10-20T17:00")
        .supplement("2025-09-26T09:00"),
        Story("DONE-IN-NOVEMBER")  # overdue at the end of October, finished after it
        .received("2025-10-20T09:00", unit="A", time_limit=None, due="2025-10-24T17:00")
        .complete("2025-11-05T09:00"),
        Story("MOVED-IN-NOVEMBER")  # A's at the end of October, whoever holds it later
        .received("2025-10-20T09:00", unit="A", time_limit=None, due="2025-11-20T17:00")
        .transfer("2025-11-03T09:00", "B", "A"),
        # Unit B.
        Story("PING-PONG")
        .received("2025-10-01T09:00", unit="B", time_limit=None, due="2025-10-30T17:00")
        .transfer("2025-10-02T09:00", "C", "B")
        .back("2025-10-03T09:00", "B", "C")
        .complete("2025-10-06T09:00"),
        Story("CONSULTED")
        .received("2025-10-01T09:00", unit="B", time_limit=None, due="2025-11-15T17:00")
        .consult("2025-10-02T09:00", "C", reply_due="2025-10-09T17:00")
        .answer("2025-10-05T09:00", "C"),
        # Outside October.
        Story("SEPTEMBER")
        .received("2025-09-01T09:00", unit="A", time_limit=None, due="2025-09-20T17:00")
        .complete("2025-09-10T09:00"),
        Story("NOVEMBER").received("2025-11-03T09:00", unit="A"),
    ]


HAND_COUNTED = {
    "A": {
        "carried_over": 2,  # CARRIED, CLOSED
        "received": 8,
        "finished_early": 2,  # CARRIED, EARLY
        "finished_on_time": 1,
        "finished_late": 1,
        "open_not_due": 2,  # NOT-DUE, MOVED-IN-NOVEMBER
        "open_overdue": 2,  # OVERDUE, DONE-IN-NOVEMBER
        "returned": 1,  # CLOSED
        "withdrawn": 1,
        "handled": 8,  # finished 4 + open 4
        "handled_on_time": 5,  # 3 finished by their due day, 2 open and not due
        "ping_pong": 0,
        "consulted": 0,
    },
    "B": {
        "carried_over": 0,
        "received": 2,
        "finished_early": 1,
        "finished_on_time": 0,
        "finished_late": 0,
        "open_not_due": 1,
        "open_overdue": 0,
        "returned": 0,
        "withdrawn": 0,
        "handled": 2,
        "handled_on_time": 2,
        "ping_pong": 1,
        "consulted": 1,
    },
}


def write_log(path: Path, stories: list[Story]) -> str:
    events = sorted((e for s in stories for e in s.events), key=lambda e: e.time)
    return write_events(path, events)


def write_events(path: Path, events: list[DossierEvent]) -> str:
    path.write_bytes(b"".join(encode_event(e) + b"\n" for e in events))
    return str(path)
