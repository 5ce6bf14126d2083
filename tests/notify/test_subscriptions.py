"""Subscriptions: the CLI contract, URL validation and redaction, and the filter table."""

import json
import sqlite3
from pathlib import Path

import pytest
import yaml

import notify
from monitor.errors import StoreError
from monitor.store import open_store
from notify.subscriptions import add_subscription, get_subscription, matches
from tests.receivers import WebhookReceiver, material_change

CASES = yaml.safe_load((Path(__file__).parents[1] / "data" / "subscription_filters.yaml").read_text())["cases"]
TOKEN = "tok-9f8e7d6c5b4a"
SECRET_URL = f"json://127.0.0.1:9/hooks/{TOKEN}?secret=qs-{TOKEN}"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_filter_table(store, case):
    wanted = case["subscription"]
    added = add_subscription(store, "json://127.0.0.1:9/hook", companies=wanted.get("companies", ()),
                             doc_types=wanted.get("doc_types", ()), topics=wanted.get("topics", ()),
                             min_severity=wanted.get("min_severity", 1),
                             class_filter=wanted.get("class", "material"))
    subscription = get_subscription(store, added["id"], reveal=True)
    given = case["change"]
    change = {"id": 1, "class": given["class"], "severity": given["severity"], "topics": given["topics"]}
    target = {"company": given.get("company", "Acme"), "doc_type": given.get("type", "Privacy Policy")}
    assert matches(subscription, change, target) is case["match"]


def test_outbox_rows_follow_the_filters_in_the_change_transaction(store):
    wanted = {
        "acme": dict(companies=["acme"]), "globex": dict(companies=["Globex"]),
        "terms": dict(doc_types=["Terms of Service"]), "any": dict(class_filter="any"),
        "daily": dict(digest="daily"), "inactive": {},
    }
    ids = {name: add_subscription(store, "json://127.0.0.1:9/hook", name=name, **kw)["id"]
           for name, kw in wanted.items()}
    store.db["subscriptions"].update(ids["inactive"], {"active": 0})
    change_id = material_change(store, "Acme")
    rows = {row["subscription_id"]: row for row in store.db.query(
        "SELECT * FROM deliveries WHERE change_id = ?", [change_id])}
    assert set(rows) == {ids["acme"], ids["any"], ids["daily"]}
    assert rows[ids["acme"]]["status"] == "pending"
    assert rows[ids["daily"]]["status"] == "digest"
    assert rows[ids["acme"]]["idempotency_key"] == f"change:{change_id}:subscription:{ids['acme']}"


def test_a_failing_listener_rolls_the_change_back_with_its_deliveries(store):
    """Deliveries are written in the change's transaction: neither exists without the other."""
    add_subscription(store, "json://127.0.0.1:9/hook")
    store.db.execute("CREATE TRIGGER refuse BEFORE INSERT ON deliveries BEGIN SELECT RAISE(ABORT, 'no'); END")
    with pytest.raises(StoreError, match="no"):
        material_change(store, "Acme")
    assert store.db.execute("SELECT count(*) FROM changes").fetchone()[0] == 0
    assert store.db.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 0


def test_subscribe_defaults_list_and_unsubscribe(cli):
    added = cli("subscribe", SECRET_URL, "--name", "watchdog", "--json", check=0).json()
    assert (added["class_filter"], added["min_severity"], added["digest"], added["format"],
            added["operator"]) == ("material", 1, "none", "text", False)
    second = cli("subscribe", "json://127.0.0.1:9/other", "--company", "Acme", "--company", "Globex",
                 "--type", "Terms", "--topic", "sale", "--topic", "ai-training", "--min-severity", "2",
                 "--class", "editorial", "--digest", "weekly", "--format", "html", "--operator", "--json",
                 check=0).json()
    assert second["companies"] == ["Acme", "Globex"] and second["topics"] == ["ai-training", "sale"]
    assert (second["doc_types"], second["min_severity"], second["class_filter"], second["digest"],
            second["format"], second["operator"]) == (["Terms"], 2, "editorial", "weekly", "html", True)

    listed = cli("subscriptions", "--json", check=0).json()
    assert [s["id"] for s in listed] == [added["id"], second["id"]]
    text = cli("subscriptions", check=0)
    assert "watchdog" in text.stdout and "digest=weekly" in text.stdout and "operator" in text.stdout

    cli("unsubscribe", str(added["id"]), check=0)
    assert [s["id"] for s in cli("subscriptions", "--json", check=0).json()] == [second["id"]]
    everything = cli("subscriptions", "--all", "--json", check=0).json()
    assert [s["active"] for s in everything] == [False, True]
    again = cli("unsubscribe", str(added["id"]), check=1)
    assert "already unsubscribed" in again.stderr
    assert "no subscription with id 99" in cli("unsubscribe", "99", check=1).stderr


@pytest.mark.parametrize("url, says", [
    ("not-a-url", "not an apprise URL"),
    (f"nosuchservice://{TOKEN}@host", "does not know the scheme 'nosuchservice'"),
    ("json://", "cannot use this json:// URL"),
    (f"mailto://user:{TOKEN}@", "cannot use this mailto:// URL"),
    (f"tgram://{TOKEN}", "cannot use this tgram:// URL"),
    (f"json://host/{TOKEN} with space", "cannot contain spaces"),
    ("", "not an apprise URL"),
])
def test_invalid_apprise_urls_say_what_is_wrong_without_echoing_secrets(cli, db_path, url, says):
    result = cli("subscribe", url, check=1)
    assert says in result.stderr, result
    assert result.stderr.count("\n") == 1, result  # one readable line
    verbose = cli("-vv", "subscribe", url, check=1)  # apprise's debug log on stderr too
    assert TOKEN not in result.stdout + result.stderr + verbose.stdout + verbose.stderr
    assert sqlite3.connect(db_path).execute("SELECT count(*) FROM subscriptions").fetchone()[0] == 0


def test_unknown_topic_is_refused(cli):
    result = cli("subscribe", "json://127.0.0.1:9/hook", "--topic", "weather", check=1)
    assert "unknown topic(s) weather" in result.stderr


def test_apprise_urls_never_leak(cli, db_path, tmp_path):
    """Kept in the secrets file, shown redacted: stdout, stderr, logs (-vv), errors, alerts."""
    receiver = WebhookReceiver(script=["500"]).start()
    try:
        secret_url = receiver.url(path=f"/hooks/{TOKEN}", query=f"+X-Auth=hdr-{TOKEN}")
        unreachable = f"json://127.0.0.1:9/hooks/{TOKEN}"
        mail = f"mailto://alerts:{TOKEN}@localhost:9?smtp=127.0.0.1&from=a@example.com&to=b@example.com"
        outputs = [cli("-vv", "subscribe", url, "--class", "any", "--json", check=0)
                   for url in (secret_url, unreachable, mail)]
        store = open_store(db_path)
        notify.install()
        material_change(store, "Acme")
        store.close()
        env = {"POLICYWATCH_NOTIFY_BACKOFF_SECONDS": "0"}
        outputs += [cli("-vv", "notify", env=env) for _ in range(2)]
        outputs += [cli("-vv", "subscriptions"), cli("subscriptions", "--json")]
    finally:
        receiver.stop()
    for result in outputs:
        assert TOKEN not in result.stdout + result.stderr, result
    assert "json://127.0.0.1:" in outputs[-2].stdout  # redacted, not absent
    db = sqlite3.connect(db_path)
    stored = [row[0] for row in db.execute("SELECT apprise_url FROM subscriptions")]
    assert stored == [f"json://127.0.0.1:{receiver.port}/…", "json://127.0.0.1:9/…", "mailto://…@localhost:9/…"]
    # The full URLs live in the owner-only secrets file beside the database (decision 0013).
    secrets_file = db_path.with_name("policywatch.secrets.json")
    assert secrets_file.stat().st_mode & 0o777 == 0o600
    assert sorted(json.loads(secrets_file.read_text())["channels"].values()) == sorted([secret_url, unreachable, mail])
    errors = " ".join(str(row) for row in db.execute(
        "SELECT a.error, d.last_error FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id"))
    assert "500" in errors or "Internal" in errors
    assert "Connection refused" in errors or "Connection" in errors
    assert TOKEN not in errors
    assert all(TOKEN not in str(r["body"]) and TOKEN not in str(r["headers"].get("Idempotency-Key"))
               for r in receiver.requests)
    assert any(r["headers"].get("X-Auth") == f"hdr-{TOKEN}" for r in receiver.requests)  # it was used
