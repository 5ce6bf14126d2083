"""Templates: operator overrides (and their errors), escaping per format, huge diffs, limits."""

import sqlite3

import pytest

import notify
from monitor.compare.classify import explain
from monitor.store import open_store
from notify import channels
from notify.messages import change_context, sample_context_for
from notify.outbox import send_pending
from notify.render import TemplateProblem, check_templates, render_message
from notify.settings import NotifySettings
from notify.subscriptions import add_subscription
from tests.receivers import material_change

HUGE_SENTENCE = "We may share your personal information with our partners " + "and affiliates " * 4000 + "."


def test_bundled_templates_escape_hostile_text_in_every_format():
    for kind in ("alert", "digest", "operator"):
        _, html = render_message(kind, sample_context_for(kind), "html")
        assert "<script>" not in html and "&lt;script&gt;" in html
        _, markdown = render_message(kind, sample_context_for(kind), "markdown")
        assert "<script>" not in markdown and "](http://evil" not in markdown and "**bold**" not in markdown
        _, text = render_message(kind, sample_context_for(kind), "text")
        assert "{{ 7*7 }}" in text or kind == "operator"  # crawled text is data, never a template


def test_an_operator_override_is_used(store, receiver, tmp_path):
    (tmp_path / "alert.txt.j2").write_text("CUSTOM {{ target.company }} {{ change['class'] }} "
                                           "{{ hunks | length }} edits\n")
    add_subscription(store, receiver.url())
    material_change(store, "Acme")
    assert send_pending(store, template_dir=str(tmp_path)).sent == 1
    assert receiver.requests[0]["body"]["message"].startswith("CUSTOM Acme material 2 edits")


@pytest.mark.parametrize("name, text, says", [
    ("alert.html.j2", "<p>{{ target.company </p>\n", "alert.html.j2, line 1"),
    ("alert.txt.j2", "ok\n{% for x in hunks %}\nunclosed\n", "alert.txt.j2"),
    ("digest.md.j2", "line\n{{ no_such_variable.x }}\n", "'no_such_variable' is undefined"),
    ("operator_title.txt.j2", "{{ event.kind | no_such_filter }}", "No filter named 'no_such_filter'"),
])
def test_a_broken_override_fails_notify_clearly_and_loses_nothing(cli, db_path, tmp_path, receiver,
                                                                   name, text, says):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / name).write_text(text)
    cli("subscribe", receiver.url(), check=0)
    store = open_store(db_path)
    notify.install()
    material_change(store, "Acme")
    store.close()
    result = cli("notify", "--template-dir", templates, check=1)
    assert says in result.stderr, result
    assert result.stderr.startswith("policywatch: error: template") and result.stderr.count("\n") == 1
    db = sqlite3.connect(db_path)
    assert db.execute("SELECT status, attempts FROM deliveries").fetchall() == [("pending", 0)]
    assert receiver.requests == []
    (templates / name).unlink()  # the operator fixes it
    assert cli("notify", "--template-dir", templates, "--json", check=0).json()["sent"] == 1


def test_a_template_error_at_send_time_keeps_the_delivery_for_later(store, receiver, tmp_path):
    """The crawl's send path has no up-front check: the row waits, never dies, for a fix."""
    (tmp_path / "alert.txt.j2").write_text("{{ target.company }}\n{{ 1 / 0 }}\n")
    add_subscription(store, receiver.url())
    material_change(store, "Acme")
    settings = NotifySettings(backoff_seconds=0, backoff_cap_seconds=0, max_attempts=2,
                              template_dir=str(tmp_path))
    for _ in range(4):
        assert send_pending(store, settings=settings).failed == 1
    delivery = store.db["deliveries"].get(1)
    assert delivery["status"] == "failed" and delivery["attempts"] == 0
    assert "alert.txt.j2, line 2" in delivery["last_error"] and "ZeroDivisionError" in delivery["last_error"]
    (tmp_path / "alert.txt.j2").unlink()
    assert send_pending(store, settings=settings).sent == 1
    assert receiver.requests and receiver.duplicates == []


def test_missing_template_directory_is_a_clear_error():
    with pytest.raises(TemplateProblem, match="template directory /no/such/dir does not exist"):
        check_templates("/no/such/dir", sample_context_for)


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_a_huge_diff_is_cut_to_fit_with_a_link(store, receiver, fmt):
    add_subscription(store, receiver.url(), fmt=fmt)
    extra = "".join(f"<p>We may share category {n} data with partner {n}.</p>" for n in range(40))
    change_id = material_change(store, "Acme", extra=extra + f"<p>{HUGE_SENTENCE}</p>")
    settings = NotifySettings(max_body_chars=3000, base_url="https://watch.example")
    assert send_pending(store, settings=settings).sent == 1
    message = receiver.requests[0]["body"]["message"]
    assert len(message) <= 3000
    assert f"https://watch.example/change/{change_id}/" in message
    assert "more edits" in message
    assert "and affiliates and affiliates" not in message or len(message) < 3000


def test_channel_limits_are_respected():
    telegram = channels.channel("tgram://123456789:abcdefghijklmnopqrstuvwxyz0123456789/12315544")
    title_limit, body_limit = channels.limits(telegram)
    assert body_limit == 4096
    change = {"id": 7, "class": "material", "severity": 3, "direction": "expands", "topics": ["sale"],
              "evidence": [{"sentence": HUGE_SENTENCE, "rule": "r", "side": "new"}] * 3,
              "hunks": [{"old_sentence": f"old {n} " + HUGE_SENTENCE, "new_sentence": f"new {n} " + HUGE_SENTENCE,
                         "topics": ["sale"], "severity": 3} for n in range(50)]}
    target = {"id": 1, "company": "Acme", "doc_type": "Privacy Policy", "url": "https://acme.example/p"}
    context_for = change_context(change, target, {"id": 1}, base_url="https://w.example", max_items=5)
    for fmt in ("text", "markdown", "html"):
        title, body = render_message("alert", context_for, fmt, body_limit=body_limit, title_limit=title_limit)
        assert len(body) <= body_limit and len(title) <= 200
        assert "https://w.example/change/7/" in body
    _, tiny = render_message("alert", context_for, "html", body_limit=300)
    assert len(tiny) <= 300 and "cut to fit" in tiny
    assert tiny.count("<") == tiny.count(">")  # no half tag


@pytest.mark.parametrize("base_url", ["https://watch.example", ""])
def test_an_alert_says_what_each_rule_means_and_links_its_glossary_entry(base_url):
    """The "Why" of an alert names each rule in words (the glossary's line) and, with a base URL,
    links its entry on the web's glossary page; an id carrying a value links to its family."""
    change = {"id": 7, "class": "material", "severity": 3, "direction": "expands", "topics": ["sale"],
              "evidence": [{"sentence": "We do not sell your data.", "rule": "negation-removed", "side": "old"},
                           {"sentence": "Colour is now color.", "rule": "variant-seen:12", "side": "new"}],
              "hunks": []}
    target = {"id": 1, "company": "Acme", "doc_type": "Privacy Policy", "url": "https://acme.example/p"}
    context = change_context(change, target, {"id": 1}, base_url=base_url, max_items=5)
    _, html = render_message("alert", context, "html")
    _, markdown = render_message("alert", context, "markdown")
    removed, variant = explain("negation-removed"), explain("variant-seen:12")
    assert removed and variant and removed.explains in html
    link = "https://watch.example/glossary/#rule-negation-removed"
    if base_url:
        assert f'<a href="{link}"><samp>negation-removed</samp></a>' in html
        assert f"(https://watch.example/glossary/#{variant.anchor})" in markdown and f"({link})" in markdown
    else:
        assert "/glossary/" not in html and "/glossary/" not in markdown


def test_an_excerpt_in_an_alert_is_cut_at_a_word_boundary():
    words = [f"partner{n}" for n in range(120)]  # 1,200 characters: longer than an excerpt
    sentence = "We may share your data with " + " ".join(words) + "."
    change = {"id": 7, "class": "material", "severity": 3, "direction": "expands", "topics": ["sharing"],
              "evidence": [{"sentence": sentence, "rule": "term-added", "side": "new"}], "hunks": []}
    target = {"id": 1, "company": "Acme", "doc_type": "Privacy Policy", "url": "https://acme.example/p"}
    _, text = render_message("alert", change_context(change, target, {"id": 1}, base_url="", max_items=5), "text")
    [excerpt] = [line for line in text.splitlines() if line.startswith("- [term-added]")]
    assert excerpt.endswith("…")
    assert excerpt.removesuffix("…").split()[-1] in words  # a whole word before the cut
