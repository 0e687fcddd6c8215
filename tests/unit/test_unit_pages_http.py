"""The unit pages over real HTTP, on the demo's web server: a unit head opens their own
unit's page and its officers', is refused another unit's, nobody gets in without a token,
and every dossier the page links to opens."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html import unescape

import pytest
from helpers.demo_site import ServedDemo, served_demo


@pytest.fixture(scope="module")
def demo() -> Iterator[ServedDemo]:
    with served_demo() as served:
        yield served


def busiest_units(demo: ServedDemo) -> tuple[str, str]:
    """The two units holding the most open dossiers (the board's worst first)."""
    status, body = demo.get("/api/board")
    assert status == 200
    units = [r["unit"] for r in json.loads(body)["units"] if r["unit"] != "?"]
    return units[0], units[1]


def test_a_unit_head_reads_their_unit_and_is_refused_anothers(demo: ServedDemo) -> None:
    """Own unit: 200 for the page, its JSON and an officer's page; another unit: 403;
    no token: 401; the centre reads both."""
    mine, other = busiest_units(demo)
    head = f"unit:{mine}"
    status, page = demo.get(f"/units/{mine}", head)
    assert status == 200 and 'id="dossiers"' in page
    status, body = demo.get(f"/api/units/{mine}", head)
    unit = json.loads(body)
    assert status == 200 and unit["unit"] == mine and unit["total"] >= 1
    officer = next(o["officer"] for o in unit["officers"] if o["officer"])
    status, officer_page = demo.get(f"/units/{mine}/officers/{officer}", head)
    assert status == 200 and officer in officer_page
    for path in (f"/units/{other}", f"/api/units/{other}", f"/units/{other}/officers/{officer}"):
        assert demo.get(path, head)[0] == 403, path
        assert demo.get(path, None)[0] == 401, path
        assert demo.get(path)[0] == 200, path
    assert demo.get(f"/units/{mine}?page=0", head)[0] == 400


def test_every_dossier_link_on_a_unit_page_opens(demo: ServedDemo) -> None:
    """Each dossier and officer the unit head's page links to answers 200 for them."""
    mine, _ = busiest_units(demo)
    head = f"unit:{mine}"
    status, page = demo.get(f"/units/{mine}", head)
    assert status == 200
    links = sorted({unescape(h) for h in re.findall(r'href="(/(?:dossiers|units)/[^"]+)"', page)})
    dossiers = [h for h in links if h.startswith("/dossiers/")]
    assert dossiers and any(h.startswith(f"/units/{mine}/officers/") for h in links)
    for link in links:
        assert demo.get(link, head)[0] == 200, link
    assert demo.get("/static/units.css", head)[0] == 200
