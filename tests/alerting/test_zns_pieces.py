"""The pieces behind ZNS and SMS delivery, without processes: phone numbers, the people
of the recipients file, the template's values and tracking ids, and the sent log."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path

import pytest
from zalo_support import webhook_group

from alerts.phone import PhoneError, normalise_phone
from alerts.recipients import Person, Recipients, RecipientsError, parse_book
from alerts.sent_log import SentLog
from alerts.zns import parse_template, template_data, tracking_id


@pytest.mark.parametrize(
    "written",
    ["0912345678", "0912 345 678", "0912.345.678", "+84 912 345 678", "(84) 912-345-678"],
)
def test_phone_numbers_as_staff_write_them_become_84_form(written: str) -> None:
    """Every usual way of writing a mobile number gives the same 84xxxxxxxxx."""
    assert normalise_phone(written) == "84912345678"


@pytest.mark.parametrize(
    ("written", "says"),
    [
        ("02438251234", "not a Vietnamese mobile"),  # a Hà Nội landline
        ("01689123456", "not a Vietnamese mobile"),  # an 11-digit number from before 2018
        ("912345678", "expected 0xxxxxxxxx"),
        ("+1 415 555 0100", "expected 0xxxxxxxxx"),
        ("0912abc678", "not a Vietnamese mobile"),
    ],
)
def test_numbers_that_cannot_get_a_message_are_refused(written: str, says: str) -> None:
    """Landlines, pre-2018 numbers, foreign and malformed numbers are refused, named."""
    with pytest.raises(PhoneError, match=says):
        normalise_phone(written)


def test_plain_entries_stay_zalo_user_ids_and_people_say_how_to_reach_them(
    tmp_path: Path,
) -> None:
    """An entry without a [people] table is a Zalo follower reached on Zalo (older files
    keep their meaning); a [people] entry brings its phone (84 form) and channels."""
    f = tmp_path / "r.toml"
    f.write_text(
        '[unit_head]\n"*" = ["zuid-1", "deputy"]\n'
        '[people.deputy]\nphone = "0987 654 321"\nchannels = ["zns", "sms"]\n'
    )
    plain, deputy = Recipients(f).people("unit_head", "DEPT_X")
    assert plain == Person("zuid-1", zalo_user_id="zuid-1")
    assert deputy == Person("deputy", "", "84987654321", frozenset({"zns", "sms"}))
    assert plain.on_zalo and deputy.on_zalo


@pytest.mark.parametrize(
    ("person", "says"),
    [
        ('channels = ["zalo", "zns"]\nphone = "0912345678"', "choose one"),
        ('channels = ["sms"]\nzalo_user_id = "z"', "need a phone"),
        ('channels = ["fax"]\nphone = "0912345678"', "channels must be"),
        ('phone = "0243825123"', "not a Vietnamese mobile"),
        ('phone = "0912345678"\nemail = "a@b"', "unknown key 'email'"),
        ('channels = ["zalo"]', "neither a zalo_user_id nor a phone"),
    ],
)
def test_people_entries_are_checked(person: str, says: str) -> None:
    """A person who could not be reached as written is refused, with the entry named."""
    with pytest.raises(RecipientsError, match=rf"\[people\.p\].*{says}"):
        parse_book(f"[people.p]\n{person}\n")


TEMPLATE = parse_template(
    """
template_id = 42
fallback_link = "https://dw.tinh.example/"
[params]
ma = { value = "dossier", max = 30 }
so = { value = "count", max = 5 }
link = { value = "link", max = 100 }
can_cu = { value = "evidence", max = 40 }
"""
)


def test_template_values_follow_the_notification_and_stay_within_bounds() -> None:
    """The first firing dossier, the count of alerts needing action (with those
    Alertmanager left out), its link, and the Vietnamese evidence cut to its maximum."""
    group = webhook_group("DEPT_LAND", "HS-1", "overdue")
    second = copy.deepcopy(group["alerts"][0])
    second["labels"]["dossier"] = "HS-2"
    second["fingerprint"] = "f2"
    group["alerts"].append(second)
    group["truncatedAlerts"] = 3
    data = template_data(group, TEMPLATE)
    assert data["ma"] == "HS-1" and data["so"] == "5"
    assert data["link"] == "http://dossiers.test/dossiers/HS-1"
    evidence = group["alerts"][0]["annotations"]["evidence_vi"]
    assert len(evidence) > 40 and data["can_cu"] == evidence[:39].rstrip() + "…"


def test_a_link_too_long_for_its_parameter_is_replaced_not_cut() -> None:
    """A dossier URL over the parameter's maximum goes as the fallback link: a cut link
    would lead elsewhere."""
    group = webhook_group("DEPT_LAND", "HS-1", "overdue")
    group["alerts"][0]["annotations"]["dossier_url"] = "https://dw.example/dossiers/" + "x" * 90
    assert template_data(group, TEMPLATE)["link"] == "https://dw.tinh.example/"
    assert TEMPLATE.template_id == "42"


def test_tracking_id_is_the_same_for_a_retry_and_differs_per_recipient() -> None:
    """One notification to one person: one tracking id, short enough for ZNS."""
    a = tracking_id("notification-1", "deputy")
    assert a == tracking_id("notification-1", "deputy")
    assert a != tracking_id("notification-1", "head") != tracking_id("notification-2", "deputy")
    assert len(a) <= 48


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_sent_names_survive_a_restart_until_they_expire(tmp_path: Path) -> None:
    """A name written before a restart is known after it, and forgotten after its ttl;
    a torn last line (a crash mid-write) is skipped."""
    clock = Clock()
    path = tmp_path / "sent.log"
    log = SentLog(path, ttl=60, clock=clock)
    log.add("n1")
    clock.now += 30
    log.add("n2")
    with open(path, "a") as out:
        out.write("17000")  # torn
    again = SentLog(path, ttl=60, clock=clock)
    assert "n1" in again and "n2" in again and len(again) == 2
    clock.now += 31
    assert "n1" not in again and "n2" in again
    assert "n1" not in SentLog(path, ttl=60, clock=clock)


def test_sent_log_stays_bounded(tmp_path: Path) -> None:
    """Past `max_names` the names closest to expiry are forgotten, and the file is
    rewritten instead of growing without end."""
    clock = Clock()
    path = tmp_path / "sent.log"
    log = SentLog(path, ttl=10, max_names=100, clock=clock)
    for n in range(1200):
        clock.now += 0.01
        log.add(f"n{n}")
    assert len(log) == 100 and "n1199" in log and "n0" not in log
    assert len(path.read_text().splitlines()) < 1000


def test_a_name_claimed_twice_at_once_is_sent_once() -> None:
    """Two deliveries of one name at the same time take turns: the second sees the first's
    send and skips."""
    log = SentLog()
    sends: list[str] = []

    async def deliver(who: str) -> None:
        async with log.claim("n") as due:
            if due:
                await asyncio.sleep(0.05)
                sends.append(who)
                log.add("n")

    async def both() -> None:
        await asyncio.gather(deliver("first"), deliver("retry"))

    asyncio.run(both())
    assert sends == ["first"]
