"""The chat page of `fakegpt serve`, used in headless Chromium as a person
would, against a gateway in front of `fakegpt upstream` (separate
processes, loopback only). What the page shows is compared with what the
emulator sends; what the emulator saw (cancelled streams) is read from its
counters."""

import base64
import time

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from browser import Page, counters, normalised, start_browser, wait_for
from conftest import ROOT, fakegpt_chat

KEY = "sk-fakegpt-page"


@pytest.fixture(scope="module")
def driver():
    driver, profile = start_browser()
    yield driver
    driver.quit()


@pytest.fixture(autouse=True)
def clean_console(driver):
    """Every test starts on a blank page and must leave no script error or
    Content-Security-Policy violation in the console."""
    driver.get("about:blank")
    driver.get_log("browser")
    yield
    severe = [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and "Failed to load resource" not in entry["message"]
    ]
    assert severe == [], severe


@pytest.fixture
def stack(server_factory, upstream_factory):
    """Starts `fakegpt upstream ARGS` and `fakegpt serve` in front of it."""

    def start(*upstream_args: str, serve_args=()):
        upstream = upstream_factory(*upstream_args)
        server = server_factory("serve", "--base-url", upstream.url, *serve_args)
        return server, upstream

    return start


def expected(upstream, prompt: str) -> str:
    result = fakegpt_chat(upstream.url, prompt)
    assert result.returncode == 0, result.stderr
    return result.stdout[:-1]


def test_an_exchange_streams_the_emulators_reply(driver, stack):
    server, upstream = stack("--delay-ms", "15")
    prompt = "Hello from the browser, 你好 — with \"quotes\""
    reply = expected(upstream, prompt)
    page = Page(driver, server.url)
    assert page.models() and "gpt-3.5-turbo" in page.models()
    driver.execute_script(
        """
        window.__lengths = [];
        new MutationObserver(() => {
          const answers = document.querySelectorAll('#log article[data-role="assistant"] .content');
          if (answers.length) window.__lengths.push(answers[answers.length - 1].textContent.length);
        }).observe(document.getElementById('log'), {childList: true, subtree: true, characterData: true});
        """
    )
    page.send(prompt)
    answer = page.wait_answer(1)
    user = page.all('#log article[data-role="user"]')
    assert len(user) == 1 and user[0].find_element(By.CSS_SELECTOR, ".content").text == prompt
    shown = answer.find_element(By.CSS_SELECTOR, ".content").text
    assert normalised(shown) == normalised(reply)
    lengths = driver.execute_script("return window.__lengths")
    steps = sorted(set(lengths))
    assert len(steps) >= 5, f"the answer arrived in {len(steps)} steps: {steps}"
    assert lengths == sorted(lengths), "text only grows while it streams"
    saved = page.current()
    assert [m["role"] for m in saved["messages"]] == ["user", "assistant"]
    assert saved["messages"][0]["content"] == prompt
    assert saved["messages"][1]["content"] == reply
    assert page.find("#message").get_attribute("value") == ""


def test_stop_and_escape_cancel_the_upstream_stream(driver, stack):
    server, upstream = stack("--delay-ms", "40", "--reply-chars", "6000")
    page = Page(driver, server.url)
    page.send("Tell me a long story")
    answer = wait_for(page.assistant, "an answer to begin")
    page.wait_text(answer, 40)
    stop = page.button("Stop")
    stop.click()
    stopped = page.wait_answer(1, "stopped")
    partial = stopped.find_element(By.CSS_SELECTOR, ".content").text
    assert 40 <= len(partial) < 6000
    wait_for(lambda: counters(upstream)["cancelled"] == 1, "the emulator to see the stream cancelled")
    assert page.current()["messages"][-1]["state"] == "stopped"
    assert page.current()["messages"][-1]["content"] != ""

    page.send("Another long one")
    answer = wait_for(lambda: page.assistant(1) if len(page.all('#log article[data-role="assistant"]')) > 1 else None, "a second answer")
    page.wait_text(answer, 20)
    page.find("body").send_keys(Keys.ESCAPE)
    page.wait_answer(2, "stopped")
    wait_for(lambda: counters(upstream)["cancelled"] == 2, "Escape to cancel the stream too")
    assert counters(upstream)["completed"] == 0


def test_markdown_is_rendered_with_highlighted_code(driver, stack):
    server, upstream = stack("--delay-ms", "0", "--replies", "markdown")
    page = Page(driver, server.url)
    page.send("Show me markdown")
    answer = page.wait_answer(1)
    content = answer.find_element(By.CSS_SELECTOR, ".content")
    assert content.find_element(By.TAG_NAME, "h2").text == "Markdown, rendered"
    assert content.find_element(By.TAG_NAME, "em").text == "emphasis"
    assert content.find_element(By.TAG_NAME, "strong").text == "strong"
    assert content.find_element(By.TAG_NAME, "del").text == "struck"
    link = content.find_element(By.CSS_SELECTOR, "a")
    assert link.get_attribute("href") == "https://example.com/docs"
    assert link.text == "link to the docs"
    assert "noopener" in link.get_attribute("rel")
    items = [li.text.split("\n")[0] for li in content.find_elements(By.CSS_SELECTOR, "ul > li")]
    assert items[:2] == ["first item", "second item"]
    assert content.find_element(By.CSS_SELECTOR, "ul ul > li").text == "nested item"
    assert [li.text for li in content.find_elements(By.CSS_SELECTOR, "ol > li")] == ["one", "two"]
    assert "A quoted line," in content.find_element(By.TAG_NAME, "blockquote").text
    headers = [th.text for th in content.find_elements(By.CSS_SELECTOR, "table th")]
    cells = [td.text for td in content.find_elements(By.CSS_SELECTOR, "table td")]
    assert headers == ["Name", "Value"] and cells == ["alpha", "1", "beta", "22"]
    assert content.find_elements(By.TAG_NAME, "hr")
    blocks = content.find_elements(By.CSS_SELECTOR, "pre code")
    assert len(blocks) == 2
    languages = {b.get_attribute("class") for b in blocks}
    assert any(c in languages for c in ("language-rust", "language-python")), languages
    assert "language-json" in languages
    code = blocks[0]
    tokens = code.find_elements(By.CSS_SELECTOR, "span[class^='tok-']")
    assert len(tokens) >= 3, "the code is highlighted"
    assert '"hello"' in code.text and "a comment" in code.text
    copy_buttons = [b for b in answer.find_elements(By.TAG_NAME, "button") if b.accessible_name == "Copy code"]
    assert len(copy_buttons) == 2
    assert "**" not in content.text and "```" not in content.text


def test_html_and_script_in_a_reply_are_shown_as_text_and_never_run(driver, stack):
    server, upstream = stack("--delay-ms", "0", "--replies", "hostile")
    page = Page(driver, server.url)
    driver.execute_script("window.__pwned = 'untouched'")
    prompt = '<img src=x onerror="window.__pwned=99"> and <script>window.__pwned=98</script>'
    page.send(prompt)
    answer = page.wait_answer(1)
    time.sleep(0.5)  # time for anything that would run on load or error
    assert driver.execute_script("return window.__pwned") == "untouched"
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text
    log = page.find("#log")
    for tag in ("script", "img", "iframe", "svg", "details", "style", "b", "object", "embed"):
        assert log.find_elements(By.TAG_NAME, tag) == [], f"a <{tag}> made it into the page"
    for link in log.find_elements(By.TAG_NAME, "a"):
        assert link.get_attribute("href").split(":")[0] in ("http", "https", "mailto"), link.get_attribute("href")
    assert not driver.execute_script(
        "return [...document.querySelectorAll('#log *')].some(e => [...e.attributes].some(a => a.name.startsWith('on')))"
    )
    text = answer.find_element(By.CSS_SELECTOR, ".content").text
    for literal in ("<script>window.__pwned = 1</script>", '<img src=x onerror="window.__pwned = 2">', "click me"):
        assert literal in text, literal
    user = page.all('#log article[data-role="user"] .content')[0].text
    assert user == prompt
    # Clicking what looks like links runs nothing either.
    for link in log.find_elements(By.TAG_NAME, "a"):
        assert link.text != "click me"
    assert driver.execute_script("return window.__pwned") == "untouched"


def test_conversations_survive_a_reload_and_can_be_managed(driver, stack):
    server, upstream = stack("--delay-ms", "0")
    page = Page(driver, server.url)
    page.send("First conversation")
    page.wait_answer(1)
    page.button("New chat").click()
    wait_for(lambda: not page.messages(), "a new, empty conversation")
    page.send("Second conversation")
    page.wait_answer(1)
    stored = page.stored()
    assert len(stored) == 2

    driver.refresh()
    page = Page(driver, server.url)
    wait_for(lambda: len(page.messages()) == 2, "the current conversation shown again")
    assert "Second conversation" in page.messages()[0].text
    items = page.all("#conversations li")
    assert len(items) == 2
    first = next(li for li in items if "First conversation" in li.text)
    first.find_element(By.TAG_NAME, "button").click()
    wait_for(lambda: page.messages() and "First conversation" in page.messages()[0].text, "switching conversations")
    assert page.assistant().get_attribute("data-state") == "done"

    # Rename the current conversation.
    item = next(li for li in page.all("#conversations li") if "First conversation" in li.text)
    page.button("Rename", within=item).click()
    field = wait_for(lambda: driver.switch_to.active_element if driver.switch_to.active_element.tag_name == "input" else None, "the rename field")
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys("Renamed chat", Keys.ENTER)
    wait_for(lambda: any(c["title"] == "Renamed chat" for c in page.stored()), "the new title saved")
    wait_for(lambda: any("Renamed chat" in li.text for li in page.all("#conversations li")), "the new title shown")

    # Delete the other one.
    other = next(li for li in page.all("#conversations li") if "Second conversation" in li.text)
    page.button("Delete", within=other).click()
    confirm = wait_for(
        lambda: [b for b in driver.find_elements(By.TAG_NAME, "button") if b.is_displayed() and b.accessible_name in ("Delete conversation", "Confirm delete", "Yes, delete")],
        "a confirmation",
    )
    confirm[0].click()
    wait_for(lambda: len(page.stored()) == 1, "the conversation deleted")
    assert page.stored()[0]["title"] == "Renamed chat"


def test_exports_as_json_and_markdown(driver, stack):
    server, upstream = stack("--delay-ms", "0")
    page = Page(driver, server.url)
    page.send("Export me")
    page.wait_answer(1)
    # Capture what the page would download: the Blob behind the link.
    driver.execute_script(
        """
        window.__downloads = [];
        const original = URL.createObjectURL;
        URL.createObjectURL = (blob) => { blob.text().then(t => window.__downloads.push({type: blob.type, text: t})); return original(blob); };
        HTMLAnchorElement.prototype.click = function () { window.__downloads.push({name: this.download}); };
        """
    )
    page.button("Export JSON").click()
    page.button("Export Markdown").click()
    downloads = wait_for(lambda: (d := driver.execute_script("return window.__downloads")) and len(d) >= 4 and d, "two downloads")
    names = [d["name"] for d in downloads if "name" in d]
    texts = [d["text"] for d in downloads if "text" in d]
    assert any(n.endswith(".json") for n in names) and any(n.endswith(".md") for n in names), names
    import json as _json

    exported = _json.loads(next(t for t in texts if t.lstrip().startswith("{")))
    assert exported["messages"][0]["content"] == "Export me"
    markdown = next(t for t in texts if not t.lstrip().startswith("{"))
    assert "Export me" in markdown and exported["messages"][1]["content"][:30] in markdown


def test_edit_and_regenerate_fork_the_conversation(driver, stack):
    server, upstream = stack("--delay-ms", "0")
    page = Page(driver, server.url)
    page.send("Original question")
    page.wait_answer(1)
    page.send("Follow-up question")
    page.wait_answer(2)
    first_user = page.all('#log article[data-role="user"]')[0]
    page.button("Edit", within=first_user).click()
    editor = wait_for(lambda: first_user.find_elements(By.TAG_NAME, "textarea"), "the editor")[0]
    editor.send_keys(Keys.CONTROL, "a")
    editor.send_keys("Edited question")
    page.button("Save and send", within=first_user).click()
    wait_for(lambda: len(page.messages()) == 2 and page.assistant().get_attribute("data-state") == "done", "the fork answered")
    saved = page.current()["messages"]
    assert [m["content"] for m in saved][0] == "Edited question"
    assert saved[1]["content"] == expected(upstream, "Edited question")
    before = counters(upstream)["conversations"]
    page.button("Regenerate", within=page.assistant()).click()
    wait_for(lambda: counters(upstream)["conversations"] == before + 1, "the answer asked again")
    page.wait_answer(1)
    assert len(page.messages()) == 2
    assert page.current()["messages"][1]["content"] == saved[1]["content"]


def test_system_prompt_and_model_are_sent(driver, stack):
    server, upstream = stack("--delay-ms", "0")
    page = Page(driver, server.url)
    settings = page.all("details")
    for details in settings:
        if details.get_attribute("open") is None and details.find_elements(By.ID, "system"):
            details.find_element(By.TAG_NAME, "summary").click()
    system = page.find("#system")
    assert system.accessible_name == "System prompt"
    system.send_keys("Be brief.")
    models = page.models()
    assert len(models) >= 1
    from selenium.webdriver.support.ui import Select

    Select(page.find("#model")).select_by_value(models[-1])
    page.send("Hi")
    page.wait_answer(1)
    content = page.current()["messages"][1]["content"]
    assert content.startswith("You said: «System: Be brief.\nUser: Hi\nAssistant:»"), content
    assert page.current()["model"] == models[-1]


def test_an_api_key_is_asked_for_kept_in_the_browser_and_sent(driver, stack):
    server, upstream = stack("--delay-ms", "0", serve_args=("--api-key", KEY))
    page = Page(driver, server.url, wait_models=False)
    dialog = wait_for(lambda: (d := page.find("#key-dialog")).get_attribute("open") is not None and d, "the key dialog")
    field = page.find("#api-key")
    assert field.get_attribute("type") == "password"
    field.send_keys("sk-wrong")
    page.button("Use key", within=dialog).click()
    error = wait_for(lambda: (e := page.find("#key-error")).is_displayed() and e.text and e, "the refused-key message")
    assert "sk-wrong" not in error.text
    field = page.find("#api-key")
    field.clear()
    field.send_keys(KEY)
    page.button("Use key", within=page.find("#key-dialog")).click()
    wait_for(lambda: page.find("#key-dialog").get_attribute("open") is None, "the dialog closed")
    wait_for(lambda: page.models(), "models loaded with the key")
    page.send("With a key")
    page.wait_answer(1)
    assert driver.execute_script("return localStorage.getItem('fakegpt.apiKey')") == KEY
    assert KEY not in driver.current_url
    assert KEY not in page.find("body").text
    # A reload keeps the key: no dialog this time.
    driver.refresh()
    page = Page(driver, server.url)
    assert page.find("#key-dialog").get_attribute("open") is None


def test_rate_limits_and_failures_stay_readable(driver, stack):
    # One attempt: the gateway would otherwise wait out the 429 and retry.
    server, upstream = stack(
        "--delay-ms",
        "5",
        "--fault",
        "429:7",
        "--fault",
        "500",
        "--fault",
        "disconnect:6",
        serve_args=("--max-attempts", "1"),
    )
    page = Page(driver, server.url)
    page.send("First try")
    error = wait_for(lambda: page.errors(), "the 429 message")[0]
    assert "7 s" in error and ("many" in error.lower() or "rate" in error.lower()), error
    page.send("Then a failing upstream")
    wait_for(lambda: any("502" in e for e in page.errors()), "the 502 message")
    assert page.all('#log article[data-role="assistant"]') == [], "no answer was invented"
    page.send("Second try")
    failed = page.wait_answer(1, "failed")
    partial = failed.find_element(By.CSS_SELECTOR, ".content").text
    assert partial, "the partial answer is kept"
    notice = failed.find_element(By.CSS_SELECTOR, ".notice")
    assert notice.is_displayed() and notice.text
    saved = page.current()["messages"]
    assert saved[-1]["state"] == "failed" and saved[-1]["content"]
    page.send("Third try")
    page.wait_answer(2)


def test_keyboard_only_use(driver, stack):
    server, upstream = stack("--delay-ms", "0")
    page = Page(driver, server.url)
    box = page.find("#message")
    assert box.accessible_name == "Message"
    assert page.find("#log").get_attribute("role") == "log"
    box.click()
    page.type("line one\nline two")
    # An Enter that ends an IME composition does not send.
    driver.execute_script(
        "document.getElementById('message').dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', keyCode: 229, isComposing: true, bubbles: true, cancelable: true}))"
    )
    time.sleep(0.3)
    assert page.messages() == []
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    page.wait_answer(1)
    user = page.all('#log article[data-role="user"] .content')[0].text
    assert user == "line one\nline two"
    # Tab from the message box reaches the Send button.
    page.find("#message").send_keys("by keyboard")
    active = driver.switch_to.active_element
    for _ in range(6):
        active.send_keys(Keys.TAB)
        active = driver.switch_to.active_element
        if active.accessible_name == "Send":
            break
    assert active.accessible_name == "Send"
    active.send_keys(Keys.ENTER)
    page.wait_answer(2)


def test_full_storage_is_a_clear_message_not_a_silent_loss(driver, stack):
    server, upstream = stack("--delay-ms", "0")
    page = Page(driver, server.url)
    driver.execute_script(
        """
        // Fill the origin's quota to the last few characters.
        let i = 0;
        for (let size = 1 << 20; size >= 1; size >>= 1) {
          const chunk = 'x'.repeat(size);
          while (i < 4096) {
            try { localStorage.setItem('filler' + i, chunk); i++; } catch (e) { break; }
          }
        }
        window.__fillers = i;
        """
    )
    page.send("Will this be saved?")
    answer = page.wait_answer(1)
    alerts = wait_for(
        lambda: [a.text for a in page.all('[role="alert"]') if a.is_displayed() and "storage" in a.text.lower()],
        "the storage message",
    )
    assert "full" in alerts[0].lower()
    assert "Will this be saved?" in page.messages()[0].text and answer.text
    driver.execute_script("for (let i = 0; i < window.__fillers; i++) localStorage.removeItem('filler' + i)")


def test_a_phone_sized_screen(driver, stack):
    server, upstream = stack("--delay-ms", "0", "--replies", "markdown")
    # Headless Chromium keeps windows at least 500 px wide; a phone's
    # viewport is emulated instead, as DevTools' device mode does.
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": 375, "height": 812, "deviceScaleFactor": 1, "mobile": True}
    )
    try:
        page = Page(driver, server.url)
        assert driver.execute_script("return document.documentElement.clientWidth") == 375
        page.send("How does it look on a phone?")
        page.wait_answer(1)
        width = driver.execute_script("return document.documentElement.clientWidth")
        scroll = driver.execute_script("return document.documentElement.scrollWidth")
        assert scroll <= width + 1, f"the page scrolls sideways: {scroll} > {width}"
        assert page.find("#message").is_displayed() and page.find("#send").is_displayed()
        shots = ROOT / "target"
        shots.mkdir(exist_ok=True)
        (shots / "web-page-375.png").write_bytes(base64.b64decode(driver.get_screenshot_as_base64()))
        menu = page.find("#menu")
        assert menu.is_displayed()
        assert not page.find("#new-chat").is_displayed() or not _on_screen(driver, "#sidebar")
        menu.click()
        wait_for(lambda: page.find("#new-chat").is_displayed() and _on_screen(driver, "#sidebar"), "the drawer")
        time.sleep(0.4)  # the drawer's slide
        (shots / "web-page-375-drawer.png").write_bytes(base64.b64decode(driver.get_screenshot_as_base64()))
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def _on_screen(driver, selector: str) -> bool:
    """Whether the element lies wholly within the viewport's width."""
    return driver.execute_script(
        "const r = document.querySelector(arguments[0]).getBoundingClientRect();"
        "return r.width > 0 && r.left >= 0 && r.right <= document.documentElement.clientWidth + 1;",
        selector,
    )


def test_scrolling_up_stops_following_until_jump_to_latest(driver, stack):
    server, upstream = stack("--delay-ms", "10", "--reply-chars", "5000")
    driver.set_window_size(900, 600)
    try:
        page = Page(driver, server.url)
        page.send("A long answer to scroll through")
        answer = wait_for(page.assistant, "an answer to begin")
        gap = "const l = document.getElementById('log'); return l.scrollHeight - l.scrollTop - l.clientHeight;"
        wait_for(lambda: driver.execute_script("const l = document.getElementById('log'); return l.scrollHeight > 2 * l.clientHeight;"), "an answer taller than the screen")
        assert driver.execute_script(gap) <= 40, "the answer is followed while it streams"
        assert not page.find("#jump").is_displayed()
        driver.execute_script("const l = document.getElementById('log'); l.scrollTop = 0; l.dispatchEvent(new Event('scroll'));")
        jump = wait_for(lambda: page.find("#jump").is_displayed() and page.find("#jump"), "the jump button")
        time.sleep(0.3)
        assert driver.execute_script("return document.getElementById('log').scrollTop") < 40, "the reader stays where they scrolled"
        assert jump.accessible_name == "Jump to latest"
        jump.click()
        wait_for(lambda: driver.execute_script(gap) <= 40, "following again")
        assert not page.find("#jump").is_displayed()
        page.button("Stop").click()
        page.wait_answer(1, "stopped")
        assert answer.get_attribute("data-state") == "stopped"
    finally:
        driver.set_window_size(1280, 900)


def test_the_theme_follows_the_system(driver, stack):
    server, upstream = stack("--delay-ms", "0")
    background = "return getComputedStyle(document.body).backgroundColor"
    colours = {}
    try:
        for scheme in ("light", "dark"):
            driver.execute_cdp_cmd(
                "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": scheme}]}
            )
            page = Page(driver, server.url)
            colours[scheme] = driver.execute_script(background)
            (ROOT / "target").mkdir(exist_ok=True)
            (ROOT / "target" / f"web-page-{scheme}.png").write_bytes(base64.b64decode(driver.get_screenshot_as_base64()))
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})

    def luminance(css: str) -> float:
        r, g, b = [int(float(v)) for v in css[css.index("(") + 1 : css.index(")")].split(",")[:3]]
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    assert luminance(colours["light"]) > 180 > 80 > luminance(colours["dark"]), colours


def test_no_web_serves_the_api_only(server_factory):
    import urllib.error
    import urllib.request

    server = server_factory("serve", "--local", "--no-web")
    with pytest.raises(urllib.error.HTTPError) as page:
        urllib.request.urlopen(f"{server.url}/", timeout=10)
    assert page.value.code == 404
    with urllib.request.urlopen(f"{server.url}/v1/models", timeout=10) as models:
        assert models.status == 200
