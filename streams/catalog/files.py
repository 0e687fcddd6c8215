"""Reading catalogue files: CSV (one kind per file) or TOML (both kinds), by extension.

Their shape is declared once as msgspec structs, as for the policy files
(streams/policy/loader.py): a missing or unknown field, a wrong type, a bad level or time
limit is one `CatalogError` naming the file and the CSV line or TOML key.  Several files
make one catalogue; a code given twice, or a parent the catalogue does not hold, is an
error naming both places.

CSV: a header line, then one entry per line (UTF-8, a BOM allowed; `#` starts a comment
line).  A file whose header has a procedure column (field, time_limit, level, group) lists
procedures, else units:

    code,name,parent,calendar
    SO_XD,Sở Xây dựng,UBND_TINH,

    code,name,field,time_limit,level,group
    1.001234,Cấp giấy phép xây dựng,Hoạt động xây dựng,20wd,province,construction

TOML: `[units.CODE]` and `[procedures."CODE"]` tables with the same keys.
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import msgspec

from streams.catalog.model import Catalog, CatalogError, CatalogProcedure, CatalogUnit, Level
from streams.core.policy import TimeLimit

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")]
"""As an event may name it (at most 200 characters), with no spaces around it."""
Group = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
"""A metric label value: short, lower-case, no spaces."""
_S = TypeVar("_S", bound=msgspec.Struct)

UNIT_COLUMNS = ("code", "name", "parent", "calendar")
PROCEDURE_COLUMNS = ("code", "name", "field", "time_limit", "level", "group")


class _Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class _Unit(_Strict):
    name: Text
    parent: Code | None = None
    calendar: Text | None = None


class _Procedure(_Strict):
    name: Text
    field: Text | None = None
    time_limit: str | None = None
    level: Level | None = None
    group: Group | None = None


class _UnitRow(_Unit, kw_only=True):
    code: Code


class _ProcedureRow(_Procedure, kw_only=True):
    code: Code


class _File(_Strict):
    units: dict[str, object] = {}
    procedures: dict[str, object] = {}
    """Checked entry by entry, so that an error names the entry's key."""


# -- one-line errors ----------------------------------------------------------------------

_AT = re.compile(r"^(.*?)(?: - at `\$(.*)`)?$", re.S)
_FIELD = re.compile(r"`([^`]+)`")


def _what(err: msgspec.ValidationError) -> tuple[str, str]:
    """(dotted key, reason) of msgspec's message."""
    found = _AT.match(str(err))
    text, path = (found.group(1), found.group(2) or "") if found else (str(err), "")
    path = re.sub(r"\['([^']*)'\]", r".\1", path).lstrip(".")
    field = _FIELD.search(text)
    if text.startswith("Object missing required field") and field:
        return f"{path}.{field.group(1)}".lstrip("."), "is missing"
    if text.startswith("Object contains unknown field") and field:
        return f"{path}.{field.group(1)}".lstrip("."), "unknown key"
    if text.startswith("Invalid enum value") and path.endswith("level"):
        return path, f"{text.removeprefix('Invalid enum value ')} is not one of {_levels()}"
    return path, text


def _levels() -> str:
    return ", ".join(Level.__args__)  # type: ignore[attr-defined]


def _convert(raw: object, kind: type[_S], where: str, prefix: str = "") -> _S:
    try:
        return msgspec.convert(raw, kind)
    except msgspec.ValidationError as err:
        key, reason = _what(err)
        key = f"{prefix}.{key}".strip(".") if key else prefix
        raise CatalogError(f"{where}: {key}: {reason}" if key else f"{where}: {reason}") from None


def _limit(text: str | None, where: str) -> TimeLimit | None:
    if not text:
        return None
    try:
        return TimeLimit.parse(text)
    except ValueError as err:
        raise CatalogError(f"{where}: {err}") from None


def _unit(code: str, u: _Unit, where: str) -> CatalogUnit:
    return CatalogUnit(code, u.name, u.parent, u.calendar, where)


def _procedure(code: str, p: _Procedure, where: str, limit_key: str) -> CatalogProcedure:
    """`where`: the CSV line (`f.csv:4`) or the TOML entry (`f.toml: procedures.1.2`);
    `limit_key`: how an error names its time limit."""
    limit = _limit(p.time_limit, limit_key)
    return CatalogProcedure(code, p.name, p.field, limit, p.level, p.group, where)


# -- CSV -----------------------------------------------------------------------------------


def _csv(text: str, source: str) -> Iterator[CatalogUnit | CatalogProcedure]:
    reader = csv.reader(io.StringIO(text), strict=True)
    try:
        rows: Iterator[list[str]] = iter(reader)
        header = next((r for r in rows if any(c.strip() for c in r) and not _comment(r)), None)
        if header is None:
            raise CatalogError(f"{source}: empty: expected a header line such as code,name,…")
        cols = [c.strip().lower() for c in header]
        head = reader.line_num
        kind = _kind(cols, source, head)
        for row in rows:
            line = reader.line_num
            if not any(c.strip() for c in row) or _comment(row):
                continue
            if len(row) != len(cols):
                raise CatalogError(
                    f"{source}:{line}: {len(row)} fields, the header (line {head}) has {len(cols)}"
                )
            record = {c: v.strip() for c, v in zip(cols, row, strict=True) if v.strip()}
            where = f"{source}:{line}"
            if kind is _UnitRow:
                u = _convert(record, _UnitRow, where)
                yield _unit(u.code, u, where)
            else:
                p = _convert(record, _ProcedureRow, where)
                yield _procedure(p.code, p, where, f"{where}: time_limit")
    except csv.Error as err:
        raise CatalogError(f"{source}:{reader.line_num}: not valid CSV: {err}") from None


def _comment(row: list[str]) -> bool:
    return bool(row) and row[0].lstrip().startswith("#")


def _kind(cols: list[str], source: str, line: int) -> type[_UnitRow] | type[_ProcedureRow]:
    known = set(UNIT_COLUMNS) | set(PROCEDURE_COLUMNS)
    for c in cols:
        if c not in known:
            raise CatalogError(
                f"{source}:{line}: unknown column {c!r} (units: {', '.join(UNIT_COLUMNS)};"
                f" procedures: {', '.join(PROCEDURE_COLUMNS)})"
            )
    twice = sorted({c for c in cols if cols.count(c) > 1})
    if twice:
        raise CatalogError(f"{source}:{line}: column {twice[0]!r} appears twice")
    units_only = set(UNIT_COLUMNS) - set(PROCEDURE_COLUMNS)
    procedures_only = set(PROCEDURE_COLUMNS) - set(UNIT_COLUMNS)
    if units_only & set(cols) and procedures_only & set(cols):
        raise CatalogError(
            f"{source}:{line}: unit columns ({', '.join(sorted(units_only & set(cols)))}) and"
            f" procedure columns ({', '.join(sorted(procedures_only & set(cols)))}) in one file:"
            " list units and procedures in separate files"
        )
    for needed in ("code", "name"):
        if needed not in cols:
            raise CatalogError(f"{source}:{line}: no {needed!r} column")
    return _ProcedureRow if procedures_only & set(cols) else _UnitRow


# -- TOML ----------------------------------------------------------------------------------


def _toml(text: str, source: str) -> Iterator[CatalogUnit | CatalogProcedure]:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise CatalogError(f"{source}: not valid TOML: {err}") from None
    f = _convert(raw, _File, source)
    for code, entry in f.units.items():
        key = f"units.{code}"
        _code(code, source, key)
        yield _unit(code, _convert(entry, _Unit, source, key), f"{source}: {key}")
    for code, entry in f.procedures.items():
        key = f"procedures.{code}"
        _code(code, source, key)
        p = _convert(entry, _Procedure, source, key)
        yield _procedure(code, p, f"{source}: {key}", f"{source}: {key}.time_limit")


def _code(code: str, source: str, key: str) -> None:
    try:
        msgspec.convert(code, Code)
    except msgspec.ValidationError:
        raise CatalogError(
            f"{source}: {key}: a code is 1 to 200 characters with no spaces around it"
        ) from None


# -- files and catalogues --------------------------------------------------------------------


def load_catalog_text(text: str, source: str) -> Catalog:
    """One file's text (CSV or TOML by `source`'s extension) as a catalogue."""
    return _merge([(source, text)])


def load_catalog(paths: Iterable[str | Path]) -> Catalog:
    """The catalogue of every file given (CSV or TOML, by extension), checked whole."""
    texts = []
    for path in paths:
        try:
            texts.append((str(path), Path(path).read_text("utf-8-sig")))
        except OSError as err:
            raise CatalogError(f"{path}: cannot read catalogue file: {err.strerror}") from None
        except UnicodeDecodeError as err:
            raise CatalogError(f"{path}: not UTF-8 (byte {err.start}): {err.reason}") from None
    return _merge(texts)


def _entries(source: str, text: str) -> Iterator[CatalogUnit | CatalogProcedure]:
    suffix = Path(source).suffix.lower()
    if suffix == ".csv":
        return _csv(text.removeprefix("\ufeff"), source)
    if suffix == ".toml":
        return _toml(text, source)
    raise CatalogError(f"{source}: a catalogue is a .csv or a .toml file")


def _merge(texts: Iterable[tuple[str, str]]) -> Catalog:
    units: dict[str, CatalogUnit] = {}
    procedures: dict[str, CatalogProcedure] = {}
    sources = []
    for source, text in texts:
        sources.append(source)
        for entry in _entries(source, text):
            into: dict[str, Any] = units if isinstance(entry, CatalogUnit) else procedures
            first = into.get(entry.code)
            if first is not None:
                what = "unit" if isinstance(entry, CatalogUnit) else "procedure"
                raise CatalogError(
                    f"{entry.where}: {what} {entry.code!r} is already in the catalogue"
                    f" ({first.where})"
                )
            into[entry.code] = entry
    _check_parents(units)
    return Catalog(units.values(), procedures.values(), sources)


def _check_parents(units: dict[str, CatalogUnit]) -> None:
    for unit in units.values():
        if unit.parent is not None and unit.parent not in units:
            raise CatalogError(f"{unit.where}: parent: unknown unit {unit.parent!r}")
    for unit in units.values():
        seen = [unit.code]
        parent = unit.parent
        while parent is not None:
            if parent in seen:
                loop = " → ".join([*seen, parent])
                raise CatalogError(f"{unit.where}: parent: units belong to each other ({loop})")
            seen.append(parent)
            parent = units[parent].parent
