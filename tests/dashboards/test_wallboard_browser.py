"""The wallboard in a real browser: headless Chromium on a worker fed through the broker.

Debian's chromium and chromium-driver (deploy/ensure-tools.sh installs them) are driven
by Selenium with the system chromedriver, never a downloaded one.  The browser signs in
with the link the worker prints at start-up.  The test also takes the two screenshots the
documentation shows, at a fixed window size, into build/screenshots/ (`make screenshots`
copies them to docs/).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from browser import SHOTS, chrome, png_size
from conftest import Topics
from helpers.story import Story
from helpers.waiting import eventually
from live import pulses
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from workers import WorkerProcess, produce

from streams.contract.events import DossierEvent, encode_event

pytestmark = pytest.mark.kafka

WINDOW = (1600, 1000)
LOCAL = timezone(timedelta(hours=7))


def local(dt: datetime) -> str:
    """An instant as the Story helper writes times: local (+07:00), to the minute."""
    return dt.astimezone(LOCAL).strftime("%Y-%m-%dT%H:%M")


def dossiers() -> list[DossierEvent]:
    """DEPT_LAND holds the most overdue dossiers (so the board selects it first): the
    referred-back HS-OVERDUE, one more overdue, one near due and one within time;
    DEPT_TAX holds one overdue and one near due."""
    now = datetime.now(UTC)
    recent, soon = local(now - timedelta(days=20)), local(now + timedelta(days=3))
    events: list[DossierEvent] = (
        Story("HS-OVERDUE")
        .received("2025-09-08T09:00", procedure="LAND-REG", unit="DEPT_LAND", time_limit="3wd")
        .assign("2025-09-08T10:00", "DEPT_LAND", officer="CB-LAND-07")
        .transfer("2025-09-09T10:00", "DEPT_BUILD", frm="DEPT_LAND", officer="CB-BUILD-12")
        .back("2025-09-10T14:00", "DEPT_LAND", frm="DEPT_BUILD")
        .assign("2025-09-10T15:00", "DEPT_LAND", officer="CB-LAND-09")
        .events
        + Story("HS-LAND-2")
        .received("2025-10-01T09:00", procedure="LAND-CERT", unit="DEPT_LAND", time_limit="10wd")
        .events
        + Story("HS-LAND-NEAR")
        .received(recent, procedure="LAND-CERT", unit="DEPT_LAND", time_limit=None, due=soon)
        .events
        + Story("HS-LAND-OK")
        .received(local(now), procedure="LAND-REG", unit="DEPT_LAND", time_limit="30wd")
        .events
        + Story("HS-TAX-1")
        .received("2025-10-06T09:00", procedure="TAX-EXEMPT", unit="DEPT_TAX", time_limit="5wd")
        .events
        + Story("HS-TAX-NEAR")
        .received(recent, procedure="TAX-EXEMPT", unit="DEPT_TAX", time_limit=None, due=soon)
        .events
    )
    return events


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    with chrome(tmp_path, WINDOW) as driver:
        yield driver


def test_wallboard_lists_overdue_dossier_and_opens_its_referral_chain(
    kafka_bootstrap: str, topics: Topics, signed_in_worker: WorkerProcess, browser: WebDriver
) -> None:
    link = signed_in_worker.printed_link()
    signed_in_worker.wait_assigned()
    # One event per partition at the present: every partition's stream clock is now.
    now = datetime.now(UTC).replace(microsecond=0)
    events = dossiers() + pulses(now, topics.partitions)
    produce(kafka_bootstrap, topics.events, [(e.subject.encode(), encode_event(e)) for e in events])

    # Opened once the worker holds every dossier: the page keeps the unit it selects first.
    def board_ready() -> Any:
        status, board = signed_in_worker.get("/api/board")
        if status != 200 or board["partial"]:
            return None
        rows = {r["unit"]: r for r in board["units"]}
        land, tax = rows.get("DEPT_LAND"), rows.get("DEPT_TAX")
        return (
            land
            and tax
            and (land["open"], land["overdue"], land["near_due"]) == (4, 2, 1)
            and (tax["overdue"], tax["near_due"]) == (1, 1)
            and board
        )

    eventually(board_ready, timeout=90)

    # The deadline alerts fire on the worker's clock ticks, shortly after the events.
    def overdue_alert() -> Any:
        status, d = signed_in_worker.get("/api/dossiers/HS-OVERDUE")
        return status == 200 and any(
            a["rule"] == "deadline" and a["level"] == "overdue" for a in d["open_alerts"]
        )

    eventually(overdue_alert, timeout=60)

    browser.get(link)  # the printed link: a cookie for the token, then the wallboard
    assert browser.current_url.endswith("/wallboard") and "token" not in browser.current_url
    wait = WebDriverWait(browser, 30, poll_frequency=0.3)
    item = wait.until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, '#overdue li.d.overdue[data-id="HS-OVERDUE"]'))
    )
    assert browser.find_element(By.ID, "unit-o").text == "DEPT_LAND"
    assert [
        li.get_attribute("data-id")
        for li in browser.find_elements(By.CSS_SELECTOR, "#overdue li.d")
    ] == [
        "HS-OVERDUE",
        "HS-LAND-2",
    ]
    assert [
        li.get_attribute("data-id") for li in browser.find_elements(By.CSS_SELECTOR, "#atrisk li.d")
    ] == ["HS-LAND-NEAR"]
    assert "HS-OVERDUE" in item.text and "LAND-REG" in item.text
    assert "Quá hạn" in item.text
    selected = browser.find_element(By.CSS_SELECTOR, "#units tr.unit.sel td").text
    assert selected == "DEPT_LAND"
    pingpong = browser.find_elements(By.CSS_SELECTOR, "#pingpong li.d")
    assert [li.get_attribute("data-id") for li in pingpong] == ["HS-OVERDUE"]
    assert "DEPT_LAND → DEPT_BUILD → DEPT_LAND" in pingpong[0].text
    assert browser.find_element(By.ID, "partial").text == ""
    assert not browser.find_element(By.ID, "banner").is_displayed()  # the worker is live

    SHOTS.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(SHOTS / "wallboard.png"))
    assert png_size(SHOTS / "wallboard.png") == WINDOW

    item.click()
    box = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#timeline.open")))
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#timeline.open #chain .step")))
    steps = box.find_elements(By.CSS_SELECTOR, "#chain .step")
    units = [s.find_element(By.CSS_SELECTOR, ".u").text for s in steps]
    assert units == ["DEPT_LAND", "DEPT_BUILD", "DEPT_LAND"]
    times = [s.find_element(By.CSS_SELECTOR, ".t").text for s in steps]
    assert times == ["08/09/2025 09:00", "09/09/2025 10:00", "10/09/2025 14:00"]
    officers = [[o.text for o in s.find_elements(By.CSS_SELECTOR, ".o")] for s in steps]
    assert officers == [
        ["CB/Officer CB-LAND-07"],
        ["CB/Officer CB-BUILD-12"],
        ["CB/Officer CB-LAND-09"],
    ]
    assert len(box.find_elements(By.CSS_SELECTOR, "#chain .arrow")) == 2
    head = box.find_element(By.CSS_SELECTOR, "h2.over")
    assert head.text.startswith("HS-OVERDUE · LAND-REG") and "Quá hạn / Overdue" in head.text
    assert "Đá qua lại/Bounces 1" in box.text

    alerts = [li.text for li in box.find_elements(By.CSS_SELECTOR, "ul li")]
    assert any("deadline" in a for a in alerts) and any("ping_pong_unit" in a for a in alerts)

    assert browser.save_screenshot(str(SHOTS / "dossier-timeline.png"))
    assert png_size(SHOTS / "dossier-timeline.png") == WINDOW

    box.find_element(By.TAG_NAME, "button").click()
    wait.until(ec.invisibility_of_element_located((By.ID, "timeline")))
