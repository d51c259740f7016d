"""End to end: the dashboard server driven by a real headless Chromium.

Starts ``python -m sim dashboard scenarios/baseline.yaml`` on a free local
port, loads the page, moves a lever, resets, steps, plays and pauses, checks
that the charts changed, and leaves a screenshot in the test's temporary
folder.  Chromium comes from the system's packages (``.ci/install_browser.sh``);
the test is skipped only when it is not installed.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "baseline.yaml"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CHARTS = ".sim-chart-market_share, .sim-chart-funnel, .sim-chart-cac, .sim-chart-network"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, timeout: float = 5.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture
def server():
    """The dashboard of the baseline on a free port: yields its address, then stops it."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "sim", "dashboard", str(SCENARIO), "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    output, url = [], None
    try:
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            output.append(line)
            match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
            url = match.group(1) if match else None
        assert url == f"http://127.0.0.1:{port}", f"the server printed no address:\n{''.join(output)}"
        assert _get(url) == 200
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def browser_page(tmp_path):
    """A Playwright page in the system's headless Chromium with a fresh profile."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (bash .ci/install_browser.sh installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the Python package playwright is missing: pip install -e '.[dev]'")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1600, "height": 1200})
        try:
            yield context.new_page()
        finally:
            context.close()


def _chart_sources(page) -> list[str]:
    return page.eval_on_selector_all(CHARTS, "images => images.map(image => image.src)")


def _step_shown(page) -> int:
    return int(page.inner_text(".sim-step").split()[1])


def _settled_step(page, quiet: float, timeout: float) -> int:
    """The step shown once it has not changed for ``quiet`` seconds."""
    start = time.monotonic()
    step, since = _step_shown(page), time.monotonic()
    while time.monotonic() - start < timeout:
        time.sleep(0.1)
        now = _step_shown(page)
        if now != step:
            step, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return step
    raise AssertionError(f"the step counter kept changing for {timeout} s after pause")


def _wait_for(predicate, timeout: float, what: str) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_lever_reset_step_play_in_a_real_browser(server, browser_page, tmp_path):
    page = browser_page
    assert _get(f"{server}/_solara/cdn/requirejs@2.3.6/require.js") == 200, (
        "Solara's front-end files are not available offline: run bash .ci/install_browser.sh")
    page.goto(server)
    page.wait_for_selector(".sim-chart-network", timeout=90_000)
    assert page.inner_text(".sim-step").startswith("step 0 of 60")
    assert len(_chart_sources(page)) == 4

    # Move a lever: citic's referral bonus from the file's 0 to 100 yuan (20 steps of 5).
    thumb = page.locator(".lever-citic-referral_bonus [role=slider]")
    thumb.focus()
    for _ in range(20):
        thumb.press("ArrowRight")
    page.get_by_text("referral bonus (yuan): 100 (file: 0)").wait_for(timeout=10_000)
    assert "1 lever(s) moved" in page.inner_text("body")

    # Reset rebuilds the model with the lever applied.
    page.get_by_role("button", name="Reset").click()
    page.locator(".sim-run", has_text="banks.citic.referral.bonus = 100").wait_for(timeout=30_000)
    before = _chart_sources(page)

    # Step: the step counter and every chart change.
    page.get_by_role("button", name="Step").click()
    seconds = _wait_for(lambda: _step_shown(page) == 1 and all(
        a != b for a, b in zip(before, _chart_sources(page), strict=True)), 30, "step 1 to be drawn")
    print(f"step + redraw seen in the browser after {seconds:.2f} s")

    # Play, then pause: steps advance on their own, then stop.
    page.get_by_role("button", name="▶").click()
    _wait_for(lambda: _step_shown(page) >= 4, 60, "play to advance to step 4")
    page.get_by_role("button", name="❚❚").click()
    page.get_by_role("button", name="▶").wait_for(timeout=10_000)
    paused_at = _settled_step(page, quiet=3.0, timeout=30)  # a step under way when pausing still finishes
    time.sleep(3.0)
    assert _step_shown(page) == paused_at, "the model kept stepping after pause"
    assert "banks.citic.referral.bonus = 100" in page.inner_text(".sim-run")

    shot = tmp_path / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000
