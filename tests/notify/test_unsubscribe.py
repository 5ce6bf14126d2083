"""One-click unsubscribe, end to end: a real SMTP receiver (aiosmtpd) gets the multipart alert
with its ``List-Unsubscribe`` headers, and the real ``policywatch serve`` (uvicorn on
127.0.0.1) takes the RFC 8058 POST its link names."""

import json
import stat
import urllib.error
import urllib.request

import pytest

from monitor.compare import summary_of
from monitor.store import unsubscribe
from notify.outbox import send_pending
from notify.settings import NotifySettings
from notify.subscriptions import add_subscription, get_subscription
from tests.receivers import SMTPReceiver, material_change
from tests.web.test_web_data import serving

ONE_CLICK = b"List-Unsubscribe=One-Click"


@pytest.fixture
def smtp():
    server = SMTPReceiver().start()
    yield server
    server.stop()


def _request(url: str, body: bytes | None = None) -> tuple[int, str, dict]:
    """``(status, body, headers)`` of a GET (or, with ``body``, a form POST) to ``url``."""
    request = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET",
                                     headers={"content-type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers)


def _secrets(db_path) -> dict:
    return json.loads(db_path.with_name(f"{db_path.stem}.secrets.json").read_text())["channels"]


def _deliveries(store) -> list[tuple]:
    return store.db.execute("SELECT subscription_id, status FROM deliveries ORDER BY id").fetchall()


def test_multipart_alert_and_one_click_unsubscribe(store, smtp, db_path):
    sub = add_subscription(store, smtp.url(), fmt="html", name="press desk")
    bystander = add_subscription(store, smtp.url(), fmt="text")
    change_id = material_change(store, "Acme")
    with serving(db_path) as base:
        report = send_pending(store, settings=NotifySettings(base_url=base + "/"))
        assert (report.sent, report.failed) == (2, 0)
        [message] = [m for m in smtp.messages if m.get_content_type() == "multipart/alternative"]

        # Subject: the change's headline; text part: the diff link; HTML part: a whole document.
        headline = summary_of(store.get_change(change_id))["headline"]
        assert headline[:60] in message["Subject"]
        plain = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert f"{base}/change/{change_id}/" in plain and headline[:60] in plain
        assert html.lstrip().startswith("<!doctype html>") and '<meta charset="utf-8">' in html
        assert "<body>" in html and html.rstrip().endswith("</html>")
        assert f'href="{base}/change/{change_id}/"' in html

        link = f"{base}/unsubscribe/{sub['id']}/{unsubscribe.token(db_path, sub['id'])}"
        assert message["List-Unsubscribe"] == f"<{link}>"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert link in plain and f'href="{link}"' in html

        # A GET (a mail scanner's prefetch) only shows the form.
        status, page, headers = _request(link)
        assert status == 200 and 'method="post"' in page and headers["cache-control"] == "no-store"
        assert get_subscription(store, sub["id"])["active"]

        # A tampered token, a token for another subscription, a garbage one: 403, saying nothing.
        other = unsubscribe.token(db_path, bystander["id"])
        refusals = [_request(url, ONE_CLICK) for url in (
            link[:-1] + ("A" if link[-1] != "A" else "B"),
            f"{base}/unsubscribe/{sub['id']}/{other}",
            f"{base}/unsubscribe/999/{other}", f"{base}/unsubscribe/{sub['id']}/x")]
        assert {status for status, _, _ in refusals} == {403}
        assert len({page for _, page, _ in refusals}) == 1  # the same page whatever was wrong
        assert get_subscription(store, sub["id"])["active"]

        # The one-click POST unsubscribes; a second changes nothing and answers the same.
        status, page, _ = _request(link, ONE_CLICK)
        assert status == 200 and "unsubscribed" in page
        assert not get_subscription(store, sub["id"])["active"]
        assert get_subscription(store, bystander["id"])["active"]
        before = _deliveries(store)
        assert _request(link, ONE_CLICK)[:2] == (status, page)
        assert _deliveries(store) == before and not get_subscription(store, sub["id"])["active"]

        # A valid token for a subscription that does not exist: not found.
        assert _request(f"{base}/unsubscribe/999/{unsubscribe.token(db_path, 999)}", ONE_CLICK)[0] == 404

    # The next change reaches only the subscription still active, and that pass deletes the
    # unsubscribed channel's URL from the secrets file (the web cannot write it).
    assert len(_secrets(db_path)) == 2
    material_change(store, "Beta")
    assert [row for row in _deliveries(store) if row not in before] == [(bystander["id"], "pending")]
    assert send_pending(store).sent == 1
    assert len(_secrets(db_path)) == 1
    assert store.db.execute("SELECT secret_ref FROM subscriptions WHERE id = ?", [sub["id"]]).fetchone()[0] \
        == "forgotten"

    # The key is owner-only and neither it nor a token is in the database.
    key_file = unsubscribe.key_path(db_path)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    stored = b"".join(p.read_bytes() for p in db_path.parent.glob(f"{db_path.name}*"))
    assert key_file.read_bytes().strip() not in stored
    assert unsubscribe.token(db_path, sub["id"]).encode() not in stored


def test_no_base_url_no_unsubscribe_headers_and_no_key(store, smtp, db_path):
    add_subscription(store, smtp.url(), fmt="html")
    add_subscription(store, smtp.url(), fmt="text")
    material_change(store, "Acme")
    assert send_pending(store, settings=NotifySettings(base_url="")).sent == 2
    assert len(smtp.messages) == 2
    for message in smtp.messages:
        assert message["List-Unsubscribe"] is None and message["List-Unsubscribe-Post"] is None
        assert "/unsubscribe/" not in message.as_string()
    html_message = next(m for m in smtp.messages if m.get_content_type() == "multipart/alternative")
    assert html_message.get_body(("html",)).get_content().lstrip().startswith("<!doctype html>")
    assert not unsubscribe.key_path(db_path).exists()


def test_only_email_carries_the_link_and_a_configured_key_signs(store, receiver, smtp, db_path, monkeypatch):
    """A webhook gets no unsubscribe link (anyone reading a shared channel could use it); with
    ``POLICYWATCH_UNSUBSCRIBE_KEY`` set, that key signs and no key file is made."""
    from monitor import config
    monkeypatch.setenv("POLICYWATCH_UNSUBSCRIBE_KEY", "k" * 40)
    config.reload()
    hook = add_subscription(store, receiver.url())
    mail = add_subscription(store, smtp.url(), fmt="markdown")
    change_id = material_change(store, "Acme")
    assert send_pending(store, settings=NotifySettings(base_url="https://watch.example")).sent == 2
    [request] = receiver.requests
    assert "/unsubscribe/" not in str(request["body"]) and "List-Unsubscribe" not in request["headers"]
    [message] = smtp.messages
    expected = unsubscribe.token(db_path, mail["id"])
    link = f"https://watch.example/unsubscribe/{mail['id']}/{expected}"
    assert message["List-Unsubscribe"] == f"<{link}>"
    # Markdown by e-mail: apprise's HTML and the text part made from it both keep the links.
    plain = message.get_body(("plain",)).get_content()
    assert link in plain and f"https://watch.example/change/{change_id}/" in plain
    assert f'href="{link}"' in message.get_body(("html",)).get_content()
    assert unsubscribe.valid(db_path, mail["id"], expected)
    assert not unsubscribe.valid(db_path, hook["id"], expected)
    assert not unsubscribe.key_path(db_path).exists()
