"""A unit page in a real browser, on the demo's web server: it reads on a wall screen and
on a unit head's phone.  Screenshots go to build/screenshots/ only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import PHONE, WIDE, chrome, screenshot, viewport
from helpers.demo_site import ServedDemo, served_demo
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    with chrome(tmp_path, WIDE) as driver:
        yield driver


@pytest.fixture
def demo() -> Iterator[ServedDemo]:
    with served_demo() as served:
        yield served


def test_a_unit_page_reads_on_a_wall_and_on_a_phone(demo: ServedDemo, browser: WebDriver) -> None:
    """Signed in as the head of the busiest unit, its page shows the overdue rows first in
    red, the officers and the history at 1920×1080, and on a 390 px phone each dossier is
    a card with no sideways scrolling."""
    _, body = demo.get("/api/board")
    unit = next(r["unit"] for r in json.loads(body)["units"] if r["unit"] != "?")
    token = demo.tokens[f"unit:{unit}"]
    browser.get(f"{demo.base}/?token={token}")  # the cookie, then the wallboard
    browser.get(f"{demo.base}/units/{unit}")
    rows = browser.find_elements(By.CSS_SELECTOR, "#dossiers tbody tr")
    assert rows and rows[0].get_attribute("class") == "overdue"
    first = rows[0].find_element(By.CSS_SELECTOR, "td:first-child")
    assert first.value_of_css_property("border-left-color") == "rgba(192, 57, 43, 1)"
    assert browser.find_elements(By.CSS_SELECTOR, "#officers tbody tr")
    assert browser.find_elements(By.CSS_SELECTOR, "#history li.entry")
    assert screenshot(browser, "unit-page.png") == WIDE

    viewport(browser, PHONE, mobile=True)
    browser.refresh()
    card = browser.find_element(By.CSS_SELECTOR, "#dossiers tbody tr")
    assert card.value_of_css_property("display") == "block"
    assert browser.execute_script("return document.documentElement.scrollWidth") <= PHONE[0]
    assert screenshot(browser, "unit-page-phone.png") == PHONE
