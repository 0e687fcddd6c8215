"""The alerts the bridge keeps alive in Alertmanager, and what each alert message changes.

Pure state, no I/O: the bridge feeds it decoded alerts in topic order and posts what it
returns.  Alertmanager forgets an alert whose `endsAt` passes without a re-send, and forgets
everything when it restarts, so the firing alerts are kept here and re-sent on a timer.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from alerts.labels import alert_annotations, alert_labels, dossier_link
from streams.contract.alerts import Alert

Postable = dict[str, Any]
"""One element of the body of POST /api/v2/alerts."""

Kind = Literal["fire", "refresh", "resolve", "replayed", "unknown"]


def rfc3339(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds")


@dataclass
class Firing:
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    generator_url: str

    def postable(self, ends_at: datetime) -> Postable:
        return {
            "labels": self.labels,
            "annotations": self.annotations,
            "startsAt": rfc3339(self.starts_at),
            # Alertmanager refuses an alert that ends before it starts.
            "endsAt": rfc3339(max(ends_at, self.starts_at)),
            "generatorURL": self.generator_url,
        }


@dataclass(frozen=True)
class Change:
    kind: Kind
    """fire: new; refresh: a repeated firing id; resolve: ends a firing alert; replayed: a
    message already acted on (nothing to post); unknown: the resolution of an alert this
    bridge never saw fire (the caller looks it up in Alertmanager)."""
    alert_id: str
    postable: Postable | None = None


@dataclass
class FiringSet:
    link_base: str
    ttl: timedelta
    """How long Alertmanager keeps a firing alert without hearing of it again."""
    remember_resolved: int = 100_000
    _firing: dict[str, Firing] = field(default_factory=dict)
    _resolved: OrderedDict[str, None] = field(default_factory=OrderedDict)

    def __len__(self) -> int:
        return len(self._firing)

    def __contains__(self, alert_id: object) -> bool:
        return alert_id in self._firing

    def apply(self, a: Alert, now: datetime) -> Change:
        if a.status == "firing":
            return self._fire(a, now)
        return self._resolve(a, now)

    def _fire(self, a: Alert, now: datetime) -> Change:
        link = dossier_link(a, self.link_base)
        known = self._firing.get(a.id)
        if known is not None:
            # Same id, same situation: keep the first startsAt, take the newest wording.
            known.annotations = alert_annotations(a, link)
            return Change("refresh", a.id, known.postable(now + self.ttl))
        if a.id in self._resolved:
            # Kafka redelivered a firing that was resolved since (a rebalance, a restart).
            return Change("replayed", a.id)
        # startsAt is when Alertmanager first hears of it, not the event instant (that is
        # in the annotations): an alert that "started" longer than group_wait ago is
        # flushed at once, before a breach posted with it could inhibit it.
        f = Firing(alert_labels(a), alert_annotations(a, link), now, link)
        self._firing[a.id] = f
        return Change("fire", a.id, f.postable(now + self.ttl))

    def _resolve(self, a: Alert, now: datetime) -> Change:
        known = self._firing.pop(a.id, None)
        seen = a.id in self._resolved
        self._remember(a.id)
        if known is not None:
            # The labels it fired with, not the resolution's (its severity reads "info").
            return Change("resolve", a.id, known.postable(now))
        return Change("replayed" if seen else "unknown", a.id)

    def _remember(self, alert_id: str) -> None:
        self._resolved[alert_id] = None
        self._resolved.move_to_end(alert_id)
        while len(self._resolved) > self.remember_resolved:
            self._resolved.popitem(last=False)

    def postables(self, now: datetime) -> list[Postable]:
        """Every firing alert, valid for another `ttl`: the periodic re-send."""
        ends = now + self.ttl
        return [f.postable(ends) for f in self._firing.values()]


def now_utc() -> datetime:
    return datetime.now(UTC)
