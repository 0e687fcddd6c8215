"""ZNS template messages from the Zalo adapter, against the local fake of the Zalo API:
who gets an OA message and who a template by phone, the template's parameters, no
message twice (a retried notification, a restarted adapter), and provider errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_zalo import FakeZalo
from zalo_support import AdapterProcess, start_error, webhook_group

from alerts.amconfig import SOURCE
from alerts.zns import load_template

PEOPLE = """
[unit_head]
"*" = ["in-window", "out-of-window", "phone-only"]

[director]
"*" = ["out-of-window"]

[people.out-of-window]
zalo_user_id = "zuid-quiet"
phone = "0912 345 678"

[people.phone-only]
phone = "+84 98 765 43 21"
channels = ["zns"]

[people.in-window]
zalo_user_id = "zuid-active"
phone = "0377000111"
"""

SHIPPED_TEMPLATE = SOURCE / "zns-template.toml"
LONG_UNIT = "Văn phòng Đăng ký đất đai tỉnh — Chi nhánh Thành phố"


def quiet_zalo(**kwargs: object) -> FakeZalo:
    """The fake without its token and rate-limit scenes: only what a test scripts."""
    return FakeZalo(
        expire_first=False,
        rate_limit_after_refresh=False,
        oa_unreachable=("zuid-quiet",),
        **kwargs,  # type: ignore[arg-type]
    )


def start(zalo: FakeZalo, workdir: Path) -> AdapterProcess:
    return AdapterProcess(
        zalo,
        workdir,
        recipients=PEOPLE,
        extra=[
            "--zns-template",
            str(SHIPPED_TEMPLATE),
            "--zns-base",
            zalo.url,
            "--state-file",
            str(workdir / "zalo-sent.log"),
        ],
    )


@pytest.fixture
def zalo() -> Iterator[FakeZalo]:
    z = quiet_zalo()
    yield z
    z.stop()


def test_each_person_gets_the_oa_message_or_the_template_by_phone(
    zalo: FakeZalo, tmp_path: Path
) -> None:
    """A follower in the OA's window gets the OA text; one the OA refuses (-230) and one
    with only a phone get the template, by 84… number, with the notification's dossier,
    unit, rule, count and absolute link, each within the shipped template's maximum."""
    adapter = start(zalo, tmp_path)
    try:
        group = webhook_group("DEPT_JUSTICE", "HS-77", "overdue")
        group["commonAnnotations"]["unit_name"] = LONG_UNIT
        assert adapter.notify("unit_head", group) == 200
        assert zalo.problems == []
        assert [c.user_id for c in zalo.delivered] == ["zuid-active"]
        assert "Căn cứ: " in zalo.delivered[0].text
        assert sorted(c.phone for c in zalo.templates) == ["84912345678", "84987654321"]
        template = load_template(SHIPPED_TEMPLATE)
        limits = {p.name: p.max for p in template.params}
        for call in zalo.templates:
            assert call.template_id == template.template_id
            assert call.params is not None
            assert call.params["ma_ho_so"] == "HS-77"
            assert call.params["loai_canh_bao"] == "Quá hạn"
            assert call.params["so_ho_so"] == "1"
            assert call.params["duong_dan"] == "http://dossiers.test/dossiers/HS-77"
            assert call.params["don_vi"] == LONG_UNIT[: limits["don_vi"] - 1].rstrip() + "…"
            assert all(len(v) <= limits[k] for k, v in call.params.items())
        assert len({c.tracking_id for c in zalo.templates}) == 2
        assert adapter.metric("dossierwatch_zalo_messages_sent_total", kind="zns") == 2
    finally:
        adapter.stop()


def test_retry_and_restart_send_nothing_twice(zalo: FakeZalo, tmp_path: Path) -> None:
    """The same notification again, then again after a restart: nobody gets a second
    message, and the skips are counted."""
    group = webhook_group("DEPT_LAND", "HS-5", "overdue")
    adapter = start(zalo, tmp_path)
    try:
        assert adapter.notify("unit_head", group) == 200
        sent = len(zalo.calls)
        assert adapter.notify("unit_head", group) == 200
        assert len(zalo.calls) == sent
        assert adapter.metric("dossierwatch_zalo_deduplicated_total") == 3
    finally:
        adapter.stop()
    restarted = start(zalo, tmp_path)
    try:
        assert restarted.notify("unit_head", group) == 200
        assert len(zalo.calls) == sent
        # The next notification (another dossier) still goes out.
        assert restarted.notify("director", webhook_group("DEPT_LAND", "HS-6", "overdue")) == 200
        assert [c.params["ma_ho_so"] for c in zalo.templates if c.params] == [
            "HS-5",
            "HS-5",
            "HS-6",
        ]
    finally:
        restarted.stop()


def test_server_error_then_success_delivers_exactly_once(tmp_path: Path) -> None:
    """ZNS answering 503 once: the adapter backs off and sends again with the same
    tracking id; one template is delivered and Alertmanager hears 200."""
    zalo = quiet_zalo(zns_script=(503,))
    adapter = start(zalo, tmp_path)
    try:
        assert adapter.notify("director", webhook_group("DEPT_TAX", "HS-3", "overdue")) == 200
        tries = [c for c in zalo.calls if c.path == "/message/template"]
        assert [c.answer["error"] for c in tries] == [-1, 0]
        assert tries[0].tracking_id == tries[1].tracking_id
        assert len(zalo.templates) == 1
    finally:
        adapter.stop()
        zalo.stop()


def test_permanent_error_is_counted_and_not_retried(tmp_path: Path) -> None:
    """An invalid phone number (-108) is a failure no retry mends: counted, logged, 200."""
    zalo = quiet_zalo(zns_script=(-108,))
    adapter = start(zalo, tmp_path)
    try:
        assert adapter.notify("director", webhook_group("DEPT_TAX", "HS-4", "overdue")) == 200
        assert [c.answer["error"] for c in zalo.calls if c.path == "/message/template"] == [-108]
        assert adapter.metric("dossierwatch_zalo_send_failures_total", kind="zns") == 1
        assert "zalo_send_failed" in adapter.log.read_text()
    finally:
        adapter.stop()
        zalo.stop()


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ("template_id = '1'\n[params]\nx = { value = 'dossier' }\n", "params.x must be"),
        ("template_id = '1'\n[params]\nx = { value = 'owner', max = 9 }\n", "value must be"),
        ("template_id = '1'\n[params]\nx = { value = 'link', max = 20 }\n", "no room"),
        ("[params]\nx = { value = 'dossier', max = 9 }\n", "template_id is missing"),
        ("template_id = \n", "ZNS template"),
    ],
)
def test_bad_template_file_is_one_line_error(tmp_path: Path, template: str, says: str) -> None:
    """A broken template file stops the adapter at start with one line naming the fault."""
    path = tmp_path / "zns.toml"
    path.write_text(template)
    said = start_error(tmp_path, "zalo-adapter", "--zns-template", str(path))
    lines = said.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], said
