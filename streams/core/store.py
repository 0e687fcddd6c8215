"""Dossier states at rest, packed: what lets a replay hold a million open dossiers.

As Python objects a dossier costs about 800 bytes (a struct, a dozen ints, tuples of
units and officers, the duplicate-id bytes); packed it is its msgpack state, about 200.
The Faust worker keeps the same state bytes in its table; the engine keeps them here.

Each value is the dossier's wake-up instant (8 bytes) followed by its state, so the
deadline index asks "when does this dossier wake?" without decoding anything.  Reading
a dossier decodes a fresh copy: change it, then `put` it back.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping

from streams.core.dossier import Dossier, decode_state, encode_state

_WAKE = struct.Struct("<q")
_NO_WAKE = -(2**63)  # a dossier with no wake-up (nothing pending)


class DossierStore(Mapping[str, Dossier]):
    __slots__ = ("_raw",)

    def __init__(self) -> None:
        self._raw: dict[str, bytes] = {}

    def __getitem__(self, key: str) -> Dossier:
        return _unpack(key, self._raw[key])

    def get(self, key: str, default: Dossier | None = None) -> Dossier | None:  # type: ignore[override]
        raw = self._raw.get(key)
        return default if raw is None else _unpack(key, raw)

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __contains__(self, key: object) -> bool:
        return key in self._raw

    def put(self, d: Dossier) -> None:
        """Store (or replace) the dossier's state, its wake-up included."""
        self._raw[d.id] = _WAKE.pack(_NO_WAKE if d.wake is None else d.wake) + _pack(d)

    def wake_of(self, key: str) -> int | None:
        """The dossier's wake-up instant, read without decoding its state."""
        raw = self._raw.get(key)
        if raw is None:
            return None
        wake: int = _WAKE.unpack_from(raw)[0]
        return None if wake == _NO_WAKE else wake

    def discard(self, key: str) -> Dossier | None:
        raw = self._raw.pop(key, None)
        return None if raw is None else _unpack(key, raw)

    def packed(self) -> Mapping[str, bytes]:
        """The packed values themselves (for measuring memory)."""
        return self._raw


def _pack(d: Dossier) -> bytes:
    """The state without what the rest of it already says: the id (the store's key), the
    current unit and officer (the last stays of the trails) and the units seen (the
    trail's, while no unit is in it twice).  Blanked for the encoder, restored at once."""
    key, unit, officer, seen = d.id, d.unit, d.officer, d.seen_units
    trail, officers = d.trail, d.officers
    d.id = ""
    if trail and trail[-2] == unit:
        d.unit = ""  # never a unit's name (names are non-empty)
    if officers and officers[-2] == officer:
        d.officer = ""
    if seen and seen == trail[::2]:  # no unit visited twice
        d.seen_units = ()
    try:
        return encode_state(d)
    finally:
        d.id, d.unit, d.officer, d.seen_units = key, unit, officer, seen


def _unpack(key: str, raw: bytes) -> Dossier:
    d = decode_state(memoryview(raw)[_WAKE.size :])
    d.id = key
    if d.unit == "" and d.trail:
        d.unit = str(d.trail[-2])
    if d.officer == "" and d.officers:
        d.officer = str(d.officers[-2])
    if not d.seen_units and d.trail:
        d.seen_units = d.trail[::2]  # type: ignore[assignment]  # the units, by position
    return d
