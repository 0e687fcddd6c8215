"""Catalogues of units and procedures: read and checked from CSV or TOML, joined to the
policy book, shown as names, unknown codes kept as codes and counted."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.story import Story, at
from prometheus_client import CollectorRegistry, generate_latest

from streams.catalog import (
    Catalog,
    CatalogError,
    CatalogUnit,
    apply_catalog,
    load_catalog,
    load_catalog_text,
)
from streams.catalog.metrics import CatalogCollector
from streams.cli import main
from streams.cli.common import CommandError, policy_book_with_catalog
from streams.contract.alerts import Alert
from streams.core.engine import Engine
from streams.core.policy import PolicyBook, TimeLimit
from streams.dashboard.summary import UnitRow
from streams.dashboard.terminal import render
from streams.policy import builtin_book

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "catalog"
UNITS = SAMPLE / "units.csv"
PROCEDURES = SAMPLE / "procedures.csv"
TOML = SAMPLE / "catalog.toml"

U = "code,name,parent,calendar\n"
P = "code,name,field,time_limit,level,group\n"


def sample() -> Catalog:
    return load_catalog([UNITS, PROCEDURES])


def test_the_sample_catalogue_reads_the_same_from_csv_and_toml() -> None:
    """The shipped CSV pair and TOML file give the same units and procedures, with
    Vietnamese names, parents, calendars, legal limits and levels."""
    csv, toml = sample(), load_catalog([TOML])
    assert csv.unit_names() == toml.unit_names()
    assert csv.procedure_names() == toml.procedure_names()
    assert csv.units["DEPT_CONSTRUCTION"].name == "Sở Xây dựng"
    assert csv.units["ONE_STOP"].parent == "TTPVHCC"
    assert csv.units["CN_TTPVHCC_1"].calendar == "ONE_STOP"
    land = csv.procedures["1.002111"]
    assert (land.field, land.time_limit, land.level, land.group) == (
        "Đất đai",
        TimeLimit(10, "wd"),
        "province",
        "land",
    )
    assert land.where == f"{PROCEDURES}:6"
    assert toml.procedures["1.002111"].where == f"{TOML}: procedures.1.002111"
    assert [(u.code, u.parent) for u in csv.units.values()] == [
        (u.code, u.parent) for u in toml.units.values()
    ]


def test_csv_quirks_are_accepted() -> None:
    """A byte-order mark, comment lines, blank lines, spaces around cells and a column order
    of one's own are fine; a procedures file may leave limit and level empty."""
    text = "\ufeff# units\n\n name , code \n Sở Y tế , DEPT_HEALTH \n"
    assert load_catalog_text(text, "u.csv").unit_names() == {"DEPT_HEALTH": "Sở Y tế"}
    proc = load_catalog_text("code,name,field\n2.000889,Cấp phép,Y tế\n", "p.csv")
    assert proc.procedures["2.000889"].time_limit is None


@pytest.mark.parametrize(
    ("source", "text", "message"),
    [
        ("u.csv", "code,nmae\nA,x\n", "u.csv:1: unknown column 'nmae'"),
        ("u.csv", "code,name,code\n", "u.csv:1: column 'code' appears twice"),
        ("u.csv", "name,parent\nx,\n", "u.csv:1: no 'code' column"),
        ("u.csv", "code,name,parent,level\n", "u.csv:1: unit columns (parent) and procedure"),
        ("u.csv", "", "u.csv: empty: expected a header line"),
        ("u.csv", U + "A,Sở A,,\nB,,,\n", "u.csv:3: name: is missing"),
        ("u.csv", U + "A,Sở A,,\nB,Sở B\n", "u.csv:3: 2 fields, the header (line 1) has 4"),
        ("u.csv", U + "A,Sở A,,\n#x\nA,Sở A bis,,\n", "u.csv:4: unit 'A' is already in the"),
        ("u.csv", U + "A,Sở A,B,\n", "u.csv:2: parent: unknown unit 'B'"),
        ("u.csv", U + "A,Sở A,B,\nB,Sở B,A,\n", "u.csv:2: parent: units belong to each other"),
        ("u.csv", 'code,name\nA,"Sở A\n', "u.csv:2: not valid CSV"),
        ("p.csv", P + "1.1,X,,15 days,,\n", "p.csv:2: time_limit: time limit '15 days'"),
        ("p.csv", P + "1.1,X,,15wd,city,\n", "p.csv:2: level: 'city' is not one of central"),
        ("p.csv", P + "1.1,X,,15wd,,Land Use\n", "p.csv:2: group: Expected `str` matching"),
        ("c.toml", '[units.A]\nname = "x"\nparnt = "y"\n', "c.toml: units.A.parnt: unknown key"),
        ("c.toml", "[units.A]\nname = 1\n", "c.toml: units.A.name: Expected `str`, got `int`"),
        ("c.toml", '[procedures."1.1"]\nlevel = "commune"\n', "c.toml: procedures.1.1.name: is"),
        (
            "c.toml",
            '[procedures."1.1"]\nname = "x"\ntime_limit = "3 ngày"\n',
            "c.toml: procedures.1.1.time_limit: time limit '3 ngày'",
        ),
        ("c.toml", '[units." A"]\nname = "x"\n', "c.toml: units. A: a code is 1 to 200"),
        ("c.toml", "[unit.A]\n", "c.toml: unit: unknown key"),
        ("c.toml", "units = ", "c.toml: not valid TOML"),
        ("c.json", "{}", "c.json: a catalogue is a .csv or a .toml file"),
    ],
)
def test_bad_catalogue_files_fail_in_one_line_naming_file_and_place(
    source: str, text: str, message: str
) -> None:
    """Each mistake is one line: the file, the CSV line or TOML key, and what is wrong."""
    with pytest.raises(CatalogError) as err:
        load_catalog_text(text, source)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_code_in_two_files_names_both(tmp_path: Path) -> None:
    """A unit given by two files is refused, naming the second place and the first."""
    second = tmp_path / "more.toml"
    second.write_text('[units.DEPT_TAX]\nname = "Cục Thuế"\n', "utf-8")
    with pytest.raises(CatalogError) as err:
        load_catalog([UNITS, second])
    assert str(err.value) == (
        f"{second}: units.DEPT_TAX: unit 'DEPT_TAX' is already in the catalogue ({UNITS}:10)"
    )


def test_unreadable_files_are_catalogue_errors(tmp_path: Path) -> None:
    """A missing file or one not in UTF-8 fails with its path."""
    with pytest.raises(CatalogError, match="cannot read catalogue file"):
        load_catalog([tmp_path / "nope.csv"])
    latin = tmp_path / "u.csv"
    latin.write_bytes("code,name\nA,S\u1edf\n".encode("utf-16"))
    with pytest.raises(CatalogError, match=r"u\.csv: not UTF-8"):
        load_catalog([latin])


def test_the_catalogue_joins_the_policy_book() -> None:
    """Every policy gains the catalogue's procedures (its limit over the policy file's,
    its group or else the policy's), and a unit naming a calendar keeps its hours."""
    book = apply_catalog(builtin_book(), sample())
    for p in book.policies:
        land = p.procedure("1.002111")
        assert land is not None and (land.time_limit, land.group) == (TimeLimit(10, "wd"), "land")
        assert p.procedure("1.001234").time_limit == TimeLimit(20, "wd")  # type: ignore[union-attr]
        assert p.unit_calendars["CN_TTPVHCC_1"] is p.unit_calendars["ONE_STOP"]
    assert builtin_book()[1].procedure("1.002111") is None  # the built-in book is untouched
    assert apply_catalog(builtin_book(), None) is builtin_book()


def test_a_catalogue_the_policies_cannot_take_is_refused() -> None:
    """A calendar no policy has, or a limit beyond the policy's bounds, names the entry."""
    stray = Catalog([CatalogUnit("A", "Sở A", calendar="SATURDAYS", where="u.csv:2")])
    with pytest.raises(CatalogError, match=r"u.csv:2: calendar: 'SATURDAYS' is not a unit"):
        apply_catalog(builtin_book(), stray)
    huge = load_catalog_text(P + "9.9,X,,9999wd,,\n", "p.csv")
    with pytest.raises(CatalogError, match=r"p\.csv:2: time_limit: 9999wd is beyond the bounds"):
        apply_catalog(builtin_book(), huge)


def _appointment_alerts(book: PolicyBook, due: str) -> list[Alert]:
    story = Story("HS-LAND").received(
        "2025-09-08T09:00", procedure="1.002111", time_limit=None, due=due
    )
    engine = Engine(book)
    alerts = engine.drain(story.events)
    return [a for a in alerts if a.rule == "appointment_beyond_limit"]


def test_the_catalogues_legal_limit_checks_the_appointment_through_the_engine() -> None:
    """Procedure 1.002111 is in the catalogue only (10 working days): received Mon 8/9
    09:00 it is due 24:00 Mon 22/9, so a receipt promising Fri 26/9 is a breach — which
    the built-in book alone, not knowing the procedure, cannot see."""
    book = apply_catalog(builtin_book(), sample())
    late = _appointment_alerts(book, "2025-09-26T17:00")
    assert [(a.level, a.at) for a in late] == [("breach", "2025-09-08T09:00:00+07:00")]
    assert _appointment_alerts(book, "2025-09-22T17:00") == []
    assert _appointment_alerts(builtin_book(), "2025-09-26T17:00") == []


def test_unknown_codes_stay_codes_and_are_counted() -> None:
    """A code the catalogue lacks has no name, shows as itself, and is counted once per
    distinct code in dossierwatch_catalog_unknown_codes{kind}."""
    catalog = sample()
    assert catalog.unit_name("DEPT_LAND") == "Sở Nông nghiệp và Môi trường"
    for _ in range(3):
        assert catalog.unit_name("DEPT_MYSTERY") is None
    assert catalog.unit_label("DEPT_ODD") == "DEPT_ODD"
    assert catalog.procedure_name("9.999999") is None
    assert catalog.unit_name(None) is None
    assert catalog.unknown_counts() == {"unit": 2, "procedure": 1}
    assert catalog.unknown_codes("unit") == ["DEPT_MYSTERY", "DEPT_ODD"]
    registry = CollectorRegistry()
    registry.register(CatalogCollector(catalog))
    text = generate_latest(registry).decode()
    assert 'dossierwatch_catalog_unknown_codes{kind="unit"} 2.0' in text
    assert 'dossierwatch_catalog_unknown_codes{kind="procedure"} 1.0' in text
    assert 'dossierwatch_catalog_entries{kind="procedure"} 13.0' in text


def test_the_terminal_board_shows_names_and_unknown_codes() -> None:
    """The demo's board and alert lines name the units the catalogue knows and show the
    others' codes."""
    catalog = sample()
    rows = [UnitRow("DEPT_TAX", open=3, overdue=1), UnitRow("DEPT_X", open=1)]
    alert = Alert(
        id="HS-1/stall/warning/1",
        status="firing",
        rule="stall",
        level="warning",
        severity="warning",
        dossier="HS-1",
        at="2025-09-15T09:00:00+07:00",
        unit="DEPT_TAX",
    )
    text = render(rows, [alert], at("2025-09-15T09:00"), 120, names=catalog.unit_label)
    lines = text.split("\n")
    assert any(line.startswith("Thuế tỉnh ") for line in lines)
    assert any(line.startswith("DEPT_X ") for line in lines)
    assert "[Thuế tỉnh]" in lines[-1]
    assert catalog.unknown_codes("unit") == ["DEPT_X"]


def test_commands_refuse_a_bad_catalogue_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--catalog` with a bad file stops the command with exit 2 and one line naming it."""
    bad = tmp_path / "units.csv"
    bad.write_text("code,name\nA,\n", "utf-8")
    assert main(["demo", "--catalog", str(bad), "--metrics-port", "0"]) == 2
    err = capsys.readouterr().err
    assert err == f"dossierwatch demo: {bad}:2: name: is missing\n"
    with pytest.raises(CommandError, match="calendar"):
        stray = tmp_path / "c.toml"
        stray.write_text('[units.A]\nname = "A"\ncalendar = "NOPE"\n', "utf-8")
        policy_book_with_catalog(None, [str(stray)])
    book, found = policy_book_with_catalog(None, [str(UNITS), str(PROCEDURES)])
    assert found is not None and book[1].procedure("1.002111") is not None
