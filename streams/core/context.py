"""What a detector holds while it looks at one dossier: the policy and the alert sink."""

from __future__ import annotations

from collections.abc import Callable

from streams.contract.alerts import Alert, Severity, alert_id
from streams.core.calendar import to_iso
from streams.core.dossier import Dossier
from streams.core.policy import Policy


class Ctx:
    """Collects the alerts of one step and keeps each dossier's alert ids unique."""

    __slots__ = ("alerts", "policy")

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.alerts: list[Alert] = []

    def fire(
        self,
        d: Dossier,
        rule: str,
        level: str,
        severity: Severity,
        anchor: object,
        at: int,
        evidence: str,
        *,
        chain: tuple[tuple[str, str], ...] = (),
        unit: str | None = None,
    ) -> bool:
        """Fire an alert unless this dossier already fired that id; True if it fired."""
        aid = alert_id(d.id, rule, level, anchor)
        x = d.extra()
        if aid in x.emitted:
            return False
        unit = unit if unit is not None else d.unit
        x.emitted = (*x.emitted, aid)
        x.open = (*x.open, (aid, unit))
        self.alerts.append(
            Alert(
                id=aid,
                status="firing",
                rule=rule,
                level=level,
                severity=severity,
                dossier=d.id,
                at=to_iso(at),
                unit=unit,
                officer=d.officer,
                procedure=d.procedure or None,
                procedure_group=d.group or None,
                due=to_iso(d.due) if d.due is not None else None,
                evidence=evidence,
                chain=chain,
            )
        )
        return True

    def resolve(self, d: Dossier, at: int, which: Callable[[str], bool], why: str) -> None:
        """Resolve the dossier's firing alerts whose id `which` accepts."""
        x = d.x
        if x is None or not x.open:
            return
        keep: list[tuple[str, str | None]] = []
        for aid, unit in x.open:
            if not which(aid):
                keep.append((aid, unit))
                continue
            self.alerts.append(resolved(d, aid, unit, at, why))
        x.open = tuple(keep)


def resolved(d: Dossier, aid: str, unit: str | None, at: int, why: str) -> Alert:
    """The resolution of one of the dossier's alerts, with the reason."""
    _, rule, level, _ = aid.rsplit("/", 3)
    return Alert(
        id=aid,
        status="resolved",
        rule=rule,
        level=level,
        severity="info",
        dossier=d.id,
        at=to_iso(at),
        unit=unit,
        procedure=d.procedure or None,
        procedure_group=d.group or None,
        evidence=why,
    )


def rule_of(aid: str) -> str:
    return aid.rsplit("/", 3)[1]


def anchor_of(aid: str) -> str:
    return aid.rsplit("/", 1)[1]
