"""Alerts by e-mail: apprise mailto:// to a real SMTP server (aiosmtpd) on 127.0.0.1."""

import pytest

from notify.outbox import send_pending
from notify.settings import NotifySettings
from notify.subscriptions import add_subscription
from tests.receivers import SMTPReceiver, material_change

HOSTILE = '<script>alert("x")</script> **bold** [click](http://evil.example/) & <img src=x onerror=1>'


@pytest.fixture
def smtp():
    server = SMTPReceiver().start()
    yield server
    server.stop()


def test_html_alert_by_email_is_escaped_and_complete(store, smtp):
    sub = add_subscription(store, smtp.url(), fmt="html", name="press desk")
    change_id = material_change(store, f"Acme {HOSTILE}", url="https://acme.example/privacy",
                                extra=f"<p>We share data with {HOSTILE} partners.</p>")
    report = send_pending(store, settings=NotifySettings(base_url="https://watch.example/"))
    assert (report.sent, report.failed, report.dead) == (1, 0, 0)

    [message] = smtp.messages
    assert message["To"] == "watchdog@example.org"
    assert "Privacy Policy: No longer says: “We do not sell" in message["Subject"]  # the headline
    assert "Acme" in message["Subject"]
    assert message["Idempotency-Key"] == f"change:{change_id}:subscription:{sub['id']}"
    html = message.get_body(("html",)).get_content()
    plain = message.get_body(("plain",)).get_content()
    # Crawled text is escaped, never markup.
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x onerror=1&gt;" in html
    assert "&amp;" in html
    # The material sentences before and after, class/severity/topics, the diff link, the hint.
    assert "We do not sell your personal information." in html
    assert "We may sell your personal information to advertising partners." in html
    assert "<del>" in html and "<ins>" in html
    assert "material" in html and "severity" in html and "sale" in html
    assert f'href="https://watch.example/change/{change_id}/"' in html
    assert f"policywatch unsubscribe {sub['id']}" in html and "press desk" in html
    assert "We may sell your personal information" in plain
    assert smtp.password not in message.as_string()


def test_text_and_markdown_alerts_by_email(store, smtp):
    add_subscription(store, smtp.url(), fmt="text")
    add_subscription(store, smtp.url(), fmt="markdown")
    material_change(store, "Acme [x](http://evil.example) *")
    assert send_pending(store).sent == 2
    text_message, markdown_message = sorted(smtp.messages, key=lambda m: m["Idempotency-Key"])
    text = text_message.get_body(("plain",)).get_content()
    assert "Before: We do not sell your personal information." in text
    assert "After:  We may sell your personal information to advertising partners." in text
    assert "Full diff: run `policywatch show" in text  # no base URL configured: the command
    assert "To stop: policywatch unsubscribe 1" in text
    # Markdown becomes HTML in e-mail: the company's Markdown stays literal text, never a link.
    html = markdown_message.get_body(("html",)).get_content()
    assert 'href="http://evil.example"' not in html
    assert "[x](http://evil.example)" in html.replace("\\", "")


def test_a_wrong_smtp_password_fails_clearly_and_is_retried_without_leaking(store, smtp):
    wrong = "wr0ng-pa55-123456"
    add_subscription(store, smtp.url(password=wrong))
    material_change(store, "Acme")
    report = send_pending(store, settings=NotifySettings(backoff_seconds=0))
    assert (report.sent, report.failed) == (0, 1)
    row = store.db.execute("SELECT status, attempts, last_error FROM deliveries").fetchone()
    assert row[0] == "failed" and row[1] == 1 and row[2]
    assert wrong not in row[2]
    assert smtp.messages == []
