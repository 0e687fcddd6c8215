"""Per-dossier state: small enough to keep millions of open dossiers in memory.

Everything a detector needs lives here, so the same state serialises into a Faust
table and rebuilds a replay.  Rarely used facts (consultations, supplements, open
alerts) live in `Extra`, which most dossiers never allocate.
"""

from __future__ import annotations

from enum import IntEnum

import msgspec


class Status(IntEnum):
    """Where a dossier stands; stored as its small int, so a state stays compact."""

    NEW = 0  # events seen, but no submission or receipt yet
    SUBMITTED = 1  # online submission acknowledged, not yet accepted
    OPEN = 2  # accepted: the time limit runs
    SUPPLEMENT = 3  # waiting for the citizen's documents: the time limit is stopped
    COMPLETED = 4
    DELIVERED = 5
    WITHDRAWN = 6
    CLOSED = 7  # the supplement never came (art 19(5))


NEW, SUBMITTED, OPEN, SUPPLEMENT = Status.NEW, Status.SUBMITTED, Status.OPEN, Status.SUPPLEMENT
COMPLETED, DELIVERED, WITHDRAWN, CLOSED = (
    Status.COMPLETED,
    Status.DELIVERED,
    Status.WITHDRAWN,
    Status.CLOSED,
)
FINISHED = frozenset({COMPLETED, DELIVERED, WITHDRAWN, CLOSED})

TRAIL_UNITS = 8
"""Units kept with their arrival times, for ping-pong evidence."""


class Rewind(msgspec.Struct, array_like=True, gc=False):
    """What the timers changed since the dossier's last event, so that a late event can be
    applied in event time: the state as the last event left it is these fields put back.

    Timers change only these (fired bits, the status on closure, the cached next level,
    the alerts fired and open, the consultations' late flags); `judged` is the stream
    instant the timers were brought up to, `latest` the latest instant one fired at."""

    judged: int
    latest: int
    fired: int
    status: Status
    deadline_next: int | None
    emitted: int  # how many alert ids the dossier had emitted
    open: tuple[tuple[str, str | None], ...]
    pending: tuple[tuple[str, str, int, bool], ...]


class Extra(msgspec.Struct, array_like=True, gc=False):
    unit_bounces: int = 0
    officer_bounces: int = 0
    supplements: int = 0
    supplement_at: int | None = None
    supplement_wait: int = 0  # seconds the citizen held the dossier (766 subtracts it)
    reschedules: int = 0
    consultations: int = 0
    pending: tuple[tuple[str, str, int, bool], ...] = ()  # (unit, id, reply_due, late_fired)
    emitted: tuple[str, ...] = ()  # every alert id ever fired for this dossier
    open: tuple[tuple[str, str | None], ...] = ()  # firing alerts: (id, unit)
    completed_at: int | None = None
    late: bool = False
    rewind: Rewind | None = None  # set while timers have fired since the last event
    appointed: int | None = None  # a re-appointed date given unlawfully: shown, not judged by
    steps: tuple[tuple[str, int, int, int], ...] = ()  # routing slip: (unit, arrived, due, left|0)
    paper_due: int | None = None  # the paper file must cross levels by then; 0 once it has


class Dossier(msgspec.Struct, array_like=True, gc=False):
    id: str
    policy: int = 0
    status: Status = Status.NEW
    procedure: str = ""
    group: str = ""
    unit: str | None = None
    officer: str | None = None
    limit: str | None = None  # "15wd"…; None when the due date came from the receipt
    received_at: int | None = None
    start: int | None = None  # when the time limit runs from (restarts after a supplement);
    # while only submitted online, the submission instant
    due: int | None = None
    deadline_next: int | None = None  # exact instant of the next deadline level, cached
    last_at: int = 0  # latest event time applied: the dossier's clock never goes back
    since: int = 0  # last progress, for the stall detector
    fired: int = 0  # bits: timer alerts fired in the current deadline epoch
    trail: tuple[str | int, ...] = ()  # flat (unit, since, unit, since, ...), collapsed
    officers: tuple[str | int, ...] = ()  # flat (officer, since, ...), collapsed
    seen_units: tuple[str, ...] = ()  # distinct units visited, capped
    seen: bytes = b""  # every event applied: 8-byte identity + 4-byte content digest each
    wake: int | None = None  # when the timer index will look at this dossier next
    source: str = ""  # the system that sent its latest event: whose stream clock judges it
    x: Extra | None = None

    def extra(self) -> Extra:
        if self.x is None:
            self.x = Extra()
        return self.x

    @property
    def status_name(self) -> str:
        return self.status.name.lower()


# Bits of `Dossier.fired` beyond the deadline levels (bits 0–9).
STALL_BIT = 1 << 12
TRANSFER_BIT = 1 << 13
ACCEPTANCE_BIT = 1 << 14
EXPIRY_BIT = 1 << 15
INTAKE_BIT = 1 << 16
STEP_BIT = 1 << 17  # the open routing-slip step's lateness fired
PAPER_BIT = 1 << 18  # the paper file's lateness fired
DEADLINE_MASK = (1 << 12) - 1

_state_encoder = msgspec.msgpack.Encoder()
_state_decoder = msgspec.msgpack.Decoder(Dossier)


def encode_state(d: Dossier) -> bytes:
    return _state_encoder.encode(d)


def decode_state(raw: bytes | memoryview) -> Dossier:
    return _state_decoder.decode(raw)
