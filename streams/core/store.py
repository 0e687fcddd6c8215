"""Dossier states at rest, packed: what lets a replay hold a million open dossiers.

As Python objects a dossier costs about 800 bytes (a struct, a dozen ints, tuples of
units and officers, the duplicate-id bytes); packed it is its msgpack state, about 200.
The Faust worker keeps the same state bytes in its table; the engine keeps them here.

Each value is a header — the layout version (1 byte), the dossier's wake-up instant and
the tag of the source whose stream clock judges it (8 bytes each) — followed by its
state, so the timer schedule asks "when, and on whose clock, does this dossier wake?"
without decoding anything.  Reading a dossier decodes a fresh copy: change it, then
`put` it back.  The worker's table holds the same values (`pack` / `unpack`), and its
partitions' stream clocks behind the same layout byte (`pack_clocks` / `unpack_clocks`).
A value of an older layout is read through its migrations, one of a newer layout is
refused (streams/core/layouts.py).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping
from hashlib import blake2b

import msgspec

from streams.core.dossier import Dossier, decode_state, encode_state
from streams.core.layouts import (
    LAYOUT,
    MIGRATIONS,
    Migrations,
    NewerLayoutError,
    Observer,
    StoredStateError,
)

__all__ = [
    "LAYOUT",
    "DossierStore",
    "NewerLayoutError",
    "StoredStateError",
    "live",
    "pack",
    "pack_clocks",
    "source_tag",
    "unpack",
    "unpack_clocks",
]

_HEADER = struct.Struct("<Bqq")  # layouts 1 and 2: layout, wake-up, source tag
_NO_WAKE = -(2**63)  # a dossier with no wake-up (nothing pending)
_LAYOUT_1_CLOCKS = 0x91
"""The first byte of a layout-1 clocks value, which had no header: msgpack's array of one
(the saved sources).  Never a layout byte: layouts are small numbers."""

_TAGS: dict[str, int] = {}


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


def unpack(
    key: str,
    raw: bytes | memoryview,
    *,
    migrations: Migrations = MIGRATIONS,
    observe: Observer | None = None,
) -> Dossier:
    """The dossier a stored value holds, whatever layout up to ours wrote it; raises
    `NewerLayoutError` for a newer one and `StoredStateError` for one it cannot read."""
    if len(raw) >= _HEADER.size and raw[0] == migrations.current:
        return _unpack(key, raw)
    return _migrated(key, raw, migrations, observe)[0]


def live(
    raw: bytes, *, migrations: Migrations = MIGRATIONS, observe: Observer | None = None
) -> tuple[int, int] | None:
    """(wake-up instant, source tag) of a stored value, None when it has no wake-up or
    cannot be read; raises `NewerLayoutError` for a value of a newer layout."""
    if len(raw) >= _HEADER.size and raw[0] == migrations.current:
        _, wake, tag = _HEADER.unpack_from(raw)
    else:
        try:
            d, tag = _migrated("", raw, migrations, observe)
        except NewerLayoutError:
            raise
        except StoredStateError:
            return None
        wake = _NO_WAKE if d.wake is None else d.wake
    return None if wake == _NO_WAKE else (wake, tag)


def _migrated(
    key: str, raw: bytes | memoryview, migrations: Migrations, observe: Observer | None
) -> tuple[Dossier, int]:
    """An older layout's value, through its migrations: (the dossier, its source tag).
    The structure they see: {"wake": instant or None, "source_tag": int, "state": the
    packed state as plain msgpack data (a list, field by field)}."""
    layout = raw[0] if len(raw) else 0
    migrations.check("dossiers", layout)
    if len(raw) < _HEADER.size:
        raise StoredStateError(f"stored state of {key!r} is {len(raw)} bytes, a header is 17")
    _, wake, tag = _HEADER.unpack_from(raw)
    try:
        structure = {
            "wake": None if wake == _NO_WAKE else wake,
            "source_tag": tag,
            "state": msgspec.msgpack.decode(memoryview(raw)[_HEADER.size :]),
        }
        value = migrations.upgrade("dossiers", layout, structure, observe)
        d = msgspec.convert(value["state"], Dossier)
    except (msgspec.DecodeError, msgspec.ValidationError, KeyError, TypeError) as err:
        raise StoredStateError(f"stored state of {key!r} (layout {layout}): {err}") from None
    _derived(d, key, value["wake"])
    return d, int(value["source_tag"])


def pack_clocks(saved: bytes) -> bytes:
    """The stored value of a partition's saved stream clocks (`SourceClocks.state`)."""
    return bytes((LAYOUT,)) + saved


def unpack_clocks(
    raw: bytes, *, migrations: Migrations = MIGRATIONS, observe: Observer | None = None
) -> bytes:
    """The saved clocks in a stored value, for `SourceClocks.restore`, whatever layout up
    to ours wrote it; raises like `unpack`."""
    if not raw:
        raise StoredStateError("stored state of table clocks is empty")
    if raw[0] == migrations.current:
        return raw[1:]
    layout, payload = (1, raw) if raw[0] == _LAYOUT_1_CLOCKS else (raw[0], raw[1:])
    migrations.check("clocks", layout)
    try:
        structure = migrations.upgrade("clocks", layout, msgspec.msgpack.decode(payload), observe)
    except msgspec.DecodeError as err:
        raise StoredStateError(f"stored state of table clocks (layout {layout}): {err}") from None
    return msgspec.msgpack.encode(structure)


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

    def live_entries(self) -> Iterator[tuple[str, tuple[int, int]]]:
        for key, raw in self._raw.items():
            entry = live(raw)
            if entry is not None:
                yield key, entry

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
    wake = _HEADER.unpack_from(raw)[1]
    return _derived(d, key, None if wake == _NO_WAKE else wake)


def _derived(d: Dossier, key: str, wake: int | None) -> Dossier:
    """Put back what `_pack` left out."""
    d.id = key
    d.wake = wake
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
