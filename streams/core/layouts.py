"""Versions of the worker's stored state, and the migrations between them.

Every value the worker keeps in a table (`dossiers`, `clocks`: streams/worker/topology.py)
begins with one byte, its layout.  A reader meeting its own layout decodes the value as
it is; an older one is decoded into plain data (lists, dicts, numbers, bytes, as msgpack
gives them), carried forward one layout at a time by the registered migrations — pure
functions, layout n's structure in, layout n+1's out — and then read as the current
layout; a newer one is refused with `NewerLayoutError`, which the worker does not treat
as a bad event: it stops, saying what to do.  docs/state-layout.md says what each layout
stores and how to write a migration.

Layout 2 put a header on the `clocks` values, which layout 1 stored bare; a dossier's
value already had one, so its step from 1 to 2 changes nothing but that byte.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streams.contract.errors import DossierWatchError

LAYOUT = 2
"""The layout this version writes, and the newest it reads."""

LAST_LAYOUT_BYTE = 0x7F
"""Layouts are 1..127: a first byte from 0x80 up is msgpack's (an array, a map: layout
1's headerless clocks) or garbage, never a layout a newer version wrote."""

Migration = Callable[[Any], Any]
"""Layout n's structure of a value → layout n+1's (pure: no I/O, no clock)."""

Observer = Callable[[str, int], None]
"""Told (table, layout it came from) for every value read through a migration."""


class StoredStateError(DossierWatchError, ValueError):
    """A stored value this version cannot read."""


class NewerLayoutError(StoredStateError):
    """A value written by a newer version: reading it as ours could lose or invent state,
    so the worker refuses to run rather than reset or dead-letter it."""

    def __init__(self, table: str, layout: int, reads: int) -> None:
        super().__init__(
            f"stored state of table {table} has layout {layout}, this version reads up to"
            f" {reads}: upgrade the worker or restore from a changelog written by it"
        )
        self.table = table
        self.layout = layout


class Migrations:
    """The registry: for each table, the step from each old layout to the next."""

    def __init__(self, current: int = LAYOUT) -> None:
        self.current = current
        self._steps: dict[tuple[str, int], Migration] = {}

    def register(self, table: str, from_layout: int) -> Callable[[Migration], Migration]:
        """Decorate the step of `table`'s values from `from_layout` to the next layout."""
        if not 1 <= from_layout < self.current:
            raise ValueError(f"no step from layout {from_layout}: this registry reads 1..")
        if (table, from_layout) in self._steps:
            raise ValueError(f"table {table} already has a step from layout {from_layout}")

        def add(step: Migration) -> Migration:
            self._steps[table, from_layout] = step
            return step

        return add

    def check(self, table: str, layout: int) -> None:
        """Refuse a layout this registry cannot bring to the current one."""
        if self.current < layout <= LAST_LAYOUT_BYTE:
            raise NewerLayoutError(table, layout, self.current)
        if not 1 <= layout <= self.current:
            raise StoredStateError(f"stored state of table {table} has no layout (byte {layout})")
        for version in range(layout, self.current):
            if (table, version) not in self._steps:
                raise StoredStateError(
                    f"stored state of table {table} has layout {layout}, and no migration"
                    f" leads from layout {version} to {version + 1}"
                )

    def upgrade(
        self, table: str, layout: int, structure: Any, observe: Observer | None = None
    ) -> Any:
        """`structure`, a value of `table` at `layout`, carried to the current layout."""
        self.check(table, layout)
        for version in range(layout, self.current):
            structure = self._steps[table, version](structure)
        if observe is not None and layout < self.current:
            observe(table, layout)
        return structure


MIGRATIONS = Migrations()
"""The migrations this version knows."""


@MIGRATIONS.register("dossiers", 1)
def _dossiers_1_to_2(value: Any) -> Any:
    return value  # the same header and state: layout 2 changed the clocks only


@MIGRATIONS.register("clocks", 1)
def _clocks_1_to_2(value: Any) -> Any:
    return value  # the same saved clocks: layout 2 only put the header in front
