"""Policy files: the built-in ones load, the right one applies by date, bad ones fail by key."""

from datetime import date
from pathlib import Path

import pytest

from streams.contract.errors import PolicyError
from streams.core.calendar import date_to_day
from streams.core.policy import TimeLimit
from streams.policy import builtin_book, load_policy, load_policy_text

HEAD = '[policy]\nname = "test"\neffective_from = 2025-07-01\n'


def test_builtin_policies_load_in_date_order() -> None:
    """Decree 61/2018 then Decree 118/2025, with their procedures and Saturday reception."""
    book = builtin_book()
    assert [p.name for p in book.policies] == ["vn-decree-61-2018", "vn-decree-118-2025"]
    assert book[1].procedure("1.006789") is not None
    assert book[1].online_acceptance_working_hours == 8
    assert book[0].online_acceptance_working_hours == 0


def test_the_policy_in_force_is_chosen_by_day() -> None:
    """30/6/2025 falls under Decree 61, 1/7/2025 under Decree 118; older days take the oldest."""
    book = builtin_book()
    assert book.index_for_day(date_to_day(date(2025, 6, 30))) == 0
    assert book.index_for_day(date_to_day(date(2025, 7, 1))) == 1
    assert book.index_for_day(date_to_day(date(2010, 1, 1))) == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[policy]\nname = "x"\n', "policy.effective_from: is missing"),
        (HEAD + "[stall]\nworkng_days = 3\n", "stall.workng_days: unknown key"),
        (HEAD + "[stall]\nworking_days = -1\n", "stall.working_days: Expected `float` > 0"),
        (HEAD + "[deadline]\nwarning_fractions = [0.9, 0.5]\n", "deadline.warning_fractions"),
        (HEAD + '[procedures."1.1"]\ntime_limit = "15 days"\n', "procedures.1.1.time_limit"),
        (HEAD + '[procedures."1.1"]\ngroup = "land"\n', "procedures.1.1.time_limit: is missing"),
        (HEAD + '[one_stop]\ntransfer_cutoff = "3pm"\n', "one_stop.transfer_cutoff"),
        (HEAD + '[calendar]\noffice_hours = [["11:00", "08:00"]]\n', "calendar.office_hours"),
        (
            HEAD + "[ping_pong]\nwarning_bounces = 2\ncritical_bounces = 2\n",
            "ping_pong.critical_bounces",
        ),
        (HEAD + "[surprise]\nx = 1\n", "surprise: unknown key"),
        (HEAD + "[stall.groups]\nland = 0\n", "stall.groups.land: Expected working days > 0"),
        (HEAD + '[stall.groups]\nland = "5"\n', "stall.groups.land: Expected a number"),
        (HEAD + "[stall.groups]\nland = true\n", "stall.groups.land: Expected a number"),
        (HEAD + "[stall.groups]\nland = 4000\n", "stall.groups.land: Expected working days"),
        (HEAD + '[stall.groups]\n"" = 2\n', 'stall.groups."": a group name cannot be empty'),
        ("name = ", "not valid TOML"),
    ],
)
def test_bad_policy_files_fail_naming_the_key(text: str, message: str) -> None:
    """Each mistake is reported with the file and the dotted key at fault."""
    with pytest.raises(PolicyError) as err:
        load_policy_text(text, "mine.toml")
    assert str(err.value).startswith("mine.toml: ")
    assert message in str(err.value)


def test_a_policy_file_from_disk(tmp_path: Path) -> None:
    """A minimal file on disk loads with defaults for everything it does not say."""
    path = tmp_path / "p.toml"
    path.write_text(HEAD + '[procedures."2.1"]\ntime_limit = "8wh"\ngroup = "civil"\n')
    policy = load_policy(path)
    assert policy.procedure("2.1").time_limit == TimeLimit(8, "wh")  # type: ignore[union-attr]
    assert policy.stall_working_days == 3


def test_stall_thresholds_per_group_with_the_default_for_the_rest() -> None:
    """`[stall.groups]` gives a group its own days; any other group keeps `working_days`."""
    policy = load_policy_text(
        HEAD + "[stall]\nworking_days = 3\n[stall.groups]\nland = 5\ncivil-status = 0.5\n",
        "mine.toml",
    )
    assert [policy.stall_days(g) for g in ("land", "civil-status", "tax", "")] == [5, 0.5, 3, 3]
    assert policy.stall_seconds_for("civil-status") == 43200


def test_builtin_policies_give_land_and_civil_status_their_own_stall() -> None:
    """Both built-in policies: land 5 working days, civil status 1, the rest 3."""
    for policy in builtin_book().policies:
        assert (policy.stall_days("land"), policy.stall_days("civil-status")) == (5, 1)
        assert policy.stall_days("construction") == 3


def test_a_missing_file_is_a_policy_error(tmp_path: Path) -> None:
    """A path that does not exist fails with the path in the message."""
    with pytest.raises(PolicyError, match="cannot read policy file"):
        load_policy(tmp_path / "nope.toml")


def test_time_limits_parse_and_print() -> None:
    """`15wd`, `30d`, `8wh`, `4h` round-trip; anything else is refused."""
    for text in ("15wd", "30d", "8wh", "4h", "2.5wd"):
        assert str(TimeLimit.parse(text)) == text
    for bad in ("15", "wd", "0wd", "15 wd", "-3d"):
        with pytest.raises(ValueError):
            TimeLimit.parse(bad)
