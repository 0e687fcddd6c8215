"""Each detector on hand-written dossier stories, through the same engine replay uses."""

from __future__ import annotations

from helpers.story import Story, at
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.contract.alerts import Alert
from streams.core.detectors import TIMERS, stall, timers_for
from streams.core.dossier import CLOSED, OPEN, Dossier, Extra, Status
from streams.core.engine import Engine
from streams.policy import builtin_book


def run(story: Story, until: str | None = None) -> tuple[Engine, list[Alert]]:
    engine = Engine(builtin_book())
    alerts = engine.drain(story.events)
    if until:
        alerts += engine.advance(at(until))
    return engine, alerts


def firing(alerts: list[Alert]) -> dict[str, Alert]:
    return {a.id: a for a in alerts if a.status == "firing"}


def resolved(alerts: list[Alert]) -> set[str]:
    return {a.id for a in alerts if a.status == "resolved"}


def rules(alerts: list[Alert]) -> set[str]:
    return {a.rule for a in alerts if a.status == "firing"}


DUE = at("2025-09-16T00:00")  # 5 working days from Monday 8/9/2025


def test_deadline_levels_fire_at_their_instants() -> None:
    """Near-due at 75% and 90% of the office hours of the limit, breach at due, escalations
    at +1/+3/+5 wd.

    Received Mon 8/9/2025 09:00, 5 working days: due 24:00 Mon 15/9.  Office hours in
    between (07:30–11:30, 13:00–17:00): Mon 6.5 h + Tue–Fri 32 h + Mon 8 h = 46.5 h.
    75% = 34.875 h: 6.5 + 24 (Tue–Thu) leaves 4.375 h of Fri 12/9 → 11:30 + 22.5 min
    after 13:00 = 13:22:30.  90% = 41.85 h: 6.5 + 32 leaves 3.35 h of Mon 15/9 → 10:51."""
    story = Story().received("2025-09-08T09:00", unit="A")
    _, alerts = run(story, "2025-10-01T00:00")
    got = {a.level: a.at for a in alerts if a.rule == "deadline"}
    assert got == {
        "near_due_75": "2025-09-12T13:22:30+07:00",
        "near_due_90": "2025-09-15T10:51:00+07:00",
        "overdue": "2025-09-16T00:00:00+07:00",
        "escalation_1": "2025-09-17T00:00:00+07:00",
        "escalation_2": "2025-09-19T00:00:00+07:00",
        "escalation_3": "2025-09-23T00:00:00+07:00",
    }
    overdue = firing(alerts)[f"HS-1/deadline/overdue/{DUE}"]
    assert overdue.severity == "critical" and overdue.unit == "A"
    assert overdue.due == "2025-09-16T00:00:00+07:00"


def test_a_dossier_completed_on_time_raises_no_deadline_alert() -> None:
    """Completion before the 75% point leaves nothing firing, however far the clock moves."""
    story = Story().received("2025-09-08T09:00", unit="A").complete("2025-09-10T09:00")
    engine, alerts = run(story, "2026-01-01T00:00")
    assert not [a for a in alerts if a.rule == "deadline"]
    assert engine.stats.completed == 1 and engine.stats.completed_on_time == 1


def test_completion_resolves_what_is_firing() -> None:
    """A late completion resolves every open alert of the dossier and counts as late."""
    story = Story().received("2025-09-08T09:00", unit="A").complete("2025-09-18T09:00")
    engine, alerts = run(story)
    assert set(firing(alerts)) == resolved(alerts)
    assert f"HS-1/deadline/escalation_1/{DUE}" in resolved(alerts)
    assert engine.stats.completed_on_time == 0


def test_stall_fires_after_three_working_days_and_clears_on_progress() -> None:
    """No event for 3 working days in one unit is a stall; the next event resolves it."""
    story = (
        Story()
        .received("2025-09-08T09:00", unit="A", time_limit="30wd")
        .assign("2025-09-08T10:00", "A", "O1")
    )
    engine, alerts = run(story, "2025-09-11T09:59")
    assert not rules(alerts)
    alerts = engine.advance(at("2025-09-11T10:01"))
    stall = [a for a in alerts if a.rule == "stall"]
    assert [a.at for a in stall] == ["2025-09-11T10:00:00+07:00"]
    assert "O1" in stall[0].evidence
    more = engine.apply(story.assign("2025-09-12T11:00", "A").events[-1])
    assert stall[0].id in resolved(more)


def test_stall_waits_five_working_days_for_a_land_dossier() -> None:
    """A land dossier (group land: 5 working days) idle since Mon 8/9 10:00 stalls at Mon 15/9
    10:00, not at Thu 11/9 10:00."""
    story = (
        Story()
        .received("2025-09-08T09:00", procedure="1.002345", unit="A", time_limit="30wd")
        .assign("2025-09-08T10:00", "A", "O1")
    )
    engine, alerts = run(story, "2025-09-15T09:59")
    assert "stall" not in rules(alerts)
    stall = [a for a in engine.advance(at("2025-09-15T10:01")) if a.rule == "stall"]
    assert [a.at for a in stall] == ["2025-09-15T10:00:00+07:00"]
    assert stall[0].evidence.startswith("no progress for 5 working days in A")
    assert stall[0].procedure_group == "land"


def test_stall_waits_one_working_day_for_a_civil_status_dossier() -> None:
    """A civil-status dossier (1 working day) idle since Fri 12/9 10:00 stalls at Mon 15/9
    10:00: the weekend is not working time."""
    story = (
        Story()
        .received("2025-09-12T09:00", procedure="1.006789", unit="A", time_limit="30wd")
        .assign("2025-09-12T10:00", "A", "O1")
    )
    engine, alerts = run(story, "2025-09-15T09:59")
    assert "stall" not in rules(alerts)
    stall = [a for a in engine.advance(at("2025-09-15T10:01")) if a.rule == "stall"]
    assert [a.at for a in stall] == ["2025-09-15T10:00:00+07:00"]
    assert "1 working days" in stall[0].evidence


def test_stall_lower_bound_stays_below_the_groups_instant() -> None:
    """The cheap `earliest` bound never passes `next_at`, whatever the dossier's group."""
    policy = builtin_book()[1]
    for code in ("1.002345", "1.006789", "1.001234", "P"):
        story = Story().received("2025-09-12T16:00", procedure=code, unit="A", time_limit="30wd")
        engine, _ = run(story)
        d = engine.dossiers.get("HS-1")
        assert d is not None
        low, exact = stall.earliest(d, policy), stall.next_at(d, policy)
        assert low is not None and exact is not None and low <= exact, code


def test_ping_pong_between_units_warns_then_turns_critical() -> None:
    """A → B → A is one bounce (warning); A → B → A → B is two (critical), with the chain."""
    story = (
        Story()
        .received("2025-09-08T09:00", unit="ONE_STOP", time_limit="30wd")
        .transfer("2025-09-08T10:00", "A")
        .transfer("2025-09-09T10:00", "B")
        .back("2025-09-10T10:00", "A")
    )
    _, alerts = run(story)
    assert set(firing(alerts)) == {"HS-1/ping_pong_unit/warning/1"}
    story.transfer("2025-09-11T10:00", "B")
    _, alerts = run(story)
    critical = firing(alerts)["HS-1/ping_pong_unit/critical/2"]
    assert critical.severity == "critical"
    assert [u for u, _ in critical.chain] == ["ONE_STOP", "A", "B", "A", "B"]
    assert critical.chain[2] == ("B", "2025-09-09T10:00:00+07:00")


def test_staying_in_a_unit_is_not_a_bounce() -> None:
    """Repeated events in one unit collapse into one stay: A, A, B, B, C is no ping-pong."""
    story = (
        Story()
        .received("2025-09-08T09:00", unit="A", time_limit="30wd")
        .assign("2025-09-08T10:00", "A", "O1")
        .transfer("2025-09-08T11:00", "B")
        .assign("2025-09-08T12:00", "B", "O2")
        .transfer("2025-09-08T13:00", "C")
    )
    _, alerts = run(story)
    assert not rules(alerts)


def test_ping_pong_between_officers_is_separate() -> None:
    """Officers O1 → O2 → O1 inside one unit raise the officer rule, not the unit rule."""
    story = (
        Story()
        .received("2025-09-08T09:00", unit="A", time_limit="30wd")
        .assign("2025-09-08T10:00", "A", "O1")
        .assign("2025-09-08T11:00", "A", "O2")
        .assign("2025-09-08T12:00", "A", "O1")
    )
    _, alerts = run(story)
    assert rules(alerts) == {"ping_pong_officer"}


def test_a_long_referral_chain_is_flagged_once() -> None:
    """The fifth distinct unit (policy: at most 4) raises one referral-chain alert."""
    story = Story().received("2025-09-08T09:00", unit="U1", time_limit="30wd")
    for i in range(2, 8):
        story.transfer(f"2025-09-08T1{i}:00", f"U{i}")
    _, alerts = run(story)
    chain = [a for a in alerts if a.rule == "referral_chain"]
    assert [a.id for a in chain] == ["HS-1/referral_chain/warning/5"]
    assert chain[0].at == "2025-09-08T15:00:00+07:00"


def test_too_many_consultations_and_a_late_reply() -> None:
    """A third consultation breaks the limit of 2; a late reply fires, then resolves."""
    story = (
        Story()
        .received("2025-09-08T09:00", unit="A", time_limit="30wd")
        .consult("2025-09-08T10:00", "B", "2025-09-10T17:00", "c1")
        .consult("2025-09-08T10:05", "C", "2025-09-10T17:00", "c2")
        .consult("2025-09-08T10:10", "D", "2025-09-12T17:00", "c3")
        .answer("2025-09-09T10:00", "B", "c1")
        .answer("2025-09-10T10:00", "D", "c3")
    )
    engine, alerts = run(story, "2025-09-10T18:00")
    f = firing(alerts)
    assert "HS-1/consultation_count/warning/3" in f
    late = f["HS-1/consultation_late/breach/c2"]
    # Reported to the head of the One-Stop Unit (art 19(4)): the alert is that unit's.
    assert late.at == "2025-09-10T17:00:00+07:00" and late.unit == "ONE_STOP"
    assert late.evidence.startswith("C has not replied to consultation c2")
    alerts = engine.apply(story.answer("2025-09-11T09:00", "C", "c2").events[-1])
    assert "HS-1/consultation_late/breach/c2" in resolved(alerts)


def test_late_reply_found_at_answer_time() -> None:
    """A reply after its deadline, with no clock tick in between, still fires and resolves."""
    story = (
        Story()
        .received("2025-09-08T09:00", unit="A", time_limit="30wd")
        .consult("2025-09-08T10:00", "B", "2025-09-09T17:00", "c1")
        .answer("2025-09-12T10:00", "B", "c1")
    )
    _, alerts = run(story)
    assert "HS-1/consultation_late/breach/c1" in firing(alerts)
    assert "HS-1/consultation_late/breach/c1" in resolved(alerts)


def test_one_stop_transfer_cut_off_at_15_00() -> None:
    """Received at 14:59 or at 15:00 exactly ("sau 15 giờ" is after 15:00, and 15:00 is not)
    must leave by 17:00 that day; at 15:01, by the opening of the next working day, 07:30."""
    early = Story("E").received("2025-09-09T14:59", time_limit="30wd")
    sharp = Story("S").received("2025-09-09T15:00", time_limit="30wd")
    late = Story("L").received("2025-09-09T15:01", time_limit="30wd")
    _, a1 = run(early, "2025-09-12T00:00")
    _, a0 = run(sharp, "2025-09-12T00:00")
    _, a2 = run(late, "2025-09-12T00:00")
    assert [a.at for a in a1 if a.rule == "transfer_late"] == ["2025-09-09T17:00:00+07:00"]
    assert [a.at for a in a0 if a.rule == "transfer_late"] == ["2025-09-09T17:00:00+07:00"]
    assert [a.at for a in a2 if a.rule == "transfer_late"] == ["2025-09-10T07:30:00+07:00"]


def test_a_prompt_transfer_satisfies_the_one_stop_rule() -> None:
    """Transferred at 07:30 the next morning, as the office opens, after a 16:00 receipt:
    no alert, ever."""
    story = (
        Story()
        .received("2025-09-09T16:00", time_limit="30wd")
        .transfer("2025-09-10T07:30", "A")
        .transfer("2025-09-10T09:00", "ONE_STOP")
    )
    _, alerts = run(story, "2025-09-11T12:00")
    assert "transfer_late" not in rules(alerts)


def test_online_submission_must_be_answered_within_8_working_hours() -> None:
    """Submitted Friday 16:00: 1 h Friday, 4 h Saturday reception, 3 h Monday → due Monday 10:30."""
    story = Story().submitted("2025-09-12T16:00").received("2025-09-15T11:00", time_limit="30wd")
    _, alerts = run(story)
    late = [a for a in alerts if a.rule == "acceptance_late"]
    assert [(a.status, a.at) for a in late] == [
        ("firing", "2025-09-15T10:30:00+07:00"),
        ("resolved", "2025-09-15T11:00:00+07:00"),
    ]
    on_time = (
        Story("B").submitted("2025-09-12T16:00").received("2025-09-15T10:00", time_limit="30wd")
    )
    _, alerts = run(on_time)
    assert "acceptance_late" not in rules(alerts)


def test_online_acceptance_rule_starts_with_decree_118() -> None:
    """A submission received under Decree 61 (before 1/7/2025) has no 8-working-hour rule."""
    story = Story().submitted("2025-06-20T09:00")
    _, alerts = run(story, "2025-06-30T00:00")
    assert "acceptance_late" not in rules(alerts)


def test_supplement_requests_only_once_and_within_three_working_days() -> None:
    """A request on the 4th working day is late; a second request is a breach of 'only once'."""
    story = (
        Story()
        .received("2025-09-08T09:00", unit="A", time_limit="10wd")
        .supplement("2025-09-12T09:00")
        .supplied("2025-09-15T09:00")
        .supplement("2025-09-16T09:00")
    )
    _, alerts = run(story)
    f = firing(alerts)
    assert "HS-1/supplement_late/breach/" + str(at("2025-09-12T09:00")) in f
    assert f["HS-1/supplement_repeated/breach/2"].severity == "critical"


def test_the_time_limit_restarts_from_zero_after_a_supplement() -> None:
    """5 wd restart from the supplement's arrival on Monday 15/9: due 24:00 Monday 22/9."""
    story = (
        Story()
        .received("2025-09-08T09:00", unit="A")
        .supplement("2025-09-09T09:00")
        .supplied("2025-09-15T09:00")
    )
    engine, alerts = run(story, "2025-09-23T01:00")
    overdue = [a for a in alerts if a.level == "overdue"]
    assert [a.due for a in overdue] == ["2025-09-23T00:00:00+07:00"]
    assert engine.dossiers["HS-1"].x is not None
    assert engine.dossiers["HS-1"].x.supplement_wait == 6 * 86400


def test_no_deadline_alerts_while_the_citizen_holds_the_dossier() -> None:
    """Waiting for documents stops the clock: nothing fires before the 15-day closure
    (24:00 of Tue 23/9 for a request on Mon 8/9)."""
    story = Story().received("2025-09-08T09:00", unit="A").supplement("2025-09-08T10:00")
    engine, alerts = run(story, "2025-09-23T23:59")
    assert rules(alerts) == set()
    alerts = engine.advance(at("2025-09-24T00:01"))
    assert rules(alerts) == {"supplement_expired"}
    assert engine.dossiers["HS-1"].status == CLOSED


def test_supplement_that_never_comes_closes_the_dossier_after_15_days() -> None:
    """15 days counted as the Civil Code counts days (arts 147–148): from the day after the
    request (Mon 8/9/2025) to 24:00 of the 15th, Tue 23/9 — then the dossier is closed and
    stays quiet."""
    story = Story().received("2025-09-08T09:00", unit="A").supplement("2025-09-08T10:00")
    _, alerts = run(story, "2025-12-31T00:00")
    closed = [(a.status, a.at) for a in alerts if a.rule == "supplement_expired"]
    assert closed == [
        ("firing", "2025-09-24T00:00:00+07:00"),
        ("resolved", "2025-09-24T00:00:00+07:00"),
    ]
    assert rules(alerts) == {"supplement_expired"}


def test_a_supplement_window_ending_on_a_weekend_runs_to_the_next_working_day() -> None:
    """Requested Fri 5/9/2025: the 15th day is Sat 20/9, a day off, so the window ends at
    24:00 of Mon 22/9 (art 148), not at 10:00 on the Saturday."""
    story = Story().received("2025-09-03T09:00", unit="A").supplement("2025-09-05T10:00")
    _, alerts = run(story, "2025-12-31T00:00")
    closed = [a.at for a in alerts if a.rule == "supplement_expired" and a.status == "firing"]
    assert closed == ["2025-09-23T00:00:00+07:00"]


def test_reschedule_must_come_a_working_day_before_the_due_date() -> None:
    """Due 24:00 Monday 15/9: an apology on Friday 12/9 is in time, on Monday 15/9 it is late."""
    ok = (
        Story("OK")
        .received("2025-09-08T09:00", unit="A")
        .reschedule("2025-09-12T16:00", "2025-09-20T00:00")
    )
    late = (
        Story("LATE")
        .received("2025-09-08T09:00", unit="A")
        .reschedule("2025-09-15T08:00", "2025-09-20T00:00")
    )
    _, a_ok = run(ok)
    _, a_late = run(late)
    assert "reschedule_late" not in rules(a_ok)
    assert "reschedule_late" in rules(a_late)


def test_a_second_reschedule_is_a_breach_and_does_not_move_the_due_date() -> None:
    """Only one re-appointment is allowed (art 19(6)): the first (Wed 10/9, new date Fri
    19/9 17:00) moves the due date; the second is a breach and moves nothing, so the
    dossier is overdue from Fri 19/9 17:00, not from the second date, 26/9."""
    story = (
        Story()
        .received("2025-09-08T09:00", unit="A")
        .reschedule("2025-09-10T09:00", "2025-09-19T17:00")
        .reschedule("2025-09-12T09:00", "2025-09-26T17:00")
    )
    engine, alerts = run(story, "2025-09-27T00:00")
    assert "HS-1/reschedule_repeated/breach/2" in firing(alerts)
    overdue = [a for a in alerts if a.level == "overdue"]
    assert [a.at for a in overdue] == ["2025-09-19T17:00:00+07:00"]
    x = engine.dossiers["HS-1"].x
    assert x is not None and x.appointed == at("2025-09-26T17:00")


def test_a_late_reschedule_does_not_launder_lateness_in_the_766_figures() -> None:
    """Due 24:00 Mon 15/9; an apology on Mon 15/9 08:00 is later than a working day before
    it, so finishing on Thu 18/9 — inside the new date, 20/9 — is still late for 766."""
    story = (
        Story()
        .received("2025-09-08T09:00", unit="A")
        .reschedule("2025-09-15T08:00", "2025-09-20T00:00")
        .complete("2025-09-18T10:00")
    )
    engine, alerts = run(story)
    assert "reschedule_late" in rules(alerts)
    assert engine.stats.completed == 1 and engine.stats.completed_on_time == 0
    lawful = (
        Story("OK")
        .received("2025-09-08T09:00", unit="A")
        .reschedule("2025-09-12T16:00", "2025-09-20T00:00")
        .complete("2025-09-18T10:00")
    )
    engine, _ = run(lawful)
    assert engine.stats.completed_on_time == 1


def test_duplicate_event_ids_are_ignored() -> None:
    """The same event delivered twice changes nothing the second time."""
    story = (
        Story()
        .received("2025-09-08T09:00", unit="ONE_STOP", time_limit="30wd")
        .transfer("2025-09-08T10:00", "A")
        .transfer("2025-09-09T10:00", "B")
    )
    engine = Engine(builtin_book())
    engine.drain(story.events)
    again = engine.drain(story.events[1:])
    assert again == [] and engine.stats.duplicates == 2
    assert engine.dossiers["HS-1"].unit == "B"


def test_an_event_older_than_the_last_one_does_not_turn_the_clock_back() -> None:
    """An out-of-order event is applied with the dossier clock held at its latest time."""
    story = (
        Story()
        .received("2025-09-08T09:00", unit="A", time_limit="30wd")
        .transfer("2025-09-10T10:00", "B")
    )
    story.assign("2025-09-09T10:00", "B", "O1")
    engine, _ = run(story)
    d = engine.dossiers["HS-1"]
    assert d.last_at == at("2025-09-10T10:00") and d.since == at("2025-09-10T10:00")
    assert d.officer == "O1" and engine.stats.out_of_order == 1


def test_events_for_an_unknown_dossier_are_tracked_without_a_time_limit() -> None:
    """A transfer before any receipt is followed (units) but starts no deadline."""
    story = Story().transfer("2025-09-08T10:00", "A").transfer("2025-09-08T11:00", "B")
    engine, alerts = run(story, "2026-01-01T00:00")
    assert alerts == [] and engine.dossiers["HS-1"].unit == "B"


def test_a_receipt_opens_the_dossier_under_the_policy_of_its_day() -> None:
    """Received on 1/7/2025 the dossier is judged by Decree 118; on 30/6 by Decree 61."""
    engine, _ = run(
        Story("A")
        .received("2025-06-30T09:00")
        .add("received", "2025-07-01T09:00", procedure="P", unit="X")
    )
    assert engine.book[engine.dossiers["A"].policy].name == "vn-decree-61-2018"
    engine, _ = run(Story("B").received("2025-07-01T09:00"))
    assert engine.book[engine.dossiers["B"].policy].name == "vn-decree-118-2025"
    assert engine.dossiers["B"].status == OPEN


def test_an_appointment_date_on_the_receipt_is_the_due_date() -> None:
    """When the receipt states the appointment, the breach fires at exactly that instant."""
    story = Story().received("2025-09-08T09:00", unit="A", time_limit=None, due="2025-09-12T16:00")
    _, alerts = run(story, "2025-09-13T00:00")
    assert [a.at for a in alerts if a.level == "overdue"] == ["2025-09-12T16:00:00+07:00"]


def test_an_open_dossier_is_not_woken_again_and_again_for_nothing() -> None:
    """Ticking hourly over a weekend and a month wakes a dossier about once per alert."""
    story = Story().received("2025-09-05T09:00", unit="A", time_limit="20wd")
    engine, _ = run(story)
    fired = 0
    for hour in range(24 * 40):
        fired += len(engine.advance(at("2025-09-05T10:00") + hour * 3600))
    assert fired >= 7  # stall, two near-due, overdue, three escalations
    assert engine.stats.wakes <= fired + 3


def test_a_dossier_woken_twice_at_one_instant_is_handled_once() -> None:
    """Two index entries at the same instant for one dossier do not fire or evict twice."""
    story = Story().received("2025-09-08T09:00", unit="A").complete("2025-09-09T09:00")
    engine, _ = run(story, "2025-09-20T00:00")  # past the early wake-up: next is eviction
    d = engine.dossiers.get("HS-1")
    assert d is not None and d.wake == at("2025-09-09T09:00") + 30 * 86400
    lane = engine.lane_of("HS-1", d.source)
    engine.lanes[lane].schedule("HS-1", None, d.wake)  # a second entry at the live instant
    engine.advance(d.wake + 1)
    assert engine.dossiers.get("HS-1") is None and engine.stats.evicted == 1


_INSTANTS = st.integers(min_value=at("2025-09-01T00:00"), max_value=at("2025-12-31T00:00"))


@st.composite
def _dossiers(draw: st.DrawFn) -> Dossier:
    """Any mix of the fields the timers read, whatever the status."""
    x = None
    if draw(st.booleans()):
        x = Extra(
            supplement_at=draw(st.none() | _INSTANTS),
            pending=tuple(
                ("B", f"c{i}", draw(_INSTANTS), draw(st.booleans()))
                for i in range(draw(st.integers(0, 2)))
            ),
            steps=tuple(
                ("B", draw(_INSTANTS), draw(_INSTANTS), draw(st.sampled_from([0, 1])))
                for _ in range(draw(st.integers(0, 2)))
            ),
            paper_due=draw(st.none() | st.just(0) | _INSTANTS),
        )
    start = draw(st.none() | _INSTANTS)
    return Dossier(
        id="HS-1",
        status=draw(st.sampled_from(list(Status))),
        group=draw(st.sampled_from(["", "land"])),
        unit=draw(st.sampled_from([None, "ONE_STOP", "B"])),
        officer=draw(st.none() | st.just("o1")),
        received_at=draw(st.none() | _INSTANTS),
        start=start,
        due=draw(st.none() | _INSTANTS),
        deadline_next=draw(st.none() | _INSTANTS),
        since=draw(_INSTANTS),
        fired=draw(st.integers(min_value=0, max_value=(1 << 19) - 1)),
        x=x,
    )


@settings(max_examples=300, deadline=None)
@given(_dossiers())
def test_the_timers_left_out_for_a_state_cannot_be_due_in_it(d: Dossier) -> None:
    """Every timer `timers_for` leaves out has no instant for the dossier (so asking only
    the others changes nothing), and those it keeps come in the order of TIMERS."""
    p = builtin_book().policies[-1]
    kept = timers_for(d)
    for timer in TIMERS:
        if timer not in kept:
            assert timer.earliest(d, p) is None, timer.name
            assert timer.exact(d, p) is None, timer.name
    assert list(kept) == [t for t in TIMERS if t in kept]
