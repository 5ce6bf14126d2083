"""The rules in words on the web: the glossary page, the change page's evidence linked to it,
material edits marked in the inline diff, and elisions at word boundaries."""

import re
from html.parser import HTMLParser

import pytest
from markupsafe import escape

from monitor.compare import summary_of, word_diff
from monitor.compare.classify import rule_glossary
from monitor.store import Queries
from monitor.web import glossary, pages
from monitor.web.render import Links, inline, make_environment, side_by_side
from monitor.web.static_site import build
from tests.web.test_web_data import build_store

OLD = "# Policy\n\nWe collect your email address.\n\nWe do not sell your personal information.\n\nContact us.\n"
NEW = "# Policy\n\nWe collect your email address.\n\nWe may sell your personal information.\n\nContact us now.\n"
EVIDENCE = [
    {"sentence": "We do not sell your personal information.", "side": "old", "rule": "negation-removed",
     "topics": ["sale"]},
    {"sentence": "We may sell your personal information.", "side": "new", "rule": "term-added", "topics": ["sale"]},
    {"sentence": "Contact us now.", "side": "new", "rule": "variant-seen:3", "topics": []},
]


class _Ids(HTMLParser):
    """Every id="…" in a page, and every href="…"."""

    def __init__(self):
        super().__init__()
        self.ids, self.hrefs = set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if "href" in attrs:
            self.hrefs.append(attrs["href"])


def _parse(html: str) -> _Ids:
    parser = _Ids()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def env():
    return make_environment()


def test_the_glossary_page_has_every_rule_with_its_anchor_and_words(env):
    html = env.get_template("glossary.html").render(links=Links("http://127.0.0.1:8000"), request_path="/glossary/",
                                                    **glossary.context())
    found = _parse(html)
    for entry in rule_glossary().values():
        assert entry.anchor in found.ids, entry.key
    for entry in rule_glossary().values():
        assert str(escape(entry.explains)) in html and str(escape(entry.why)) in html, entry.key
    # The vocabulary and each topic, with its severity.
    assert {"term-material", "term-editorial", "term-noise", "term-severity", "term-direction"} <= found.ids
    assert "topic-sale" in found.ids and "topic-contact" in found.ids
    # Links inside the page go to anchors that exist.
    assert all(href[1:] in found.ids for href in found.hrefs if href.startswith("#"))


def test_inline_marks_the_edits_of_material_sentences_only():
    runs = inline(word_diff(OLD, NEW), EVIDENCE)
    notes = [rules for kind, _, rules in runs if kind == "note"]
    assert notes == [("negation-removed", "term-added")]  # one label, before the sentence's first edit
    marked = [(kind, text) for kind, text, rules in runs if kind in ("del", "ins") and rules]
    assert ("del", "do not") in marked and ("ins", "may") in marked
    # The variant-seen sentence is changed but not material: not marked.
    assert [text for kind, text, rules in runs if kind == "ins" and not rules] == [" now"]
    note_at = next(i for i, run in enumerate(runs) if run[0] == "note")
    assert runs[note_at + 1][1] == "do not"


def test_side_by_side_calls_a_row_material_only_for_a_material_rule():
    rows = [row for row in side_by_side(word_diff(OLD, NEW), EVIDENCE) if "skip" not in row]
    by_text = {"".join(text for _, text in row["right"]): row for row in rows}
    assert by_text["We may sell your personal information."]["material"] == ["negation-removed", "term-added"]
    contact = by_text["Contact us now."]
    assert contact["notes"] and contact["material"] == []


def test_inline_elision_cuts_at_word_boundaries():
    context = " ".join(f"clause{n} of the policy" for n in range(120))
    old, new = context + " We do not sell. " + context, context + " We may sell. " + context
    runs = inline(word_diff(old, new), context=100)
    kept = [text for kind, text, _ in runs if kind == "eq"]
    assert any(kind == "skip" for kind, _, _ in runs)
    words = set(context.split()) | {"We", "sell."}
    for text in kept:
        assert set(text.split()) <= words, text
    skipped = [int(text.split()[0].replace(",", "")) for kind, text, _ in runs if kind == "skip"]
    deleted = sum(len(text) for kind, text, _ in runs if kind == "del")
    assert sum(skipped) + sum(map(len, kept)) + deleted == len(old)  # every character shown or counted


def test_evidence_is_grouped_by_sentence_with_each_rule_once():
    groups = glossary.evidence_groups([
        {"sentence": "S", "side": "new", "rule": "term-added", "topics": ["sharing"]},
        {"sentence": "S", "side": "new", "rule": "term-added", "topics": ["advertising"]},
        {"sentence": "S", "side": "new", "rule": "practice-added", "topics": ["sharing"]},
        {"sentence": "", "side": "new", "rule": "returns-to-version:2", "topics": []},
        {"sentence": "S", "side": "old", "rule": "no-such-rule", "topics": []},
    ])
    assert [(g["sentence"], g["side"], g["material"]) for g in groups] == [
        ("S", "new", True), ("", "new", False), ("S", "old", False)]
    first = groups[0]["rules"]
    assert [(r["rule"], r["topics"]) for r in first] == [("term-added", ["sharing", "advertising"]),
                                                         ("practice-added", ["sharing"])]
    assert groups[1]["rules"][0]["entry"].key == "returns-to-version"
    assert groups[2]["rules"][0]["entry"] is None


def test_change_page_reads_summary_then_evidence_then_diff_and_links_every_rule(env, tmp_path):
    db = tmp_path / "policywatch.db"
    ids = build_store(db)
    links = Links("http://127.0.0.1:8000")
    context = pages.change(Queries(str(db), summarise=summary_of), ids["sale_change"], "permalink")
    html = env.get_template("change.html").render(links=links, request_path="/", **context)
    order = [html.index(marker) for marker in ('id="summary"', 'id="evidence"', 'id="inline"', 'id="versions"')]
    assert order == sorted(order)
    rule_links = re.findall(r'<a class="rule" href="/glossary/#(rule-[a-z-]+)"', html)
    assert "rule-negation-removed" in rule_links
    shown = {e["rule"] for e in context["change"]["evidence"]}
    assert {f"rule-{rule}" for rule in shown} <= set(rule_links)
    assert 'class="explains"' in html and rule_glossary()["negation-removed"].name.replace("“", "") in \
        html.replace("“", "")
    inline_html = html[html.index('id="inline"'):html.index('id="side"')]
    assert '<mark class="material-label">material: ' in inline_html
    assert re.search(r'<del class="material" title="material: [^"]*negation-removed', inline_html)


def test_the_static_site_has_the_glossary_and_its_change_pages_link_to_it(tmp_path):
    db = tmp_path / "policywatch.db"
    ids = build_store(db)
    build(str(db), tmp_path / "www", base_url="https://example.org/policies")
    page = (tmp_path / "www" / "glossary" / "index.html").read_text("utf-8")
    assert all(entry.anchor in _parse(page).ids for entry in rule_glossary().values())
    change = (tmp_path / "www" / "change" / str(ids["sale_change"]) / "index.html").read_text("utf-8")
    assert 'href="/policies/glossary/#rule-negation-removed"' in change
    assert 'href="/policies/glossary/"' in change  # the header's link
