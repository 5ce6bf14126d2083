"""Distributed crawling for real: a redis-server, a fixture page server, worker processes, `run --redis`.

Nothing is mocked: Debian's redis-server runs on a free port on 127.0.0.1 (``.ci/run`` installs
it), workers are `policywatch worker` processes, the run is `policywatch run --redis`.
"""

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.conftest import wait_for as _wait_for
from tests.sites import Page

redis = pytest.importorskip("redis", reason="the redis extra is part of the test extra")
pytestmark = [pytest.mark.skipif(shutil.which("redis-server") is None,
                                 reason="redis-server is not installed (.ci/run installs it)"),
              pytest.mark.slow]

TARGETS = 300
PAGE = ("<html><body><main><h1>Policy {n}</h1><p>We collect your email address to run the service.</p>"
        "{extra}</main></body></html>")
# One local page server is one "domain": lift the per-domain politeness for the test.
FAST = ["-s", "AUTOTHROTTLE_ENABLED=false", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16", "--timeout", "10"]


def query(db_path, sql, params=()):
    with sqlite3.connect(db_path, timeout=30) as connection:
        return connection.execute(sql, params).fetchall()


def add_targets(site, db_path, count=TARGETS, delay=0.0):
    from monitor.store import open_store
    store = open_store(db_path)
    try:
        for n in range(count):
            site[f"/p{n}"] = Page(PAGE.format(n=n, extra="").encode(), behaviour="slow" if delay else "",
                                  delay=delay)
            store.add_target(site.url(f"/p{n}"), f"Company {n}")
    finally:
        store.close()


def env(db_path):
    return {**os.environ, "POLICYWATCH_DB": str(db_path)}


def start_worker(redis_url, db_path, *args):
    return subprocess.Popen([sys.executable, "-m", "monitor.cli.main", "worker", "--redis", redis_url, *FAST, *args],
                            cwd=ROOT, env=env(db_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop_worker(worker) -> dict:
    """SIGTERM a worker and return the stats it prints."""
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
    try:
        stdout, stderr = worker.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        stdout, stderr = worker.communicate()
    assert worker.returncode == 0, stderr[-3000:]
    return json.loads(stdout.strip().splitlines()[-1])


def run(redis_url, db_path, *args, timeout=90):
    completed = subprocess.run([sys.executable, "-m", "monitor.cli.main", "run", "--redis", redis_url, "--no-notify",
                                "--tick", "0.5", *args], cwd=ROOT, env=env(db_path), capture_output=True,
                               text=True, timeout=timeout)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def start_run(redis_url, db_path, *args):
    return subprocess.Popen([sys.executable, "-m", "monitor.cli.main", "run", "--redis", redis_url, "--no-notify",
                             "--tick", "0.5", *args], cwd=ROOT, env=env(db_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition, timeout=60.0, every=0.1):
    return _wait_for(condition, timeout=timeout, every=every)


def captures_per_target(db_path) -> dict[int, int]:
    rows = query(db_path, "SELECT t.id, count(c.id) FROM targets t LEFT JOIN captures c ON c.target_id = t.id "
                          "GROUP BY t.id")
    return dict(rows)


def assert_no_duplicate_versions(db_path):
    versions = query(db_path, "SELECT target_id, compare_sha256 FROM versions ORDER BY target_id, id")
    for (t1, h1), (t2, h2) in zip(versions, versions[1:]):
        assert not (t1 == t2 and h1 == h2), f"target {t1} has two consecutive equal versions"


def make_all_due(db_path):
    query(db_path, "UPDATE targets SET next_fetch_at = '2000-01-01T00:00:00.000000Z'")


def test_two_workers_capture_each_target_exactly_once_per_tick(site, db_path, redis_url):
    add_targets(site, db_path)
    workers = [start_worker(redis_url, db_path) for _ in range(2)]
    try:
        first = run(redis_url, db_path, "--ticks", "1", "--batch", "1000")
        assert first["captures"] == TARGETS and first["stale"] == 0 and first["rejected"] == 0
        assert set(captures_per_target(db_path).values()) == {1}
        # A day later: ten companies edited their policies; every target is due again.
        for n in range(10):
            site[f"/p{n}"] = Page(PAGE.format(n=n, extra="<p>We may sell your data to brokers.</p>").encode())
        make_all_due(db_path)
        second = run(redis_url, db_path, "--ticks", "1", "--batch", "1000")
        assert second["captures"] == TARGETS
    finally:
        stats = [stop_worker(worker) for worker in workers]
    assert set(captures_per_target(db_path).values()) == {2}
    outcomes = dict(query(db_path, "SELECT outcome, count(*) FROM captures GROUP BY outcome"))
    assert outcomes == {"first-version": TARGETS, "unchanged": TARGETS - 10, "new-version": 10}
    assert query(db_path, "SELECT count(*) FROM changes")[0][0] == 10
    assert_no_duplicate_versions(db_path)
    # Both workers took part, and nothing was rejected.
    assert all(s.get("policywatch/redis/pushed", 0) > 0 for s in stats), stats
    assert sum(s["policywatch/redis/pushed"] for s in stats) == 2 * TARGETS
    assert not any(s.get("policywatch/redis/rejected") for s in stats)
    # Workers' captures are archived like local ones, and the claims are all closed.
    assert query(db_path, "SELECT count(*) FROM captures WHERE warc_file IS NULL")[0][0] == 0
    assert query(db_path, "SELECT count(*) FROM targets WHERE claimed_at IS NOT NULL")[0][0] == 0
    # A changed page was fetched twice by its worker, to confirm the change (monitor.record.vetting).
    assert len([r for r in site.requests if r["path"] == "/p3"]) == 3


def test_a_sigkilled_worker_loses_nothing_its_claims_are_requeued(site, db_path, redis_url):
    add_targets(site, db_path, delay=0.2)
    doomed, survivor = start_worker(redis_url, db_path), None
    daemon = start_run(redis_url, db_path, "--lease", "4", "--batch", "64")
    try:
        # Only the doomed worker runs at first, so it surely has requests in flight when killed.
        assert wait_for(lambda: query(db_path, "SELECT count(*) FROM captures")[0][0] >= 40), "no progress"
        doomed.send_signal(signal.SIGKILL)
        doomed.communicate(timeout=10)
        survivor = start_worker(redis_url, db_path)
        assert wait_for(lambda: query(db_path, "SELECT count(DISTINCT target_id) FROM captures")[0][0] == TARGETS,
                        timeout=90), captures_per_target(db_path)
        daemon.send_signal(signal.SIGTERM)
        stdout, stderr = daemon.communicate(timeout=30)
    finally:
        daemon.kill()
        doomed.kill()
        if survivor is not None:
            stop_worker(survivor)
    assert daemon.returncode == 0, stderr[-3000:]
    counts = json.loads(stdout.strip().splitlines()[-1])
    # The killed worker had popped messages it never answered: their leases ran out, re-queued.
    assert counts["requeued"] >= 1, counts
    assert set(captures_per_target(db_path).values()) == {1}
    assert query(db_path, "SELECT count(*) FROM versions")[0][0] == TARGETS
    assert_no_duplicate_versions(db_path)
    assert query(db_path, "SELECT count(*) FROM targets WHERE claimed_at IS NOT NULL")[0][0] == 0


def test_malformed_messages_are_rejected_and_counted_without_losing_the_others(site, db_path, redis_url):
    from crawler.redis.queue import Keys
    keys, client = Keys(), redis.Redis.from_url(redis_url)
    add_targets(site, db_path, count=40)
    daemon = start_run(redis_url, db_path, "--batch", "100")
    workers = []
    try:
        # The run pushes its 40 messages; bad ones are slipped in among them before any worker starts.
        assert wait_for(lambda: client.llen(keys.targets) == 40)
        pivot = client.lindex(keys.targets, 20)
        for bad in (b"not json", b'{"v": 1, "target_id": "seven", "url": "http://x/", "claim": "c"}',
                    b'{"v": 1, "target_id": 7, "url": "file:///etc/passwd", "claim": "c"}', b"[1, 2]"):
            client.linsert(keys.targets, "BEFORE", pivot, bad)
        client.rpush(keys.captures, b'{"v": 1, "target_id": 1, "claim": "forged"}')
        workers = [start_worker(redis_url, db_path, "--concurrency", "4") for _ in range(2)]
        assert wait_for(lambda: query(db_path, "SELECT count(DISTINCT target_id) FROM captures")[0][0] == 40)
        daemon.send_signal(signal.SIGTERM)
        stdout, stderr = daemon.communicate(timeout=30)
    finally:
        daemon.kill()
        stats = [stop_worker(worker) for worker in workers]
        client.close()
    assert daemon.returncode == 0, stderr[-3000:]
    counts = json.loads(stdout.strip().splitlines()[-1])
    assert counts["rejected"] == 1 and counts["captures"] == 40 and counts["requeued"] == 0
    assert sum(s.get("policywatch/redis/rejected", 0) for s in stats) == 4
    assert set(captures_per_target(db_path).values()) == {1}
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.hgetall(keys.stats) == {b"rejected/worker": b"4", b"rejected/recorder": b"1"}
        kept = [json.loads(entry) for entry in client.lrange(keys.rejected, 0, -1)]
    finally:
        client.close()
    assert len(kept) == 5 and all(entry["reason"] for entry in kept)
