"""SMS text without processes: Vietnamese made GSM-7, segment counting, and a
notification of any size kept within its segments with the first dossier's link."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from zalo_support import many_alerts, webhook_group

from alerts.sms_text import capacity, is_gsm7, length, segments, sms_text, unaccent

VOWELS = "aăâeêioôơuưy"
TONES = ("", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323")  # huyền sắc ngã hỏi nặng


def test_every_vietnamese_letter_becomes_its_plain_letter() -> None:
    """All 134 vowel forms and đ, both cases, come out as the plain ASCII letter."""
    for vowel in VOWELS:
        for tone in TONES:
            letter = unicodedata.normalize("NFC", vowel + tone)
            base = unicodedata.normalize("NFD", vowel)[0]
            assert unaccent(letter) == base, letter
            assert unaccent(letter.upper()) == base.upper(), letter
    assert unaccent("Đơn vị đã được") == "Don vi da duoc"
    assert unaccent("Quá hạn — 3 hồ sơ… → “x”") == 'Qua han - 3 ho so... -> "x"'
    assert unaccent("🔴 Tồn đọng") == " Ton dong"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("[" * 80, 1),  # extension characters weigh two septets
        ("[" * 81, 2),
        ("ạ" * 70, 1),  # one letter with a diacritic makes it UCS-2
        ("ạ" * 71, 2),
        ("ạ" * 134, 2),
        ("ạ" * 135, 3),
    ],
)
def test_segments_are_counted_as_the_network_bills_them(text: str, expected: int) -> None:
    """160/153 septets a segment in GSM-7, 70/67 UTF-16 units in UCS-2."""
    assert segments(text) == expected


def crowd(n: int) -> dict[str, Any]:
    summary = "Hồ sơ HS-{i} vẫn quá hạn (hạn 2025-07-09 17:00), " * 3
    return many_alerts(
        n, summary, "https://motcua.tinh.gov.vn/dossiers/HS-{i}", level="escalation_2"
    )


@pytest.mark.parametrize("max_segments", [1, 2, 3])
@pytest.mark.parametrize("unaccented", [True, False])
@pytest.mark.parametrize("n", [1, 40])
def test_any_notification_fits_its_segments_and_keeps_the_first_link(
    max_segments: int, unaccented: bool, n: int
) -> None:
    """One long alert or forty: the SMS stays within the segments, in GSM-7 when
    unaccented, and carries the first dossier's absolute link whole."""
    text = sms_text(crowd(n), unaccented=unaccented, max_segments=max_segments)
    assert length(text) <= capacity(max_segments, gsm7=unaccented)
    assert segments(text) <= max_segments
    assert is_gsm7(text) or not unaccented
    assert "https://motcua.tinh.gov.vn/dossiers/HS-0" in text


def test_the_rest_is_counted_and_a_resolution_says_so() -> None:
    """Alerts that do not fit are counted; a resolved notification starts with it."""
    assert "va 39 ho so khac" in sms_text(crowd(40), max_segments=2).splitlines()[-1]
    resolved = webhook_group("DEPT_LAND", "HS-1", "overdue")
    resolved["status"] = "resolved"
    resolved["alerts"][0]["status"] = "resolved"
    assert sms_text(resolved).startswith("Da het canh bao: Qua han - DEPT_LAND: 1 ho so")
