"""The live page in a real browser: Debian's chromium, headless, driven by Playwright's Python
API. A running pipeline's page shows a worker's events and the histogram's bars growing; the
Pause button (the page was opened with the token) stops the rates; a screenshot is saved."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = "/usr/bin/chromium"
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(
        f"{CHROMIUM} not found (apt-get install chromium; Playwright's own download is not used)",
        allow_module_level=True,
    )

pytestmark = pytest.mark.slow

# how long the page gets to show what it should (milliseconds)
WAIT_MS = 15_000


@pytest.fixture
def browser():
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            launched.close()


def number(page, selector: str) -> float:
    return float(page.locator(selector).get_attribute("data-value"))


def histogram_total(page) -> int:
    return int(page.locator('[data-plot="heights"]').get_attribute("data-total"))


def test_the_page_of_a_running_pipeline(write_flow, serve_cli, browser, tmp_path):
    served = serve_cli(str(write_flow(n=0, delay=0.002)), "--quiet")
    page = browser.new_page(viewport={"width": 1360, "height": 1200})
    page.goto(f"{served.base}/?token={served.token}", timeout=WAIT_MS)

    events = '[data-worker="save"] .events-in'
    page.wait_for_function(
        f"() => Number(document.querySelector('{events}')?.dataset.value) > 0", timeout=WAIT_MS
    )
    page.wait_for_selector('[data-plot="heights"][data-total]', timeout=WAIT_MS)
    page.wait_for_selector("#graph svg g.node", timeout=WAIT_MS)
    first, first_total = number(page, events), histogram_total(page)
    page.wait_for_timeout(1200)
    second, second_total = number(page, events), histogram_total(page)
    assert second > first, "the exporter's event count did not grow"
    assert second_total > first_total, "the histogram's bars did not grow"
    assert page.locator("#state").inner_text().lower() == "running"
    assert page.locator('#graph .fc-rate:text-matches("/s$")').count() >= 3  # edge rates
    assert page.locator('#buffers [data-buffer="raw"] .meter').count() == 1

    page.locator("#pause").click()
    page.wait_for_function(
        "() => document.querySelector('#state').dataset.state === 'paused'", timeout=WAIT_MS
    )
    rate = '[data-worker="source"] .rate'
    page.wait_for_function(
        f"() => document.querySelector('{rate}').dataset.value === '0'", timeout=WAIT_MS
    )
    produced = number(page, '[data-worker="source"] .events-out')
    page.wait_for_timeout(1000)
    assert number(page, '[data-worker="source"] .events-out') == produced, "paused, yet producing"
    assert number(page, '[data-worker="save"] .rate') == 0
    assert page.locator("#resume").is_enabled() and page.locator("#pause").is_disabled()

    shot = tmp_path / "serve.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    keep = os.environ.get("FLOWC_SERVE_SCREENSHOT")  # to look at it after the test
    if keep:
        shutil.copy(shot, keep)

    page.locator("#stop").click()
    # the state reads "interrupted" while the graph drains, then adds the exit code once it ended
    page.wait_for_function(
        "() => { const s = document.querySelector('#state');"
        " return s.dataset.state === 'interrupted' && s.textContent.includes('exit'); }",
        timeout=WAIT_MS,
    )
    assert "exit 130" in page.locator("#state").inner_text().lower()
    code, err = served.stop(timeout=30)
    assert code == 130, err
    # the server has stopped: the page says so and keeps the final figures
    page.wait_for_function(
        "() => document.querySelector('#link').dataset.link === 'lost'", timeout=WAIT_MS
    )
    assert page.locator("#summary-card").is_visible()
    assert "pipeline live: interrupted" in page.locator("#summary").inner_text()


def test_without_the_token_the_page_only_shows(write_flow, serve_cli, browser):
    served = serve_cli(str(write_flow(n=0, delay=0.002)), "--quiet")
    page = browser.new_page()
    page.goto(f"{served.base}/", timeout=WAIT_MS)
    page.wait_for_function(
        "() => document.querySelector('#state').dataset.state === 'running'", timeout=WAIT_MS
    )
    for button in ("#pause", "#resume", "#stop"):
        assert page.locator(button).is_disabled()
    assert "token" in page.locator("#pause").get_attribute("title")
    served.interrupt()
    code, _ = served.stop(timeout=30)
    assert code == 130
