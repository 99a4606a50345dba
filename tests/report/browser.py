"""Render report pages in headless Chromium (selenium + Debian's chromedriver).

Used by ``tests/report/test_browser.py`` (and by hand:
``python -m tests.report.browser reports``): each page is loaded from disk,
its broken images, broken local links and browser console errors are listed,
and a screenshot of the top of the page is saved.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
WINDOW = (1280, 900)


def find_browser() -> tuple[str, str] | None:
    """(browser, chromedriver) paths, or None when either is missing."""
    browser = next((p for p in map(shutil.which, CHROMIUM) if p), None)
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def start(browser: str, driver: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        f"--user-data-dir={tempfile.mkdtemp(prefix='rgdata-chromium-')}",
    ):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=opts)


_BROKEN_IMAGES = """
return Array.from(document.images)
  .filter(img => !img.complete || img.naturalWidth === 0)
  .map(img => img.getAttribute('src'));
"""
_LINKS = "return Array.from(document.querySelectorAll('a[href]')).map(a => a.href);"


def check_page(drv, page: Path, shot: Path | None = None) -> dict[str, list[str]]:
    """Load *page*; return its problems (``images``, ``links``, ``console``)."""
    drv.get(page.resolve().as_uri())  # returns once the load event has fired
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not drv.execute_script(
        "return Array.from(document.images).every(i => i.complete);"
    ):
        time.sleep(0.1)
    images = drv.execute_script(_BROKEN_IMAGES)
    links = []
    for href in drv.execute_script(_LINKS):
        url = urlparse(href)
        if url.scheme == "file":
            target = Path(unquote(url.path))
            if not target.exists():
                links.append(href)
            elif url.fragment and target.resolve() == page.resolve():
                if not drv.execute_script(
                    "return document.getElementById(arguments[0]) !== null;", url.fragment
                ):
                    links.append(href)
    console = [entry["message"] for entry in drv.get_log("browser") if entry["level"] == "SEVERE"]
    if shot is not None:
        drv.execute_script("window.scrollTo(0, 0);")
        drv.save_screenshot(str(shot))
    return {"images": images, "links": links, "console": console}


def above_the_fold(drv, element_id: str) -> bool:
    """Whether the element starts within the first window height of the page."""
    drv.execute_script("window.scrollTo(0, 0);")
    top = drv.execute_script(
        "const e = document.getElementById(arguments[0]);"
        "return e ? e.getBoundingClientRect().top : null;",
        element_id,
    )
    return top is not None and top < WINDOW[1]


def main(folder: str) -> int:
    found = find_browser()
    if found is None:
        print("no chromium/chromedriver found", file=sys.stderr)
        return 2
    drv = start(*found)
    bad = 0
    try:
        for page in sorted(Path(folder).glob("**/index.html")):
            problems = check_page(drv, page, page.with_name("screenshot.png"))
            if any(problems.values()):
                bad += 1
                print(page, problems)
    finally:
        drv.quit()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "reports"))
