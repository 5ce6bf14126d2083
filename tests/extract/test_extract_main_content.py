"""Main content without a selector (``monitor.extract.blocks``): every block of the policy, nothing of
the page's furniture, and the same choice across captures that differ only outside the policy.

Fixtures in tests/fixtures/main_content/ are small hand-written pages; the stability tests also
perturb the real captures of tests/fixtures/snapshots.
"""

import re
from pathlib import Path

import pytest

from monitor.evaluation import runs
from monitor.extract import extract
from monitor.extract.main_content import DEFAULT_DETECTOR

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "main_content"
SNAPSHOTS = Path(__file__).resolve().parents[1] / "fixtures" / "snapshots"


def text_of(name: str, **options) -> str:
    body = (FIXTURES / name).read_bytes()
    return " ".join(extract(body, "text/html", url="https://example.com/privacy", **options).text.split())


def test_blocks_is_the_default():
    assert DEFAULT_DETECTOR == "blocks"


def test_sibling_blocks_are_all_kept():
    text = text_of("siblings.html")
    for sentence in ("This policy explains how we collect", "We collect the information you give us",
                     "We do not sell your personal data", "You may access, correct or delete",
                     "Questions about this policy can be sent"):
        assert sentence in text
    for furniture in ("Careers", "Help", "© 2025"):
        assert furniture not in text


def test_tables_are_kept_as_markdown_rows():
    text = text_of("table.html")
    assert "| Category | Purpose | Retention |" in text
    assert "| Location | Nearby matches | 30 days |" in text
    assert "| Payment processor | United States (standard contractual clauses) |" in text
    assert "After these periods the data is deleted" in text
    assert "registered in England" not in text and "About" not in text


def test_collapsed_panels_present_in_the_html_are_kept():
    text = text_of("accordion.html")
    for sentence in ("We collect your profile answers",  # open panel
                     "We share data with service providers",  # aria-hidden
                     "We delete your profile within 28 days",  # hidden attribute
                     "standard contractual clauses",  # display: none
                     "not directed to anyone under eighteen"):  # <details>
        assert sentence in text
    for heading in ("Who we share it with", "How long we keep it", "International transfers"):
        assert heading in text
    assert "Success stories" not in text  # a hidden menu is furniture, not a panel


def test_boilerplate_heavy_page_keeps_only_the_policy():
    text = text_of("boilerplate.html")
    assert text.startswith("# Privacy Policy")
    for sentence in ("We collect the data you enter", "We do not use your messages to train",
                     "with authorities when the law requires it", "withdraw your consent",
                     "10 rue de la Paix"):
        assert sentence in text
    for furniture in ("We use cookies", "Pricing", "Legal ›", "Ten tips for a safer first date",
                      "Subscribe to our newsletter", "share capital", "Imprint", "Share"):
        assert furniture not in text, furniture


def test_sections_anchored_with_furniture_words_stay():
    # "#sharing", "#cookies", class "social-…": a policy's own sections, not share bars or banners.
    text = text_of("anchors.html")
    for kept in ("## Sharing", "Payment processors", "## Cookies", "Analytics (with consent)",
                 "## Social media", "Identity data", "also available in German"):
        assert kept in text, kept
    for furniture in ("Log in", "Jobs", "Press"):
        assert furniture not in text


def test_a_policy_of_short_items_is_not_cut_to_its_intro():
    # The only prose is the intro; the list is most of the text: the page's main is kept.
    text = text_of("short_items.html")
    assert "This page lists every category" in text
    assert "Category 1: identifier number 1" in text and "Category 40:" in text
    assert "Help" not in text and "Terms" not in text


def test_readability_still_registered():
    assert "We collect the data you enter" in text_of("boilerplate.html", detector="readability")


def _rotate(html: str, seed: int) -> str:
    """The same page as another capture might serve it: fresh ids and classes on wrappers, a
    different ad and A/B widget outside the policy, a new counter in the footer."""
    html = re.sub(r'class="(page|layout|cols|hero|site-top)"',
                  lambda m: f'class="{m.group(1)} css-{seed * 7919 % 10007:x}" id="w{seed}"', html)
    ad = (f'<div class="ad-slot-{seed}"><a href="https://ads.example/{seed}">Offer {seed}: '
          f'{"premium " * (seed % 5 + 1)}membership at half price this week only</a></div>')
    widget = f'<div class="ab-test variant-{seed % 3}"><p>Rated {seed % 5}.{seed % 10} by members</p></div>'
    html = html.replace("<body>", f"<body>{ad}{widget}", 1)
    return html.replace("</body>", f"<footer><p>{seed} visitors today</p></footer></body>", 1)


@pytest.mark.parametrize("name", ["siblings.html", "table.html", "accordion.html", "boilerplate.html",
                                  "anchors.html"])
def test_the_same_blocks_are_chosen_across_captures(name):
    html = (FIXTURES / name).read_text()
    texts = {extract(_rotate(html, seed).encode(), "text/html").text for seed in range(1, 6)}
    assert len(texts) == 1
    assert texts == {extract(html.encode(), "text/html").text}


def _inject(html: str, seed: int) -> str:
    """Furniture a capture may add outside the policy: a sponsored link block, a language menu,
    a hidden drawer, a short banner; and fresh wrapper attributes."""
    extra = (f'<div class="promo-{seed}"><a href="/offer/{seed}">Upgrade now and get {seed} months free '
             f'with our premium plan for new members</a></div>'
             f'<ul class="language-menu"><li><a href="/de">Deutsch</a></li><li><a href="/fr">Français</a></li></ul>'
             f'<div aria-hidden="true" class="drawer"><a href="/a">A</a><a href="/b">B</a></div>'
             f'<div id="banner-{seed}"><span>New: {seed} features</span></div>')
    html = re.sub(r"<body([^>]*)>", lambda m: f"<body{m.group(1)} data-build=\"{seed}\">{extra}", html,
                  count=1)
    return html.replace("</body>", f'<div class="toast">{seed}</div></body>', 1)


@pytest.mark.parametrize("run", runs(SNAPSHOTS), ids=lambda run: run.name)
def test_real_captures_are_stable_under_furniture(run):
    html = (run / "01.html").read_text(encoding="utf-8", errors="replace")
    base = extract(html.encode(), "text/html").text
    for seed in (3, 8):
        assert extract(_inject(html, seed).encode(), "text/html").text == base


def test_a_short_page_with_one_long_paragraph_keeps_its_short_ones():
    """Only one paragraph is long enough to count as prose: the region is the container around
    it, not that paragraph alone (a short policy must not lose its other sentences)."""
    from monitor.extract import extract
    html = ("<html><body><nav><a href='/'>Home</a></nav><main><h1>Privacy</h1>"
            "<p>We collect your email address and your precise location to run the service.</p>"
            "<p>We may sell your personal information to partners.</p>"
            "<p>Contact us at privacy@acme.example.</p></main></body></html>")
    text = extract(html.encode(), "text/html").text
    assert "We may sell your personal information" in text and "Contact us" in text
    assert "Home" not in text
