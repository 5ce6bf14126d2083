"""Selectors (CSS and OTA ranges), consent banners, main-content fallback and comparison noise."""

import json

import pytest

from monitor.errors import ExtractionError
from monitor.extract import comparable_text, extract

PAGE = """<!DOCTYPE html><html><head><title>Acme</title></head><body>
<header><a href="/">Home</a> <a href="/shop">Shop</a></header>
<div id="onetrust-consent-sdk"><p>We use cookies. Accept all</p></div>
<div class="content">
  <h1>Privacy Policy</h1>
  <p class="intro">Last updated: <em>May 1, 2024</em></p>
  <h2 id="collect">What we collect</h2>
  <p>We collect your <strong>email address</strong> and <a href="/help?utm_source=nl&amp;id=7">contact details</a>.</p>
  <div class="ad">Buy our stuff</div>
  <h2 id="share">Sharing</h2>
  <ul><li>We do not sell your data.</li><li>We share it with processors.</li></ul>
  <table><tr><th>Data</th><th>Kept</th></tr><tr><td>Logs</td><td>30 days</td></tr></table>
  <h2 id="end">Contact</h2>
  <p>Write to privacy@acme.example.</p>
</div>
<footer>© 2024 Acme</footer>
</body></html>"""

CASES = [
    # (select, remove, expected substrings, forbidden substrings)
    ([".content"], [".ad"], ["# Privacy Policy", "- We do not sell your data.", "| Logs | 30 days |",
                             "[contact details](https://acme.example/help?utm_source=nl&id=7)"],
     ["Buy our stuff", "Accept all", "Home"]),
    (["h1", "#share + ul"], [], ["# Privacy Policy", "We share it with processors."], ["What we collect"]),
    ([{"startBefore": "#share", "endBefore": "#end"}], [], ["## Sharing", "| Logs | 30 days |"],
     ["What we collect", "Write to privacy"]),
    ([{"startAfter": "#collect", "endAfter": "table"}], [".ad"],
     ["We collect your **email address**", "30 days"], ["## What we collect", "Write to", "Buy our"]),
    ([".content"], [{"startBefore": "#collect", "endBefore": "#share"}, ".intro"],
     ["# Privacy Policy", "## Sharing"], ["What we collect", "email address", "Last updated"]),
    ([], [], ["# Privacy Policy", "We do not sell your data."], ["Accept all"]),  # no selector
]


@pytest.mark.parametrize("select,remove,present,absent", CASES)
def test_selectors(select, remove, present, absent):
    text = extract(PAGE.encode(), "text/html", url="https://acme.example/privacy",
                   select=select, remove=remove).text
    for fragment in present:
        assert fragment in text, (fragment, text)
    for fragment in absent:
        assert fragment not in text, (fragment, text)


@pytest.mark.parametrize("select", [[".nothing"], [{"startBefore": "#nope", "endBefore": "#end"}]])
def test_a_selector_that_matches_nothing_is_an_extraction_error(select):
    with pytest.raises(ExtractionError, match="matched nothing"):
        extract(PAGE.encode(), "text/html", select=select)


NOISE = [
    # (old fragment, new fragment): the compared texts must stay equal
    ('<a href="/help?utm_source=nl">contact details</a>',
     '<a href="/help?utm_source=mail&amp;fbclid=9">contact details</a>'),
    ('<a href="https://cdn.example/t/AbC123/policy.pdf">PDF</a>', '<a href="https://cdn.example/t/ZzZ999/policy.pdf">PDF</a>'),
    ("<p>Last updated: May 1, 2024</p>", "<p>Last updated: 2 June 2025</p>"),
    ("<p>© 2023 Acme Inc. All rights reserved.</p>", "<p>© 2024 Acme Inc. All rights reserved.</p>"),
    ("<p>Effective date: 01/05/2024</p>", "<p>Effective Date: 2025-06-02</p>"),
    ("<p>We don’t sell data — ever.</p>", "<p>We don't sell data - ever.</p>"),
    ("<p>We\u00a0keep  logs.</p>", "<p>We keep logs.</p>"),
    ("<p>Data</p>",
     '<p>Data</p><div class="cookie-banner"><p>We use cookies to improve your experience. Accept all</p></div>'),
    ("<p>Data</p>",
     '<p>Data</p><div role="dialog"><p>Your privacy choices: we use cookies</p><button>OK</button></div>'),
]


@pytest.mark.parametrize("old,new", NOISE)
def test_noise_is_ignored_when_comparing(old, new):
    def text(fragment):
        page = f"<html><body><main><h1>Policy</h1>{fragment}<p>We keep logs for 30 days.</p></main></body></html>"
        return comparable_text(extract(page.encode(), "text/html", url="https://acme.example/").text)
    assert text(old) == text(new)


def test_a_word_change_is_not_noise():
    def text(days):
        page = f"<html><body><main><p>We keep logs for {days} days.</p></main></body></html>"
        return comparable_text(extract(page.encode(), "text/html").text)
    assert text(30) != text(90)


def test_extract_cli_with_an_ota_declaration(cli, tmp_path):
    page = tmp_path / "page.html"
    page.write_text(PAGE)
    declaration = tmp_path / "decl.json"
    declaration.write_text(json.dumps({"fetch": "https://acme.example/privacy", "select": ".content",
                                       "remove": [".ad", {"startBefore": "#end", "endAfter": "footer"}]}))
    result = cli("extract", page, "--declaration", declaration, check=0)
    assert "# Privacy Policy" in result.stdout
    assert "https://acme.example/help" in result.stdout
    assert "Buy our stuff" not in result.stdout and "privacy@acme" not in result.stdout
    extra = cli("extract", page, "--declaration", declaration, "--remove", "table", check=0)
    assert "30 days" not in extra.stdout
