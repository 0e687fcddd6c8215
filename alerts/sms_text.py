"""An alert as an SMS: short, Vietnamese, by default without diacritics.

An SMS is billed per segment.  GSM-7, the 7-bit alphabet every phone reads, fits 160
characters in one segment and 153 in each part of a longer message; any other character
(Vietnamese letters with diacritics among them) makes the whole message UCS-2: 70
characters, 67 per part.  Sending Vietnamese without diacritics ("Ho so HS-1 da qua han")
is common practice for that reason, and the default here (`unaccented`); with it off,
the text keeps its diacritics and is counted as UCS-2.

The message says what needs action, first the dossiers with their Vietnamese evidence
and the dossier page's link, and what does not fit `max_segments` is counted ("va 3 ho so
khac"); the first dossier's link is always kept, cutting its summary rather than the link.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

from alerts.notification import Item, heading, items
from alerts.plaintext import clip, utf16_length

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
"""The GSM 03.38 default alphabet."""
GSM7_EXTENDED = frozenset("^{}\\[~]|€")
"""Characters of the extension table: an escape and the character, two septets each."""

# What a Vietnamese text holds besides letters with diacritics, said in GSM-7.
_PLAIN = {
    "đ": "d",
    "Đ": "D",
    "—": "-",
    "–": "-",
    "…": "...",
    "→": "->",
    "•": "-",
    "✓": "v",
    "“": '"',
    "”": '"',
    "‘": "'",
    "’": "'",
}

SEGMENT_GSM7 = (160, 153)
SEGMENT_UCS2 = (70, 67)
"""(one segment, each part of a longer message), in characters."""


def unaccent(text: str) -> str:
    """`text` in GSM-7: Vietnamese without diacritics (ệ → e, đ → d), dashes and quotes
    made plain, and anything else GSM-7 cannot carry (emoji) left out."""
    out: list[str] = []
    for ch in text:
        for c in unicodedata.normalize("NFD", _PLAIN.get(ch, ch)):
            if c in GSM7_BASIC or c in GSM7_EXTENDED:
                out.append(c)
    return "".join(out)


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in text)


def length(text: str) -> int:
    """Characters as the network counts them: septets in GSM-7, UTF-16 units in UCS-2."""
    if is_gsm7(text):
        return sum(2 if c in GSM7_EXTENDED else 1 for c in text)
    return utf16_length(text)


def segments(text: str) -> int:
    """The segments `text` is billed as."""
    single, part = SEGMENT_GSM7 if is_gsm7(text) else SEGMENT_UCS2
    n = length(text)
    return 1 if n <= single else -(-n // part)


def capacity(max_segments: int, gsm7: bool) -> int:
    """Characters that fit in `max_segments` segments."""
    single, part = SEGMENT_GSM7 if gsm7 else SEGMENT_UCS2
    return single if max_segments == 1 else part * max_segments


def sms_text(group: dict[str, Any], *, unaccented: bool = True, max_segments: int = 2) -> str:
    """The notification as one SMS of at most `max_segments` segments."""
    h = heading(group)
    every = items(group)
    firing = [i for i in every if i.firing]
    shown_items = firing or every
    vi_floor = "ít nhất " if h.truncated else ""
    if h.still_firing:
        head = f"{h.title} - {h.unit}: {vi_floor}{max(h.firing, 1)} {h.noun} cần xử lý"
    else:
        head = f"Đã hết cảnh báo: {h.title} - {h.unit}: {vi_floor}{h.resolved} {h.noun}"
    final: Callable[[str], str] = unaccent if unaccented else (lambda t: t)
    cap = capacity(max_segments, gsm7=unaccented)

    def line(i: Item, evidence: bool, summary: str | None = None) -> str:
        said = i.summary if summary is None else summary
        if evidence and i.evidence_vi:
            said += f". Căn cứ: {i.evidence_vi}"
        return said + (f" {i.url}" if i.url else "")

    def compose(shown: int, evidence: bool, summary: str | None = None) -> str:
        lines = [head]
        lines += [line(i, evidence, summary) for i in shown_items[:shown]]
        if shown < len(shown_items):
            lines.append(f"… và {len(shown_items) - shown} {h.noun} khác")
        return final("\n".join(lines))

    for shown in range(len(shown_items), 0, -1):
        text = compose(shown, evidence=True)
        if length(text) <= cap:
            return text
    if not shown_items:
        return _cut(head, cap, final)
    text = compose(1, evidence=False)
    if length(text) <= cap:
        return text
    # Cut the first summary, never the link: the link is what lets them act.
    first = shown_items[0]
    room = cap - length(compose(1, evidence=False, summary=""))
    if room > 10:
        summary = clip(first.summary, room)
        while length(compose(1, evidence=False, summary=summary)) > cap and len(summary) > 1:
            summary = clip(summary, len(summary) - 1)
        return compose(1, evidence=False, summary=summary)
    # One UCS-2 segment has no room for the heading and a link: say less around the link.
    for short in (f"{h.title}: {first.dossier} {first.url}", f"{first.dossier} {first.url}"):
        if length(final(short)) <= cap:
            return final(short)
    return _cut(first.url or head, cap, final)


def _cut(text: str, cap: int, final: Callable[[str], str]) -> str:
    """`text` made final and cut to `cap` (the "…" of a cut is "..." in GSM-7)."""
    n = cap
    while True:
        out = final(clip(text, n))
        if length(out) <= cap or n <= 1:
            return out
        n -= 1
