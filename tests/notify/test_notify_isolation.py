"""Delivery isolated per channel: parallel sends, a deadline per send, 4xx dead at once, and a
daemon that keeps crawling (and stops within 10 s) while a channel trickles. Real receivers on
127.0.0.1, real processes for the daemon and `policywatch notify`."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from notify.outbox import send_pending
from notify.settings import NotifySettings
from notify.subscriptions import add_subscription
from tests.conftest import ROOT, wait_for
from tests.receivers import WebhookReceiver, material_change

FAST = NotifySettings(backoff_seconds=0, backoff_cap_seconds=0, max_attempts=5)


def query(db_path, sql, params=()):
    with sqlite3.connect(db_path, timeout=30) as connection:
        return connection.execute(sql, params).fetchall()


@pytest.fixture
def receivers():
    started = []

    def start(**kwargs):
        started.append(WebhookReceiver(**kwargs).start())
        return started[-1]
    yield start
    for receiver in started:
        receiver.stop()


def test_a_permanent_4xx_is_dead_at_once_a_429_and_5xx_are_retried(store, receivers):
    gone = add_subscription(store, receivers(default="404").url(path="/gone"))
    refused = add_subscription(store, receivers(default="401").url(path="/auth"))
    limited = add_subscription(store, receivers(script=["429"]).url(path="/limited"))
    broken = add_subscription(store, receivers(script=["503"]).url(path="/broken"))
    material_change(store, "Acme")
    report = send_pending(store, settings=FAST)
    assert (report.sent, report.failed, report.dead) == (0, 2, 2)
    status = {row[0]: row[1:] for row in store.db.execute(
        "SELECT subscription_id, status, attempts, last_error FROM deliveries")}
    assert status[gone["id"]][:2] == ("dead", 1) and "HTTP 404" in status[gone["id"]][2]
    assert "permanent" in status[gone["id"]][2]
    assert status[refused["id"]][:2] == ("dead", 1) and "HTTP 401" in status[refused["id"]][2]
    assert status[limited["id"]][0] == "failed" and status[broken["id"]][0] == "failed"
    report = send_pending(store, settings=FAST)
    assert (report.sent, report.dead) == (2, 0)  # the 429 and the 503 went through on retry


def test_a_send_past_its_deadline_never_delays_the_other_channels(store, receivers):
    slow = receivers(default="trickle")
    healthy = [receivers() for _ in range(5)]
    add_subscription(store, slow.url(path="/slow"))
    for n, receiver in enumerate(healthy):
        add_subscription(store, receiver.url(path=f"/ok{n}"))
    material_change(store, "Acme")
    material_change(store, "Globex")
    settings = NotifySettings(backoff_seconds=0, backoff_cap_seconds=0, send_deadline_seconds=3)
    started = time.monotonic()
    report = send_pending(store, settings=settings)
    took = time.monotonic() - started
    # 5 channels × 2 changes sent; the trickling channel: one attempt, failed at its deadline;
    # its second delivery was not tried (it waits for the next pass).
    assert report.sent == 10 and report.failed == 1, report
    assert 3 <= took < 10
    assert all(len(r.accepted) == 2 for r in healthy)
    assert len(slow.requests) == 1
    rows = query(store.path, "SELECT d.status, d.attempts, d.last_error FROM deliveries d "
                             "JOIN subscriptions s ON s.id = d.subscription_id WHERE s.id = 1 ORDER BY d.id")
    assert rows[0][:2] == ("failed", 1) and "no answer within 3 s" in rows[0][2]
    assert rows[1] == ("pending", 0, None)
    # The abandoned send still trickles: the next pass sends nothing new to that channel.
    report = send_pending(store, settings=settings)
    assert report.sent == 0 and len(slow.requests) == 1


def test_a_pass_sends_everything_due_not_100(store, receivers):
    receiver = receivers()
    for n in range(60):
        add_subscription(store, receiver.url(path=f"/s{n}"))
    material_change(store, "Acme")
    material_change(store, "Globex")
    report = send_pending(store)
    assert report.sent == 120
    assert len(receiver.accepted) == 120


def _notify_process(db_path, *args, env=None):
    environment = {**os.environ, "POLICYWATCH_DB": str(db_path), **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "monitor.cli.main", *args], cwd=ROOT, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_sigterm_during_notify_puts_the_send_in_flight_back_to_pending(store, receivers, db_path):
    receiver = receivers(script=["hang"])
    sub = add_subscription(store, receiver.url())
    change = material_change(store, "Acme")
    process = _notify_process(db_path, "notify")
    try:
        assert receiver.hung.wait(60)
        sent_at = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
        assert time.monotonic() - sent_at < 10
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert "put back to pending" in stderr
    [(status, attempts)] = query(db_path, "SELECT status, attempts FROM deliveries")
    assert (status, attempts) == ("pending", 0)
    [(ok, error)] = query(db_path, "SELECT ok, error FROM delivery_attempts")
    assert ok == 0 and "stopped before the channel answered" in error
    receiver.release()
    assert send_pending(store).sent == 1  # sent by the next notifier, same key
    assert f"change:{change}:subscription:{sub['id']}" in receiver.accepted


@pytest.mark.slow
def test_five_healthy_channels_and_one_trickling_daemon_keeps_crawling_and_stops_in_10s(
        store, receivers, site, cli, db_path):
    slow = receivers(default="trickle")
    healthy = [receivers() for _ in range(5)]
    add_subscription(store, slow.url(path="/slow"))
    for n, receiver in enumerate(healthy):
        add_subscription(store, receiver.url(path=f"/ok{n}"))
    for n in range(3):
        site.html(f"/p{n}", f"<html><body><main><h1>Policy {n}</h1><p>We collect your email.</p></main></body></html>")
        cli("target", "add", site.url(f"/p{n}"), "--company", f"Company {n}", check=0)
    # A long deadline: the trickling send is still in flight when SIGTERM comes.
    env = {"POLICYWATCH_NOTIFY_SEND_DEADLINE_SECONDS": "120"}
    daemon = _notify_process(db_path, "run", "--tick", "0.5", env=env)
    try:
        # Once the daemon is up (its first tick captured the targets), a change is recorded.
        assert wait_for(lambda: query(db_path, "SELECT count(*) FROM captures")[0][0] == 3, timeout=60)
        material_change(store, "Acme")
        started = time.monotonic()
        assert wait_for(lambda: all(r.accepted for r in healthy), timeout=10), \
            [len(r.accepted) for r in healthy]
        assert time.monotonic() - started < 10
        assert wait_for(slow.trickling.is_set, timeout=10)
        # While the channel trickles, the daemon keeps capturing due targets.
        for _ in range(2):
            before = query(db_path, "SELECT count(*) FROM captures")[0][0]
            query(db_path, "UPDATE targets SET next_fetch_at = '2000-01-01T00:00:00.000000Z' "
                           "WHERE url LIKE 'http://127.0.0.1%'")
            assert wait_for(lambda: query(db_path, "SELECT count(*) FROM captures")[0][0] >= before + 3,
                            timeout=15)
        assert slow.trickling.is_set()
        signalled = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=10)
        assert time.monotonic() - signalled < 10
    finally:
        daemon.kill()
        daemon.communicate()
    assert daemon.returncode == 0, stderr
    [(status, error)] = query(db_path, "SELECT status, last_error FROM deliveries WHERE subscription_id = 1")
    assert status == "pending", (status, error)  # not sent, not lost: re-sent with its key later
    assert query(db_path, "SELECT count(*) FROM deliveries WHERE status = 'sent'")[0][0] == 5
