"""The dossier page in a real browser, on a worker fed through the broker: the page every
alert links to (`url`) answers, and it reads on a wall screen and on a phone.

Headless Chromium from tests/dashboards/browser.py.  Screenshots go to build/screenshots/
only.
"""

from __future__ import annotations

import html
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from browser import PHONE, SHOTS, WIDE, chrome, png_size, viewport
from conftest import Topics
from helpers.story import Story
from live import keyed, pulses
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from workers import WorkerProcess, collect, produce

pytestmark = pytest.mark.kafka

LATER = datetime(2025, 12, 1, tzinfo=UTC)
"""Stream time of the test: every dossier below is overdue or late in a rule by then."""


DOSSIERS = ("HS-OVERDUE", "HS/2025 7", "HS-SUPP")


def stories() -> list[Any]:
    """A referred-back overdue dossier, one whose id needs quoting in a URL, and one that
    waits for the citizen after a late supplement request."""
    return (
        Story("HS-OVERDUE")
        .received("2025-11-03T09:00", procedure="LAND-REG", unit="DEPT_LAND", time_limit="3wd")
        .assign("2025-11-03T10:00", "DEPT_LAND", officer="CB-LAND-07")
        .transfer("2025-11-04T10:00", "DEPT_BUILD", frm="DEPT_LAND", officer="CB-BUILD-12")
        .back("2025-11-05T14:00", "DEPT_LAND", frm="DEPT_BUILD")
        .events
        + Story("HS/2025 7")
        .received("2025-11-10T09:00", procedure="TAX-EXEMPT", unit="DEPT_TAX", time_limit="5wd")
        .events
        + Story("HS-SUPP")
        .received("2025-11-17T09:00", procedure="LAND-CERT", unit="DEPT_LAND", time_limit="10wd")
        .supplement("2025-11-25T09:00")
        .events
    )


def fetch(url: str, token: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=15) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    with chrome(tmp_path, WIDE) as driver:
        yield driver


def test_every_alert_url_opens_its_dossier_page_on_a_wall_and_a_phone(
    kafka_bootstrap: str, topics: Topics, signed_in_worker: WorkerProcess, browser: WebDriver
) -> None:
    """Each alert the worker emits carries its dossier page's URL, every one answers 200
    with that dossier's page, and the page shows the open alerts with their evidence at
    1920×1080 and on a phone without sideways scrolling."""
    link = signed_in_worker.printed_link()
    token = signed_in_worker.tokens["centre"]
    signed_in_worker.wait_assigned()
    produce(kafka_bootstrap, topics.events, keyed(stories() + pulses(LATER, topics.partitions)))

    def fired(messages: list[Any]) -> bool:
        bodies = [json.loads(m.value) for m in messages]
        overdue = {b["dossier"] for b in bodies if "/deadline/overdue/" in b["id"]}
        late = any(b["rule"] == "supplement_late" for b in bodies)
        pong = any(b["rule"] == "ping_pong_unit" for b in bodies)
        return late and pong and {"HS-OVERDUE", "HS/2025 7"} <= overdue

    records = [json.loads(m.value) for m in collect(kafka_bootstrap, topics.alerts, until=fired)]
    assert set(DOSSIERS) <= {r["dossier"] for r in records}
    base = f"http://127.0.0.1:{signed_in_worker.port}"
    for r in records:
        assert r["url"] == f"{base}/dossiers/{urllib.request.quote(r['dossier'], safe='')}"
    for url in sorted({r["url"] for r in records}):
        dossier = next(r["dossier"] for r in records if r["url"] == url)
        status, page = fetch(url, token)
        assert status == 200, (url, status, page[:300])
        assert f'<span class="id">{html.escape(dossier)}</span>' in page

    browser.get(link)  # the printed link: a cookie for the token, then the wallboard
    page = next(r["url"] for r in records if r["dossier"] == "HS-OVERDUE")
    viewport(browser, WIDE, mobile=False)
    browser.get(page)
    wait = WebDriverWait(browser, 30, poll_frequency=0.3)
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#alerts li.alert")))
    assert "Quá hạn" in browser.find_element(By.ID, "standing").text
    alerts = browser.find_elements(By.CSS_SELECTOR, "#alerts li.alert")
    ids = [a.get_attribute("data-id") or "" for a in alerts]
    assert any("/deadline/overdue/" in i for i in ids)
    pong = next(a for a in alerts if "/ping_pong_unit/" in (a.get_attribute("data-id") or ""))
    assert "DEPT_LAND" in pong.text and "DEPT_BUILD" in pong.text  # its chain, from the state
    stays = browser.find_elements(By.CSS_SELECTOR, "#timeline li.stay .u")
    assert [s.text for s in stays] == ["DEPT_LAND", "DEPT_BUILD", "DEPT_LAND"]
    assert browser.find_elements(By.CSS_SELECTOR, "form.ack") == []  # no Alertmanager set
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(SHOTS / "dossier-page.png"))
    assert png_size(SHOTS / "dossier-page.png") == WIDE

    viewport(browser, PHONE, mobile=True)
    browser.get(next(r["url"] for r in records if r["dossier"] == "HS/2025 7"))
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#alerts li.alert")))
    assert browser.find_element(By.CSS_SELECTOR, "h1 .id").text == "HS/2025 7"
    assert browser.execute_script("return document.documentElement.scrollWidth") <= PHONE[0]
    assert browser.save_screenshot(str(SHOTS / "dossier-page-phone.png"))
    assert png_size(SHOTS / "dossier-page-phone.png") == PHONE
