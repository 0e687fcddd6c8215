"""The event contract: valid CloudEvents decode into typed values; bad ones name the reason."""

import json
from typing import Any

import pytest

from streams.contract.events import (
    MAX_EVENT_BYTES,
    InvalidEvent,
    Received,
    decode_event,
    encode_event,
    type_name,
)

GOOD: dict[str, Any] = {
    "specversion": "1.0",
    "id": "e-1",
    "source": "province-system",
    "type": "dossier.received",
    "time": "2025-09-08T09:00:00+07:00",
    "subject": "HS-1",
    "data": {"procedure": "1.001234", "unit": "ONE_STOP", "time_limit": "15wd"},
}


def with_(**changes: Any) -> bytes:
    event = {**GOOD, **changes}
    return json.dumps({k: v for k, v in event.items() if v is not None}).encode()


def test_a_valid_event_decodes_and_round_trips() -> None:
    """A receipt decodes into a typed Received and encodes back to an equal event."""
    event = decode_event(with_())
    assert isinstance(event, Received) and type_name(event) == "dossier.received"
    assert event.data.time_limit == "15wd"
    assert decode_event(encode_event(event)) == event


@pytest.mark.parametrize(
    ("raw", "reason", "names"),
    [
        (b"{not json", "not_json", "malformed"),
        (b"[1, 2]", "not_json", "object"),
        (with_(type="dossier.teleported"), "unknown_type", "dossier.teleported"),
        (with_(subject=None), "missing_field", "subject"),
        (with_(data={"unit": "A"}), "missing_field", "procedure"),
        (with_(time="2025-09-08T09:00:00"), "bad_field", "$.time"),
        (with_(data={**GOOD["data"], "time_limit": "15 days"}), "bad_field", "time_limit"),
        (with_(specversion="0.3"), "bad_spec", "specversion"),
        (with_(subject=""), "bad_field", "subject"),
    ],
)
def test_invalid_events_name_reason_and_field(raw: bytes, reason: str, names: str) -> None:
    """Every contract breach raises InvalidEvent with a bounded reason and the field in the text."""
    with pytest.raises(InvalidEvent) as err:
        decode_event(raw)
    assert err.value.reason == reason
    assert names in str(err.value)


def test_an_oversized_event_is_rejected_unread() -> None:
    """A 2 MB payload is refused as too large before any parsing."""
    raw = with_(data={**GOOD["data"], "procedure": "x" * 2_000_000})
    assert len(raw) > MAX_EVENT_BYTES
    with pytest.raises(InvalidEvent) as err:
        decode_event(raw)
    assert err.value.reason == "too_large"
