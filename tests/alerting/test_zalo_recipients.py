"""The Zalo recipients file: per unit, a "*" fallback, re-read on change."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from alerts.amconfig import SOURCE
from alerts.zalo import Recipients, RecipientsError, parse_recipients


def test_unit_entry_wins_and_star_covers_the_rest(tmp_path: Path) -> None:
    """A unit listed gets its own people; any other unit gets the "*" people."""
    f = tmp_path / "r.toml"
    f.write_text('[unit_head]\n"*" = ["z-onestop"]\nDEPT_LAND = ["z-land"]\n')
    r = Recipients(f)
    assert r.users("unit_head", "DEPT_LAND") == ("z-land",)
    assert r.users("unit_head", "DEPT_TAX") == ("z-onestop",)
    assert r.users("director", "DEPT_TAX") == ()


def test_edit_is_picked_up_and_a_broken_edit_keeps_the_last_good_list(tmp_path: Path) -> None:
    """Saving the file changes recipients without a restart; a broken save changes nothing."""
    f = tmp_path / "r.toml"
    f.write_text('[director]\n"*" = ["z-1"]\n')
    r = Recipients(f)
    assert r.users("director", None) == ("z-1",)
    f.write_text('[director]\n"*" = ["z-2"]\n')
    os.utime(f, (1, 1))  # a new mtime even within the file system's time resolution
    assert r.users("director", None) == ("z-2",)
    f.write_text('[director]\n"*" = "z-3"\n')
    os.utime(f, (2, 2))
    assert r.users("director", None) == ("z-2",)


def test_shipped_recipients_file_parses() -> None:
    """deploy/alertmanager/zalo-recipients.toml is valid and names every role of the config."""
    roles = parse_recipients((SOURCE / "zalo-recipients.toml").read_text())
    config = (SOURCE / "alertmanager.yml").read_text()
    used = {part.split("/zalo/")[1].split()[0] for part in config.split("\n") if "/zalo/" in part}
    assert used <= set(roles)


def test_recipients_must_be_lists_of_ids() -> None:
    """A unit mapped to a single string instead of a list is refused with the place named."""
    with pytest.raises(RecipientsError, match=r"\[unit_head\] DEPT_LAND"):
        parse_recipients('[unit_head]\nDEPT_LAND = "z-land"\n')
