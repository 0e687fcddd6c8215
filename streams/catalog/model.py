"""The catalogue as values: units and procedures by code, and the codes it did not know."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from streams.contract.errors import PolicyError
from streams.core.policy import TimeLimit

Level = Literal["central", "province", "district", "commune"]
LEVELS: tuple[Level, ...] = ("central", "province", "district", "commune")
"""Where a procedure is decided: a ministry, the province, the district (before the
two-tier local government of 1 July 2025), the commune."""

KINDS = ("unit", "procedure")
MAX_UNKNOWN = 1000
"""Distinct unknown codes remembered per kind: enough to list a mistake, bounded against a
sender that makes codes up (the count then reads "at least 1000")."""


class CatalogError(PolicyError):
    """A catalogue file that cannot be used; the message names the file, the line (CSV)
    or the dotted key (TOML), and what is wrong."""


@dataclass(frozen=True, slots=True)
class CatalogUnit:
    code: str
    name: str
    """Its Vietnamese name, as on the wallboard: "Sở Xây dựng"."""
    parent: str | None = None
    """The unit it belongs to (a department's province), a code of the same catalogue."""
    calendar: str | None = None
    """A unit calendar of the policies (`[calendar.units.X]`) whose office hours it keeps."""
    where: str = ""
    """Where it was read (`units.csv:4`, `catalog.toml: units.SO_XD`), for later errors."""


@dataclass(frozen=True, slots=True)
class CatalogProcedure:
    code: str
    """The mã TTHC of the national procedure database: `1.001234`."""
    name: str
    field: str | None = None
    """Lĩnh vực: "Đất đai", "Hộ tịch"."""
    time_limit: TimeLimit | None = None
    """The legal time limit (thời hạn giải quyết); None: the catalogue does not say."""
    level: Level | None = None
    group: str | None = None
    """The bounded metric label of its procedure group (`land`); None: the policy's."""
    where: str = ""


class Catalog:
    """Units and procedures by code.  A name asked for a code the catalogue lacks is None,
    and the code is remembered (up to MAX_UNKNOWN per kind) for the unknown-codes gauge."""

    def __init__(
        self,
        units: Iterable[CatalogUnit] = (),
        procedures: Iterable[CatalogProcedure] = (),
        sources: Iterable[str] = (),
    ) -> None:
        self.units: Mapping[str, CatalogUnit] = {u.code: u for u in units}
        self.procedures: Mapping[str, CatalogProcedure] = {p.code: p for p in procedures}
        self.sources: tuple[str, ...] = tuple(sources)
        self._unknown: dict[str, set[str]] = {kind: set() for kind in KINDS}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.units) + len(self.procedures)

    def unit_name(self, code: str | None) -> str | None:
        if not code:
            return None
        unit = self.units.get(code)
        if unit is None:
            self._miss("unit", code)
            return None
        return unit.name

    def procedure_name(self, code: str | None) -> str | None:
        if not code:
            return None
        proc = self.procedures.get(code)
        if proc is None:
            self._miss("procedure", code)
            return None
        return proc.name

    def unit_label(self, code: str) -> str:
        """What a screen shows for a unit: its name, or the code when it has none."""
        return self.unit_name(code) or code

    def _miss(self, kind: str, code: str) -> None:
        seen = self._unknown[kind]
        if code in seen or len(seen) >= MAX_UNKNOWN:
            return
        with self._lock:  # the API reads states on executor threads
            if len(seen) < MAX_UNKNOWN:
                seen.add(code)

    def unknown_counts(self) -> dict[str, int]:
        """Kind → distinct codes asked for that the catalogue does not name."""
        return {kind: len(codes) for kind, codes in self._unknown.items()}

    def unknown_codes(self, kind: str) -> list[str]:
        return sorted(self._unknown[kind])

    def unit_names(self) -> dict[str, str]:
        return {code: u.name for code, u in self.units.items()}

    def procedure_names(self) -> dict[str, str]:
        return {code: p.name for code, p in self.procedures.items()}
