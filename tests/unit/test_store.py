"""The packed dossier store: every state the machine makes comes back unchanged."""

from __future__ import annotations

from typing import Any

from helpers.random_stories import merged, story
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.core.calendar import to_instant
from streams.core.dossier import Dossier, Extra
from streams.core.machine import apply_event
from streams.core.store import DossierStore
from streams.policy import builtin_book

BOOK = builtin_book()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=st.lists(story, min_size=1, max_size=4))
def test_every_state_along_random_stories_survives_packing(specs: list[tuple[Any, ...]]) -> None:
    """After each event (bounces, officer cleared, supplements, completion), get(put(d)) == d."""
    states: dict[str, Dossier] = {}
    store = DossierStore()
    for event in merged(specs):
        d, _ = apply_event(states.get(event.subject), event, BOOK, to_instant(event.time))
        states[event.subject] = d
        d.wake = to_instant(event.time) + 3600
        store.put(d)
        assert store[d.id] == d
        assert (store.live(d.id) or (None,))[0] == d.wake


def test_values_the_packing_leaves_out_are_put_back() -> None:
    """The id, the current unit and officer and the units seen are restored from the rest."""
    d = Dossier(
        id="HS-1",
        unit="B",
        officer="O2",
        trail=("A", 10, "B", 20),
        officers=("O1", 15, "O2", 25),
        seen_units=("A", "B"),
    )
    store = DossierStore()
    store.put(d)
    assert store["HS-1"] == d
    assert d.id == "HS-1" and d.unit == "B" and d.seen_units == ("A", "B")  # the original intact


def test_values_that_differ_from_what_the_trail_says_are_kept_as_they_are() -> None:
    """A cleared officer, a bounced trail and a capped list of units are stored explicitly."""
    d = Dossier(
        id="HS-2",
        unit="A",
        officer=None,
        trail=("A", 10, "B", 20, "A", 30),
        officers=("O1", 15),
        seen_units=("A", "B"),
        x=Extra(unit_bounces=1, pending=(("C", "c1", 99, False),)),
    )
    store = DossierStore()
    store.put(d)
    assert store["HS-2"] == d


def test_a_dossier_without_a_wake_up_reads_as_none_and_gets_are_copies() -> None:
    """No wake-up reads back as None; changing a read copy changes nothing stored."""
    store = DossierStore()
    store.put(Dossier(id="HS-3", unit="A", trail=("A", 1), seen_units=("A",)))
    assert store.live("HS-3") is None and store.live("nope") is None
    copy = store["HS-3"]
    copy.unit = "Z"
    assert store["HS-3"].unit == "A"
    assert store.discard("HS-3") is not None and "HS-3" not in store and len(store) == 0
