"""The outbox against a real webhook receiver on 127.0.0.1 (apprise json:// and form://)."""

import random
import sqlite3
from datetime import datetime, timedelta

import notify
from monitor.store import open_store
from monitor.timeutil import now as utc_now
from notify.outbox import send_pending
from notify.settings import NotifySettings
from notify.subscriptions import add_subscription, remove_subscription
from tests.receivers import material_change

FAST = NotifySettings(backoff_seconds=0, backoff_cap_seconds=0, max_attempts=50)


def parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")


def attempts_of(store, delivery_id: int = 1) -> list[dict]:
    return list(store.db.query("SELECT * FROM delivery_attempts WHERE delivery_id = ? ORDER BY id", [delivery_id]))


def test_failures_back_off_exponentially_then_exactly_one_delivery(store, receiver):
    receiver.script = ["500", "500", "timeout", "500"]
    sub = add_subscription(store, receiver.url(query="rto=0.5"))
    change_id = material_change(store, "Acme")
    settings = NotifySettings(backoff_seconds=60, backoff_cap_seconds=200, max_attempts=8)
    clock = utc_now()
    statuses, scheduled = [], []
    for _ in range(4):
        report = send_pending(store, settings=settings, now=clock)
        statuses.append((report.sent, report.failed))
        next_at = parse(store.db["deliveries"].get(1)["next_attempt_at"])
        scheduled.append(round((next_at - clock.replace(tzinfo=None)).total_seconds()))
        # Not due again until its backoff has passed: a pass at the same moment sends nothing.
        assert send_pending(store, settings=settings, now=clock).failed == 0
        clock += timedelta(seconds=settings.backoff_cap_seconds + 1)
    assert statuses == [(0, 1), (0, 1), (0, 1), (0, 1)]
    # Exponential from 60 s, doubling, capped at 200 s.
    assert scheduled == [60, 120, 200, 200]
    delivery = store.db["deliveries"].get(1)
    assert (delivery["status"], delivery["attempts"]) == ("failed", 4)

    assert send_pending(store, settings=settings, now=clock).sent == 1
    for _ in range(3):  # nothing more to send, ever
        clock += timedelta(days=1)
        assert send_pending(store, settings=settings, now=clock).sent == 0
    attempts = attempts_of(store)
    assert [a["ok"] for a in attempts] == [0, 0, 0, 0, 1]
    errors = [a["error"] or "" for a in attempts]
    assert "500" in errors[0] and "500" in errors[1] and "500" in errors[3]
    assert "timed out" in errors[2].lower() or "timeout" in errors[2].lower()
    assert store.db["deliveries"].get(1)["status"] == "sent"
    key = f"change:{change_id}:subscription:{sub['id']}"
    assert list(receiver.accepted) == [key]
    assert [r["key"] for r in receiver.requests] == [key] * 5
    body = receiver.accepted[key]
    assert "No longer says: “We do not sell" in body["title"]  # the summary's headline
    assert "We may sell your personal information to advertising partners." in body["message"]


def test_many_changes_and_subscriptions_through_a_flaky_receiver_arrive_exactly_once(store, receiver):
    rng = random.Random(4)
    receiver.script = [rng.choice(["500", "ok", "ok", "timeout"]) for _ in range(40)]
    receiver.slow_seconds = 0.8
    subs = [add_subscription(store, receiver.url(scheme, query="rto=0.3"), fmt=fmt)["id"]
            for scheme, fmt in (("json", "text"), ("form", "markdown"), ("json", "html"))]
    changes = [material_change(store, f"Company {n}") for n in range(4)]
    for _ in range(30):
        send_pending(store, settings=FAST)
        if not store.db.execute("SELECT count(*) FROM deliveries WHERE status != 'sent'").fetchone()[0]:
            break
    expected = {f"change:{c}:subscription:{s}" for c in changes for s in subs}
    assert set(receiver.accepted) == expected
    # A timed-out request may still have reached the receiver; its retry carries the same key,
    # so the receiver drops it. Nothing else is ever received twice.
    timed_out = {r["key"] for r in receiver.requests if r["behaviour"] == "timeout"}
    assert set(receiver.duplicates) <= timed_out
    db = store.db
    assert db.execute("SELECT count(*) FROM deliveries WHERE status = 'sent'").fetchone()[0] == 12
    # Every attempt recorded, one success per delivery, each failure with its error.
    assert db.execute("SELECT count(*) FROM delivery_attempts WHERE ok = 1").fetchone()[0] == 12
    assert db.execute("SELECT count(*) FROM delivery_attempts WHERE ok = 0 AND error IS NULL").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM delivery_attempts").fetchone()[0] == len(receiver.requests)
    form = [r for r in receiver.requests if "form" in r["headers"].get("Content-Type", "")]
    assert form and all(r["key"] for r in form)


def test_an_unreachable_channel_is_retried_then_marked_dead(store):
    add_subscription(store, "json://127.0.0.1:9/hook")
    material_change(store, "Acme")
    settings = NotifySettings(backoff_seconds=0, backoff_cap_seconds=0, max_attempts=3)
    reports = [send_pending(store, settings=settings) for _ in range(5)]
    assert [(r.failed, r.dead) for r in reports] == [(1, 0), (1, 0), (0, 1), (0, 0), (0, 0)]
    delivery = store.db["deliveries"].get(1)
    assert (delivery["status"], delivery["attempts"]) == ("dead", 3)
    assert "Connection refused" in delivery["last_error"]
    assert [a["ok"] for a in attempts_of(store)] == [0, 0, 0]


def test_a_failing_channel_never_aborts_a_crawl(cli, site, db_path):
    url = site.html("/privacy", "<main><p>We do not sell your personal information.</p></main>")
    cli("target", "add", url, "--company", "Acme", check=0)
    cli("subscribe", "json://127.0.0.1:9/unreachable", check=0)
    cli("crawl", check=0)
    site.html("/privacy", "<main><p>We may sell your personal information to data brokers.</p></main>")
    result = cli("crawl", "--all", env={"POLICYWATCH_NOTIFY_BACKOFF_SECONDS": "0"}, check=0)
    assert "failed (will retry): 1" in result.stderr
    db = sqlite3.connect(db_path)
    assert db.execute("SELECT count(*) FROM changes").fetchone()[0] == 1
    assert db.execute("SELECT status FROM deliveries").fetchall() == [("failed",)]


def test_unsubscribing_cancels_waiting_deliveries(store, receiver):
    sub = add_subscription(store, receiver.url())
    material_change(store, "Acme")
    remove_subscription(store, sub["id"])
    assert send_pending(store).sent == 0
    assert store.db["deliveries"].get(1)["status"] == "cancelled"
    assert receiver.requests == []


def test_operator_alerts_when_a_target_breaks_and_recovers(store, receiver):
    from tests.receivers import BASE_POLICY, capture
    operator = add_subscription(store, receiver.url(), operator=True, companies=["Acme"])
    add_subscription(store, receiver.url(path="/people"))  # changes only
    add_subscription(store, receiver.url(path="/other"), operator=True, companies=["Globex"])
    target = store.add_target("https://acme.example/privacy", "Acme")
    capture(store, target, BASE_POLICY)
    for _ in range(4):  # failing, failing, broken, still broken: one alert
        capture(store, target, error="503 <b>Service Unavailable</b>")
    capture(store, target, BASE_POLICY)  # recovered
    capture(store, target, error="timeout")  # failing again: no alert
    report = send_pending(store)
    assert report.sent == 2
    assert [r["path"] for r in receiver.requests] == ["/hook/s3cr3t-t0ken-value"] * 2
    titles = [r["body"]["title"] for r in receiver.requests]
    assert "is broken" in titles[0] and "recovered" in titles[1]
    assert "503" in receiver.requests[0]["body"]["message"]
    assert [r["key"] for r in receiver.requests] == [f"operator:1:subscription:{operator['id']}",
                                                     f"operator:2:subscription:{operator['id']}"]


def test_daily_and_weekly_digests_summarise_changes_since_the_last(store, receiver):
    immediate = add_subscription(store, receiver.url(path="/now"))
    daily = add_subscription(store, receiver.url(path="/daily"), digest="daily", fmt="html")
    weekly = add_subscription(store, receiver.url(path="/weekly"), digest="weekly", fmt="markdown")
    first = [material_change(store, name) for name in ("Acme", "Globex", "Initech <b>")]
    clock = utc_now()
    report = send_pending(store, now=clock)
    assert (report.sent, report.digests) == (3, 0)
    clock += timedelta(days=1, seconds=5)
    report = send_pending(store, now=clock)
    assert (report.sent, report.digests) == (1, 1)
    digest = receiver.requests[-1]
    assert digest["path"] == "/daily"
    assert digest["key"].startswith(f"digest:{daily['id']}:")
    assert "3 changes" in digest["body"]["title"]
    for name in ("Acme", "Globex", "Initech &lt;b&gt;"):
        assert name in digest["body"]["message"]
    assert "<b>" not in digest["body"]["message"]
    assert send_pending(store, now=clock + timedelta(hours=1)).sent == 0  # one digest per period

    later = material_change(store, "Umbrella")
    assert send_pending(store, now=clock + timedelta(hours=2)).sent == 1  # the immediate one
    report = send_pending(store, now=clock + timedelta(days=1, seconds=5))
    assert report.sent == 1
    second = receiver.requests[-1]
    assert second["path"] == "/daily" and "1 change " in second["body"]["title"] + " "
    assert "Umbrella" in second["body"]["message"] and "Acme" not in second["body"]["message"]

    report = send_pending(store, now=clock + timedelta(days=7))
    weekly_digest = receiver.requests[-1]
    assert report.sent == 1 and weekly_digest["path"] == "/weekly"
    assert "4 changes" in weekly_digest["body"]["title"]
    keys = [r["key"] for r in receiver.requests]
    assert len(keys) == len(set(keys)) == 4 + 2 + 1
    assert {f"change:{c}:subscription:{immediate['id']}" for c in [*first, later]} <= set(keys)
    waiting = store.db.execute(
        "SELECT count(*) FROM deliveries WHERE subscription_id IN (?, ?) AND status != 'digested' "
        "AND kind = 'change'", [daily["id"], weekly["id"]]).fetchone()[0]
    assert waiting == 0


def test_flush_digests_from_the_cli(cli, db_path, receiver):
    cli("subscribe", receiver.url(), "--digest", "weekly", check=0)
    store = open_store(db_path)
    notify.install()
    material_change(store, "Acme")
    material_change(store, "Globex")
    store.close()
    assert cli("notify", "--json", check=0).json()["sent"] == 0
    result = cli("notify", "--flush-digests", "--json", check=0).json()
    assert (result["digests"], result["sent"]) == (1, 1)
    assert result["outbox"] == {"digested": 2, "sent": 1}
    assert "2 changes" in receiver.requests[0]["body"]["title"]
