"""A catalogue's legal time limits and unit calendars joined to the policy book.

The core reads a procedure's limit from `Policy.procedures` (a receipt without a stated
limit is counted by it; a receipt's stated appointment later than it allows fires
`appointment_beyond_limit`).  The catalogue adds its procedures to every policy of the
book — its limit replaces the policy file's for a code both give, since the catalogue is
the centre's current list — and gives a unit that names a calendar that calendar's
office hours, unless the policy gives the unit hours of its own.
"""

from __future__ import annotations

from dataclasses import replace

from streams.catalog.model import Catalog, CatalogError
from streams.core.calendar import CalendarSpec
from streams.core.policy import Policy, PolicyBook, Procedure


def apply_catalog(book: PolicyBook, catalog: Catalog | None) -> PolicyBook:
    """`book` with the catalogue's procedures and unit calendars in each of its policies;
    `CatalogError` naming the entry when a limit is beyond a policy's bounds or a unit's
    calendar is in no policy."""
    if catalog is None or (
        not catalog.procedures and not any(u.calendar for u in catalog.units.values())
    ):
        return book
    names = sorted({c for p in book.policies for c in p.unit_calendars})
    for unit in catalog.units.values():
        if unit.calendar is not None and unit.calendar not in names:
            known = ", ".join(names) or "none"
            raise CatalogError(
                f"{unit.where}: calendar: {unit.calendar!r} is not a unit calendar of the"
                f" policies (they have: {known})"
            )
    return PolicyBook(_policy(p, catalog) for p in book.policies)


def _policy(p: Policy, catalog: Catalog) -> Policy:
    procedures = dict(p.procedures)
    for c in catalog.procedures.values():
        if c.time_limit is None:
            continue
        if not p.bounds.limit_ok(c.time_limit):
            raise CatalogError(
                f"{c.where}: time_limit: {c.time_limit} is beyond the bounds of policy"
                f" {p.name} (at most {p.bounds.max_working_days} working days)"
            )
        known = procedures.get(c.code)
        group = c.group or (known.group if known else "other")
        procedures[c.code] = Procedure(c.time_limit, group)
    calendars: dict[str, CalendarSpec] = dict(p.unit_calendars)
    for u in catalog.units.values():
        if u.calendar and u.calendar in p.unit_calendars and u.code not in p.unit_calendars:
            calendars[u.code] = p.unit_calendars[u.calendar]
    return replace(p, procedures=procedures, unit_calendars=calendars)
