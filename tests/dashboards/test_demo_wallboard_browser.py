"""The demo's wallboard in a real browser: headless Chromium on the demo's own web server.

No broker: the demo's run (streams/demo.py) feeds its engine in a thread, its /metrics and
its pages are served on free local ports as `dossierwatch demo` serves them, and the
browser signs in with the link the demo prints.  Screenshots at 1080p and 2160p go to
build/screenshots/ (never to tracked files).
"""

from __future__ import annotations

import json
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from browser import SHOTS, WIDE, chrome, png_size, viewport
from helpers import waiting
from prometheus_client.parser import text_string_to_metric_families
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from producers.simulator import simulate
from streams.core.engine import Engine
from streams.demo import DemoRun, serve_metrics, serve_web
from streams.policy import builtin_book
from streams.web.auth import Guard, new_token

ICT = timezone(timedelta(hours=7))
MONDAY = datetime(2025, 9, 8, 7, 30, tzinfo=ICT)


eventually = partial(waiting.eventually, timeout=30.0, every=0.2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Demo:
    """A running demo: its run, its servers and the sign-in token."""

    run: DemoRun
    thread: threading.Thread
    web: Any
    metrics: Any
    web_port: int
    metrics_port: int
    token: str

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def sign_in(self) -> str:
        return f"{self.base}/?token={self.token}"

    def get(self, url: str) -> bytes:
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body: bytes = response.read()
            return body

    def stopped(self) -> bool:
        return not self.thread.is_alive()

    def close(self) -> None:
        for server in (self.web, self.metrics):
            if server is not None:
                server.shutdown()
                server.server_close()
                if server is self.web:
                    self.web = None
                else:
                    self.metrics = None


@pytest.fixture
def start_demo() -> Iterator[Callable[..., Demo]]:
    """Starts demos (a province of 300 arrivals a working day, two simulated days a second)
    that run for `duration` seconds and keep serving after; closed at the end."""
    started: list[Demo] = []

    def start(duration: float, stale_after: float = 10.0) -> Demo:
        book = builtin_book()
        engine = Engine(book)
        lock = threading.Lock()
        token = new_token()
        guard = Guard.single(token)
        metrics_port, web_port = free_port(), free_port()
        metrics, metrics_server = serve_metrics(metrics_port, engine, book, lock, guard)
        run = DemoRun(engine, compression=172_800, duration=duration, metrics=metrics, lock=lock)
        web = serve_web(web_port, run, book, guard, stale_after=stale_after)
        events = simulate(seed=5, start=MONDAY, per_working_day=300)
        thread = threading.Thread(target=run.run, args=(events,), daemon=True)
        thread.start()
        demo = Demo(run, thread, web, metrics_server, web_port, metrics_port, token)
        started.append(demo)
        eventually(lambda: run.now is not None and run.engine.stats.events > 50)
        return demo

    try:
        yield start
    finally:
        for demo in started:
            demo.close()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    with chrome(tmp_path, WIDE) as driver:
        yield driver


def signed_in(driver: WebDriver, demo: Demo, page: str) -> None:
    """The printed link (a cookie for the token, then the wallboard), then `page`."""
    driver.get(demo.sign_in)
    assert driver.current_url == f"{demo.base}/wallboard"
    driver.get(f"{demo.base}{page}")


def rows_shown(driver: WebDriver) -> list[str]:
    return [
        tr.get_attribute("data-unit") or ""
        for tr in driver.find_elements(By.CSS_SELECTOR, "#units tr.unit")
    ]


def banner(driver: WebDriver) -> tuple[bool, str]:
    b = driver.find_element(By.ID, "banner")
    return b.is_displayed(), b.get_attribute("data-kind") or ""


def test_wallboard_renders_the_demo_at_1080p_and_2160p(
    start_demo: Callable[..., Demo], browser: WebDriver
) -> None:
    """The board shows the demo's units with their figures, the 766 rate and its period,
    fills the screen without scrolling sideways at 1920×1080 and 3840×2160, and its type
    scales with the width (twice as large at 2160p)."""
    demo = start_demo(duration=30)
    signed_in(browser, demo, "/wallboard")
    sizes: dict[tuple[int, int], float] = {}
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1920, 1080), (3840, 2160)):
        viewport(browser, (width, height))
        browser.refresh()
        eventually(lambda: len(rows_shown(browser)) >= 3)
        eventually(lambda: "%" in browser.find_element(By.ID, "rate766").text)
        period = browser.find_element(By.ID, "period").text
        assert "30 ngày gần nhất / last 30 days" in period and "/2025 " in period
        assert browser.find_element(By.ID, "asof").text.startswith("Số liệu lúc / As of ")
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0
        cell = browser.find_element(By.CSS_SELECTOR, "#units td.n")
        sizes[(width, height)] = float(cell.value_of_css_property("font-size").removesuffix("px"))
        assert banner(browser) == (False, "")
        shot = SHOTS / f"demo-wallboard-{width}x{height}.png"
        assert browser.save_screenshot(str(shot))
        assert png_size(shot) == (width, height)
        browser.get(f"{demo.base}/wallboard?kiosk=1")
        eventually(lambda: len(rows_shown(browser)) >= 3)
        kiosk = SHOTS / f"demo-wallboard-kiosk-{width}x{height}.png"
        assert browser.save_screenshot(str(kiosk))
        assert png_size(kiosk) == (width, height)
        browser.get(f"{demo.base}/wallboard")
    assert sizes[(3840, 2160)] == pytest.approx(2 * sizes[(1920, 1080)], rel=0.05)


def test_kiosk_mode_rotates_pages_of_units(
    start_demo: Callable[..., Demo], browser: WebDriver
) -> None:
    """?kiosk=1 shows the board alone and turns to the next page of units every ?rotate
    seconds, back to the first after the last."""
    demo = start_demo(duration=30)
    viewport(browser, (1920, 1080))
    signed_in(browser, demo, "/wallboard?kiosk=1&rotate=2&rows=3")
    eventually(lambda: len(rows_shown(browser)) == 3)
    assert "kiosk" in (browser.find_element(By.TAG_NAME, "body").get_attribute("class") or "")
    assert not browser.find_element(By.ID, "overdue").is_displayed()
    pageno = browser.find_element(By.ID, "pageno")
    first = (pageno.get_attribute("data-page"), rows_shown(browser))
    assert first[0] == "1" and "Trang / Page 1/" in pageno.text
    turned = eventually(
        lambda: pageno.get_attribute("data-page") == "2" and rows_shown(browser), timeout=5
    )
    assert turned != first[1]  # the next units (the order may change as the demo runs)


def test_stale_banner_when_the_demo_stops_then_cannot_be_reached(
    start_demo: Callable[..., Demo], browser: WebDriver
) -> None:
    """While the demo runs there is no banner; once it stops (no event, no tick) the board
    says its figures are stale and greys them; when the server stops answering it says
    the server cannot be reached."""
    demo = start_demo(duration=5, stale_after=2)
    viewport(browser, (1920, 1080))
    signed_in(browser, demo, "/wallboard?poll=1")
    eventually(lambda: len(rows_shown(browser)) >= 3)
    if not demo.stopped():
        assert banner(browser) == (False, "")
    eventually(demo.stopped, timeout=15)
    assert eventually(lambda: banner(browser) == (True, "stale"), timeout=10)
    text = browser.find_element(By.ID, "banner").text
    assert text.startswith("Số liệu không cập nhật từ ") and "/ Figures not updated since" in text
    assert "stale" in (browser.find_element(By.TAG_NAME, "body").get_attribute("class") or "")
    grey = browser.find_element(By.CSS_SELECTOR, "#units td.n").value_of_css_property("color")
    assert grey == "rgba(89, 98, 110, 1)"  # --grey
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(SHOTS / "demo-wallboard-stale.png"))
    demo.close()
    assert eventually(lambda: banner(browser) == (True, "unreachable"), timeout=10)
    assert "Cannot reach the server" in browser.find_element(By.ID, "banner").text


def handled_from_metrics(text: str) -> tuple[int, int]:
    """(on time, handled) from dossierwatch_handled_dossiers, every unit summed."""
    on_time = handled = 0
    for family in text_string_to_metric_families(text):
        if family.name != "dossierwatch_handled_dossiers":
            continue
        for sample in family.samples:
            n = int(sample.value)
            handled += n
            if sample.labels["timeliness"] != "late":
                on_time += n
    return on_time, handled


def test_the_766_rate_on_the_board_is_the_apis_and_the_metrics(
    start_demo: Callable[..., Demo], browser: WebDriver
) -> None:
    """For the same 30 days up to the same instant (the demo stopped), the board, the API
    and the Prometheus metric give the same Decision 766 counts and rate."""
    demo = start_demo(duration=6)
    eventually(demo.stopped, timeout=20)
    viewport(browser, (1920, 1080))
    signed_in(browser, demo, "/wallboard?days=30")
    rate = browser.find_element(By.ID, "rate766")
    eventually(lambda: "%" in rate.text)
    api = json.loads(demo.get(f"{demo.base}/api/board?days=30"))["by_unit"]["total"]
    metric = handled_from_metrics(
        demo.get(f"http://127.0.0.1:{demo.metrics_port}/metrics").decode()
    )
    board = (
        int(rate.get_attribute("data-on-time") or -1),
        int(rate.get_attribute("data-handled") or -1),
    )
    assert api["handled"] > 50
    assert board == (api["handled_on_time"], api["handled"]) == metric
    shown = float(rate.text.removesuffix(" %").replace(",", "."))
    assert shown == pytest.approx(100 * api["on_time_rate_766"], abs=0.051)
    assert shown == pytest.approx(100 * metric[0] / metric[1], abs=0.051)
