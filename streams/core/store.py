"""Dossier states at rest, packed: what lets a replay hold a million open dossiers.

As Python objects a dossier costs about 800 bytes (a struct, a dozen ints, tuples of
units and officers, the duplicate-id bytes); packed it is its msgpack state, about 200.
The Faust worker keeps the same state bytes in its table; the engine keeps them here.

Each value is a header — the layout version (1 byte), the dossier's wake-up instant and
the tag of the source whose stream clock judges it (8 bytes each) — followed by its
state, so the timer schedule asks "when, and on whose clock, does this dossier wake?"
without decoding anything.  Reading a dossier decodes a fresh copy: change it, then
`put` it back.  The worker's table holds the same values (`pack` / `unpack`).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping
from hashlib import blake2b

from streams.contract.errors import DossierWatchError
from streams.core.dossier import Dossier, decode_state, encode_state

LAYOUT = 1
"""Version of the stored layout: a reader meeting another refuses it by name."""
_HEADER = struct.Struct("<Bqq")
_NO_WAKE = -(2**63)  # a dossier with no wake-up (nothing pending)

_TAGS: dict[str, int] = {}


class StoredStateError(DossierWatchError, ValueError):
    """A stored value this version cannot read."""


def source_tag(source: str) -> int:
    """A stable 64-bit tag of a source name (the same in every process and restart)."""
    tag = _TAGS.get(source)
    if tag is None:
        if len(_TAGS) > 4096:
            _TAGS.clear()
        digest = blake2b(source.encode(), digest_size=8).digest()
        tag = _TAGS[source] = int.from_bytes(digest, "little", signed=True)
    return tag


def pack(d: Dossier, tag: int | None = None) -> bytes:
    """The stored value of a dossier: header, then its state packed (`tag`: the source's,
    when the caller has it already)."""
    wake = _NO_WAKE if d.wake is None else d.wake
    tag = source_tag(d.source) if tag is None else tag
    return _HEADER.pack(LAYOUT, wake, tag) + _pack(d)


def unpack(key: str, raw: bytes | memoryview) -> Dossier:
    if raw[0] != LAYOUT:
        raise StoredStateError(
            f"stored state of {key!r} has layout {raw[0]}, this version reads {LAYOUT}"
        )
    return _unpack(key, raw)


def live(raw: bytes) -> tuple[int, int] | None:
    """(wake-up instant, source tag) of a stored value, None when it has no wake-up (or
    is not a value this version can read)."""
    if len(raw) < _HEADER.size or raw[0] != LAYOUT:
        return None
    _, wake, tag = _HEADER.unpack_from(raw)
    return None if wake == _NO_WAKE else (wake, tag)


class DossierStore(Mapping[str, Dossier]):
    """The engine's dossiers in memory.  Besides what `pack` leaves out, the source's name
    is left out too (the header's tag says it, and this store keeps the few names): a
    replay of a million dossiers saves its bytes a million times."""

    __slots__ = ("_names", "_raw")

    def __init__(self) -> None:
        self._raw: dict[str, bytes] = {}
        self._names: dict[int, str] = {}  # source tag → name

    def __getitem__(self, key: str) -> Dossier:
        return self._read(key, self._raw[key])

    def get(self, key: str, default: Dossier | None = None) -> Dossier | None:  # type: ignore[override]
        raw = self._raw.get(key)
        return default if raw is None else self._read(key, raw)

    def _read(self, key: str, raw: bytes) -> Dossier:
        d = _unpack(key, raw)
        if not d.source:
            d.source = self._names[_HEADER.unpack_from(raw)[2]]
        return d

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __contains__(self, key: object) -> bool:
        return key in self._raw

    def put(self, d: Dossier) -> None:
        """Store (or replace) the dossier's state, its wake-up included."""
        source = d.source
        tag = source_tag(source)
        if tag not in self._names:
            self._names[tag] = source
        d.source = ""
        try:
            self._raw[d.id] = pack(d, tag)
        finally:
            d.source = source

    def live(self, key: str) -> tuple[int, int] | None:
        """The dossier's wake-up instant and source tag, read without decoding its state."""
        raw = self._raw.get(key)
        return None if raw is None else live(raw)

    def discard(self, key: str) -> Dossier | None:
        raw = self._raw.pop(key, None)
        return None if raw is None else self._read(key, raw)


def _pack(d: Dossier) -> bytes:
    """The state without what the rest of it already says: the id (the store's key), the
    wake-up (the header's), the current unit and officer (the last stays of the trails),
    the units seen (the trail's, while no unit is in it twice), the start of the time
    limit when it is the receipt and the last progress when it is the latest event.
    Blanked for the encoder, restored at once."""
    key, unit, officer, seen, wake = d.id, d.unit, d.officer, d.seen_units, d.wake
    start, since = d.start, d.since
    trail, officers = d.trail, d.officers
    d.id = ""
    d.wake = None  # the header has it
    if start is not None and start == d.received_at:
        d.start = None  # the time limit runs from the receipt (until a supplement)
    if since == d.last_at:
        d.since = 0  # progress at the latest event (instants are never 0: bounds)
    if trail and trail[-2] == unit:
        d.unit = ""  # never a unit's name (names are non-empty)
    if officers and officers[-2] == officer:
        d.officer = ""
    if seen and seen == trail[::2]:  # no unit visited twice
        d.seen_units = ()
    try:
        return encode_state(d)
    finally:
        d.id, d.unit, d.officer, d.seen_units, d.wake = key, unit, officer, seen, wake
        d.start, d.since = start, since


def _unpack(key: str, raw: bytes | memoryview) -> Dossier:
    d = decode_state(memoryview(raw)[_HEADER.size :])
    d.id = key
    wake = _HEADER.unpack_from(raw)[1]
    d.wake = None if wake == _NO_WAKE else wake
    if d.start is None and d.received_at is not None:
        d.start = d.received_at
    if d.since == 0:
        d.since = d.last_at
    if d.unit == "" and d.trail:
        d.unit = str(d.trail[-2])
    if d.officer == "" and d.officers:
        d.officer = str(d.officers[-2])
    if not d.seen_units and d.trail:
        d.seen_units = d.trail[::2]  # type: ignore[assignment]  # the units, by position
    return d
