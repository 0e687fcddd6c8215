"""Headless Chromium for the browser tests: Debian's chromium and chromium-driver (bash
deploy/ensure-tools.sh installs them), driven by Selenium with the system chromedriver,
never a downloaded one.

Importing this module skips the importing test module when Selenium or the browser is
missing.  Screenshots go to build/screenshots/ (git-ignored), never into docs/: tests
leave the tree clean, and `make screenshots` copies the documented ones there.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
WIDE = (1920, 1080)
PHONE = (390, 844)

webdriver = pytest.importorskip("selenium.webdriver")
if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip(
        "needs Debian chromium and chromium-driver (bash deploy/ensure-tools.sh)",
        allow_module_level=True,
    )

from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402


@contextmanager
def chrome(tmp_path: Path, window: tuple[int, int] = WIDE) -> Iterator[WebDriver]:
    """A headless browser with its own profile under `tmp_path`, its viewport `window`."""
    profile = tmp_path / "chromium-profile"
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        f"--window-size={window[0]},{window[1]}",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    service = Service(executable_path=str(CHROMEDRIVER), log_output=str(tmp_path / "driver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    try:
        viewport(driver, window)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def viewport(driver: WebDriver, size: tuple[int, int], *, mobile: bool = False) -> None:
    """Fix the viewport itself (what a screenshot shows): --window-size sizes the window."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": mobile},
    )


def screenshot(driver: WebDriver, name: str) -> tuple[int, int]:
    """Save build/screenshots/<name> and return the image's size (width, height)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    assert driver.save_screenshot(str(path))
    return png_size(path)


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
