"""The console driven as a person would: headless Chromium (Debian's, through Selenium and chromedriver).

Creates, updates, rotates and revokes a key through the pages, and checks the usage charts are drawn from
ledger rows that real gateway calls wrote. Screenshots go to build/test-artifacts/. Without chromium and
chromedriver on the machine these tests skip, saying so (`make unit` installs them where it can).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from pennyworth.cli.console.app import Console
from tests.conftest import KEY_ID

ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="console browser tests need chromium and chromedriver (apt-get install chromium chromium-driver)",
)


@pytest.fixture
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _shot(driver: object, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"console-{name}.png"))  # type: ignore[attr-defined]


def test_create_update_rotate_revoke_in_the_browser(browser, console: Console, console_url: str) -> None:
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    # A lookup made while a submitted form's page replaces the old one can meet a transient driver error
    # ("Node with given id does not belong to the document"); the wait polls on through it.
    wait = WebDriverWait(browser, 20, ignored_exceptions=(WebDriverException,))
    browser.get(console_url)
    assert "token" not in browser.current_url  # traded for a cookie, gone from the address bar
    form = browser.find_element(By.ID, "create-key")
    form.find_element(By.NAME, "name").send_keys("browser key")
    form.find_element(By.NAME, "owner").send_keys("ops@example.com")
    form.find_element(By.NAME, "budget").send_keys("12.5")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(expected_conditions.staleness_of(form))  # the answer page has replaced the form's
    secret = wait.until(expected_conditions.presence_of_element_located((By.ID, "secret"))).text
    assert secret.startswith("pw-")
    browser.find_element(By.ID, "copy").click()
    wait.until(expected_conditions.visibility_of_element_located((By.ID, "copied")))
    _shot(browser, "created")
    key_id = secret.split("-")[1]
    assert console.store.get(key_id, consistent=True).matches(secret)

    browser.get(console_url.split("?")[0] + f"keys/{key_id}")
    update = browser.find_element(By.ID, "update-key")
    rpm = update.find_element(By.NAME, "rpm")
    rpm.clear()
    rpm.send_keys("42")
    update.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(expected_conditions.staleness_of(update))
    wait.until(expected_conditions.text_to_be_present_in_element((By.CSS_SELECTOR, ".facts"), "42 rpm"))
    assert console.store.get(key_id, consistent=True).rpm == 42

    browser.find_element(By.CSS_SELECTOR, "#rotate-key button").click()
    wait.until(expected_conditions.alert_is_present()).dismiss()  # "no": nothing changes
    assert console.store.get(key_id, consistent=True).matches(secret)
    browser.find_element(By.CSS_SELECTOR, "#rotate-key button").click()
    wait.until(expected_conditions.alert_is_present()).accept()
    rotated = wait.until(expected_conditions.presence_of_element_located((By.ID, "secret"))).text
    assert rotated != secret and console.store.get(key_id, consistent=True).matches(rotated)

    browser.get(console_url.split("?")[0] + f"keys/{key_id}")
    browser.find_element(By.CSS_SELECTOR, "#revoke-key button").click()
    wait.until(expected_conditions.alert_is_present()).accept()
    wait.until(expected_conditions.text_to_be_present_in_element((By.CSS_SELECTOR, "h1"), "revoked"))
    assert console.store.get(key_id, consistent=True).status == "revoked"
    _shot(browser, "revoked")

    browser.get(console_url.split("?")[0])
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-key-id="{key_id}"]')
    assert "revoked" in row.text and "$0.0000 / $12.5 monthly" in row.text
    _shot(browser, "keys")


def test_usage_charts_show_real_gateway_traffic(
    browser, client: openai.OpenAI, console: Console, console_url: str
) -> None:
    from selenium.webdriver.common.by import By

    for model in ("claude-sonnet-5-5", "nova-pro", "nova-pro"):
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "for the charts"}])
    browser.get(console_url)
    browser.get(console_url.split("?")[0] + "usage?by=model")
    bars = browser.find_elements(By.CSS_SELECTOR, "svg.chart rect.bar")
    assert {bar.get_attribute("data-series") for bar in bars} >= {"claude-sonnet-5-5", "nova-pro"}
    requests = [
        b
        for b in bars
        if b.get_attribute("data-series") == "nova-pro"
        and "Requests" in b.find_element(By.XPATH, "ancestor::*[name()='svg']").get_attribute("aria-label")
    ]
    # by model, the page sums every key's rows (other tests' keys share this table): so does the check
    ledger_nova = sum(r.requests for r in console.ledger.rows() if r.model == "nova-pro")
    assert sum(float(b.get_attribute("data-value")) for b in requests) == ledger_nova >= 2
    assert all(float(b.get_attribute("height")) > 0 for b in bars)
    totals = browser.find_element(By.ID, "totals").text
    assert "nova-pro" in totals and "claude-sonnet-5-5" in totals
    _shot(browser, "usage")
    browser.get(console_url.split("?")[0] + "usage?by=key")
    assert browser.find_elements(By.CSS_SELECTOR, f'svg.chart rect.bar[data-series="{KEY_ID}"]')
