"""The SMS adapter against a local fake gateway: the configured request, unaccented GSM-7
text within its segments, nobody messaged twice (retry, restart), retries on 5xx, no
retry storm on a refusal, and a broken gateway file stopping it at start."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_sms import FakeSms
from sms_support import GATEWAY_TOKEN, SmsProcess, gateway_file
from zalo_support import start_error, webhook_group

from alerts.sms_text import capacity, is_gsm7, length


@pytest.fixture
def gateway() -> Iterator[FakeSms]:
    g = FakeSms()
    yield g
    g.stop()


def test_sms_people_get_the_configured_request_with_gsm7_text(
    gateway: FakeSms, tmp_path: Path
) -> None:
    """Only the people with "sms" among their channels get one request each: the
    configured fields with their phone in both forms, the message id, the token from the
    environment, and an unaccented text in GSM-7 within two segments carrying the dossier's
    link and its Vietnamese evidence."""
    adapter = SmsProcess(tmp_path, gateway_file(tmp_path / "gw.toml", gateway.url))
    try:
        assert adapter.notify("unit_head", webhook_group("DEPT_LAND", "HS-77", "overdue")) == 200
        sent = gateway.delivered
        assert [(r.method, r.path) for r in sent] == [("POST", "/api/send")]
        r = sent[0]
        assert r.headers["Authorization"] == f"Bearer {GATEWAY_TOKEN}"
        assert (r.fields["to"], r.fields["msisdn"]) == ("0912345678", "84912345678")
        assert r.fields["brandname"] == "TTHC-TINH" and r.fields["ref"].startswith("dw-")
        text = r.fields["message"]
        assert is_gsm7(text) and length(text) <= capacity(2, gsm7=True)
        assert text.startswith("Qua han - DEPT_LAND: 1 ho so can xu ly")
        assert "http://dossiers.test/dossiers/HS-77" in text and "Can cu: Han giai quyet" in text
        assert adapter.metric("dossierwatch_sms_messages_sent_total") == 1
    finally:
        adapter.stop()


def test_retry_and_restart_send_nothing_twice(gateway: FakeSms, tmp_path: Path) -> None:
    """The same notification again, and again after a restart, sends no second SMS."""
    gw = gateway_file(tmp_path / "gw.toml", gateway.url)
    group = webhook_group("DEPT_TAX", "HS-5", "overdue")
    adapter = SmsProcess(tmp_path, gw)
    try:
        assert adapter.notify("director", group) == 200
        assert adapter.notify("director", group) == 200
        assert adapter.metric("dossierwatch_sms_deduplicated_total") == 1
    finally:
        adapter.stop()
    adapter = SmsProcess(tmp_path, gw)
    try:
        assert adapter.notify("director", group) == 200
        assert len(gateway.requests) == 1
    finally:
        adapter.stop()


def test_server_errors_are_retried_and_one_sms_arrives(tmp_path: Path) -> None:
    """503 then 200: one SMS, same message id on both tries, 200 to Alertmanager; a gateway
    down for longer than the tries gets 502, and Alertmanager's retry then sends once."""
    gateway = FakeSms(script=(503, 0, 503, 503, 503))
    adapter = SmsProcess(tmp_path, gateway_file(tmp_path / "gw.toml", gateway.url))
    try:
        assert adapter.notify("director", webhook_group("DEPT_TAX", "HS-1", "overdue")) == 200
        first, second = gateway.requests
        assert (first.status, second.status) == (503, 200)
        assert first.fields["ref"] == second.fields["ref"]
        down = webhook_group("DEPT_TAX", "HS-2", "overdue", fingerprint="f2")
        assert adapter.notify("director", down) == 502
        assert adapter.notify("director", down) == 200
        assert [r.fields["message"].count("HS-2") > 0 for r in gateway.delivered] == [False, True]
        assert adapter.metric("dossierwatch_sms_send_failures_total", reason="transient") == 1
    finally:
        adapter.stop()
        gateway.stop()


@pytest.mark.parametrize("answer", [400, 200], ids=["http-4xx", "refused-in-body"])
def test_permanent_refusal_is_counted_and_answered_200(tmp_path: Path, answer: int) -> None:
    """A 4xx, or a 2xx whose code is not an ok one, is not retried: counted as permanent,
    and Alertmanager hears 200 (no retry storm)."""
    gateway = FakeSms(script=(answer,))
    adapter = SmsProcess(tmp_path, gateway_file(tmp_path / "gw.toml", gateway.url))
    try:
        assert adapter.notify("director", webhook_group("DEPT_TAX", "HS-1", "overdue")) == 200
        assert len(gateway.requests) == 1 and gateway.delivered == []
        assert adapter.metric("dossierwatch_sms_send_failures_total", reason="permanent") == 1
    finally:
        adapter.stop()
        gateway.stop()


def test_form_gateway_with_diacritics_keeps_them_within_ucs2_segments(
    gateway: FakeSms, tmp_path: Path
) -> None:
    """unaccented = false: the text keeps its Vietnamese letters, sent as a form, within
    the UCS-2 capacity of its segments."""
    gw = gateway_file(
        tmp_path / "gw.toml", gateway.url, fmt="form", extra="[text]\nunaccented = false\n"
    )
    adapter = SmsProcess(tmp_path, gw)
    try:
        assert adapter.notify("director", webhook_group("DEPT_TAX", "HS-9", "overdue")) == 200
        text = gateway.delivered[0].fields["message"]
        assert text.startswith("Quá hạn - DEPT_TAX: 1 hồ sơ cần xử lý")
        assert length(text) <= capacity(2, gsm7=False)
        assert "http://dossiers.test/dossiers/HS-9" in text
    finally:
        adapter.stop()


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('[request]\nurl = "ftp://x"\n', "request.url must be"),
        ('[request]\nurl = "http://x"\nbody = { t = "{text}", p = "{fone}" }\n', "{fone}"),
        ('[request]\nurl = "http://x"\nbody = { p = "{phone}" }\n', "must carry {text}"),
        (
            '[request]\nurl = "http://x"\nheaders = { A = "${SMS_NOT_SET_ANYWHERE}" }\n'
            'body = { t = "{text}", p = "{phone}" }\n',
            "SMS_NOT_SET_ANYWHERE is not set",
        ),
        (
            '[request]\nurl = "http://x"\nbody = { t = "{text}", p = "{phone}" }\n'
            "[text]\nmax_segments = 0\n",
            "max_segments",
        ),
        ("[request\n", "SMS gateway"),
    ],
)
def test_bad_gateway_file_is_one_line_error(tmp_path: Path, body: str, says: str) -> None:
    """A gateway file that cannot work stops the adapter at start, one line naming why."""
    path = tmp_path / "gw.toml"
    path.write_text(body)
    said = start_error(tmp_path, "sms-adapter", "--gateway", str(path))
    lines = said.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], said
