"""The Zalo adapter against a local fake of the Zalo OA API that checks request shapes:
token refresh on an expired token, back-off on the rate limit, recipients per unit and
role, and the whole path from a real Alertmanager, which sends the webhook secret."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alerting_support import alert, render_config
from fake_sms import FakeSms
from fake_zalo import FakeZalo
from services import AlertmanagerServer, SmtpServer, WebhookReceiver
from sms_support import SmsProcess, gateway_file
from zalo_support import BACKOFF, AdapterProcess, webhook_group

from alerts.alertmanager import AlertmanagerClient
from alerts.firing import FiringSet, now_utc


@pytest.fixture
def zalo() -> Iterator[FakeZalo]:
    z = FakeZalo()
    yield z
    z.stop()


@pytest.fixture
def adapter(zalo: FakeZalo, tmp_path: Path) -> Iterator[AdapterProcess]:
    a = AdapterProcess(zalo, tmp_path, seed=True)
    yield a
    a.stop()


def test_expired_token_is_refreshed_and_rate_limit_backed_off(
    zalo: FakeZalo, adapter: AdapterProcess
) -> None:
    """The adapter, its tokens seeded from the environment, refreshes the expired token
    (storing the new refresh token), waits out the rate limit, and delivers the documented
    request to each of the unit's heads."""
    assert adapter.notify("unit_head", webhook_group("DEPT_JUSTICE", "HS-77", "overdue")) == 200
    assert zalo.problems == []
    trail = [(c.path.rsplit("/", 1)[1], c.token, c.answer.get("error")) for c in zalo.calls]
    assert trail[:4] == [
        ("cs", "AT-1", -216),
        ("access_token", "", None),
        ("cs", "AT-2", -32),
        ("cs", "AT-2", 0),
    ]
    limited, retried = zalo.calls[2], zalo.calls[3]
    assert retried.at - limited.at >= BACKOFF * 0.8  # the back-off, less its jitter
    assert json.loads(adapter.tokens.read_text()) == {
        "access_token": "AT-2",
        "refresh_token": "RT-2",
    }
    assert {c.user_id for c in zalo.delivered} == {"zuid-justice-head", "zuid-justice-deputy"}
    text = zalo.delivered[0].text
    assert text.startswith("🔴 Quá hạn — DEPT_JUSTICE: 1 hồ sơ cần xử lý")
    assert "HS-77" in text and "http://dossiers.test/dossiers/HS-77" in text
    assert "Overdue — DEPT_JUSTICE" in text


def test_retried_notification_is_not_sent_twice(zalo: FakeZalo, adapter: AdapterProcess) -> None:
    """Alertmanager retrying the same notification reaches nobody a second time."""
    group = webhook_group("DEPT_LAND", "HS-5", "overdue")
    assert adapter.notify("unit_head", group) == 200
    assert adapter.notify("unit_head", group) == 200
    assert [c.user_id for c in zalo.delivered] == ["zuid-land-head"]


def test_permanent_refusal_does_not_make_alertmanager_retry(tmp_path: Path) -> None:
    """A recipient Zalo refuses for good (not a follower) is logged; the answer is 200."""
    zalo = FakeZalo(
        expire_first=False, rate_limit_after_refresh=False, refused_users=("zuid-justice-deputy",)
    )
    adapter = AdapterProcess(zalo, tmp_path)
    try:
        assert adapter.notify("unit_head", webhook_group("DEPT_JUSTICE", "HS-8", "overdue")) == 200
        assert [c.user_id for c in zalo.delivered] == ["zuid-justice-head"]
        assert "zalo_send_failed" in adapter.log.read_text()
    finally:
        adapter.stop()
        zalo.stop()


def test_adapter_without_credentials_only_logs(tmp_path: Path) -> None:
    """Without Zalo credentials the adapter answers 200 and logs the message it did not send."""
    zalo = FakeZalo()
    adapter = AdapterProcess(zalo, tmp_path, configured=False)
    try:
        assert adapter.notify("director", webhook_group("DEPT_TAX", "HS-3", "escalation_2")) == 200
        assert zalo.calls == []
        assert "zalo_not_sent" in adapter.log.read_text()
    finally:
        adapter.stop()
        zalo.stop()


def test_alertmanager_notifies_each_role_on_zalo_and_sms(
    zalo: FakeZalo, adapter: AdapterProcess, tmp_path: Path
) -> None:
    """An escalation_2 alert of DEPT_LAND reaches, through a real Alertmanager, the land
    desk, the land head and the director on Zalo — and nobody else; and, through the SMS
    adapter with its own webhook token, the two people who chose SMS, once each."""
    hooks, smtp, gateway = WebhookReceiver(), SmtpServer(), FakeSms()
    sms = SmsProcess(tmp_path / "sms", gateway_file(tmp_path / "gw.toml", gateway.url))
    config = render_config(tmp_path / "config", hooks.url, adapter.url, smtp.port, sms_url=sms.url)
    am = AlertmanagerServer(config, tmp_path / "am")
    try:
        firing = FiringSet("http://dossiers.test", timedelta(minutes=5))
        change = firing.apply(alert("HS-9", "escalation_2", unit="DEPT_LAND"), now_utc())
        assert change.postable is not None
        AlertmanagerClient(am.url).post([change.postable])
        want = {"zuid-land-desk", "zuid-land-head", "zuid-director"}
        phones = ["84912345678", "84987654321"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
            {c.user_id for c in zalo.delivered} != want
            or sorted(r.fields["msisdn"] for r in gateway.delivered) != phones
        ):
            time.sleep(0.2)
        time.sleep(1)  # anything extra would have arrived by now
        assert sorted(c.user_id for c in zalo.delivered) == sorted(want)
        assert zalo.problems == []
        assert all("HS-9" in c.text for c in zalo.delivered)
        assert sorted(r.fields["msisdn"] for r in gateway.delivered) == phones
        assert all("HS-9" in r.fields["message"] for r in gateway.delivered)
    finally:
        am.stop()
        sms.stop()
        gateway.stop()
        hooks.stop()
        smtp.stop()
