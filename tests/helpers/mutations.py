"""Grammar-aware mutations of dossier CloudEvents, to fuzz the boundary every message
crosses (streams/core/boundary.py).

A message starts as a valid event of one of the stories below (every one of the 13
`dossier.*` types occurs), written as JSON pairs so that a key may repeat; then some of
its fields are mutated, each within the grammar of that field (dates at the window's
edges, time limits at their bounds, unknown types…) or out of it (another JSON type, bad
text, nesting); then perhaps its bytes (truncation, flips, garbage), and its message
key.  A few messages are not events at all (random bytes, JSON tokens).

One table of mutations drives two generators, so both explore the same grammar: the
hypothesis strategy `cases` (the CI property, shrinkable: option 0 is always the
simplest) and `random_case(random.Random)` (the bench loop, 10⁶ messages).  Both call
`case` through a `Draw`.  The stories also serve as the after-the-poison check: a
rejected message must leave its dossier exactly as if it never came.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from json.encoder import encode_basestring
from typing import Any, Protocol, TypeVar

import msgspec
from hypothesis import strategies as st

from streams.contract.alerts import Alert
from streams.contract.events import MAX_EVENT_BYTES, TYPE_NAMES, DossierEvent
from streams.core.boundary import Reject, take
from streams.core.calendar import to_instant
from streams.core.engine import Engine
from streams.core.policy import PolicyBook
from streams.worker.core import TableStates, WorkerCore

T = TypeVar("T")

# -- draws: where the choices come from ------------------------------------------------


class Draw(Protocol):
    """The choices a mutation makes; index 0 of any option list is the simplest."""

    def index(self, n: int) -> int:
        """0 <= i < n."""
        ...

    def integer(self, lo: int, hi: int) -> int: ...

    def blob(self, max_size: int) -> bytes: ...

    def text(self, max_size: int) -> str: ...


ALPHABET = (
    "aZ09-_./:+ \"\\'{}[],"  # JSON's own punctuation, inside strings
    "ồễđĐưƠ"  # Vietnamese letters (multi-byte UTF-8)
    "\x00\x01\x1f\x7f\u2028\u202e\ufeff\u0301\uffff🙂"  # controls, bidi, BOM, astral
)


class RandomDraw:
    """Choices from a seeded `random.Random`: the bench's fast loop."""

    __slots__ = ("rng",)

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def index(self, n: int) -> int:
        return int(self.rng.random() * n)

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def blob(self, max_size: int) -> bytes:
        return self.rng.randbytes(self.rng.randint(0, max_size))

    def text(self, max_size: int) -> str:
        choices = self.rng.choices(ALPHABET, k=self.rng.randint(0, max_size))
        return "".join(choices)


class HypothesisDraw:
    """Choices from hypothesis' `draw` (inside `st.composite`): shrinkable."""

    __slots__ = ("draw",)

    _text = st.sampled_from(ALPHABET) | st.characters()

    def __init__(self, draw: Callable[[st.SearchStrategy[Any]], Any]) -> None:
        self.draw = draw

    def index(self, n: int) -> int:
        i: int = self.draw(st.integers(0, n - 1))
        return i

    def integer(self, lo: int, hi: int) -> int:
        i: int = self.draw(st.integers(lo, hi))
        return i

    def blob(self, max_size: int) -> bytes:
        b: bytes = self.draw(st.binary(max_size=max_size))
        return b

    def text(self, max_size: int) -> str:
        s: str = self.draw(st.text(self._text, max_size=max_size))
        return s


def pick(draw: Draw, options: Sequence[T]) -> T:
    return options[draw.index(len(options))]


# -- JSON with room for what json.dumps will not write ---------------------------------


@dataclass(frozen=True, slots=True)
class Raw:
    """A JSON fragment written as is: NaN, a lone surrogate escape, invalid UTF-8…"""

    text: bytes


class Obj(list[tuple[str | Raw, Any]]):
    """A JSON object as its pairs, in order, so a key can occur twice."""

    def find(self, key: str) -> int | None:
        for i in range(len(self) - 1, -1, -1):  # the last one: what a decoder keeps
            if self[i][0] == key:
                return i
        return None

    def get(self, key: str) -> Any:
        i = self.find(key)
        return None if i is None else self[i][1]


def to_obj(value: Any) -> Any:
    if isinstance(value, dict):
        return Obj((k, to_obj(v)) for k, v in value.items())
    return value


def encode(value: Any) -> bytes:
    out: list[bytes] = []
    _encode(value, out)
    return b"".join(out)


@lru_cache(maxsize=4096)  # the stories' keys and values recur in every message
def _string(s: str) -> bytes:
    # surrogatepass: a lone surrogate in a str becomes CESU-8 bytes, invalid UTF-8
    return encode_basestring(s).encode("utf-8", "surrogatepass")


def _encode(value: Any, out: list[bytes]) -> None:
    if isinstance(value, Raw):
        out.append(value.text)
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, Obj):
        out.append(b"{")
        for i, (k, v) in enumerate(value):
            if i:
                out.append(b",")
            _encode(k, out)
            out.append(b":")
            _encode(v, out)
        out.append(b"}")
    elif isinstance(value, list):
        out.append(b"[")
        for i, v in enumerate(value):
            if i:
                out.append(b",")
            _encode(v, out)
        out.append(b"]")
    else:  # None, bool, int, float (NaN and Infinity as json.dumps writes them)
        out.append(json.dumps(value).encode())


def nested(depth: int, kind: int = 0) -> Raw:
    """A value nested `depth` deep: lists, objects, or both alternating."""
    if kind == 0:
        return Raw(b"[" * depth + b"]" * depth)
    if kind == 1:
        return Raw(b'{"a":' * depth + b"1" + b"}" * depth)
    return Raw(b'[{"a":' * (depth // 2) + b"0" + b"}]" * (depth // 2))


# -- the stories: valid events of every type -------------------------------------------

LOCAL = timezone(timedelta(hours=7))
LOCAL_ISO = "{}+07:00"


def _event(dossier: str, source: str, n: int, kind: str, when: str, **data: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": f"{dossier}-{n}",
        "source": source,
        "type": f"dossier.{kind}",
        "time": LOCAL_ISO.format(when),
        "subject": dossier,
        "datacontenttype": "application/json",
        "data": data,
    }


def story(dossier: str, source: str, steps: Sequence[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Events of one dossier from (kind, local time, data) steps."""
    return [_event(dossier, source, n, k, w, **d) for n, (k, w, d) in enumerate(steps, 1)]


def _due(when: str) -> str:
    return LOCAL_ISO.format(when)


HANDLED = [  # a dossier that goes everywhere: all types but withdrawn
    ("submitted", "2025-09-08T08:00:00", {"unit": "ONE_STOP", "channel": "online"}),
    (
        "received",
        "2025-09-08T09:00:00",
        {"procedure": "P", "unit": "ONE_STOP", "time_limit": "5wd"},
    ),
    ("assigned", "2025-09-08T09:30:00", {"unit": "ONE_STOP", "officer": "O1"}),
    ("transferred", "2025-09-08T10:00:00", {"from_unit": "ONE_STOP", "to_unit": "A"}),
    ("returned", "2025-09-09T10:00:00", {"from_unit": "A", "to_unit": "ONE_STOP"}),
    ("transferred", "2025-09-09T11:00:00", {"from_unit": "ONE_STOP", "to_unit": "A"}),
    (
        "consultation_requested",
        "2025-09-09T14:00:00",
        {"consulted_unit": "B", "reply_due": _due("2025-09-10T17:00:00"), "consultation_id": "C1"},
    ),
    (
        "consultation_answered",
        "2025-09-11T09:00:00",
        {"consulted_unit": "B", "consultation_id": "C1"},
    ),
    ("supplement_requested", "2025-09-11T10:00:00", {"unit": "A", "reason": "missing"}),
    ("supplement_received", "2025-09-12T10:00:00", {}),
    ("rescheduled", "2025-09-15T10:00:00", {"new_due": _due("2025-09-19T17:00:00"), "reason": "r"}),
    ("completed", "2025-09-22T10:00:00", {"outcome": "approved"}),
    ("delivered", "2025-09-22T15:00:00", {}),
]
WITHDRAWN = [  # an appointment date on the receipt, then the citizen withdraws
    (
        "received",
        "2025-09-08T09:00:00",
        {
            "procedure": "Q",
            "unit": "ONE_STOP",
            "channel": "post",
            "due": _due("2025-09-10T17:00:00"),
        },
    ),
    ("transferred", "2025-09-08T15:00:00", {"from_unit": "ONE_STOP", "to_unit": "B"}),
    ("withdrawn", "2025-09-12T09:00:00", {}),
]
STILL_OPEN = [  # still open at END, when its deadline, stall and consultation timers fire
    (
        "received",
        "2025-09-08T09:00:00",
        {"procedure": "P", "unit": "ONE_STOP", "time_limit": "3wd"},
    ),
    ("transferred", "2025-09-08T10:00:00", {"from_unit": "ONE_STOP", "to_unit": "A"}),
    ("returned", "2025-09-08T11:00:00", {"from_unit": "A", "to_unit": "ONE_STOP"}),
    ("transferred", "2025-09-08T12:00:00", {"from_unit": "ONE_STOP", "to_unit": "A"}),
    (
        "consultation_requested",
        "2025-09-08T14:00:00",
        {"consulted_unit": "B", "reply_due": _due("2025-09-09T17:00:00")},
    ),
]

STORIES: tuple[list[dict[str, Any]], ...] = (
    story("HS-1", "test", HANDLED),
    story("HS-2", "test", WITHDRAWN),
    story("HS-3", "other", STILL_OPEN),
)
DATED = frozenset({"dossier.received", "dossier.consultation_requested", "dossier.rescheduled"})
BASES: tuple[tuple[int, int], ...] = tuple(
    (s, e)
    for s, events in enumerate(STORIES)
    for e, event in enumerate(events)
    for _ in range(3 if event["type"] in DATED else 1)
)
"""(story, event) of every event a mutation may start from; those with a due date or a
time limit in their data three times as often (the arithmetic an outsider can steer)."""
END = to_instant(datetime(2025, 10, 1, tzinfo=LOCAL))
"""The stream time a check fires its dossier at: every timer of the stories is due."""
CHECK_STEPS = STILL_OPEN
CHECK_SOURCE = "fuzz-check"
"""No mutation writes this source or a `FUZZ-CHECK` subject: the check dossier's own."""
assert {e["type"] for s in STORIES for e in s} == TYPE_NAMES

# -- grammar of each field -------------------------------------------------------------

BIG = 10**30
GENERIC: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    -1,
    BIG,
    -BIG,
    1.5,
    -0.0,
    1e308,
    Raw(b"NaN"),
    Raw(b"Infinity"),
    Raw(b"-Infinity"),
    Raw(b"1e400"),
    Raw(b"-1e400"),
    Raw(b"01"),
    Raw(b"+1"),
    Raw(b".5"),
    Raw(b"0x10"),
    "NaN",
    "Infinity",
    [],
    [1, "a", None],
    Obj(),
    Obj([("a", 1)]),
    "",
    " ",
    "\x00",
    "a\x00b",
    "x" * 10_000,
    Raw(b'"' + b"x" * (MAX_EVENT_BYTES + 1) + b'"'),  # written once: too large
    Raw(b'"\\u0000"'),
    Raw(b'"\\ud800"'),
    Raw(b'"\\udc00"'),
    Raw(b'"\\ud800\\u0041"'),
    Raw(b'"\\ud83d\\ude00"'),
    Raw(b'"\xff\xfe"'),
    Raw(b'"\xc3\x28"'),
    Raw(b'"\xed\xa0\x80"'),
    Raw(b'"\xc0\xaf"'),
    Raw(b'"\xf4\x90\x80\x80"'),
    Raw(b'"a\x01b"'),
    Raw(b'"\\x41"'),
    Raw(b'"\\u12"'),
    Raw(b'"abc'),
    Raw(b"tru"),
    Raw(b"nul"),
    Raw(b""),
)
DEPTHS = (1, 2, 8, 13, 14, 15, 16, 17, 64, 1000, 100_000)
"""Around MAX_JSON_DEPTH (16, counted from the event's own braces), and far past it."""


def depth(draw: Draw, depths: Sequence[int] = DEPTHS) -> int:
    """One of `depths`; the last (100,000: 200 KB of brackets, ~50 ms in the boundary's
    depth scan) 32 times rarer than the others, or it would be most of the bench's time."""
    d = pick(draw, depths)
    return d if d != depths[-1] or draw.index(32) == 0 else depths[-2]


def generic(draw: Draw) -> Any:
    """Any JSON type, or text that is not quite JSON."""
    k = draw.index(8)
    if k <= 3:
        return pick(draw, GENERIC)
    if k == 4:
        return nested(depth(draw), draw.index(3))
    if k <= 6:
        return draw.text(40)
    return Raw(b'"' + draw.blob(24) + b'"')  # string content that may not be UTF-8


DATE_TEXTS = (
    "2025-09-08T09:00:00+07:00",
    "0001-01-01T00:00:00+00:00",
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-12:00",
    "9999-12-31T23:59:59+00:00",
    "1989-12-31T23:59:59+07:00",
    "1990-01-01T00:00:00+07:00",
    "1989-12-31T16:59:59Z",
    "1989-12-31T17:00:00Z",
    "2100-12-31T23:59:59+07:00",
    "2101-01-01T00:00:00+07:00",
    "2100-12-31T16:59:59Z",
    "2100-12-31T17:00:00Z",
    "2025-09-08T09:00:00",
    "2025-09-08T09:00:00+14:00",
    "2025-09-08T09:00:00-12:00",
    "2025-09-08T09:00:00+23:59",
    "2025-09-08T09:00:00+24:00",
    "2025-09-08T09:00:00-23:59",
    "2016-12-31T23:59:60Z",
    "2025-09-08T23:59:60+07:00",
    "2025-02-29T09:00:00+07:00",
    "2024-02-29T09:00:00+07:00",
    "2025-13-01T00:00:00Z",
    "2025-00-10T00:00:00Z",
    "2025-09-31T00:00:00Z",
    "2025-09-08T24:00:00Z",
    "2025-09-08T09:60:00Z",
    "2025-09-08",
    "2025-09-08T09:00Z",
    "2025-09-08T09Z",
    "2025-09-08 09:00:00+07:00",
    "2025-09-08t09:00:00z",
    "2025-09-08T09:00:00.123456789+07:00",
    "2025-09-08T09:00:00.+07:00",
    "2025-09-08T09:00:00,5+07:00",
    "2025-09-08T09:00:00+0700",
    "2025-09-08T09:00:00+07",
    " 2025-09-08T09:00:00+07:00",
    "2025-09-08T09:00:00+07:00 ",
    "+2025-09-08T09:00:00Z",
    "-0001-01-01T00:00:00Z",
    "10000-01-01T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "２０２５-09-08T09:00:00Z",
    "",
    "now",
    "1757300000",
)
WINDOW = (
    int(datetime(1989, 12, 30, tzinfo=UTC).timestamp()),
    int(datetime(2101, 1, 2, tzinfo=UTC).timestamp()),
)
"""A little beyond Bounds' window on both sides."""
EDGES = (WINDOW[0] + 86400, WINDOW[1] - 86400)


def _iso(instant: int, offset_minutes: int, micro: int = 0) -> str:
    tz = timezone(timedelta(minutes=offset_minutes))
    when = datetime.fromtimestamp(instant, tz).replace(microsecond=micro)
    return when.isoformat()


def date(draw: Draw) -> Any:
    """A date field's value: edge texts, any valid instant and offset, or near an edge."""
    k = draw.index(5)
    if k == 0:
        return pick(draw, DATE_TEXTS)
    offset = draw.integer(-12 * 4, 14 * 4) * 15
    if k == 1:
        return _iso(draw.integer(*WINDOW), offset, draw.index(3) * 999_999 // 2)
    if k == 2:
        edge = pick(draw, EDGES)
        return _iso(edge + draw.integer(-2 * 86400, 2 * 86400), offset)
    if k == 3:  # near the stories: due before receipt, reply due years later…
        base = to_instant(datetime(2025, 9, 8, 9, tzinfo=LOCAL))
        return _iso(base + draw.integer(-3 * 365 * 86400, 30 * 365 * 86400), offset)
    return draw.integer(-(2**40), 2**40)  # an epoch number, not a text


LIMIT_TEXTS = (
    "5wd",
    "0wd",
    "-1wd",
    "1e20wd",
    "99999wd",
    "3650wd",
    "3651wd",
    "3650d",
    "3651d",
    "29200wh",
    "29201wh",
    "87600h",
    "87601h",
    "1.5wh",
    "0.5wd",
    "0.0001h",
    "0.00000000000001wh",
    "3649.999999999wd",
    "1" + "0" * 400 + "wd",
    "0." + "0" * 400 + "1wd",
    "15xx",
    "15",
    "wd",
    "",
    " 5wd",
    "5wd ",
    "5wd\n",
    "5WD",
    "5 wd",
    "05wd",
    "5.wd",
    ".5wd",
    "٥wd",
)


def time_limit(draw: Draw) -> Any:
    """`time_limit`: the bounds' edges, any amount of any unit, the longest ones allowed
    (where the calendar arithmetic goes furthest), or not a limit at all."""
    k = draw.index(4)
    if k == 0:
        return pick(draw, LIMIT_TEXTS)
    kind, most = pick(draw, (("wd", 3650), ("d", 3650), ("wh", 29200), ("h", 87600)))
    if k == 1:
        return f"{draw.integer(0, most + 2)}{kind}"
    if k == 2:
        return f"{most - draw.integer(0, most // 2)}{kind}"
    return f"{draw.integer(0, most)}.{draw.integer(0, 10**6):06d}{kind}"


TYPES: tuple[str, ...] = (
    *sorted(TYPE_NAMES),
    "dossier.unknown",
    "dossier.",
    "",
    "DOSSIER.RECEIVED",
)
TYPES += ("dossier.received ", "dossier.Received", "com.example.x", "dossier.received\x00")
SPECS = ("1.0", "1.1", "0.3", "1", "1.0 ", "", "v1.0", "１.0")
IDS: tuple[str, ...] = (
    "HS-1",
    "HS-2",
    "HS-3",
    "HS-4",
    "",
    " ",
    "x" * 120,
    "x" * 121,
    "x" * 200,
    "x" * 201,
)
IDS += ("Hồ-sơ-1", "HS-1\x00", "\u202eHS-1", "hs-1", "HS-1 ")
SOURCES = ("test", "other", "p", "")
NAMES = ("ONE_STOP", "A", "B", "", " ", "x" * 200, "x" * 201, "Phòng Tư pháp", "x" * 10_000)
LITERALS = ("online", "direct", "post", "approved", "refused", "ONLINE", "", "maybe")

DATES = frozenset({"time", "due", "reply_due", "new_due"})
IDENTS = frozenset({"id", "subject"})


def grammar(draw: Draw, key: str) -> Any:
    """A value within (or just outside) the grammar of the field named `key`."""
    if key in DATES:
        return date(draw)
    if key == "time_limit":
        return time_limit(draw)
    if key == "type":
        return pick(draw, TYPES)
    if key == "specversion":
        return pick(draw, SPECS)
    if key in IDENTS:
        return pick(draw, IDS) if draw.index(4) else draw.text(30)
    if key == "source":
        return pick(draw, SOURCES) if draw.index(4) else draw.text(30)
    if key in ("channel", "outcome"):
        return pick(draw, LITERALS)
    return pick(draw, NAMES) if draw.index(4) else draw.text(30)


KEYS = ("extra", "", "Type", "type ", "TIME", "dataschema", "data_base64", "\x00", "ồ", "x" * 300)


# -- the table: field, byte and key mutations ------------------------------------------


def _target(draw: Draw, doc: Obj) -> Obj:
    """The envelope, or its data when that is still an object."""
    data = doc.get("data")
    return data if isinstance(data, Obj) and draw.index(2) else doc


def _key_at(draw: Draw, obj: Obj) -> int | None:
    return draw.index(len(obj)) if obj else None


def m_drop(draw: Draw, doc: Obj) -> None:
    obj = _target(draw, doc)
    i = _key_at(draw, obj)
    if i is not None:
        del obj[i]


FOCUS = (*sorted(DATES), "time_limit", "type", "subject")
"""The fields whose values steer the checks and the arithmetic: the grammar mutation
picks one of them half of the time."""


def m_grammar(draw: Draw, doc: Obj) -> None:
    obj = _target(draw, doc)
    i = _key_at(draw, obj)
    if draw.index(2):
        present = [j for j, (k, _) in enumerate(obj) if k in FOCUS]
        i = pick(draw, present) if present else i
    if i is not None:
        k = obj[i][0]
        obj[i] = (k, grammar(draw, k if isinstance(k, str) else ""))


def m_retype(draw: Draw, doc: Obj) -> None:
    obj = _target(draw, doc)
    i = _key_at(draw, obj)
    if i is not None:
        obj[i] = (obj[i][0], generic(draw))


def m_add_field(draw: Draw, doc: Obj) -> None:
    """An unknown field (or a known one in the wrong place), perhaps nested deep."""
    obj = _target(draw, doc)
    names = (*KEYS, "time", "due", "time_limit", "subject", "data")
    key = pick(draw, names) if draw.index(4) else draw.text(12)
    value = generic(draw) if draw.index(2) else grammar(draw, key)
    obj.insert(draw.index(len(obj) + 1), (key, value))


def m_duplicate(draw: Draw, doc: Obj) -> None:
    """A key twice: before or after the original, with another value of its grammar."""
    obj = _target(draw, doc)
    i = _key_at(draw, obj)
    if i is not None:
        k = obj[i][0]
        value = grammar(draw, k) if isinstance(k, str) and draw.index(3) else generic(draw)
        obj.insert(draw.index(len(obj) + 1), (k, value))


def m_rename(draw: Draw, doc: Obj) -> None:
    obj = _target(draw, doc)
    i = _key_at(draw, obj)
    if i is not None:
        k = obj[i][0]
        text = k if isinstance(k, str) else ""
        renamed = pick(draw, (text.upper(), text + " ", "\ufeff" + text, text[:-1], "", "\\"))
        keys: tuple[str | Raw, ...] = (renamed, Raw(b"1"), Raw(b"null"), Raw(b'"\\ud800"'))
        key = pick(draw, keys)
        obj[i] = (key, obj[i][1])


def m_retarget(draw: Draw, doc: Obj) -> None:
    """Valid, but about another dossier, event id or source (the key follows the subject)."""
    field = pick(draw, ("subject", "id", "source"))
    i = doc.find(field)
    if i is not None:
        doc[i] = (field, pick(draw, SOURCES if field == "source" else IDS[:4]))


def m_renumber(draw: Draw, doc: Obj) -> None:
    """Valid, with a new event id: not a mere duplicate, so the engine sees stories in
    every order — for one of many dossiers (the key follows the subject), or half of the
    time for the same one (a long-lived core then fills it up to its event limit)."""
    changes = [("id", f"E-{draw.integer(0, 10**9)}")]
    if draw.index(2):
        changes.append(("subject", f"HS-{draw.integer(0, 50_000)}"))
    for field, value in changes:
        i = doc.find(field)
        if i is not None:
            doc[i] = (field, value)


def m_swap_type(draw: Draw, doc: Obj) -> None:
    """Another valid type with this type's data: missing fields, or silently accepted."""
    i = doc.find("type")
    if i is not None:
        doc[i] = ("type", pick(draw, sorted(TYPE_NAMES)))


FieldMutation = Callable[[Draw, Obj], None]
FIELD_MUTATIONS: tuple[tuple[str, FieldMutation], ...] = (
    ("grammar", m_grammar),
    ("drop", m_drop),
    ("retype", m_retype),
    ("add_field", m_add_field),
    ("duplicate_key", m_duplicate),
    ("retarget", m_retarget),
    ("renumber", m_renumber),
    ("swap_type", m_swap_type),
    ("rename_key", m_rename),
)

BAD_UTF8 = (b"\xff", b"\xfe", b"\xc3", b"\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf")
TRAILING = (b" ", b"\n", b"x", b"}", b"]", b",", b"\x00", b" {}", b'{"a":1}', b"\xff", b"//")
LEADING = (b"\xef\xbb\xbf", b" \n\t", b"\x00", b"[", b",", b"\xff\xfe")


def b_truncate(draw: Draw, raw: bytes) -> bytes:
    return raw[: draw.integer(0, max(0, len(raw) - 1))]


def b_flip(draw: Draw, raw: bytes) -> bytes:
    out = bytearray(raw)
    for _ in range(1 + draw.index(4)):
        if out:
            out[draw.index(len(out))] ^= draw.integer(1, 255)
    return bytes(out)


def _insert(draw: Draw, raw: bytes, piece: bytes) -> bytes:
    at = draw.integer(0, len(raw))
    return raw[:at] + piece + raw[at:]


def b_insert(draw: Draw, raw: bytes) -> bytes:
    return _insert(draw, raw, draw.blob(8))


def b_bad_utf8(draw: Draw, raw: bytes) -> bytes:
    return _insert(draw, raw, pick(draw, BAD_UTF8))


def b_trailing(draw: Draw, raw: bytes) -> bytes:
    return raw + (raw if draw.index(8) == 0 else pick(draw, TRAILING))


def b_leading(draw: Draw, raw: bytes) -> bytes:
    return pick(draw, LEADING) + raw


def b_pad(draw: Draw, raw: bytes) -> bytes:
    """Valid JSON (whitespace before the last brace) at, or one byte past, the size limit."""
    size = MAX_EVENT_BYTES + draw.index(2)
    return raw[:-1] + b" " * max(0, size - len(raw)) + raw[-1:]


def b_wrap(draw: Draw, raw: bytes) -> bytes:
    d = depth(draw, (1, 14, 15, 16, 1000, 100_000))
    return b"[" * d + raw + b"]" * d


def b_recode(draw: Draw, raw: bytes) -> bytes:
    text = raw.decode("utf-8", "surrogateescape")
    return text.encode(pick(draw, ("utf-16", "utf-16-le", "utf-32", "latin-1")), "replace")


def b_escape(draw: Draw, raw: bytes) -> bytes:
    """Same JSON, other spelling: escaped letters, whitespace between tokens."""
    old, new = pick(
        draw,
        (
            (b'"type"', b'"\\u0074ype"'),
            (b"dossier.", b"dossier\\u002e"),
            (b'"HS-', b'"\\u0048S-'),
            (b",", b" ,\r\n\t"),
            (b":", b" : "),
        ),
    )
    return raw.replace(old, new)


ByteMutation = Callable[[Draw, bytes], bytes]
BYTE_MUTATIONS: tuple[tuple[str, ByteMutation], ...] = (
    ("escape", b_escape),
    ("truncate", b_truncate),
    ("flip", b_flip),
    ("insert_bytes", b_insert),
    ("bad_utf8", b_bad_utf8),
    ("trailing", b_trailing),
    ("leading", b_leading),
    ("pad", b_pad),
    ("wrap", b_wrap),
    ("recode", b_recode),
)

HUGE_KEY = b"K" * (1 << 20)


def k_other(draw: Draw, subject: bytes) -> bytes | None:
    return pick(
        draw,
        (
            None,
            b"",
            b"HS-2",
            subject + b" ",
            subject.upper(),
            subject.lower(),
            b"\xff\xfe",
            subject + b"\xff",
            b"\xed\xa0\x80",
            subject + b"\x00",
            subject.decode("utf-8", "replace").encode("utf-16"),
            "Hồ-sơ".encode(),
            b"K" * 121,
            HUGE_KEY,
        ),
    )


def k_random(draw: Draw, subject: bytes) -> bytes | None:
    return draw.blob(16)


KeyMutation = Callable[[Draw, bytes], bytes | None]
KEY_MUTATIONS: tuple[tuple[str, KeyMutation], ...] = (
    ("key_other", k_other),
    ("key_random", k_random),
)

TOKENS: tuple[bytes, ...] = (
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b",",
    b'"type"',
    b'"a"',
    b"1",
    b"null",
    b"true",
    b"-",
)
TOKENS += (b'"dossier.received"', b'"data"', b"1e999", b"\\", b'"', b" ", b"\xff")

# -- a case: one message ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Case:
    """One message for the boundary, with the mutations that made it (for the report)."""

    raw: bytes
    key: bytes | None
    base: tuple[int, int]
    """(story, event) it was made from: where the check puts it in that story."""
    steps: tuple[str, ...]

    def __repr__(self) -> str:
        key, raw = short(self.key), short(self.raw)
        return f"Case(steps={self.steps}, base={self.base}, key={key}, raw={raw})"


def short(value: bytes | None, limit: int = 600) -> str:
    if value is None or len(value) <= limit:
        return repr(value)
    return f"{value[: limit // 2]!r}…<{len(value):,} bytes>…{value[-limit // 4 :]!r}"


def _subject_key(doc: Obj, fallback: str) -> bytes:
    subject = doc.get("subject")
    text = subject if isinstance(subject, str) else fallback
    return text.encode("utf-8", "surrogatepass")


def _event_case(draw: Draw, base: tuple[int, int]) -> Case:
    original = STORIES[base[0]][base[1]]
    doc: Obj = to_obj(original)
    steps: list[str] = []
    for _ in range(pick(draw, (1, 1, 1, 2, 2, 3, 0))):  # 0: as sent (a redelivery)
        name, mutate = pick(draw, FIELD_MUTATIONS)
        mutate(draw, doc)
        steps.append(name)
    raw = encode(doc)
    if draw.index(3) == 0:
        name, bytes_mutation = pick(draw, BYTE_MUTATIONS)
        raw = bytes_mutation(draw, raw)
        steps.append(name)
    subject = _subject_key(doc, original["subject"])
    key: bytes | None = subject  # the key follows the subject, but for a quarter
    if draw.index(4) == 0:
        name, key_mutation = pick(draw, KEY_MUTATIONS)
        key = key_mutation(draw, subject)
        steps.append(name)
    return Case(raw, key, base, tuple(steps))


def _junk_case(draw: Draw, base: tuple[int, int]) -> Case:
    """Not an event at all: random bytes, or JSON-looking tokens."""
    subject = STORIES[base[0]][base[1]]["subject"].encode()
    if draw.index(2):
        raw = b"".join(pick(draw, TOKENS) for _ in range(draw.integer(0, 24)))
        return Case(raw, subject, base, ("tokens",))
    return Case(draw.blob(300), subject, base, ("random_bytes",))


def case(draw: Draw) -> Case:
    """One message: mostly a mutated event, sometimes plain junk."""
    base = pick(draw, BASES)
    if draw.index(10) == 9:
        return _junk_case(draw, base)
    return _event_case(draw, base)


@st.composite
def _cases(draw: Callable[[st.SearchStrategy[Any]], Any]) -> Case:
    return case(HypothesisDraw(draw))


cases: st.SearchStrategy[Case] = _cases()
"""Hypothesis strategy of messages (the CI property)."""


def random_case(rng: random.Random) -> Case:
    """The same grammar from a plain `random.Random` (the bench: no hypothesis overhead)."""
    return case(RandomDraw(rng))


# -- ticks -----------------------------------------------------------------------------

TICK_VALUES: tuple[bytes, ...] = (
    b"0",
    b"-1",
    b"9" * 30,
    b"-" + b"9" * 30,
    b"1e9",
    b" 12 ",
    b"1_000",
    b"\xff",
)
TICK_VALUES += (b"", b"NaN", b"0x10", b"\xd9\xa5", b"1757300000", b"+1757300000", b"\x00")


def tick(draw: Draw) -> tuple[bytes | None, bytes]:
    """A ticks-topic message (key, value): a known dossier or junk, and any value."""
    k = draw.index(3)
    key = pick(draw, (b"HS-1", b"HS-2", b"HS-3")) if k == 0 else None if k == 1 else draw.blob(24)
    v = draw.index(3)
    if v == 0:
        return key, pick(draw, TICK_VALUES)
    if v == 1:
        return key, str(draw.integer(-(2**70), 2**70)).encode()
    return key, draw.blob(24)


@st.composite
def _ticks(draw: Callable[[st.SearchStrategy[Any]], Any]) -> tuple[bytes | None, bytes]:
    return tick(HypothesisDraw(draw))


ticks: st.SearchStrategy[tuple[bytes | None, bytes]] = _ticks()


# -- the check: a rejected message leaves no trace -------------------------------------


def story_bytes(index: int) -> list[bytes]:
    return [encode(to_obj(e)) for e in STORIES[index]]


def check_story(dossier: str) -> list[bytes]:
    """The check dossier's events: no mutation ever names its subject or source."""
    return [encode(to_obj(e)) for e in story(dossier, CHECK_SOURCE, CHECK_STEPS)]


def same_alerts(alerts: list[Alert], dossier: str) -> list[Alert]:
    """The dossier's alerts with its id written as `D`, to compare two dossiers' stories."""
    cut = len(dossier)
    return [
        msgspec.structs.replace(a, id="D" + a.id[cut:], dossier="D")
        for a in alerts
        if a.dossier == dossier
    ]


class Fed(Protocol):
    """A core the check can feed: the worker, or `take` with an engine."""

    trace: bool
    """Set when a rejected message left a write behind (a trace in the dossier table)."""

    def event(self, raw: bytes, key: bytes | None) -> list[Alert] | Reject: ...

    def finish(self, dossier: str) -> list[Alert]: ...


class WorkerFeed:
    """`WorkerCore.on_event` over a dict table, writes committed per message (as the agent
    does once the broker acknowledges); `finish` ticks a dossier at `END`."""

    def __init__(self, book: PolicyBook, **options: Any) -> None:
        self.table: dict[bytes, bytes] = {}
        self.core = WorkerCore(book, TableStates(self.table), **options)
        self.trace = False
        self.wall = 0.0
        """The wall clock messages are read at (the bench moves it: clocks then run)."""

    def event(self, raw: bytes, key: bytes | None) -> list[Alert] | Reject:
        out = self.core.on_event(raw, key, 0, self.wall)
        if out.reject is not None:
            self.trace = self.trace or bool(self.core.store.take_writes())
            return out.reject
        self.commit()
        return out.alerts

    def finish(self, dossier: str) -> list[Alert]:
        # A wall clock far ahead: the source's clock allows any tick, END is the tick's.
        out = self.core.on_tick(dossier.encode(), str(END).encode(), 0, 1e12)
        self.commit()
        assert out.reject is None, out.reject
        return out.alerts

    def commit(self) -> None:
        for k, v in self.core.store.take_writes().items():
            if v is None:
                self.table.pop(k.encode(), None)
            else:
                self.table[k.encode()] = v


class EngineFeed:
    """`boundary.take` with an engine; `finish` fires a dossier at `END`."""

    def __init__(self, book: PolicyBook, *, keyed: bool = True) -> None:
        self.engine = Engine(book)
        self.keyed = keyed
        self.trace = False  # the engine's own store: the check compares alerts only
        self.last: DossierEvent | None = None
        """The latest event admitted (its time is a replay's stream time)."""

    def event(self, raw: bytes, key: bytes | None) -> list[Alert] | Reject:
        out = take(self.engine, raw, key, keyed=self.keyed)
        if isinstance(out, Reject):
            return out
        self.last = out[0]
        return out[1]

    def finish(self, dossier: str) -> list[Alert]:
        return self.engine.fire(dossier, END)


Trail = list[list[Alert] | str]
"""What each valid event of a story gave (its alerts, or its reject reason), then what
firing the dossier at END gave."""


def _given(out: list[Alert] | Reject) -> list[Alert] | str:
    return out.reason if isinstance(out, Reject) else out


def feed_story(feed: Fed, events: list[bytes], dossier: str) -> Trail:
    """A dossier's events, then fired at END."""
    trail: Trail = [_given(feed.event(raw, dossier.encode())) for raw in events]
    return [*trail, feed.finish(dossier)]


def poisoned_story(
    feed: Fed, index: int, poison: Case, at: int
) -> tuple[Trail, list[Alert] | Reject]:
    """Story `index` with the poison read just before its event `at`: the story's trail
    (the poison's own outcome left out), and that outcome."""
    events = story_bytes(index)
    dossier = STORIES[index][0]["subject"]
    trail: Trail = []
    result: list[Alert] | Reject = []
    for i in range(len(events) + 1):
        if i == at:
            result = feed.event(poison.raw, poison.key)
        if i < len(events):
            trail.append(_given(feed.event(events[i], dossier.encode())))
    return [*trail, feed.finish(dossier)], result
