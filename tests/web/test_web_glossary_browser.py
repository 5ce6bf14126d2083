"""A journalist on a change page in a real browser (Debian's Chromium, Playwright) against the real
``policywatch serve`` (uvicorn) on 127.0.0.1: reads the summary first, follows a rule to its
explanation in the glossary, and sees the material edit marked in the inline diff."""

import re

import pytest

from tests.web.browsing import BROWSER_MARKS, Watched
from tests.web.test_web_data import build_store, serving

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    db = tmp_path_factory.mktemp("glossary") / "policywatch.db"
    ids = build_store(db)
    with serving(db) as base:
        yield base, ids


@pytest.fixture
def watched(browser):
    page = Watched(browser)
    yield page
    assert page.csp_violations == [], "a page broke its own Content-Security-Policy"
    assert page.errors == []
    page.close()


def _top(locator) -> float:
    return locator.evaluate("element => element.getBoundingClientRect().top + window.scrollY")


def _landed_on(page, anchor: str) -> None:
    """The URL ends in the rule's fragment, the fragment's element is the CSS :target and is on screen."""
    page.wait_for_url(re.compile(rf"/glossary/#{anchor}$"))
    assert page.evaluate("document.querySelector(':target') && document.querySelector(':target').id") == anchor
    box = page.locator(f"#{anchor}").evaluate("e => [e.getBoundingClientRect().top, window.innerHeight]")
    assert 0 <= box[0] < box[1], box


def test_reads_the_summary_then_follows_a_rule_to_its_explanation(web, watched):
    base, ids = web
    page = watched.page
    page.goto(f"{base}/change/{ids['sale_change']}/")

    # The summary comes first, in words: the broken promise, quoted.
    headline = page.locator("section.summary p.headline").inner_text()
    assert headline.startswith("No longer says:"), headline
    assert "We do not sell your personal information" in headline
    bullets = page.locator("section.summary ul.bullets li").all_inner_texts()
    assert bullets and bullets[0].startswith("removed")
    evidence = page.locator("ul.evidence")
    assert _top(page.locator("section.summary")) < _top(evidence) < _top(page.locator("nav.toggle"))

    # Each rule is named, explained beside it, and links to the glossary.
    line = evidence.locator("ul.rules li", has=page.locator("a.rule", has_text="negation-removed"))
    rule = line.locator("a.rule")
    assert "A “not” was removed" in line.inner_text()
    assert "something the policy said it does not do" in line.locator(".explains").inner_text()
    watched.shot("12-change-summary-and-evidence")
    rule.click()
    _landed_on(page, "rule-negation-removed")
    entry = page.locator("#rule-negation-removed")
    assert "A “not” was removed" in entry.locator("h3").inner_text()
    assert "Why it matters" in entry.inner_text() and "severity 3" in entry.inner_text()
    watched.shot("13-glossary-entry")

    # Back on the change, the inline diff marks the material edit in words, and its label links too.
    page.go_back()
    page.wait_for_url(re.compile(rf"/change/{ids['sale_change']}/$"))
    page.locator("#show-inline").click()
    label = page.locator("#inline mark.material-label")
    assert label.count() == 1 and label.inner_text().startswith("material:")
    assert page.locator("#inline del.material", has_text="do not").count() == 1
    assert page.locator("#inline ins.material", has_text="may").count() == 1
    watched.shot("14-change-inline-material")
    label.locator("a.rule", has_text="term-added").click()
    _landed_on(page, "rule-term-added")


def test_the_glossary_is_in_the_site_navigation(web, watched):
    base, _ = web
    page = watched.page
    page.goto(base + "/")
    page.locator("header.site nav a", has_text="Glossary").click()
    page.wait_for_url(re.compile(r"/glossary/$"))
    assert page.locator("h1").inner_text().startswith("Glossary")
    assert page.locator("article.rule-entry").count() >= 40
    page.locator("dl.vocabulary dt#term-material").wait_for()
