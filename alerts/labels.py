"""A DossierWatch alert as Alertmanager sees it: labels to route on, annotations to read.

Labels identify an Alertmanager alert, so they carry the alert id: two alerts of one
dossier that share rule and level (two late consultations) stay two alerts.  The dossier
id is a legitimate label here: an Alertmanager alert is about one dossier, and nothing
here becomes a Prometheus series.

Annotations are for people: with a catalogue's names (`Names`, given by the bridge at
start from `--catalog`), they name the unit and the procedure (`unit_name`,
`procedure_name`, and in the texts); the labels and the alert id never change with it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from alerts.texts import chain_text, details, evidence_vi, wording
from streams.contract.alerts import Alert
from streams.contract.alerts import dossier_url as dossier_url  # one definition, the worker's too

ALERTNAMES: dict[str, str] = {
    "deadline": "DossierDeadline",
    "stall": "DossierStalled",
    "ping_pong_unit": "DossierPingPong",
    "ping_pong_officer": "DossierPingPong",
    "referral_chain": "DossierReferralChain",
    "consultation_count": "DossierConsultationCount",
    "consultation_late": "DossierConsultationLate",
    "transfer_late": "DossierTransferLate",
    "acceptance_late": "DossierAcceptanceLate",
    "supplement_late": "DossierSupplementLate",
    "supplement_repeated": "DossierSupplementRepeated",
    "supplement_expired": "DossierSupplementExpired",
    "reschedule_late": "DossierRescheduleLate",
    "reschedule_repeated": "DossierRescheduleRepeated",
    "intake_notice": "DossierIntakeNotice",
    "appointment_beyond_limit": "DossierAppointmentBeyondLimit",
    "refusal_late": "DossierRefusalLate",
    "step_late": "DossierStepLate",
    "paper_transfer_late": "DossierPaperTransferLate",
}

_ESCALATION = re.compile(r"escalation_(\d+)")


@dataclass(frozen=True)
class Names:
    """Unit and procedure codes → their names (a catalogue, as the bridge was given it)."""

    units: Mapping[str, str] = field(default_factory=dict)
    procedures: Mapping[str, str] = field(default_factory=dict)


_names = Names()


def use_names(names: Names) -> None:
    """The names every annotation uses from now on, unless given its own (the bridge sets
    them once at start; the firing set calls `alert_annotations` without names)."""
    global _names
    _names = names


def alertname(rule: str) -> str:
    # A rule added to the core after this table still routes (by its rule label).
    return ALERTNAMES.get(rule, f"dossier_{rule}")


def escalation(level: str) -> int:
    """0 below the escalation ladder, n at `escalation_n` (the policy has 1..3)."""
    m = _ESCALATION.fullmatch(level)
    return int(m[1]) if m else 0


def dossier_link(a: Alert, link_base: str) -> str:
    """The dossier page an alert links to: the URL the worker put on it, else the one made
    from the bridge's link base (records written without one: replay files, older alerts).
    One rule for the annotation and the generator URL, so they never disagree."""
    return a.url or dossier_url(link_base, a.dossier)


def alert_labels(a: Alert) -> dict[str, str]:
    out = {
        "alertname": alertname(a.rule),
        "alert_id": a.id,
        "rule": a.rule,
        "level": a.level,
        "severity": a.severity,
        "escalation": str(escalation(a.level)),
        "dossier": a.dossier,
    }
    # An empty label value means "no label" to Alertmanager: leave unknown ones out.
    if a.unit:
        out["unit"] = a.unit
    if a.procedure_group:
        out["procedure_group"] = a.procedure_group
    return out


def alert_annotations(a: Alert, link: str, names: Names | None = None) -> dict[str, str]:
    """`link`: the page to fall back on when the alert carries no `url` of its own."""
    n = _names if names is None else names
    unit_name = n.units.get(a.unit) if a.unit else None
    procedure_name = n.procedures.get(a.procedure) if a.procedure else None
    w = wording(a, unit_name)
    vi, en = details(a, unit_name, procedure_name, n.units)
    out = {
        "title": w.title,
        "title_en": w.title_en,
        "summary": w.summary,
        "summary_en": w.summary_en,
        "description": vi,
        "description_en": en,
        "evidence": a.evidence,
        # The same facts in Vietnamese, for the channels that show one line of evidence
        # (Zalo, ZNS, SMS): staff read Vietnamese first, as in the e-mail's description.
        "evidence_vi": evidence_vi(a, unit_name, n.units),
        # The e-mail templates and the Zalo adapter link to the dossier through this one.
        "dossier_url": a.url or link,
        "at": a.at,
    }
    if a.due:
        out["due"] = a.due
    if a.officer:
        out["officer"] = a.officer
    if a.procedure:
        out["procedure"] = a.procedure
    if unit_name:
        out["unit_name"] = unit_name
    if procedure_name:
        out["procedure_name"] = procedure_name
    if a.chain:
        out["chain"] = chain_text(a, n.units)
    return out
