"""Report pages in a real headless browser: no broken image or link, no console error,
and the headline table and the table of contents above the fold.

Runs where Chromium and chromedriver are installed (``.ci/run`` installs Debian's
``chromium`` and ``chromium-driver`` when missing); skipped otherwise. Screenshots go
to ``$RGDATA_SCREENSHOTS`` when set (the temporary folder otherwise).
"""

import os
from pathlib import Path

import numpy as np
import pytest

import rgdata
from rgdata.report import build_report
from rgdata.report.build import write_index

from .browser import above_the_fold, check_page, find_browser, start

pytest.importorskip("selenium")
FOUND = find_browser()
pytestmark = pytest.mark.skipif(FOUND is None, reason="chromium/chromedriver not installed")

QUICK = {
    "scaling": {
        "nulls": ("shuffle", "circular_shift"),
        "n_surrogates": 3,
        "bin_factors": None,
        "holdout_check": False,
    }
}


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    x = (np.random.default_rng(0).random((32, 2000)) < 0.15).astype(np.int8)
    act = rgdata.as_activity(x, kind="spikes", bin_width=0.02)
    with pytest.warns(UserWarning):
        res = build_report(
            act,
            out / "cells",
            title="Cells",
            sections=["overview", "scaling"],
            options=QUICK,
            back_link="../index.html",
        )
    write_index(out, [{"name": "cells", "path": res["index"], "title": "Cells"}])
    return out


@pytest.fixture(scope="module")
def driver():
    drv = start(*FOUND)
    yield drv
    drv.quit()


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("RGDATA_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.parametrize("page", ["index.html", "cells/index.html"])
def test_page_renders_clean(reports, driver, tmp_path, page):
    shot = _shots(tmp_path) / (page.replace("/", "_").replace(".html", ".png"))
    problems = check_page(driver, reports / page, shot)
    assert problems == {"images": [], "links": [], "console": []}
    assert shot.stat().st_size > 10_000


def test_headlines_and_contents_above_the_fold(reports, driver):
    check_page(driver, reports / "cells" / "index.html")
    assert above_the_fold(driver, "headlines")
    assert driver.execute_script("return document.querySelector('nav.toc') !== null;")
    rows = driver.execute_script(
        "return document.querySelectorAll('table.headlines tbody tr').length;"
    )
    assert rows == 4  # alpha, beta, mu, z
    text = driver.execute_script("return document.querySelector('table.headlines').innerText;")
    assert "shuffle" in text and "[" in text


def test_index_links_back_and_forth(reports, driver):
    check_page(driver, reports / "index.html")
    hrefs = driver.execute_script("return Array.from(document.links).map(a => a.href);")
    assert any(h.endswith("cells/index.html") for h in hrefs)
    check_page(driver, reports / "cells" / "index.html")
    hrefs = driver.execute_script("return Array.from(document.links).map(a => a.href);")
    assert any(h.endswith("/index.html") and "cells" not in h for h in hrefs)


def test_broken_image_and_link_are_caught(reports, driver, tmp_path):
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><html><body><img src='missing.png'><a href='nowhere.html'>x</a>"
        "<script>console.error('boom')</script></body></html>"
    )
    problems = check_page(driver, page)
    assert problems["images"] == ["missing.png"]
    assert problems["links"] and problems["links"][0].endswith("nowhere.html")
    assert any("boom" in m for m in problems["console"])
