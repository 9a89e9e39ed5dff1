"""`newsmon serve` in a real headless Chromium (Debian's, through its chromedriver; nothing downloaded).

Loads the stories, filters by a rule through the form, opens an article (highlights), follows the
feed link, and checks that a hostile article runs nothing. Screenshots go to test-artifacts/ and
their paths are printed at the end of the pytest run. Without chromium or chromedriver the test
skips, unless NEWSMON_REQUIRE_BROWSER=1 (CI sets it): then it fails.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, SCREENSHOTS, Served, WebStore, query_json, serving

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = ROOT / "test-artifacts"


def _browser_or_skip() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package")
    if not missing:
        return
    reason = f"browser tests need {', '.join(missing)} (apt-get install chromium chromium-driver)"
    if os.environ.get("NEWSMON_REQUIRE_BROWSER") == "1":
        pytest.fail(f"NEWSMON_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    _browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)  # explicit paths: Selenium Manager never downloads anything
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000",
                "--hide-scrollbars", "--force-device-scale-factor=1"):
        options.add_argument(arg)
    browser = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    browser.set_page_load_timeout(30)
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture(scope="module")
def served(web_store: WebStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(web_store, tmp_path_factory.mktemp("serve") / "stderr.log") as app:
        yield app


def screenshot(browser: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    assert browser.save_screenshot(str(path)), path
    SCREENSHOTS.append(path)
    return path


def test_read_filter_open_and_follow_the_feed(driver: Any, served: Served, web_store: WebStore) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver.get(served.url + "articles")
    stories = driver.find_elements(By.CSS_SELECTOR, "li.story h2 a")
    expected = query_json(web_store.db, "--limit", "50")
    assert [s.get_attribute("href") for s in stories] == [f"{served.url}articles/{a['id']}" for a in expected]
    assert all(s.is_displayed() for s in stories[:3])

    rule = "digital-manufacturing"
    Select(driver.find_element(By.NAME, "rule")).select_by_value(rule)
    driver.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
    # The click only starts the navigation: wait (with a deadline) for the filtered page.
    WebDriverWait(driver, 30).until(lambda d: f"rule={rule}" in d.current_url)
    assert driver.current_url.startswith(served.url + f"articles?rule={rule}&")
    titles = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "li.story h2 a")]
    assert titles == [a["title"] for a in query_json(web_store.db, "--rule", rule)]
    assert Select(driver.find_element(By.NAME, "rule")).first_selected_option.get_attribute("value") == rule
    screenshot(driver, "serve-1-stories")

    driver.find_element(By.CSS_SELECTOR, "li.story h2 a").click()
    marks = driver.find_elements(By.CSS_SELECTOR, "section.text mark")
    assert len(marks) >= 3 and all(m.value_of_css_property("background-color") != "rgba(0, 0, 0, 0)" for m in marks)
    assert driver.find_element(By.CSS_SELECTOR, ".matched").text.count("manufactur") >= 1
    screenshot(driver, "serve-2-article")

    driver.find_element(By.LINK_TEXT, "Feed").click()
    assert driver.current_url == served.url + "feed.atom"
    assert "urn:newsmon:feed" in driver.page_source and expected[0]["url"] in driver.page_source


def test_a_hostile_article_runs_nothing(driver: Any, served: Served, web_store: WebStore) -> None:
    from selenium.webdriver.common.by import By

    for path in ("articles?language=de", f"articles/{web_store.hostile_id}", "runs"):
        driver.get(served.url + path)
        # Every payload would set window.pwned; an alert() would make the next command raise.
        assert driver.execute_script("return window.pwned === undefined") is True, path
        assert driver.execute_script("return document.querySelectorAll('main script, main img, [onerror]').length") \
            == 0, path
    assert driver.find_element(By.CSS_SELECTOR, "main h1").text == "Recent runs"
    screenshot(driver, "serve-3-runs")
    driver.get(served.url + "sources")
    assert driver.find_element(By.CSS_SELECTOR, "tbody tr.failing td").text == "hostile-news"
    screenshot(driver, "serve-4-sources")
    driver.get(served.url + f"articles/{web_store.hostile_id}")
    assert driver.find_element(By.CSS_SELECTOR, "main h1").text.startswith("<script>window.pwned=1</script>Green")
    hrefs = driver.execute_script("return [...document.querySelectorAll('a')].map(a => a.href)")
    assert not [h for h in hrefs if not h.startswith(("http://", "https://"))]
    screenshot(driver, "serve-5-hostile-article")
    driver.get(served.url + "articles")  # the hostile stories are the newest: on top, as text
    screenshot(driver, "serve-6-hostile-stories")


def test_the_stories_read_on_a_phone(driver: Any, served: Served) -> None:
    from selenium.webdriver.common.by import By

    driver.set_window_size(412, 915)
    try:
        driver.get(served.url + "articles?source=sample-news")
        width = driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= 412, "the page scrolls sideways on a phone"
        assert driver.find_element(By.CSS_SELECTOR, "li.story h2 a").is_displayed()
        screenshot(driver, "serve-7-phone")
    finally:
        driver.set_window_size(1280, 1000)


def test_artifacts_folder_is_ignored_by_git() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    assert "test-artifacts/" in (ROOT / ".gitignore").read_text().splitlines()
