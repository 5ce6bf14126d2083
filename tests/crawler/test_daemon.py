"""The daemon for real: claims, clean shutdown, the lock, SIGKILL at random points, faults."""

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, wait_for
from tests.sites import Page

PAGE = "<html><body><main><h1>Policy {n}</h1><p>We collect your email address.</p>{extra}</main></body></html>"


def query(db_path, sql, params=()):
    with sqlite3.connect(db_path, timeout=30) as connection:
        return connection.execute(sql, params).fetchall()


def start_daemon(db_path, *args, log=None):
    """``policywatch run`` in the background; its output to ``log`` (a file, so no pipe can fill up)."""
    env = {**os.environ, "POLICYWATCH_DB": str(db_path)}
    output = open(log, "w") if log else subprocess.PIPE
    try:
        return subprocess.Popen([sys.executable, "-m", "monitor.cli.main", "run", "--tick", "0.5", *args],
                                cwd=ROOT, env=env, stdout=output, stderr=output, text=True)
    finally:
        if log:
            output.close()


def add_targets(cli, site, count):
    for n in range(count):
        site.html(f"/p{n}", PAGE.format(n=n, extra=""))
        cli("target", "add", site.url(f"/p{n}"), "--company", f"Company {n}", check=0)


@pytest.mark.slow
def test_daemon_crawls_due_targets_and_stops_cleanly_on_sigterm(site, cli, db_path):
    add_targets(cli, site, 3)
    daemon = start_daemon(db_path)
    try:
        assert wait_for(lambda: query(db_path, "SELECT count(*) FROM captures")[0][0] == 3)
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=20)
    finally:
        daemon.kill()
    assert daemon.returncode == 0, stderr
    assert "stopped after" in stderr
    assert query(db_path, "SELECT count(*) FROM targets WHERE claimed_at IS NOT NULL")[0][0] == 0
    # Each target was claimed once: the next fetch is a day away, so no second capture.
    assert query(db_path, "SELECT count(*) FROM captures")[0][0] == 3


@pytest.mark.slow
def test_sigterm_mid_crawl_finishes_or_releases_claimed_work(site, cli, db_path):
    site["/slow"] = Page(b"<html><body><p>slow</p></body></html>", behaviour="slow", delay=5)
    cli("target", "add", site.url("/slow"), "--company", "Slow", check=0)
    daemon = start_daemon(db_path)
    try:
        assert wait_for(lambda: query(db_path, "SELECT claimed_at FROM targets")[0][0] is not None)
        # Mid-crawl: the request is in flight (the page answers after 5 s).
        assert wait_for(lambda: any(r["path"] == "/slow" for r in site.requests))
        daemon.send_signal(signal.SIGTERM)
        try:
            _, stderr = daemon.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            daemon.kill()
            pytest.fail(f"the daemon ignored SIGTERM: {daemon.communicate()[1][-3000:]}")
    finally:
        daemon.kill()
        daemon.communicate()
    assert daemon.returncode == 0, stderr
    [(claimed_at, next_fetch_at)] = query(db_path, "SELECT claimed_at, next_fetch_at FROM targets")
    captured = query(db_path, "SELECT count(*) FROM captures")[0][0]
    now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 1))
    assert claimed_at is None
    assert captured == 1 or next_fetch_at <= now  # finished, or released to be due at once


@pytest.mark.slow
def test_a_second_daemon_on_the_same_database_is_refused(site, cli, db_path):
    add_targets(cli, site, 1)
    daemon = start_daemon(db_path)
    try:
        assert wait_for(lambda: (db_path.parent / f"{db_path.name}.lock").exists() and
                        query(db_path, "SELECT count(*) FROM captures")[0][0] == 1)
        second = cli("run", "--ticks", "1")
        assert second.returncode == 1
        assert "holds the lock" in second.stderr and str(daemon.pid) in second.stderr
        maintenance = cli("maintain", "--vacuum")
        assert maintenance.returncode == 1 and "holds the lock" in maintenance.stderr
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.communicate(timeout=20)


FAULTS = [
    Page(b"oops", status=503, headers={"Content-Type": "text/html", "Retry-After": "1"}),
    Page(behaviour="reset"),
    Page(b"<html><body>slow</body></html>", behaviour="slow", delay=3),
    Page(behaviour="redirect-loop"),
    Page(b"<html><body><h1>Just a moment...</h1><p>Checking your browser</p></body></html>"),
    Page(b"\x00" * 4096, headers={"Content-Type": "application/octet-stream"}),
]


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())


@pytest.mark.slow
def test_sigkill_twenty_times_loses_and_duplicates_nothing(site, cli, db_path, receiver, tmp_path):
    """Each round kills a daemon at a random point of its work, chosen as progress, not time:
    after the k-th request reaches the site or the k-th capture is recorded (or, if it gets
    that far, once every target was fetched). A wall-clock kill point lands before the daemon
    has even started on a loaded machine, and after it finished on an idle one."""
    rng = random.Random(20261124)
    add_targets(cli, site, 6)
    for n, fault in enumerate(FAULTS):
        site[f"/fault{n}"] = fault
        cli("target", "add", site.url(f"/fault{n}"), "--company", f"Faulty {n}", check=0)
    targets = 6 + len(FAULTS)
    cli("subscribe", receiver.url(), "--class", "any",
        "--min-severity", "0", check=0)
    for round_number in range(20):
        # Companies edit their policies between rounds; every target is due again.
        for n in range(6):
            if rng.random() < 0.5:
                extra = f"<p>We may share your data with partner {round_number}.</p>"
                site.html(f"/p{n}", PAGE.format(n=n, extra=extra))
        started_at, requests_before = _now_iso(), len(site.requests)
        captures_before = query(db_path, "SELECT count(*) FROM captures")[0][0]
        query(db_path, "UPDATE targets SET next_fetch_at = '2000-01-01T00:00:00.000000Z'")
        kind, k = rng.choice(["requests", "captures"]), rng.randint(1, targets)

        def kill_point_reached():
            if kind == "requests" and len(site.requests) - requests_before >= k:
                return True
            if kind == "captures" and query(db_path, "SELECT count(*) FROM captures")[0][0] - captures_before >= k:
                return True
            return query(db_path, "SELECT count(DISTINCT target_id) FROM captures WHERE fetched_at >= ?",
                         [started_at])[0][0] == targets

        log = tmp_path / f"daemon-{round_number}.log"
        daemon = start_daemon(db_path, "--timeout", "2", "--lease", "1", log=log)
        try:
            reached = wait_for(kill_point_reached, timeout=120)
        finally:
            daemon.send_signal(signal.SIGKILL)
            daemon.wait(timeout=20)
        assert reached, f"round {round_number}: no progress to {k} {kind} in 120 s: {log.read_text()[-3000:]}"
        assert daemon.returncode == -signal.SIGKILL, f"round {round_number}: {log.read_text()[-3000:]}"
        assert query(db_path, "PRAGMA integrity_check") == [("ok",)], f"round {round_number}"
    # One last, undisturbed run: everything left over is done.
    query(db_path, "UPDATE targets SET next_fetch_at = '2000-01-01T00:00:00.000000Z'")
    final = cli("run", "--ticks", "1", "--timeout", "2", "--lease", "1", timeout=120)
    assert final.returncode == 0, final

    assert query(db_path, "PRAGMA integrity_check") == [("ok",)]
    uncaptured = query(db_path, "SELECT id FROM targets WHERE id NOT IN (SELECT target_id FROM captures)")
    assert uncaptured == []
    # No duplicate versions: consecutive versions of a target always differ.
    versions = query(db_path, "SELECT target_id, compare_sha256 FROM versions ORDER BY target_id, id")
    for (t1, h1), (t2, h2) in zip(versions, versions[1:]):
        assert not (t1 == t2 and h1 == h2)
    # No lost delivery: every change has exactly one delivery for the catch-all subscription.
    changes = query(db_path, "SELECT count(*) FROM changes")[0][0]  # --class any: noise too
    deliveries = query(db_path, "SELECT count(*), count(DISTINCT change_id) FROM deliveries WHERE kind = 'change'")[0]
    assert deliveries == (changes, changes)
    assert query(db_path, "SELECT count(*) FROM deliveries "
                          "WHERE status NOT IN ('sent', 'pending', 'failed', 'sending')")[0][0] == 0
    # Whatever a kill interrupted was resent under the same key, never as a second alert.
    sent = query(db_path, "SELECT idempotency_key FROM deliveries WHERE status = 'sent'")
    assert {key for (key,) in sent} <= set(receiver.accepted)
    assert len(receiver.accepted) >= 1
    assert cli("verify").returncode == 0
    # Twenty kills mid crawl+record left every WARC whole and every capture row's pointer right.
    from tests.evidence.test_warc_safety import assert_whole_warcs_and_true_pointers
    assert assert_whole_warcs_and_true_pointers(db_path, db_path.parent / "warc") >= 1


def test_retry_after_is_honoured_on_429(site, cli, db_path):
    site["/busy"] = Page(b"slow down", status=429, headers={"Content-Type": "text/plain", "Retry-After": "7200"})
    cli("target", "add", site.url("/busy"), "--company", "Busy", check=0)
    cli("crawl")
    [(next_fetch_at, state)] = query(db_path, "SELECT next_fetch_at, state FROM targets")
    two_hours = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() + 7100))
    assert state == "failing" and next_fetch_at >= two_hours
    assert len([r for r in site.requests if r["path"] == "/busy"]) == 1  # no immediate retry


def test_status_reports_states_reasons_backlog_and_size(site, cli, db_path):
    add_targets(cli, site, 2)
    cli("target", "add", site.url("/missing"), "--company", "Gone", check=0)
    cli("crawl")
    report = cli("status", "--json", check=0).json()
    assert report["targets"]["by_state"] == {"ok": 2, "failing": 1}
    [failing] = report["failing"]
    assert failing["company"] == "Gone" and "http-404" in failing["last_error"]
    assert report["database"]["bytes"] > 0
    assert report["outbox"]["backlog"] == 0
    human = cli("status", check=0)
    assert "Failing targets" in human.stdout and "Gone" in human.stdout


def test_maintain_prunes_unneeded_snapshots_and_vacuums(site, cli, db_path):
    site.html("/p", PAGE.format(n=1, extra=""))
    cli("target", "add", site.url("/p"), "--company", "Acme", check=0)
    cli("crawl", check=0)
    # Same words, different bytes: an unchanged capture with its own raw snapshot.
    site.html("/p", PAGE.format(n=1, extra="<!-- build 2 -->"))
    cli("crawl", "--all", check=0)
    assert query(db_path, "SELECT count(*) FROM snapshots")[0][0] == 2
    query(db_path, "UPDATE captures SET fetched_at = '2001-01-01T00:00:00.000000Z'")
    result = json.loads(cli("maintain", "--prune-unchanged-days", "30", "--vacuum", "--json", check=0).stdout)
    assert result["snapshots_deleted"] == 1 and result["integrity"] == "ok"
    # The version's own snapshot stays: versions must re-derive from it.
    assert query(db_path, "SELECT count(*) FROM snapshots s JOIN versions v ON v.snapshot_sha256 = s.sha256")[0][0] == 1
