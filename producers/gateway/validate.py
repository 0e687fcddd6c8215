"""A request body into checked events, or the reasons it is refused.

Every event goes through the worker's own boundary (`streams.core.boundary.admitted`,
with the policy's bounds), so the gateway accepts exactly what the worker would admit.
A batch is split with msgspec into each element's bytes as they were sent: those bytes,
unchanged, are what goes on Kafka.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from streams.contract.events import DossierEvent, encode_event
from streams.core.boundary import Reject, admitted
from streams.core.policy import Bounds


class BodyError(Exception):
    """The body as a whole is refused (not a batch, empty, too many events)."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message


@dataclass(frozen=True, slots=True)
class Checked:
    """An admitted event, its place in the request and the bytes to produce (the JSON as
    received)."""

    index: int
    event: DossierEvent
    raw: bytes


@dataclass(frozen=True, slots=True)
class Problem:
    """Why the event at `index` of a request was refused."""

    index: int
    id: str | None
    field: str | None
    reason: str
    """One of the boundary's reasons (`streams.core.boundary.REASONS`)."""
    message: str

    def as_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "id": self.id,
            "field": self.field,
            "reason": self.reason,
            "message": self.message,
        }


def split_batch(body: bytes, max_batch: int) -> list[bytes]:
    """The elements of a JSON array, each as its own bytes; BodyError when it is not one,
    is empty or holds more than `max_batch` elements."""
    try:
        items = msgspec.json.decode(body, type=list[msgspec.Raw])
    except msgspec.ValidationError as err:
        raise BodyError(
            400, "not_a_batch", f"a batch is a JSON array of CloudEvents: {err}"
        ) from None
    except msgspec.DecodeError as err:
        raise BodyError(400, "not_a_batch", f"the batch is not valid JSON: {err}") from None
    except RecursionError:
        raise BodyError(400, "not_a_batch", "the batch nests JSON too deep") from None
    if not items:
        raise BodyError(400, "empty_batch", "the batch is empty: send at least one event")
    if len(items) > max_batch:
        raise BodyError(
            413,
            "too_many_events",
            f"{len(items):,} events in one batch, at most {max_batch:,}: split it",
        )
    return [bytes(item) for item in items]


def check_events(
    items: Sequence[DossierEvent | bytes], bounds: Bounds
) -> tuple[list[Checked], list[Problem]]:
    """Each item through the boundary: the admitted ones and the problems, in order.
    An event built in-process (an adapter's) is encoded and checked as if it came over
    the wire, so both paths admit alike."""
    good: list[Checked] = []
    bad: list[Problem] = []
    for index, item in enumerate(items):
        raw = item if isinstance(item, bytes) else encode_event(item)
        result = admitted(raw, None, bounds, keyed=False)
        if isinstance(result, Reject):
            bad.append(
                Problem(
                    index,
                    _id_of(raw, result.reason),
                    _field_of(result),
                    result.reason,
                    result.message,
                )
            )
        else:
            good.append(Checked(index, result, raw))
    return good, bad


class _IdOnly(msgspec.Struct):
    id: Any = None


_UNREADABLE = frozenset({"not_json", "too_large", "too_deep", "too_complex", "bad_text"})


def _id_of(raw: bytes, reason: str) -> str | None:
    """The refused event's `id` when it has a readable one (to find it in the sender's
    records); never more than the contract's 200 characters."""
    if reason in _UNREADABLE:
        return None
    try:
        found = msgspec.json.decode(raw, type=_IdOnly).id
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None
    return found[:200] if isinstance(found, str) else None


_MISSING = re.compile(r"missing required field `([^`]+)`(?: - at `\$\.?([^`]*)`)?")
_AT = re.compile(r" - at `\$\.?([^`]*)`")
_FIRST_WORD_FIELDS = ("time_out_of_range", "bad_time_limit")
_FIXED_FIELDS = {"unknown_type": "type", "bad_spec": "specversion"}


def _field_of(reject: Reject) -> str | None:
    """The field a reject names, as a dotted path (`data.unit`), when it names one."""
    if reject.reason in _FIXED_FIELDS:
        return _FIXED_FIELDS[reject.reason]
    if reject.reason in _FIRST_WORD_FIELDS:
        return reject.message.split(" ", 1)[0] or None
    missing = _MISSING.search(reject.message)
    if missing:
        return ".".join(p for p in (missing.group(2), missing.group(1)) if p)
    at = _AT.search(reject.message)
    return at.group(1) or None if at else None
