"""The viewer in a real headless Chromium (the Debian package, driven by its chromedriver):
each page against real stored data, checking what a person sees. Screenshots are saved under
``test-artifacts/screenshots/`` (or ``$OTLP_ARROW_ARTIFACTS``)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver import Chrome as WebDriver
from selenium.webdriver.chrome.service import Service as DriverService
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

from otlp_arrow import OtlpLibrary, connect
from otlp_arrow.receivers.auth import Authenticator
from otlp_arrow.receivers.limits import Limits
from otlp_arrow.viewer import Viewer
from tests import helpers, sample
from tests.helpers import T0
from tests.viewer.data import MINUTE, store_odd_metrics, store_rounds

DASH = "\u2013"  # the pager says f"1{DASH}50 of 180" with an en dash
ARTIFACTS = Path(
    os.environ.get("OTLP_ARROW_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts")
)


def _executable(env: str, *names: str) -> str:
    for candidate in (os.environ.get(env), *names):
        found = candidate and shutil.which(candidate)
        if found:
            return found
    pytest.fail(
        f"{names[0]} not found: scripts/setup.sh installs the Debian packages chromium and "
        f"chromium-driver (as root), or set {env} to its path"
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = _executable("CHROMIUM", "chromium", "chromium-browser")
    for flag in (
        "--headless=new",
        "--no-sandbox",  # as root in a container
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-extensions",
        "--no-first-run",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = DriverService(_executable("CHROMEDRIVER", "chromedriver"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return store_rounds(tmp_path_factory.mktemp("browser"), 3, 240, 60, 90)


@pytest.fixture(scope="module")
def viewer(stored: Path) -> Iterator[Viewer]:
    running = Viewer(stored, port=0)
    running.start()
    yield running
    running.stop()


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    return helpers.wait_for(condition, what, timeout, ignoring=(WebDriverException,))


def renders(browser: WebDriver) -> int:
    return int(browser.find_element(By.TAG_NAME, "body").get_attribute("data-renders") or 0)


def then_wait(browser: WebDriver, action: Callable[[], Any], what: str) -> None:
    """Do ``action`` (a click, a choice) and wait until the page has shown its result."""
    before = renders(browser)
    action()
    wait_for(lambda: renders(browser) > before, what)


def shot(browser: WebDriver, name: str) -> None:
    (ARTIFACTS / "screenshots").mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "screenshots" / f"{name}.png"))


def no_console_errors(browser: WebDriver) -> None:
    """Nothing went wrong in the page: no script error, no CSP violation, no failed load."""
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


def rows(browser: WebDriver, testid: str) -> list[Any]:
    return browser.find_elements(By.CSS_SELECTOR, f"[data-testid={testid}] tbody tr")


def test_traces_page_lists_pages_and_filters(browser: WebDriver, viewer: Viewer) -> None:
    browser.get(viewer.url)
    wait_for(lambda: len(rows(browser, "trace-list")) == 50, "the first page of traces")
    info = browser.find_element(By.CSS_SELECTOR, "[data-testid=page-info]").text
    assert info == f"1{DASH}50 of 180"  # 720 spans, 4 per trace
    first_row = rows(browser, "trace-list")[0].text
    assert "frontend" in first_row and " ms" in first_row
    shot(browser, "traces")
    older = browser.find_element(By.XPATH, "//button[contains(., 'Older')]")
    then_wait(browser, older.click, "the second page")
    assert (
        browser.find_element(By.CSS_SELECTOR, "[data-testid=page-info]").text
        == f"51{DASH}100 of 180"
    )
    browser.find_element(By.NAME, "errors").click()
    search = browser.find_element(By.XPATH, "//button[text()='Search']")
    then_wait(browser, search.click, "error traces")
    assert "errors=1" in browser.current_url
    error_cells = [r.find_elements(By.TAG_NAME, "td")[5].text for r in rows(browser, "trace-list")]
    assert error_cells and all(int(cell) >= 1 for cell in error_cells)
    no_console_errors(browser)


def test_trace_page_draws_the_waterfall(browser: WebDriver, viewer: Viewer) -> None:
    browser.get(viewer.url + "#/traces?errors=1")
    wait_for(lambda: rows(browser, "trace-list"), "error traces")
    trace_id = rows(browser, "trace-list")[0].get_attribute("data-trace-id")
    rows(browser, "trace-list")[0].click()
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".span-row"), "the waterfall")
    spans = connect(viewer.store.output_dir).traces(trace_id=trace_id)
    drawn = browser.find_elements(By.CSS_SELECTOR, "[data-testid=waterfall] .span-row")
    assert len(drawn) == spans.num_rows
    depth = {r.get_attribute("data-span-id"): int(r.get_attribute("data-depth")) for r in drawn}
    parents = dict(
        zip(
            [s.hex() for s in spans.column("span_id").to_pylist()],
            [p.hex() if p else None for p in spans.column("parent_span_id").to_pylist()],
            strict=True,
        )
    )
    for span_id, parent in parents.items():  # children are drawn one level below parents
        assert depth[span_id] == (0 if parent is None else depth[parent] + 1)
    bars = {
        r.get_attribute("data-span-id"): r.find_element(By.CSS_SELECTOR, ".span-bar") for r in drawn
    }
    durations = dict(zip(parents, spans.column("duration_ns").to_pylist(), strict=True))
    root = next(s for s, p in parents.items() if p is None)
    root_bar = bars[root].rect
    track = drawn[0].find_element(By.CSS_SELECTOR, ".span-track").rect
    assert abs(root_bar["width"] - track["width"]) <= 2  # the root spans the whole trace
    for span_id, bar in bars.items():  # durations to scale, inside the root's bar
        rect = bar.rect
        assert rect["x"] >= root_bar["x"] - 1, span_id
        assert rect["x"] + rect["width"] <= root_bar["x"] + root_bar["width"] + 1, span_id
        expected = durations[span_id] / durations[root] * root_bar["width"]
        assert abs(rect["width"] - max(expected, 2)) <= 2, span_id
    errors = [r for r in drawn if r.get_attribute("data-error") == "1"]
    assert errors and all(
        "error" in (r.find_element(By.CSS_SELECTOR, ".span-bar").get_attribute("class") or "")
        for r in errors
    )
    drawn[0].click()
    details = browser.find_element(By.CSS_SELECTOR, "[data-testid=span-details]")
    wait_for(lambda: "http.route" in details.text, "the span's attributes")
    assert "Resource" in details.text and "service.name" in details.text
    assert "Events" in details.text
    shot(browser, "trace")
    no_console_errors(browser)


def test_metrics_page_draws_charts(browser: WebDriver, viewer: Viewer) -> None:
    browser.get(viewer.url + "#/metrics")
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "[data-testid=chart] path"), "a chart")

    def choose(name: str, value: str) -> None:
        then_wait(
            browser,
            lambda: Select(browser.find_element(By.NAME, name)).select_by_value(value),
            f"the chart for {name}={value}",
        )

    def lines() -> list[str]:
        paths = browser.find_elements(By.CSS_SELECTOR, "[data-testid=chart] path.line")
        return [p.get_attribute("data-series") or "" for p in paths]

    choose("name", "http.server.duration")
    assert "http.server.duration" in browser.current_url
    assert lines() == ["p50", "p90", "p99"]
    for path in browser.find_elements(By.CSS_SELECTOR, "[data-testid=chart] path.line"):
        assert path.get_attribute("d").count("L") == 2  # three points: one per minute
        assert path.rect["width"] > 500  # drawn across the chart
    shot(browser, "metrics-histogram")
    choose("split", "http.route")
    assert len(lines()) > 3  # one set of lines per route
    assert all(label.endswith(("p50", "p90", "p99")) for label in lines())
    choose("name", "http.server.requests")
    assert lines() == ["all"]  # the sum as one line
    shot(browser, "metrics-sum")
    no_console_errors(browser)


def test_logs_page_searches_and_links_to_traces(browser: WebDriver, viewer: Viewer) -> None:
    browser.get(viewer.url + "#/logs")
    wait_for(lambda: len(rows(browser, "log-list")) == 100, "a page of logs")
    Select(browser.find_element(By.NAME, "severity")).select_by_value("17")
    search = browser.find_element(By.XPATH, "//button[text()='Search']")
    then_wait(browser, search.click, "error logs")
    assert "severity=17" in browser.current_url
    severities = {r.find_elements(By.TAG_NAME, "td")[1].text for r in rows(browser, "log-list")}
    assert severities and severities <= {"ERROR", "FATAL"}
    browser.find_element(By.NAME, "q").send_keys("checkout")
    search = browser.find_element(By.XPATH, "//button[text()='Search']")
    then_wait(browser, search.click, "matching logs")
    assert "q=checkout" in browser.current_url
    assert all("checkout" in r.text for r in rows(browser, "log-list"))
    shot(browser, "logs")
    link = browser.find_element(By.CSS_SELECTOR, "[data-testid=log-trace-link]")
    link.click()
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".span-row"), "the log's trace")
    assert "#/trace/" in browser.current_url
    no_console_errors(browser)


def test_pages_refresh_when_new_data_arrives(browser: WebDriver, viewer: Viewer) -> None:
    browser.get(viewer.url + "#/traces")
    status = browser.find_element(By.ID, "status")
    wait_for(lambda: status.text.startswith("720 spans"), "the row counts")
    with OtlpLibrary(output_dir=viewer.store.output_dir) as library:
        library.export_traces(sample.traces(40, start_ns=T0 + 10 * MINUTE, seed=7))
    wait_for(lambda: status.text.startswith("760 spans"), "the new count", timeout=15)
    wait_for(
        lambda: (
            browser.find_element(By.CSS_SELECTOR, "[data-testid=page-info]").text
            == f"1{DASH}50 of 190"
        ),
        "the refreshed list",
    )
    no_console_errors(browser)


def test_a_chart_says_which_points_it_cannot_draw(
    browser: WebDriver, tmp_path_factory: pytest.TempPathFactory
) -> None:
    odd = Viewer(store_odd_metrics(tmp_path_factory.mktemp("odd")), port=0)
    odd.start()
    try:
        browser.get(odd.url + "#/metrics?name=too.many.buckets")
        note = wait_for(
            lambda: browser.find_elements(By.CSS_SELECTOR, "[data-testid=chart-note]"), "a note"
        )
        assert note[0].text.startswith("cannot chart 1 of 2 points: a histogram point has 4")
        assert browser.find_elements(By.CSS_SELECTOR, "[data-testid=chart] path.line")
        shot(browser, "metrics-note")
        browser.get(odd.url + "#/metrics?name=scale.minus.20")
        wait_for(lambda: "scale -20" in browser.find_element(By.ID, "chart").text, "the note")
        assert "No points" not in browser.find_element(By.ID, "chart").text
        no_console_errors(browser)
    finally:
        odd.stop()


def answer_prompt(browser: WebDriver, text: str) -> str:
    """Type ``text`` into the page's prompt when it shows; returns the prompt's question."""
    prompt = WebDriverWait(browser, 10).until(expected_conditions.alert_is_present())
    question = prompt.text
    prompt.send_keys(text)
    prompt.accept()
    return question


def test_the_viewer_asks_for_its_token_once_per_session(browser: WebDriver, stored: Path) -> None:
    token = "viewer-token-0123456789"
    guarded = Viewer(stored, port=0, limits=Limits(auth=Authenticator([token])))
    guarded.start()
    try:
        browser.get(guarded.url + "#/traces")
        assert answer_prompt(browser, "not-the-token") == "This viewer needs an access token:"
        answer_prompt(browser, token)  # a wrong token is refused and asked for again
        wait_for(lambda: len(rows(browser, "trace-list")) == 50, "traces after the login")
        assert browser.execute_script("return sessionStorage.getItem('otlp-arrow-token')") == token
        browser.refresh()  # the same tab keeps it: no second prompt
        wait_for(lambda: len(rows(browser, "trace-list")) == 50, "traces after a reload")
        assert token not in browser.current_url
        shot(browser, "viewer-login")
        failed = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert all("401" in message for message in failed)  # only the refused first tries
        browser.execute_script("sessionStorage.clear()")
        browser.refresh()  # a new session is asked again; no answer: the page says so
        answer_prompt(browser, "")
        wait_for(
            lambda: "access token is required" in browser.find_element(By.TAG_NAME, "body").text,
            "the message that a token is required",
        )
    finally:
        browser.execute_script("sessionStorage.clear()")
        guarded.stop()
