"""Values from an Alertmanager notification made safe to put in front of a person.

Every channel that reaches a phone (Zalo OA and ZNS, SMS) shows text that came, in the
end, from whoever could post to Alertmanager.  `clean` makes any value one line of plain
text — control, format and bidirectional characters removed, NFC so Vietnamese stays
whole, links written so a messenger does not make them tappable — and bounds its length;
`link` keeps a dossier URL only when it is a plain http(s) URL.  One definition, so every
channel defuses the same way.
"""

from __future__ import annotations

import re
import unicodedata

URL_CHARS = 512
"""Characters of a link at most: a longer one is left out, not cut."""

MAX_MARKS = 2
"""Combining marks kept after one character: NFC Vietnamese needs none (NFD at most two,
ệ = e + ̂ + ̣); a pile of them ("Zalgo" text) would smear over the lines around it."""

# Line and paragraph breaks of every kind: a value must not start a line of its own,
# where it could pass for a line the adapter wrote ("✅ Đã hết cảnh báo …").
_BREAKS = frozenset("\t\n\v\f\r\x1c\x1d\x1e\x85\u2028\u2029")
# Control, format (bidirectional overrides, zero-width characters), surrogate and
# private-use characters: invisible or misleading on a phone, never needed in Vietnamese.
_DROPPED = frozenset({"Cc", "Cf", "Cs", "Co"})
_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*)://")
_WWW = re.compile(r"(?i)\b(www)\.")
_LINK = re.compile(
    r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*)?"
)


def utf16_length(text: str) -> int:
    """The length of `text` in UTF-16 code units (as a JavaScript or Java server counts)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-16 code units, ending in "…" when cut; never splits
    a character (a cut emoji would reach the phone as a replacement box)."""
    if utf16_length(text) <= limit:
        return text
    out: list[str] = []
    used = 1  # the closing "…"
    for ch in text:
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > limit:
            break
        out.append(ch)
    return "".join(out).rstrip() + "…"


def clean(value: object, limit: int) -> str:
    """One line of plain text: NFC, breaks and runs of spaces made one space, invisible and
    control characters removed, links defused ("https[:]//…", "www[.]…": the only tappable
    link is the dossier's own, see `link`), at most `limit` characters."""
    # Looking at a bounded prefix keeps a 100 KB value as cheap as a short one.
    text = unicodedata.normalize("NFC", str(value)[: limit * 4])
    out: list[str] = []
    marks = 0
    for ch in text:
        category = unicodedata.category(ch)
        if ch in _BREAKS or category in ("Zs", "Zl", "Zp"):
            ch, category = " ", "Zs"
        if category in _DROPPED:
            continue
        if category.startswith("M"):
            marks += 1
            if marks > MAX_MARKS:
                continue
        else:
            marks = 0
        out.append(ch)
    text = " ".join("".join(out).split())
    text = _WWW.sub(r"\1[.]", _SCHEME.sub(r"\1[:]//", text))
    return clip(text, limit)


def link(value: object) -> str:
    """`value` if it is a plain http(s) URL of reasonable length, else "" (a link cut
    short or rewritten would lead somewhere else, so it is left out, not repaired)."""
    url = str(value)
    if len(url) <= URL_CHARS and _LINK.fullmatch(url):
        return url
    return ""
