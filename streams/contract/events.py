"""The dossier event contract: CloudEvents 1.0 (structured JSON) with typed `data`.

Decoding is one msgspec pass over raw bytes into a tagged union keyed by `type`, so a
bad event fails before anything of it reaches dossier state.  Every failure is an
`InvalidEvent` whose `reason` is a short, bounded code (usable as a metric label) and
whose message names the field.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

import msgspec

from streams.contract.errors import ContractError

MAX_EVENT_BYTES = 256 * 1024
"""Larger payloads are rejected unread: a state-change event is a few hundred bytes."""
MAX_JSON_DEPTH = 16
"""An event nests 2 deep; unknown fields nested 100,000 deep would overflow the decoder."""
MAX_BRACKETS = 256
"""An event has three objects; thousands of brackets are an attack on the decoder's time
(each costs the depth scan, then the decoder), not a state change."""

AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
DossierId = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
TimeLimitText = Annotated[str, msgspec.Meta(pattern=r"^[0-9]+(\.[0-9]+)?(wd|d|wh|h)$")]


class InvalidEvent(ContractError):
    """An event that breaks the contract; `reason` is one of a small fixed set of codes."""

    REASONS: ClassVar[frozenset[str]] = frozenset(
        {
            "not_json",
            "too_large",
            "too_deep",
            "too_complex",
            "bad_text",
            "unknown_type",
            "missing_field",
            "bad_field",
            "bad_spec",
            "bad_key",
            "time_out_of_range",
            "bad_time_limit",
            "conflicting_duplicate",
            "too_many_events",
        }
    )

    def __init__(self, reason: str, message: str) -> None:
        if reason not in self.REASONS:  # a programming error, said loudly
            raise ValueError(f"unknown reject reason {reason!r}")
        super().__init__(message)
        self.reason = reason
        self.message = message


# -- data payloads ------------------------------------------------------------------


class SubmittedData(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    unit: Name
    channel: Literal["online", "direct", "post"] = "online"


class ReceivedData(msgspec.Struct, frozen=True):
    procedure: Name
    unit: Name
    channel: Literal["online", "direct", "post"] = "direct"
    time_limit: TimeLimitText | None = None
    """`15wd` working days, `30d` calendar days, `8wh` working hours; else policy decides."""
    due: AwareDatetime | None = None
    """The appointment date on the receipt, when the handling system states it."""
    procedure_group: str | None = None


class AssignedData(msgspec.Struct, frozen=True):
    unit: Name
    officer: str | None = None
    step_due: AwareDatetime | None = None
    """The deadline the routing slip gives this unit for its step (art 20(2))."""


class TransferredData(msgspec.Struct, frozen=True):
    from_unit: Name
    to_unit: Name
    reason: str | None = None
    officer: str | None = None
    step_due: AwareDatetime | None = None
    """The deadline the routing slip gives `to_unit` for its step (art 20(2))."""
    across_levels: bool = False
    """To an agency at another administrative level (art 20(1)(a))."""
    medium: Literal["electronic", "paper"] = "electronic"
    """What moved: the electronic dossier (at once) or the paper file (within 1 working day)."""


class ConsultationRequestedData(msgspec.Struct, frozen=True):
    consulted_unit: Name
    reply_due: AwareDatetime
    consultation_id: str | None = None


class ConsultationAnsweredData(msgspec.Struct, frozen=True):
    consulted_unit: Name
    consultation_id: str | None = None


class SupplementRequestedData(msgspec.Struct, frozen=True):
    unit: str | None = None
    reason: str | None = None


class RescheduledData(msgspec.Struct, frozen=True):
    new_due: AwareDatetime
    reason: str | None = None


class CompletedData(msgspec.Struct, frozen=True):
    outcome: Literal["approved", "refused"] = "approved"


class EmptyData(msgspec.Struct, frozen=True):
    pass


# -- envelopes ----------------------------------------------------------------------


class _Envelope(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    specversion: Literal["1.0"]
    id: Name
    source: Name
    time: AwareDatetime
    subject: DossierId
    datacontenttype: str | None = None


class Submitted(_Envelope, frozen=True, tag="dossier.submitted"):
    data: SubmittedData


class Received(_Envelope, frozen=True, tag="dossier.received"):
    data: ReceivedData


class Assigned(_Envelope, frozen=True, tag="dossier.assigned"):
    data: AssignedData


class Transferred(_Envelope, frozen=True, tag="dossier.transferred"):
    data: TransferredData


class Returned(_Envelope, frozen=True, tag="dossier.returned"):
    data: TransferredData


class ConsultationRequested(_Envelope, frozen=True, tag="dossier.consultation_requested"):
    data: ConsultationRequestedData


class ConsultationAnswered(_Envelope, frozen=True, tag="dossier.consultation_answered"):
    data: ConsultationAnsweredData


class SupplementRequested(_Envelope, frozen=True, tag="dossier.supplement_requested"):
    data: SupplementRequestedData = SupplementRequestedData()


class SupplementReceived(_Envelope, frozen=True, tag="dossier.supplement_received"):
    data: EmptyData = EmptyData()


class Rescheduled(_Envelope, frozen=True, tag="dossier.rescheduled"):
    data: RescheduledData


class Completed(_Envelope, frozen=True, tag="dossier.completed"):
    data: CompletedData = CompletedData()


class Delivered(_Envelope, frozen=True, tag="dossier.delivered"):
    data: EmptyData = EmptyData()


class Withdrawn(_Envelope, frozen=True, tag="dossier.withdrawn"):
    data: EmptyData = EmptyData()


DossierEvent = (
    Submitted
    | Received
    | Assigned
    | Transferred
    | Returned
    | ConsultationRequested
    | ConsultationAnswered
    | SupplementRequested
    | SupplementReceived
    | Rescheduled
    | Completed
    | Delivered
    | Withdrawn
)

EVENT_TYPES: tuple[type[_Envelope], ...] = DossierEvent.__args__  # type: ignore[attr-defined,unused-ignore]
TYPE_NAMES: frozenset[str] = frozenset(t.__struct_config__.tag for t in EVENT_TYPES)  # type: ignore[misc,unused-ignore]

_decoder = msgspec.json.Decoder(DossierEvent)
_encoder = msgspec.json.Encoder()


def _classify(err: msgspec.ValidationError, raw: bytes) -> InvalidEvent:
    text = str(err)
    if "Invalid value" in text and "$.type" in text:
        return InvalidEvent("unknown_type", f"unknown event type: {text}")
    if "missing required field" in text:
        return InvalidEvent("missing_field", text)
    if " - at `" not in text and "got `" in text:
        return InvalidEvent("not_json", f"not a JSON object: {text}")
    if "$.specversion" in text:
        return InvalidEvent("bad_spec", text)
    return InvalidEvent("bad_field", text)


_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
"""JSON strings (skipped whole, so brackets inside them do not count) and brackets."""


def _deeper_than(raw: bytes, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than `limit` (stops as soon as they do)."""
    depth = 0
    for token in _TOKENS.finditer(raw):
        c = token.group()
        if c in (b"{", b"["):
            depth += 1
            if depth > limit:
                return True
        elif c in (b"}", b"]"):
            depth -= 1
    return False


def _few_outside_strings(raw: bytes) -> bool:
    """Brackets inside string values are text (a reason quoting code, say): count only the
    ones outside, stopping at the limit."""
    count = 0
    for token in _TOKENS.finditer(raw):
        if token.group() in (b"{", b"["):
            count += 1
            if count > MAX_BRACKETS:
                return False
    return True


def check_shape(
    raw: bytes, *, max_bytes: int = MAX_EVENT_BYTES, max_depth: int = MAX_JSON_DEPTH
) -> None:
    """What is checked before decoding: size, nesting depth, UTF-8 (the decoder would
    raise outside its own error types on bad bytes, or overflow on deep nesting)."""
    if len(raw) > max_bytes:
        raise InvalidEvent("too_large", f"event is {len(raw)} bytes, limit {max_bytes}")
    # Counting is C speed; a real event has three brackets, so the scan is for oddities,
    # and bounded: brackets by the thousand (in strings or not) are refused unscanned.
    brackets = raw.count(b"{") + raw.count(b"[")
    if brackets > max_depth:
        if brackets > MAX_BRACKETS and not _few_outside_strings(raw):
            raise InvalidEvent("too_complex", f"more than {MAX_BRACKETS} JSON objects or arrays")
        if _deeper_than(raw, max_depth):
            raise InvalidEvent("too_deep", f"JSON nested deeper than {max_depth} levels")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InvalidEvent(
            "bad_text", f"not valid UTF-8 at byte {err.start}: {err.reason}"
        ) from None


def decode_event(
    raw: bytes | bytearray | memoryview | str,
    *,
    max_bytes: int = MAX_EVENT_BYTES,
    max_depth: int = MAX_JSON_DEPTH,
) -> DossierEvent:
    """Parse and validate one CloudEvent; raise `InvalidEvent` naming field and reason."""
    if isinstance(raw, str):
        try:
            raw = raw.encode()
        except UnicodeEncodeError as err:  # a lone surrogate in a str
            raise InvalidEvent("bad_text", f"not valid text: {err.reason}") from None
    raw = bytes(raw)
    check_shape(raw, max_bytes=max_bytes, max_depth=max_depth)
    try:
        event: DossierEvent = _decoder.decode(raw)
    except msgspec.ValidationError as err:
        raise _classify(err, raw) from None
    except msgspec.DecodeError as err:
        raise InvalidEvent("not_json", f"not a JSON object: {err}") from None
    return event


def encode_event(event: DossierEvent) -> bytes:
    return _encoder.encode(event)


def event_from_dict(obj: dict[str, Any]) -> DossierEvent:
    """Validate a dict (e.g. built by an adapter) through the same path as wire bytes."""
    try:
        raw = _encoder.encode(obj)
    except (TypeError, UnicodeEncodeError, OverflowError, RecursionError) as err:
        raise InvalidEvent("bad_field", f"not JSON-serialisable: {err}") from None
    return decode_event(raw)


def type_name(event: DossierEvent) -> str:
    return event.__struct_config__.tag  # type: ignore[return-value]
