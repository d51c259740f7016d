"""The comparison report opened in a real headless Chromium: summary above the fold, images loaded.

Writes the report of a small two-scenario comparison, opens ``report.html``
from disk, and leaves ``report.png`` (the first screen) and
``report_full.png`` (the whole page) in the test's temporary folder.
Chromium comes from the system's packages (``.ci/install_browser.sh``); the
test is skipped when it is not installed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sim.experiments.compare import compare
from sim.outputs.report import write_report
from sim.scenario import load_scenario, with_overrides

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SMALL = {"population.size": 800, "time.steps": 30}


def write_small_report(out: Path) -> Path:
    """The report of baseline against city_bank_local (a timeline event; the city bank on a ``rule`` policy)."""
    scenarios = [load_scenario(ROOT / "scenarios" / name, SMALL) for name in ("baseline.yaml", "city_bank_local.yaml")]
    scenarios[1] = with_overrides(scenarios[1], {"banks.citybank.policy": {"kind": "rule"}})
    comparison = compare(scenarios, replications=3, seed=7)
    return write_report(comparison, out)["html"]


def test_report_in_chromium(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (run .ci/install_browser.sh)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the Python package playwright is missing: pip install -e '.[dev]'")
    page_file = write_small_report(tmp_path / "report")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(page_file.as_uri())
            page.wait_for_load_state("load")
            page.screenshot(path=str(tmp_path / "report.png"))
            page.screenshot(path=str(tmp_path / "report_full.png"), full_page=True)
            text = page.inner_text("body")
            summary = page.locator("h2", has_text="Summary")
            assert summary.count() == 1
            box = summary.bounding_box()
            assert box is not None and box["y"] < 900, "the summary starts below the first screen"
            first_line = page.locator("h2:has-text('Summary') + p")
            assert first_line.bounding_box()["y"] < 900
            assert "city_bank_local" in first_line.inner_text()
            summary_items = page.locator("h2:has-text('Summary') ~ ul").first
            assert summary_items.bounding_box()["y"] < 900
            assert "Large state bank" in text or "City commercial bank" in text  # display names, not raw ids
            assert "**" not in text, "literal Markdown left in the page"
            decisions = page.locator("h2", has_text="Decisions")
            assert decisions.count() == 1
            rows = page.locator("h2:has-text('Decisions') ~ table").first.locator("tbody tr")
            assert rows.count() >= 1 and "City commercial bank" in rows.first.inner_text()
            images = page.eval_on_selector_all("img", "els => els.map(e => [e.naturalWidth, e.complete])")
            assert images and all(width > 0 and done for width, done in images), images
        finally:
            browser.close()
