"""The Zalo adapter's pieces without processes: text cleaning and bounds, the webhook
body's shape, the per-recipient rate limit and digest, and the webhook secret checks."""

from __future__ import annotations

import asyncio
import hashlib
import os
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from zalo_support import RECIPIENTS, many_alerts, webhook_group

from alerts.webhook_auth import SecretError, SecretFile, check_authorization, read_secret
from alerts.zalo import (
    SUMMARY_CHARS,
    Adapter,
    RecipientRate,
    Recipients,
    ShapeError,
    clean,
    digest_text,
    link,
    message_text,
    validate_group,
)
from alerts.zalo_api import TEXT_LIMIT, ZaloError, clip, zalo_length

# -- text ------------------------------------------------------------------------------


def test_clip_counts_utf16_units_and_never_splits_an_emoji() -> None:
    """A cut text fits the limit in UTF-16 units, ends in "…", and keeps whole emoji."""
    text = "🔴" * 1500  # 3000 units
    cut = clip(text, 2000)
    assert zalo_length(cut) <= 2000 and cut.endswith("…")
    assert set(cut[:-1]) == {"🔴"}
    assert clip("ngắn", 2000) == "ngắn"


def test_clean_keeps_vietnamese_and_removes_what_is_invisible() -> None:
    """Decomposed Vietnamese comes out composed; control, bidi and zero-width characters
    go; breaks become spaces; a pile of combining marks is cut down."""
    nfd = unicodedata.normalize("NFD", "Nguyễn Thị Ánh — Sở Tư pháp")
    assert clean(nfd, 100) == "Nguyễn Thị Ánh — Sở Tư pháp"
    assert clean("a\x00b\u202ec\u200bd\ufeffe\x7f", 100) == "abcde"
    assert clean("line one\r\nline two\u2028three\tfour", 100) == "line one line two three four"
    zalgo = "x" + "\u0301" * 50
    assert clean(zalgo, 100) == "x\u0301\u0301"


def test_clean_defuses_links_and_bounds_length() -> None:
    """Schemes and www. are rewritten so Zalo does not link them; a long value is cut."""
    assert clean("see https://evil.example/x and WWW.evil.example", 100) == (
        "see https[:]//evil.example/x and WWW[.]evil.example"
    )
    assert clean("ftp://files", 100) == "ftp[:]//files"
    long = clean("ạ" * 100_000, SUMMARY_CHARS)
    assert len(long) == SUMMARY_CHARS and long.endswith("…")


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("http://dossiers.test/dossiers/HS-1", True),
        ("https://motcua.tinh.gov.vn:8443/dossiers/000.00.12.H12-250710-0001", True),
        ("https://x.test/dossiers/a%2Fb?tab=history#events", True),
        ("javascript:alert(1)", False),
        ("http://x.test/a b", False),
        ("http://x.test/\u202eexe", False),
        ("data:text/html,<script>", False),
        ("http://x.test/" + "a" * 600, False),
    ],
)
def test_link_keeps_only_plain_http_urls(url: str, kept: bool) -> None:
    """The dossier link is kept as is when it is a plain http(s) URL, else left out."""
    assert link(url) == (url if kept else "")


def group_of(n: int, truncated: int = 0) -> dict[str, Any]:
    group = many_alerts(
        n, "Hồ sơ HS-{i} đã quá hạn tại DEPT_LAND", "http://dossiers.test/dossiers/HS-{i}"
    )
    group["truncatedAlerts"] = truncated
    return group


def test_many_alerts_fit_one_message_and_the_rest_is_counted() -> None:
    """Five hundred alerts: the message stays within Zalo's limit and counts the rest."""
    text = message_text(group_of(500))
    assert zalo_length(text) <= TEXT_LIMIT
    assert text.startswith("🔴 Quá hạn — DEPT_LAND: 500 hồ sơ cần xử lý")
    assert "… và " in text and "… and " in text


def test_alerts_left_out_by_alertmanager_make_the_count_a_floor() -> None:
    """With max_alerts truncating the body, the header says "at least" and the left-out
    alerts are counted."""
    text = message_text(group_of(3, truncated=40))
    assert text.startswith("🔴 Quá hạn — DEPT_LAND: ít nhất 3 hồ sơ cần xử lý")
    assert "(+40 cảnh báo khác không gửi kèm)" in text
    assert "Overdue — DEPT_LAND: at least 3 dossiers need action" in text
    assert "(+40 more alerts not included)" in text


def test_digest_of_many_notifications_fits_one_message() -> None:
    """A thousand held headlines make one message within the limit, the rest counted."""
    heads = [(f"🔴 Quá hạn — DEPT_{i}: 1 hồ sơ", f"Overdue — DEPT_{i}: 1") for i in range(1000)]
    text = digest_text(heads)
    assert zalo_length(text) <= TEXT_LIMIT
    assert text.startswith("📋 1000 thông báo gộp lại") and "… và " in text


# -- the body's shape ------------------------------------------------------------------


def test_alertmanager_body_passes_validation() -> None:
    """The body Alertmanager posts (version 4) is accepted as is."""
    group = webhook_group("DEPT_LAND", "HS-1", "overdue")
    assert validate_group(group) is group


def test_shape_errors_name_fields_not_values() -> None:
    """A shape error says which field is wrong without quoting what the sender wrote."""
    group = webhook_group("DEPT_LAND", "HS-1", "overdue")
    group["commonAnnotations"] = {"summary": ["<script>secret</script>"]}
    with pytest.raises(ShapeError) as err:
        validate_group(group)
    assert str(err.value) == "commonAnnotations: expected string values"
    group = webhook_group("DEPT_LAND", "HS-1", "overdue")
    group["alerts"][0]["status"] = "<script>"
    with pytest.raises(ShapeError, match=r"^alerts\[0\]\.status: expected firing or resolved$"):
        validate_group(group)


# -- the rate limit --------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_recipient_rate_is_a_sliding_window_per_person() -> None:
    """Three a window for each person separately; a slot frees when its send is a
    window old."""
    clock = Clock()
    rate = RecipientRate(3, 60, clock)
    for _ in range(3):
        assert rate.take("a")
        clock.now += 10
    assert not rate.take("a")
    assert rate.take("b")
    assert rate.wait("a") == pytest.approx(30)
    clock.now += 29.9
    assert not rate.take("a")
    clock.now += 0.1
    assert rate.take("a") and not rate.take("a")
    assert rate.wait("a") == pytest.approx(10)


class StubClient:
    """Stands in for ZaloClient: records (user, text), optionally fails every send."""

    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[str, str]] = []
        self.fail = fail

    async def send_text(self, user_id: str, text: str) -> str:
        if self.fail:
            raise ZaloError(-1, "network down", transient=True)
        self.sent.append((user_id, text))
        return f"m{len(self.sent)}"


def test_news_joins_a_waiting_digest_to_keep_the_order(tmp_path: Path) -> None:
    """Once a digest waits for someone, later notifications join it even if a slot has
    come free meanwhile: the person reads them in the order they happened."""
    recipients_file = tmp_path / "r.toml"
    recipients_file.write_text(RECIPIENTS)

    async def scenario() -> list[tuple[str, str]]:
        client = StubClient()
        adapter = Adapter(
            client,  # type: ignore[arg-type]
            Recipients(recipients_file),
            rate=RecipientRate(1, 0.3),
        )
        for n in range(3):
            group = webhook_group(f"DEPT_{n}", f"HS-{n}", "overdue", fingerprint=f"f{n}")
            assert await adapter.deliver("director", group)
            if n == 1:
                await asyncio.sleep(0.1)  # the window is not over yet
        await asyncio.sleep(0.5)
        await adapter.close()
        return client.sent

    sent = asyncio.run(scenario())
    assert len(sent) == 2
    assert "DEPT_0" in sent[0][1]
    assert sent[1][1].startswith("📋 2 thông báo gộp lại")
    assert sent[1][1].index("DEPT_1") < sent[1][1].index("DEPT_2")


def test_a_held_notification_is_not_held_again_on_retry(tmp_path: Path) -> None:
    """Alertmanager retrying a notification that is waiting in a digest adds nothing."""
    recipients_file = tmp_path / "r.toml"
    recipients_file.write_text(RECIPIENTS)

    async def scenario() -> list[tuple[str, str]]:
        client = StubClient()
        adapter = Adapter(
            client,  # type: ignore[arg-type]
            Recipients(recipients_file),
            rate=RecipientRate(1, 0.2),
        )
        first = webhook_group("DEPT_0", "HS-0", "overdue", fingerprint="f0")
        second = webhook_group("DEPT_1", "HS-1", "overdue", fingerprint="f1")
        for group in (first, second, second):
            assert await adapter.deliver("director", group)
        await asyncio.sleep(0.4)
        await adapter.close()
        return client.sent

    sent = asyncio.run(scenario())
    assert len(sent) == 2 and sent[1][1].startswith("📋 1 thông báo gộp lại")


# -- the secret ------------------------------------------------------------------------

TOKEN = "0123456789abcdef0123456789abcdef"


def test_secret_is_trimmed_like_alertmanager_trims_it(tmp_path: Path) -> None:
    """Whitespace around the token (an editor's newline) is not part of it."""
    f = tmp_path / "token"
    f.write_text(f"  {TOKEN}\r\n\n")
    assert read_secret(f) == TOKEN.encode()


def test_authorization_header_checks() -> None:
    """Only `Bearer <token>` passes; each failure has its reason."""
    expected = hashlib.sha256(TOKEN.encode()).digest()
    assert check_authorization(f"Bearer {TOKEN}", expected) is None
    assert check_authorization(f"bearer  {TOKEN} ", expected) is None
    assert check_authorization(None, expected) == "no_credentials"
    assert check_authorization("", expected) == "no_credentials"
    assert check_authorization(f"Basic {TOKEN}", expected) == "wrong_scheme"
    assert check_authorization(f"Bearer {TOKEN[:-1]}", expected) == "wrong_secret"
    assert check_authorization("Bearer \udcff\udcfe", expected) == "wrong_secret"


def test_secret_file_follows_rewrites_and_survives_a_broken_one(tmp_path: Path) -> None:
    """A rewritten token file is picked up; an emptied one keeps the last good token."""
    f = tmp_path / "token"
    f.write_text(TOKEN)
    secret = SecretFile(f)
    assert secret.digest() == hashlib.sha256(TOKEN.encode()).digest()
    f.write_text(TOKEN + "-rotated")
    assert secret.digest() == hashlib.sha256((TOKEN + "-rotated").encode()).digest()
    f.write_text("")
    os.utime(f, ns=(1, 1))
    assert secret.digest() == hashlib.sha256((TOKEN + "-rotated").encode()).digest()


def test_secret_file_must_be_usable_at_start(tmp_path: Path) -> None:
    """A missing or weak token file fails at start."""
    with pytest.raises(OSError):
        SecretFile(tmp_path / "missing")
    weak = tmp_path / "weak"
    weak.write_text("abc")
    with pytest.raises(SecretError, match="shorter than 16"):
        SecretFile(weak)
