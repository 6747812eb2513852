"""Headless Chromium (Debian's `chromium` and `chromium-driver`) driven by
Selenium, and helpers to use the chat page as a person would: type, press
keys, click buttons found by their names, read what is on the screen."""

import json
import shutil
import tempfile
import time
import urllib.request

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT = 20.0


def start_browser():
    """A headless Chromium with a fresh profile and no network of its own."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if shutil.which(path) is None:
            pytest.fail(f"{path} not found: install Debian's chromium and chromium-driver (scripts/test does)")
    profile = tempfile.mkdtemp(prefix="fakegpt-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
        "--no-proxy-server",
        "--window-size=1280,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    return driver, profile


def wait_for(condition, what: str, timeout: float = WAIT):
    """Polls `condition` until it returns something truthy; fails naming `what`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = condition()
        except StaleElementReferenceException:
            last = None
        if last:
            return last
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def counters(upstream) -> dict:
    """The emulator's counters (logins, conversations, cancelled streams…)."""
    with urllib.request.urlopen(f"{upstream.url}/_emulator/counters", timeout=10) as response:
        return json.load(response)


class Page:
    """The chat page at `url`, as a person uses it."""

    def __init__(self, driver, url: str, wait_models: bool = True):
        self.driver = driver
        self.url = url
        driver.get(url)
        wait_for(lambda: driver.find_elements(By.ID, "message"), "the message box")
        if wait_models:
            wait_for(lambda: self.models(), "the model picker to fill")

    def find(self, selector: str):
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def all(self, selector: str):
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def models(self) -> list:
        return [o.get_attribute("value") for o in self.all("#model option")]

    def button(self, name: str, within=None):
        """The visible button whose accessible name is `name`."""
        scope = within or self.driver
        for button in scope.find_elements(By.TAG_NAME, "button"):
            if button.accessible_name == name and button.is_displayed():
                return button
        names = [b.accessible_name for b in scope.find_elements(By.TAG_NAME, "button") if b.is_displayed()]
        pytest.fail(f"no visible button named {name!r}; visible: {names}")

    def type(self, text: str):
        """Types `text` into the message box, Shift+Enter for each newline."""
        box = self.find("#message")
        lines = text.split("\n")
        for i, line in enumerate(lines):
            if i:
                box.send_keys(Keys.SHIFT, Keys.ENTER)
            box.send_keys(line)

    def send(self, text: str):
        """Types `text` and presses Enter."""
        self.type(text)
        self.find("#message").send_keys(Keys.ENTER)

    def messages(self) -> list:
        return self.all("#log article.message")

    def assistant(self, index: int = -1):
        answers = self.all('#log article[data-role="assistant"]')
        return answers[index] if answers else None

    def wait_answer(self, count: int, state: str = "done", timeout: float = WAIT):
        """Waits until the `count`-th answer is in `state`; returns it."""

        def ready():
            answers = self.all('#log article[data-role="assistant"]')
            if len(answers) >= count and answers[count - 1].get_attribute("data-state") == state:
                return answers[count - 1]
            return None

        return wait_for(ready, f"answer {count} to be {state}", timeout)

    def wait_text(self, article, at_least: int):
        return wait_for(
            lambda: len(article.find_element(By.CSS_SELECTOR, ".content").text) >= at_least,
            f"{at_least} characters of answer",
        )

    def stored(self) -> list:
        raw = self.driver.execute_script("return localStorage.getItem('fakegpt.conversations')")
        return json.loads(raw) if raw else []

    def current(self) -> dict:
        current = self.driver.execute_script("return localStorage.getItem('fakegpt.current')")
        return next(c for c in self.stored() if c["id"] == current)

    def errors(self) -> list:
        return [e.text for e in self.all('#log .error[role="alert"]') if e.is_displayed()]

    def severe_logs(self) -> list:
        """Console errors other than failed requests the test provoked."""
        return [
            entry["message"]
            for entry in self.driver.get_log("browser")
            if entry["level"] == "SEVERE" and "Failed to load resource" not in entry["message"]
        ]


def normalised(text: str) -> str:
    return " ".join(text.split())
