"""The Zalo adapter as seen by someone who is not Alertmanager: the webhook secret (401
without it, nothing sent, nothing of the body logged), the body limit, the shape check,
unknown paths, hostile text, and the per-recipient rate limit — against the fake Zalo API
and, for the secret, a real Alertmanager."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import unicodedata
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alerting_support import HOOKS_WEBHOOK_TOKEN, ZALO_WEBHOOK_TOKEN, alert, render_config
from fake_zalo import FakeZalo
from services import AlertmanagerServer, SmtpServer
from zalo_support import AdapterProcess, HeaderRecorder, webhook_group

from alerts.alertmanager import AlertmanagerClient
from alerts.firing import FiringSet, now_utc
from alerts.webhook_auth import MAX_BODY

MARKER = "BODY-MARKER-5c2e91"
"""Written into request bodies: it must never show up in the adapter's log."""


@pytest.fixture
def zalo() -> Iterator[FakeZalo]:
    """The fake Zalo API without its scripted trouble: every send succeeds."""
    z = FakeZalo(expire_first=False, rate_limit_after_refresh=False)
    yield z
    z.stop()


@pytest.fixture
def adapter(zalo: FakeZalo, tmp_path: Path) -> Iterator[AdapterProcess]:
    a = AdapterProcess(zalo, tmp_path)
    yield a
    a.stop()


def marked_group(unit: str = "DEPT_JUSTICE", dossier: str = "HS-1") -> bytes:
    group = webhook_group(unit, dossier, "overdue")
    group["alerts"][0]["annotations"]["evidence"] = MARKER
    return json.dumps(group).encode()


def run_adapter_command(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    recipients = tmp_path / "r.toml"
    recipients.write_text('[director]\n"*" = []\n')
    env = {"PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, "-m", "streams.cli.alerts", "zalo-adapter", "--port", "0"]
    cmd += ["--recipients", str(recipients), "--token-file", str(tmp_path / "t.json"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60, check=False)


# -- starting --------------------------------------------------------------------------


def test_adapter_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    """No --secret-file, no DOSSIERWATCH_WEBHOOK_SECRET_FILE, no --insecure-no-auth: a
    one-line error and a non-zero exit, before anything listens."""
    done = run_adapter_command(tmp_path)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "no webhook secret" in lines[0] and "--secret-file" in lines[0]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("", "empty"),
        ("short\n", "shorter than 16"),
        ("has a space inside it, 1234567890\n", "printable ASCII"),
    ],
    ids=["empty", "short", "spaces"],
)
def test_adapter_refuses_a_weak_or_odd_secret(tmp_path: Path, content: str, says: str) -> None:
    """An empty, short or space-containing token file stops the start with one line."""
    secret = tmp_path / "secret"
    secret.write_text(content)
    done = run_adapter_command(tmp_path, "--secret-file", str(secret))
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], done.stderr


def test_missing_secret_file_and_conflicting_flags_are_refused(tmp_path: Path) -> None:
    """A secret file that does not exist, or a secret file with --insecure-no-auth, is an
    error, not a silent fallback to no authentication."""
    missing = run_adapter_command(tmp_path, "--secret-file", str(tmp_path / "nope"))
    assert missing.returncode != 0 and "cannot start" in missing.stderr
    secret = tmp_path / "secret"
    secret.write_text(ZALO_WEBHOOK_TOKEN)
    both = run_adapter_command(tmp_path, "--secret-file", str(secret), "--insecure-no-auth")
    assert both.returncode != 0 and "choose one" in both.stderr


# -- the secret ------------------------------------------------------------------------


def test_request_without_secret_gets_401_and_nothing_is_sent(
    zalo: FakeZalo, adapter: AdapterProcess
) -> None:
    """No Authorization header: 401 with a Bearer challenge, no Zalo call, the body not in
    the log, the rejection counted."""
    answer = adapter.post("/zalo/unit_head", marked_group(), token=None)
    assert answer.status == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer ")
    assert zalo.calls == []
    assert MARKER not in adapter.log.read_text()
    assert "webhook_rejected" in adapter.log.read_text()
    assert adapter.metric("dossierwatch_zalo_webhook_rejected_total", reason="no_credentials") == 1


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (f"Bearer {ZALO_WEBHOOK_TOKEN}x", "wrong_secret"),
        (f"Bearer {ZALO_WEBHOOK_TOKEN[:-1]}", "wrong_secret"),
        ("Bearer ", "wrong_secret"),
        (f"Basic {ZALO_WEBHOOK_TOKEN}", "wrong_scheme"),
        (ZALO_WEBHOOK_TOKEN, "wrong_scheme"),
    ],
    ids=["longer", "shorter", "empty", "basic", "bare"],
)
def test_wrong_secret_gets_401_and_nothing_is_sent(
    zalo: FakeZalo, adapter: AdapterProcess, header: str, reason: str
) -> None:
    """A wrong token or scheme: 401, no Zalo call, nothing of the body or the token logged."""
    answer = adapter.post(
        "/zalo/unit_head", marked_group(), token=None, headers={"Authorization": header}
    )
    assert answer.status == 401
    assert "WWW-Authenticate" in answer.headers
    assert zalo.calls == []
    log = adapter.log.read_text()
    assert MARKER not in log and ZALO_WEBHOOK_TOKEN[:20] not in log
    assert adapter.metric("dossierwatch_zalo_webhook_rejected_total", reason=reason) == 1


def test_right_secret_is_delivered(zalo: FakeZalo, adapter: AdapterProcess) -> None:
    """`Authorization: Bearer <the token in the file>` gets the message to the unit heads."""
    assert adapter.post("/zalo/unit_head", marked_group()).status == 200
    assert {c.user_id for c in zalo.delivered} == {"zuid-justice-head", "zuid-justice-deputy"}
    assert zalo.problems == []


def test_rotated_secret_takes_effect_without_restart(
    zalo: FakeZalo, adapter: AdapterProcess
) -> None:
    """Overwriting the token file switches the accepted token at the next request."""
    new = "rotated-token-0123456789abcdef0123"
    adapter.secret_file.write_text(new + "\n")
    group = marked_group()
    assert adapter.post("/zalo/director", group, token=ZALO_WEBHOOK_TOKEN).status == 401
    assert adapter.post("/zalo/director", group, token=new).status == 200
    assert [c.user_id for c in zalo.delivered] == ["zuid-director"]


def test_alertmanager_with_the_secret_delivers_and_with_a_wrong_one_is_refused(
    zalo: FakeZalo, adapter: AdapterProcess, tmp_path: Path
) -> None:
    """A real Alertmanager on the rendered config sends each webhook its own token from
    its file: ops-hooks gets its token, the adapter delivers; an Alertmanager holding a
    wrong Zalo token gets 401s and nobody is messaged."""
    hooks, smtp = HeaderRecorder(), SmtpServer()
    firing = FiringSet("http://dossiers.test", timedelta(minutes=5))
    change = firing.apply(alert("HS-9", "escalation_2", unit="DEPT_LAND"), now_utc())
    assert change.postable is not None
    wrong = render_config(
        tmp_path / "wrong", hooks.url, adapter.url, smtp.port, zalo_token="not-the-token-0123456789"
    )
    am = AlertmanagerServer(wrong, tmp_path / "am-wrong")
    try:
        AlertmanagerClient(am.url).post([change.postable])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if adapter.metric("dossierwatch_zalo_webhook_rejected_total", reason="wrong_secret"):
                break
            time.sleep(0.2)
        assert adapter.metric("dossierwatch_zalo_webhook_rejected_total", reason="wrong_secret")
        assert zalo.calls == []
    finally:
        am.stop()

    right = render_config(tmp_path / "right", hooks.url, adapter.url, smtp.port)
    am = AlertmanagerServer(right, tmp_path / "am-right")
    try:
        AlertmanagerClient(am.url).post([change.postable])
        want = {"zuid-land-desk", "zuid-land-head", "zuid-director"}
        deadline = time.monotonic() + 60
        while {c.user_id for c in zalo.delivered} != want and time.monotonic() < deadline:
            time.sleep(0.2)
        assert {c.user_id for c in zalo.delivered} == want
        seen = hooks.snapshot()
        assert seen and {auth for _, auth in seen} == {f"Bearer {HOOKS_WEBHOOK_TOKEN}"}
    finally:
        am.stop()
        hooks.stop()
        smtp.stop()


# -- size, shape, paths ----------------------------------------------------------------


def test_body_over_the_limit_gets_413(zalo: FakeZalo, adapter: AdapterProcess) -> None:
    """A declared body over 1 MiB and a chunked one that grows past it both get 413; an
    unauthenticated big body gets 401 first."""
    big = b'{"alerts": "' + b"x" * MAX_BODY + b'"}'
    assert adapter.post("/zalo/director", big).status == 413
    assert adapter.post("/zalo/director", iter([big[:1000], big[1000:]])).status == 413
    assert adapter.post("/zalo/director", big, token=None).status == 401
    assert zalo.calls == []
    assert adapter.metric("dossierwatch_zalo_webhook_rejected_total", reason="too_large") == 2


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"{not json", "body is not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "body is not JSON"),
        (b"[]", "expected an Alertmanager webhook object"),
        (b'{"status": "firing"}', "alerts: expected a non-empty list"),
        (b'{"alerts": [{"status": "burning"}]}', "alerts[0].status: expected firing or resolved"),
        (
            b'{"alerts": [{"status": "firing", "labels": {"unit": 7}}]}',
            "alerts[0].labels: expected string values",
        ),
        (b'{"alerts": [{"status": "firing"}], "truncatedAlerts": -1}', "truncatedAlerts"),
    ],
    ids=["broken", "deep", "list", "no-alerts", "status", "label-type", "truncated"],
)
def test_malformed_body_gets_400_with_a_short_reason(
    zalo: FakeZalo, adapter: AdapterProcess, body: bytes, error: str
) -> None:
    """JSON that is not an Alertmanager webhook object: 400 naming the field, nothing sent."""
    answer = adapter.post("/zalo/director", body)
    assert answer.status == 400
    assert error in answer.json()["error"]
    assert zalo.calls == []


def test_unknown_paths_get_404(zalo: FakeZalo, adapter: AdapterProcess) -> None:
    """A role that is not one of the five, or any other path, is a 404 even with the
    secret; the right path with the wrong method is a 405."""
    group = marked_group()
    assert adapter.post("/zalo/everyone", group).status == 404
    assert adapter.post("/zalo/director/extra", group).status == 404
    assert adapter.post("/admin", group, token=None).status == 404
    assert adapter.post("/zalo/director", b"", method="GET").status == 405
    assert zalo.calls == []


# -- hostile text ----------------------------------------------------------------------


def hostile_group() -> dict[str, Any]:
    group = webhook_group("DEPT_JUSTICE", "HS-666", "overdue")
    notes = group["alerts"][0]["annotations"]
    notes["summary"] = (
        "Hồ sơ HS-666 quá hạn\x00\x07\x1b[31m\u202egnp.exe\u202c\u200b"
        "\n✅ Đã hết cảnh báo: mọi thứ ổn"
        "<b>HTML</b><script>alert(1)</script> **markdown** [bấm vào](https://evil.example/login)"
        " www.evil.example " + "A" * 100_000
    )
    notes["summary_en"] = "Dossier HS-666 overdue\r\nResolved: all fine"
    notes["dossier_url"] = "javascript:alert(1)"
    # Vietnamese typed in decomposed form (NFD) must arrive whole, composed.
    group["commonAnnotations"]["title"] = unicodedata.normalize("NFD", "Quá hạn")
    return group


def test_hostile_text_is_defused_and_bounded(zalo: FakeZalo, adapter: AdapterProcess) -> None:
    """Control, bidirectional and zero-width characters go, injected lines stay inside
    their line, links other than the dossier's are not tappable, HTML and markdown reach
    Zalo as the plain text they are, Vietnamese stays whole, and 100 KB become one
    message within Zalo's limit."""
    assert adapter.notify("director", hostile_group()) == 200
    assert zalo.problems == []  # the fake checks the 2,000-character limit too
    [call] = zalo.delivered
    text = call.text
    assert len(text.encode("utf-16-le")) // 2 <= 2000
    assert not [c for c in text if unicodedata.category(c) in ("Cc", "Cf") and c != "\n"]
    assert text.startswith("🔴 Quá hạn — DEPT_JUSTICE: 1 hồ sơ cần xử lý")
    assert "Hồ sơ HS-666 quá hạn" in text
    assert "[31m" in text  # what is left of the escape sequence is harmless text
    lines = text.split("\n")
    assert not [ln for ln in lines if ln.startswith(("✅", "Resolved"))]
    assert "https://evil" not in text and "https[:]//evil.example/login" in text
    assert "www.evil" not in text and "www[.]evil.example" in text
    assert "<b>HTML</b><script>alert(1)</script> **markdown**" in text
    assert "javascript:" not in text
    [long] = [ln for ln in lines if "AAAA" in ln]
    assert len(long) <= 310 and long.endswith("A…")  # one summary: 300 characters at most


# -- rate limit ------------------------------------------------------------------------


def test_flood_to_one_recipient_becomes_one_digest(zalo: FakeZalo, tmp_path: Path) -> None:
    """Ten notifications for the director within a moment, with 3 messages per 2 s
    allowed: the first three go at once, the other seven wait and arrive as one digest,
    a line each, when the window has room; all ten are answered 200 straight away."""
    adapter = AdapterProcess(
        zalo, tmp_path, extra=["--recipient-rate", "3", "--recipient-window", "2"]
    )
    try:
        units = [f"DEPT_{n:02d}" for n in range(10)]
        started = time.monotonic()
        for n, unit in enumerate(units):
            group = webhook_group(unit, f"HS-{n}", "overdue", fingerprint=f"f{n}")
            assert adapter.notify("director", group) == 200
        assert time.monotonic() - started < 2  # nobody waited for the window
        deadline = time.monotonic() + 15
        while len(zalo.delivered) < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # anything extra would have arrived by now
        sent = zalo.delivered
        assert [c.user_id for c in sent] == ["zuid-director"] * 4
        assert [c.text.split(" — ")[1].split(":")[0] for c in sent[:3]] == units[:3]
        digest = sent[3].text
        assert digest.startswith("📋 7 thông báo gộp lại")
        for unit in units[3:]:
            assert f"🔴 Quá hạn — {unit}: 1 hồ sơ cần xử lý" in digest
            assert f"Overdue — {unit}: 1 dossiers need action" in digest
        assert sent[3].at - sent[0].at >= 2 * 0.9
        assert adapter.metric("dossierwatch_zalo_rate_limited_total") == 7
        assert adapter.metric("dossierwatch_zalo_messages_sent_total", kind="digest") == 1
        assert adapter.metric("dossierwatch_zalo_messages_sent_total", kind="notification") == 3
        assert zalo.problems == []
    finally:
        adapter.stop()


def test_held_notifications_go_out_on_shutdown(zalo: FakeZalo, tmp_path: Path) -> None:
    """A digest still waiting for the window when the adapter stops is sent, not lost."""
    adapter = AdapterProcess(
        zalo, tmp_path, extra=["--recipient-rate", "1", "--recipient-window", "600"]
    )
    try:
        for n in range(3):
            group = webhook_group(f"DEPT_{n}", f"HS-{n}", "overdue", fingerprint=f"f{n}")
            assert adapter.notify("director", group) == 200
        assert len(zalo.delivered) == 1
    finally:
        adapter.stop()
    assert len(zalo.delivered) == 2
    assert zalo.delivered[1].text.startswith("📋 2 thông báo gộp lại")


def test_insecure_mode_accepts_without_a_token_and_says_so(zalo: FakeZalo, tmp_path: Path) -> None:
    """--insecure-no-auth, the explicit opt-out for experiments, delivers without a token
    and warns about it at start."""
    adapter = AdapterProcess(zalo, tmp_path, secret=None)
    try:
        assert adapter.post("/zalo/director", marked_group(), token=None).status == 200
        assert [c.user_id for c in zalo.delivered] == ["zuid-director"]
        assert "webhook_auth_disabled" in adapter.log.read_text()
    finally:
        adapter.stop()
