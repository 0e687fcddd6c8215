"""The second pass over the law: hand-computed cases for the rules a unit head or an
inspector checks first.  Each docstring gives the reasoning; dates are 2025's (Decree
118/2025 in force from 1 July 2025; office hours 07:30–11:30 and 13:00–17:00; the One-Stop
Unit also receives on Saturday mornings)."""

from __future__ import annotations

from helpers.story import Story, at
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.contract.alerts import Alert
from streams.core import figures
from streams.core.calendar import to_iso
from streams.core.detectors import deadline
from streams.core.engine import Engine
from streams.core.machine import compute_due
from streams.policy import builtin_book


def run(story: Story, until: str | None = None) -> tuple[Engine, list[Alert]]:
    engine = Engine(builtin_book())
    alerts = engine.drain(story.events)
    if until:
        alerts += engine.advance(at(until))
    return engine, alerts


def fired(alerts: list[Alert], rule: str) -> list[str]:
    return [a.at for a in alerts if a.rule == rule and a.status == "firing"]


def test_a_restarted_appointment_counts_whole_working_days_to_24_00() -> None:
    """Received Mon 8/9 09:00 with the appointment Mon 15/9 17:00 (no limit stated): it
    granted the working days after the receipt day up to the due day — Tue 9, Wed 10,
    Thu 11, Fri 12, Mon 15 — 5 whole days.  Complete again Wed 17/9 14:00, the limit
    restarts from the beginning: Thu 18, Fri 19, Mon 22, Tue 23, Wed 24 → 24:00 Wed 24/9
    (not 14:00 plus a span of working seconds, which landed in the small hours)."""
    story = (
        Story()
        .received("2025-09-08T09:00", unit="A", time_limit=None, due="2025-09-15T17:00")
        .supplement("2025-09-09T10:00")
        .supplied("2025-09-17T14:00")
    )
    engine, _ = run(story)
    assert to_iso(engine.dossiers["HS-1"].due or 0) == "2025-09-25T00:00:00+07:00"


def test_near_due_warnings_land_in_office_hours() -> None:
    """Received Fri 12/9 16:00, 2 working days: due 24:00 Tue 16/9.  Office hours in
    between: Fri 1 h + Mon 8 h + Tue 8 h = 17 h.  75% = 12.75 h: Fri 1 + Mon 8 leaves
    3.75 h of Tue → 07:30 + 3 h 45 min = 11:15.  90% = 15.3 h: 6.3 h of Tue → 4 h to 11:30,
    then 2.3 h after 13:00 = 15:18.  In elapsed working-day time the 75% point fell at
    04:00 on the Tuesday."""
    story = Story().received("2025-09-12T16:00", unit="A", time_limit="2wd")
    _, alerts = run(story, "2025-09-16T23:00")
    assert fired(alerts, "deadline") == ["2025-09-16T11:15:00+07:00", "2025-09-16T15:18:00+07:00"]


@settings(max_examples=300, deadline=None)
@given(
    start=st.integers(at("2024-01-01T00:00"), at("2027-12-01T00:00")),
    amount=st.integers(1, 40),
    kind=st.sampled_from(["wd", "d", "wh"]),
)
def test_every_near_due_warning_lands_in_office_hours(start: int, amount: int, kind: str) -> None:
    """Whatever the receipt instant (Tết, 30/4, 2/9 and make-up Saturdays of 2024–2027
    included) and the limit in working days, days or working hours, every near-due instant
    lies inside a stretch of office hours (its end included) of a working day."""
    p = builtin_book()[1]
    limit = f"{amount}{kind}"
    due = compute_due(limit, start, p)
    for when, level in deadline._levels(start, due, kind, p):
        if level.startswith("near_due"):
            day, secs = divmod(when + 7 * 3600, 86400)
            assert p.calendar.is_working_day(day), (limit, to_iso(start), to_iso(when))
            assert any(a <= secs <= b for a, b in p.office_hours), (limit, to_iso(when))


def test_results_returning_to_the_one_stop_unit_are_not_ping_pong() -> None:
    """ONE_STOP → A → ONE_STOP (result back) → A (handed over to deliver) → ONE_STOP is the
    normal flow: no bounce, and the One-Stop Unit never counts towards a referral chain."""
    story = (
        Story()
        .received("2025-09-08T09:00", unit="ONE_STOP", time_limit="30wd")
        .transfer("2025-09-08T10:00", "A")
        .back("2025-09-09T10:00", "ONE_STOP")
        .transfer("2025-09-09T11:00", "A")
        .back("2025-09-10T10:00", "ONE_STOP")
    )
    _, alerts = run(story)
    assert not fired(alerts, "ping_pong_unit") and not fired(alerts, "referral_chain")


def test_a_bounce_through_the_one_stop_unit_is_still_a_bounce() -> None:
    """A → B → ONE_STOP → A: leaving out the One-Stop Unit's stay, A → B → A is a bounce."""
    story = (
        Story()
        .received("2025-09-08T09:00", unit="ONE_STOP", time_limit="30wd")
        .transfer("2025-09-08T10:00", "A")
        .transfer("2025-09-09T10:00", "B")
        .back("2025-09-10T10:00", "ONE_STOP")
        .transfer("2025-09-10T11:00", "A")
    )
    _, alerts = run(story)
    assert fired(alerts, "ping_pong_unit") == ["2025-09-10T11:00:00+07:00"]


def test_a_pending_consultation_is_not_a_stall_until_its_reply_is_due() -> None:
    """Received in A Mon 8/9 09:00; B consulted at 10:00 with a reply due Mon 15/9 17:00.
    Three working days without progress end Thu 11/9 10:00, but A is waiting within the
    time it gave B: the stall waits for the reply deadline, when the late reply fires too."""
    story = (
        Story()
        .received("2025-09-08T09:00", unit="A", time_limit="30wd")
        .consult("2025-09-08T10:00", "B", "2025-09-15T17:00", "c1")
    )
    _, alerts = run(story, "2025-09-15T16:59")
    assert not fired(alerts, "stall")
    _, alerts = run(story, "2025-09-15T18:00")
    assert fired(alerts, "stall") == ["2025-09-15T17:00:00+07:00"]
    assert fired(alerts, "consultation_late") == ["2025-09-15T17:00:00+07:00"]


def test_an_online_submission_nobody_picks_up_in_two_working_hours_gets_a_notice() -> None:
    """Submitted Tue 9/9 09:00: the receiving officer must be alerted within 2 hours (art
    17(2)); with no officer holding it by 11:00 the monitor sends the notice itself (info,
    not a breach: acceptance has 8 working hours), and an assignment clears it.
    Submitted Fri 12/9 16:30: 30 min Friday, 1.5 h of Saturday reception → Sat 13/9 09:00."""
    story = Story().submitted("2025-09-09T09:00").assign("2025-09-09T11:30", "ONE_STOP", "o1")
    _, alerts = run(story)
    got = [(a.status, a.at) for a in alerts if a.rule == "intake_notice"]
    assert [a.severity for a in alerts if a.rule == "intake_notice"] == ["info", "info"]
    assert got == [
        ("firing", "2025-09-09T11:00:00+07:00"),
        ("resolved", "2025-09-09T11:30:00+07:00"),
    ]
    friday = Story("F").submitted("2025-09-12T16:30")
    _, alerts = run(friday, "2025-09-15T12:00")
    assert fired(alerts, "intake_notice") == ["2025-09-13T09:00:00+07:00"]
    seen = Story("S").submitted("2025-09-09T09:00").assign("2025-09-09T10:00", "ONE_STOP", "o1")
    _, alerts = run(seen, "2025-09-10T12:00")
    assert not fired(alerts, "intake_notice")


def test_an_appointment_beyond_the_legal_limit_is_a_breach() -> None:
    """Procedure 1.003456 has a legal limit of 5 working days: received Mon 8/9 09:00 it is
    due 24:00 Mon 15/9, so a receipt promising Fri 19/9 grants time the law does not."""
    over = Story().received(
        "2025-09-08T09:00", procedure="1.003456", time_limit=None, due="2025-09-19T17:00"
    )
    _, alerts = run(over)
    assert fired(alerts, "appointment_beyond_limit") == ["2025-09-08T09:00:00+07:00"]
    within = Story("W").received(
        "2025-09-08T09:00", procedure="1.003456", time_limit=None, due="2025-09-15T17:00"
    )
    _, alerts = run(within)
    assert not fired(alerts, "appointment_beyond_limit")


def test_a_refusal_after_the_time_limit_is_a_breach() -> None:
    """5 wd from Mon 8/9: due 24:00 Mon 15/9.  A refusal on Tue 16/9 is late; one on Fri
    12/9, or an approval on Tue 16/9, is not this rule's business."""
    late = Story().received("2025-09-08T09:00", unit="A").complete("2025-09-16T09:00", "refused")
    _, alerts = run(late)
    assert fired(alerts, "refusal_late") == ["2025-09-16T09:00:00+07:00"]
    for story in (
        Story("R").received("2025-09-08T09:00", unit="A").complete("2025-09-12T09:00", "refused"),
        Story("A").received("2025-09-08T09:00", unit="A").complete("2025-09-16T09:00"),
    ):
        _, alerts = run(story)
        assert not fired(alerts, "refusal_late")


def test_a_log_ending_exactly_at_the_due_instant_is_not_overdue() -> None:
    """Due 24:00 Mon 15/9: judged at that very instant the dossier is not yet overdue; a
    second later it is."""
    story = Story().received("2025-09-08T09:00", unit="A")
    _, alerts = run(story, "2025-09-16T00:00")
    assert not [a for a in alerts if a.level == "overdue"]
    _, alerts = run(story, "2025-09-16T00:00:01")
    assert [a.at for a in alerts if a.level == "overdue"] == ["2025-09-16T00:00:00+07:00"]


def test_a_referral_chain_counts_the_units_besides_the_one_stop_unit() -> None:
    """Received at ONE_STOP and sent through U1–U4: four units, within the policy's 4; the
    fifth, U5, raises the chain alert, numbered 5 (the One-Stop Unit not counted)."""
    story = Story().received("2025-09-08T09:00", unit="ONE_STOP", time_limit="30wd")
    for i in range(1, 5):
        story.transfer(f"2025-09-08T1{i}:00", f"U{i}")
    _, alerts = run(story)
    assert not fired(alerts, "referral_chain")
    story.transfer("2025-09-08T16:00", "U5")
    _, alerts = run(story)
    assert [a.id for a in alerts if a.rule == "referral_chain"] == ["HS-1/referral_chain/warning/5"]


def test_each_agency_is_late_in_its_own_name_on_the_routing_slip() -> None:
    """The slip gives A until Wed 10/9 17:00 and B until Fri 12/9 17:00.  A passes the
    dossier on Wed 10/9 10:00 (on its due day: 1 point); B still holds it at 17:00 on
    Friday: B is late, in B's name, and when it passes the dossier on Mon 15/9 it scores
    0 and the alert resolves.  A step passed on before its due day scores 2."""
    story = (
        Story()
        .received("2025-09-08T09:00", unit="ONE_STOP", time_limit="30wd")
        .transfer("2025-09-08T10:00", "A", step_due="2025-09-10T17:00")
        .transfer("2025-09-10T10:00", "B", step_due="2025-09-12T17:00")
    )
    _, alerts = run(story, "2025-09-12T18:00")
    late = [a for a in alerts if a.rule == "step_late"]
    assert [(a.id, a.unit, a.at) for a in late] == [
        ("HS-1/step_late/breach/2", "B", "2025-09-12T17:00:00+07:00")
    ]
    story.transfer("2025-09-15T09:00", "C", step_due="2025-09-19T17:00")
    story.transfer("2025-09-16T09:00", "ONE_STOP")
    engine, alerts = run(story)
    assert "HS-1/step_late/breach/2" in {a.id for a in alerts if a.status == "resolved"}
    assert figures.step_scores(engine.dossiers["HS-1"]) == (("A", 1), ("B", 0), ("C", 2))


def test_the_paper_file_crosses_levels_within_one_working_day() -> None:
    """Electronic dossier to the province on Fri 12/9 10:00: the paper file is due by 24:00
    of the next working day, Mon 15/9.  Sent Mon 15/9 16:00 it is in time; not sent, the
    One-Stop Unit is told at 24:00, and a paper transfer on Tue 16/9 resolves it."""
    base = Story().received("2025-09-11T09:00", unit="ONE_STOP", time_limit="30wd")
    base.transfer("2025-09-12T10:00", "PROVINCE", "ONE_STOP", across_levels=True)
    _, alerts = run(base, "2025-09-15T23:59")
    assert not fired(alerts, "paper_transfer_late")
    _, alerts = run(base, "2025-09-16T08:00")
    late = [a for a in alerts if a.rule == "paper_transfer_late"]
    assert [(a.at, a.unit) for a in late] == [("2025-09-16T00:00:00+07:00", "ONE_STOP")]
    base.transfer("2025-09-16T09:00", "PROVINCE", "ONE_STOP", across_levels=True, medium="paper")
    _, alerts = run(base)
    assert [a.status for a in alerts if a.rule == "paper_transfer_late"] == ["firing", "resolved"]
    prompt = Story("P").received("2025-09-11T09:00", unit="ONE_STOP", time_limit="30wd")
    prompt.transfer("2025-09-12T10:00", "PROVINCE", "ONE_STOP", across_levels=True)
    prompt.transfer("2025-09-15T16:00", "PROVINCE", "ONE_STOP", across_levels=True, medium="paper")
    _, alerts = run(prompt, "2025-09-30T00:00")
    assert not fired(alerts, "paper_transfer_late")


def test_the_rules_of_the_receipt_day_judge_a_dossier_across_1_july_2025() -> None:
    """An online submission of Mon 30/6/2025 16:00 falls under Decree 61, which had no
    8-working-hour acceptance rule, so accepting it on Thu 3/7 breaches nothing even though
    Decree 118 is in force by then; one submitted Tue 1/7 08:00 and accepted on Thu 3/7 is
    late from 08:00 Wed 2/7 (8 working hours, with the One-Stop Unit's Saturday hours not
    reached) and got its 2-hour notice at 10:00 on 1/7."""
    old = Story("OLD").submitted("2025-06-30T16:00").received("2025-07-03T09:00")
    new = Story("NEW").submitted("2025-07-01T08:00").received("2025-07-03T09:00")
    _, a_old = run(old)
    _, a_new = run(new)
    assert not fired(a_old, "acceptance_late") and not fired(a_old, "intake_notice")
    assert fired(a_new, "intake_notice") == ["2025-07-01T10:00:00+07:00"]
    assert fired(a_new, "acceptance_late") == ["2025-07-02T08:00:00+07:00"]
