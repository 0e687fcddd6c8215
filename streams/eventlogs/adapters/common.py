"""What every source adapter shares: the one exception, strict field readers, local
times, and the builder that gives each event an id derived from its content.

An adapter is stateless: it turns one request body into every event that body states.
A body sent again states the same events, so it yields the same ids with the same
content, and the worker drops them as exact redeliveries; a changed field changes the
event it belongs to, so that event gets a new id.  The id is a digest of the dossier,
the event kind, its time and its data (nothing positional, nothing from the wall clock).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from hashlib import blake2b
from typing import Any, ClassVar

from streams.contract.errors import ContractError
from streams.contract.events import DossierEvent, InvalidEvent, event_from_dict

ICT = timezone(timedelta(hours=7))
"""Asia/Ho_Chi_Minh: UTC+7 all year (no daylight saving since 1975)."""

_VALUE_CHARS = 80


class InvalidPayload(ContractError):
    """A source payload that cannot be mapped onto contract events.

    `field` is the path of the offending field in the payload (`data[0].TrangThaiHoSo`),
    `value` what it held (None when missing), `reason` one of `REASONS` (bounded: a
    metric label), `detail` a sentence.  `str()` is one line naming all of them.
    """

    REASONS: ClassVar[frozenset[str]] = frozenset(
        {
            "unknown_source",
            "not_json",
            "too_large",
            "bad_shape",
            "missing_field",
            "bad_value",
            "unknown_code",
            "bad_time",
            "contract",
        }
    )

    def __init__(self, reason: str, field: str, value: object, detail: str) -> None:
        if reason not in self.REASONS:  # a programming error, said loudly
            raise ValueError(f"unknown payload reason {reason!r}")
        self.reason = reason
        self.field = field
        self.value = value
        self.detail = " ".join(detail.split())
        super().__init__(f"{reason}: {field}={shown(value)}: {self.detail}")


def shown(value: object) -> str:
    """A value as quoted in a message: repr, one line, at most 80 characters."""
    text = " ".join(repr(value).split())
    return text if len(text) <= _VALUE_CHARS else text[: _VALUE_CHARS - 1] + "…"


def path(prefix: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    return f"{prefix}.{key}" if prefix else key


# -- field readers ----------------------------------------------------------------------


def obj(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise InvalidPayload("bad_shape", where, value, "expected a JSON object")
    return value


def items(value: object, where: str, *, required: bool = False) -> list[Any]:
    """A JSON array; absent or null is empty unless `required`."""
    if value is None and not required:
        return []
    if not isinstance(value, list):
        raise InvalidPayload("bad_shape", where, value, "expected a JSON array")
    return value


def text(rec: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    """A string field, stripped; absent, null or blank is None (an error if `required`).
    Numbers are not text: a code sent as 5 instead of "5" is refused, not converted."""
    value = rec.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidPayload("missing_field", path(where, key), value, "required")
        return None
    if not isinstance(value, str):
        raise InvalidPayload("bad_value", path(where, key), value, "expected a string")
    return value.strip()


def code(
    rec: Mapping[str, Any], key: str, where: str, table: Mapping[str, Any], *, required: bool
) -> str | None:
    """A code that must be one of `table`'s keys, exactly as written."""
    value = text(rec, key, where, required=required)
    if value is not None and value not in table:
        known = ", ".join(table)
        raise InvalidPayload("unknown_code", path(where, key), rec.get(key), f"known: {known}")
    return value


def flag(rec: Mapping[str, Any], key: str, where: str, words: Mapping[str, bool]) -> bool | None:
    """A JSON boolean, or one of `words` (e.g. "True"/"False" from a C#/.NET sender)."""
    value = rec.get(key)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value in words:
        return words[value]
    allowed = ", ".join(repr(w) for w in words)
    raise InvalidPayload("bad_value", path(where, key), value, f"expected true/false or {allowed}")


def local_time(
    rec: Mapping[str, Any],
    key: str,
    where: str,
    formats: Mapping[str, re.Pattern[str]],
    *,
    required: bool = False,
) -> datetime | None:
    """A local (Asia/Ho_Chi_Minh) time in one of `formats` (name → pattern with named
    groups y, mo, d, h, mi and maybe s); an empty string or null is absent.  A value in
    no format, or an impossible date (31/02), is refused: never guessed."""
    raw = text(rec, key, where, required=required)
    if raw is None:
        return None
    for pattern in formats.values():
        m = pattern.fullmatch(raw)
        if m is not None:
            g = m.groupdict()
            try:
                return datetime(
                    int(g["y"]),
                    int(g["mo"]),
                    int(g["d"]),
                    int(g["h"]),
                    int(g["mi"]),
                    int(g.get("s") or 0),
                    tzinfo=ICT,
                )
            except ValueError as err:
                raise InvalidPayload("bad_time", path(where, key), raw, str(err)) from None
    names = " or ".join(formats)
    raise InvalidPayload("bad_time", path(where, key), raw, f"expected {names} (local time)")


# [0-9], not \d: \d would take the digits of other scripts too.
_D, _MO, _Y = "(?P<d>[0-9]{2})", "(?P<mo>[0-9]{2})", "(?P<y>[0-9]{4})"
_H, _MI, _S = "(?P<h>[0-9]{2})", "(?P<mi>[0-9]{2})", "(?P<s>[0-9]{2})"

COMPACT = {"yyyyMMddHHmmss": re.compile(_Y + _MO + _D + _H + _MI + _S)}
DMY_HMS = {"dd/MM/yyyy HH:mm:ss": re.compile(f"{_D}/{_MO}/{_Y} {_H}:{_MI}:{_S}")}
DMY_HM = {"dd/MM/yyyy HH:mm": re.compile(f"{_D}/{_MO}/{_Y} {_H}:{_MI}")}
ISO_LOCAL = {"yyyy-MM-ddTHH:mm:ss": re.compile(f"{_Y}-{_MO}-{_D}T{_H}:{_MI}:{_S}")}


# -- events -----------------------------------------------------------------------------


class Events:
    """The events one payload states for one dossier, with content-derived ids."""

    def __init__(self, source: str, dossier: str, where: str) -> None:
        self.source = source
        self.dossier = dossier
        self.where = where
        self._out: list[dict[str, Any]] = []

    def add(self, kind: str, when: datetime, **data: Any) -> None:
        data = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in data.items()}
        data = {k: v for k, v in data.items() if v is not None}
        body = {"type": f"dossier.{kind}", "time": when.isoformat(), "data": data}
        canonical = json.dumps([self.dossier, body], sort_keys=True, ensure_ascii=False)
        digest = blake2b(canonical.encode(), digest_size=10).hexdigest()
        self._out.append(
            {
                "specversion": "1.0",
                "id": f"{kind}-{digest}",
                "source": self.source,
                "subject": self.dossier,
                **body,
            }
        )

    def events(self) -> list[DossierEvent]:
        """In time order (equal times keep the order added: receipt before progress),
        each once, each checked against the contract."""
        self._out.sort(key=lambda e: datetime.fromisoformat(e["time"]))
        seen: set[str] = set()
        out: list[DossierEvent] = []
        for e in self._out:
            if e["id"] in seen:
                continue
            seen.add(e["id"])
            try:
                out.append(event_from_dict(e))
            except InvalidEvent as err:
                raise InvalidPayload(
                    "contract", self.where, e["type"], f"{err.reason}: {err.message}"
                ) from None
        return out
