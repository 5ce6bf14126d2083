"""Capture guards: walls, error and login pages, shrinks, language switches, unconfirmed changes.

None may become a version; each is recorded on the capture (``captures.guard``), a target that
keeps hitting one goes ``broken`` with the reason and back to ``ok`` when it recovers.
"""

import pytest

from monitor.record import Capture, Confirmation, record_capture
from monitor.timeutil import now_iso
from tests.sites import Page

WORDS = ("We collect your email address and name to run the service, keep logs for thirty days, "
         "never sell personal data, and let you object, access or delete it at any time. ")
POLICY = (f"<html><head><title>Privacy</title></head><body><main><h1>Privacy</h1><p>{WORDS * 12}</p>"
          "</main></body></html>")
GERMAN = ("Wir erheben Ihre E-Mail-Adresse und Ihren Namen, um den Dienst zu betreiben, speichern "
          "Protokolle dreißig Tage lang und verkaufen niemals personenbezogene Daten. ")

PAGES = [
    # (name, body, final url path, guard)
    ("cloudflare", "<html><head><title>Just a moment...</title></head><body><div id='cf-browser-verification'>"
                   "Checking your browser</div><script src='/cdn-cgi/challenge-platform/x.js'></script></body></html>",
     "/privacy", "bot-wall"),
    ("datadome", "<html><head><title>example.com</title></head><body><p>Please enable JS and disable any ad blocker"
                 "</p><script src='https://ct.captcha-delivery.com/c.js'></script></body></html>",
     "/privacy", "bot-wall"),
    ("imperva", "<html><head><title>Access denied</title></head><body><iframe src='/_Incapsula_Resource?x=1'></iframe>"
                "<p>Request unsuccessful. Incapsula incident ID: 123</p></body></html>", "/privacy", "bot-wall"),
    ("captcha", "<html><head><title>Are you a robot?</title></head><body><main><p>Please solve the captcha"
                "</p><div class='g-recaptcha'></div></main></body></html>", "/privacy", "bot-wall"),
    ("soft-404", "<html><head><title>Page not found</title></head><body><main><h1>Oops! Page not found</h1>"
                 "<p>The page you are looking for is gone.</p></main></body></html>", "/privacy", "error-page"),
    ("login-redirect", "<html><body><main><h1>Sign in</h1><p>Welcome back to Acme.</p></main></body></html>",
     "/login?next=/privacy", "login"),
    ("login-form", "<html><body><main><h1>Members only</h1><form><input type='password' name='pw'></form>"
                   "<p>Please sign in to continue.</p></main></body></html>", "/privacy", "login"),
]


def capture(target, body, final_path="/privacy", **extra):
    return Capture(target["id"], target["url"], now_iso(), status=200, body=body.encode(),
                   final_url="https://acme.example" + final_path, content_type="text/html; charset=utf-8",
                   **extra)


@pytest.mark.parametrize("name,body,final_path,guard", PAGES, ids=[p[0] for p in PAGES])
def test_guarded_pages_never_become_versions(store, name, body, final_path, guard):
    target = store.add_target("https://acme.example/privacy", "Acme")
    recorded = record_capture(store, capture(target, body, final_path))
    assert recorded.outcome == "error" and recorded.version_id is None
    [row] = store.captures(target["id"])
    assert row["guard"] == guard and row["error_kind"] == "guard"
    assert store.versions(target["id"]) == []
    assert guard in store.get_target(target["id"])["last_error"]


def test_a_policy_mentioning_captcha_is_not_a_wall(store):
    target = store.add_target("https://acme.example/privacy", "Acme")
    body = POLICY.replace("</main>", "<p>We use Google reCAPTCHA (g-recaptcha) against spam.</p></main>")
    assert record_capture(store, capture(target, body)).outcome == "first-version"


def test_shrink_and_language_switch_are_held_until_they_persist(store):
    target = store.add_target("https://acme.example/privacy", "Acme")
    assert record_capture(store, capture(target, POLICY)).outcome == "first-version"
    short = POLICY.replace(WORDS * 12, WORDS * 3)
    outcomes = [record_capture(store, capture(target, short)) for _ in range(3)]
    assert [r.outcome for r in outcomes] == ["error", "error", "new-version"]
    assert [row["guard"] for row in store.captures(target["id"])][1:3] == ["shrunk", "shrunk"]
    german = POLICY.replace(WORDS * 12, GERMAN * 4)
    assert record_capture(store, capture(target, german)).error.startswith("guard: language")


def refetched(html: str) -> Confirmation:
    """The crawler's second fetch of the page, answering ``html``."""
    return Confirmation("https://acme.example/privacy", now_iso(), status=200,
                        headers={"content-type": "text/html"}, body=html.encode())


def test_confirmation_refetch(store):
    target = store.add_target("https://acme.example/privacy", "Acme")
    record_capture(store, capture(target, POLICY))
    changed = POLICY.replace("thirty days", "ninety days")
    other = POLICY.replace("thirty days", "sixty days")
    blink = record_capture(store, capture(target, changed, confirmation=refetched(POLICY)))
    assert blink.outcome == "unchanged"
    unstable = record_capture(store, capture(target, changed, confirmation=refetched(other)))
    assert unstable.outcome == "error" and "unstable" in unstable.error
    confirmed = record_capture(store, capture(target, changed, confirmation=refetched(changed)))
    assert confirmed.outcome == "new-version"


def test_flip_flop_is_a_return_not_a_material_change(store):
    target = store.add_target("https://acme.example/privacy", "Acme")
    changed = POLICY.replace("never sell personal data", "sell personal data to partners")
    outcomes = [record_capture(store, capture(target, body)).outcome for body in (POLICY, changed, POLICY)]
    assert outcomes == ["first-version", "new-version", "returned"]
    last = store.changes(target["id"])[-1]
    assert last["class"] == "noise" and last["severity"] == 0


def test_a_walled_target_turns_broken_and_recovers(site, cli):
    site["/privacy"] = Page(PAGES[0][1].encode(), status=200)
    cli("target", "add", site.url("/privacy"), "--company", "Acme", check=0)
    for _ in range(3):
        assert cli("crawl", "--all", "--json").json()[0]["outcome"] == "error"
    [listed] = cli("target", "list", "--json", check=0).json()
    assert listed["state"] == "broken" and "bot-wall" in listed["last_error"]
    shown = cli("target", "list", check=0)
    assert "bot-wall" in shown.stdout
    site.html("/privacy", POLICY)
    assert cli("crawl", "--all", "--json", check=0).json()[0]["outcome"] == "first-version"
    assert cli("target", "list", "--json", check=0).json()[0]["state"] == "ok"
