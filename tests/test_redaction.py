"""monitor.redaction: the one URL redactor, in its short form (channel URLs) and its
service form (the TSA's address, which timestamp rows are looked up by)."""

import pytest

from monitor.redaction import HIDDEN, redact_url, url_parts


@pytest.mark.parametrize(("url", "shown"), [
    ("json://user:s3cret-pass@127.0.0.1:9/hooks/abcdefghijkl?token=qwertyuiop", "json://…@127.0.0.1:9/…"),
    ("json://127.0.0.1:9/ab", "json://127.0.0.1:9/ab"),
    ("tgram://123456:ABCDEFGHIJK/123", "tgram://…/123"),
    ("json://host/1...4/x", "json://host/…/x"),  # an apprise mask is never shown
    ("json://h/x#frag", "json://h/x"),
    ("no scheme at all", HIDDEN),
    ("9bad://host", HIDDEN),
])
def test_short_form_hides_credentials_tokens_and_the_query(url, shown):
    assert redact_url(url) == shown
    assert redact_url(shown) == shown  # idempotent: a stored form shows as it is


def test_short_form_takes_a_view_and_extra_secrets():
    assert redact_url("x://anything", view=lambda url: None) == f"x://{HIDDEN}"
    shown = redact_url("x://raw", view=lambda url: "x://host/chat/abc", secrets=lambda url: {"chat"})
    assert shown == "x://host/…/abc"


def test_url_parts_names_what_may_be_secret():
    parts = url_parts("json://alice:pw%21@host/hooks/ab?key=value1#frag")
    assert {"alice", "pw%21", "pw!", "hooks", "value1", "frag"} <= parts
    assert "ab" not in parts and "host" not in parts
    assert url_parts("http://[::1") == set()


@pytest.mark.parametrize(("url", "shown"), [
    ("http://alice:s3cret@127.0.0.1:8080/tsa?apikey=k3y&x=", "http://***@127.0.0.1:8080/tsa?apikey=***&x=***"),
    ("https://freetsa.org/tsr", "https://freetsa.org/tsr"),
    ("https://[::1]:99/a/long-path-segment", "https://[::1]:99/a/long-path-segment"),
    ("http://host:token-not-a-port/tsa", "http://***"),  # no ValueError, nothing of it shown
    ("http://[::1/tsa", "http://***"),
])
def test_service_form_keeps_the_address_and_hides_credentials_and_values(url, shown):
    assert redact_url(url, keep_address=True) == shown
