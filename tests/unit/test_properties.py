"""Properties of the engine over random dossier stories (hypothesis)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from helpers.random_stories import START, build, merged, story
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.contract.alerts import Alert
from streams.contract.events import DossierEvent
from streams.core.engine import Engine
from streams.policy import builtin_book


def per_dossier(alerts: list[Alert]) -> dict[str, list[tuple[str, str, str]]]:
    out: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for a in alerts:
        out[a.dossier].append((a.id, a.status, a.at))
    return dict(out)


def replay(events: list[DossierEvent], ticks: list[int] | None = None) -> list[Alert]:
    engine = Engine(builtin_book(), retention_days=3650)
    alerts: list[Alert] = []
    ticks = sorted(ticks or [])
    for e in events:
        now = int(e.time.timestamp())
        while ticks and ticks[0] <= now:
            alerts += engine.advance(ticks.pop(0))
        alerts += engine.apply(e)
    end = int((START + timedelta(days=400)).timestamp())
    alerts += engine.advance(end)
    return alerts


stories = st.lists(story, min_size=1, max_size=6)
quick = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@quick
@given(specs=stories)
def test_replay_is_deterministic(specs: list[tuple[Any, ...]]) -> None:
    """The same events give the same alerts, byte for byte, every time."""
    events = merged(specs)
    assert replay(events) == replay(events)


@quick
@given(specs=stories, ticks=st.lists(st.integers(0, 60 * 86400), max_size=30))
def test_advancing_the_clock_in_arbitrary_steps_gives_the_same_alerts(
    specs: list[tuple[Any, ...]], ticks: list[int]
) -> None:
    """Clock ticks between events (any number, anywhere) change no dossier's alerts."""
    events = merged(specs)
    base = int(START.timestamp())
    assert per_dossier(replay(events, [base + t for t in ticks])) == per_dossier(replay(events))


@quick
@given(specs=stories, cut=st.integers(0, 10))
def test_interleaving_dossiers_differently_gives_the_same_alerts(
    specs: list[tuple[Any, ...]], cut: int
) -> None:
    """Dossiers fed one after another (as XES traces are) alert exactly as when time-merged."""
    by_dossier = [e for i, spec in enumerate(specs) for e in build(f"D{i}", spec)]
    assert per_dossier(replay(by_dossier)) == per_dossier(replay(merged(specs)))


@quick
@given(specs=stories)
def test_no_alert_id_fires_twice(specs: list[tuple[Any, ...]]) -> None:
    """Every firing alert id is unique over a whole replay, duplicates in the input included."""
    ids = [a.id for a in replay(merged(specs)) if a.status == "firing"]
    assert len(ids) == len(set(ids))


@quick
@given(specs=stories)
def test_a_finished_dossier_never_alerts_afterwards(specs: list[tuple[Any, ...]]) -> None:
    """After completion or withdrawal, no alert about the dossier fires later."""
    events = merged(specs)
    finished: dict[str, str] = {}
    for e in events:
        kind = e.__struct_config__.tag
        if kind in ("dossier.completed", "dossier.withdrawn", "dossier.delivered"):
            finished.setdefault(e.subject, e.time.isoformat())
    for a in replay(events):
        if a.status == "firing" and a.dossier in finished:
            fired = datetime.fromisoformat(a.at)
            assert fired <= datetime.fromisoformat(finished[a.dossier]), a


@quick
@given(specs=stories)
def test_every_firing_alert_is_resolved_when_its_dossier_finishes(
    specs: list[tuple[Any, ...]],
) -> None:
    """A dossier that completed or was withdrawn has no alert left firing."""
    events = merged(specs)
    engine = Engine(builtin_book(), retention_days=3650)
    alerts = engine.drain(events)
    alerts += engine.advance(int((START + timedelta(days=400)).timestamp()))
    open_ids: dict[str, set[str]] = defaultdict(set)
    for a in alerts:
        (open_ids[a.dossier].add if a.status == "firing" else open_ids[a.dossier].discard)(a.id)
    for key, d in engine.dossiers.items():
        if d.status_name in ("completed", "delivered", "withdrawn", "closed"):
            assert not open_ids[key], (key, open_ids[key])
