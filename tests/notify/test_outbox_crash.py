"""A notifier killed (SIGKILL) mid-batch loses no delivery and sends none twice after restart.

"Twice" is judged as a receiver would, by the ``Idempotency-Key`` header: a message handed to
the channel just before the kill cannot be known sent, so it is re-sent with the same key
(docs/decisions/0004-outbox-delivery-semantics.md).
"""

import os
import random
import signal
import sqlite3
import subprocess
import sys

import pytest

import notify
from monitor.store import open_store
from notify.outbox import INTERRUPTED
from notify.subscriptions import add_subscription
from tests.conftest import ROOT, wait_for
from tests.receivers import material_change

pytestmark = pytest.mark.slow  # notifier processes killed mid-send


def _outbox(db_path, receiver, changes: int) -> set[str]:
    notify.install()
    store = open_store(db_path)
    subs = [add_subscription(store, receiver.url(path=f"/hook/{n}"))["id"] for n in range(3)]
    ids = [material_change(store, f"Company {n}") for n in range(changes)]
    store.close()
    return {f"change:{c}:subscription:{s}" for c in ids for s in subs}


def _notifier(db_path, **env) -> subprocess.Popen:
    # One send at a time: these tests kill a notifier with exactly one send in flight and count
    # what was sent before it (parallel sends have their own tests: test_notify_isolation.py).
    environment = {**os.environ, "POLICYWATCH_DB": str(db_path), "POLICYWATCH_NOTIFY_PARALLEL_SENDS": "1", **env}
    return subprocess.Popen([sys.executable, "-m", "monitor.cli.main", "notify", "--json"], cwd=ROOT,
                            env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    _, err = process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL, err


def _run(db_path, **env) -> dict:
    import json
    process = _notifier(db_path, **env)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return json.loads(out)


def _statuses(db_path) -> dict:
    db = sqlite3.connect(db_path)
    return dict(db.execute("SELECT status, count(*) FROM deliveries GROUP BY status").fetchall())


def _one_success_each(db_path) -> None:
    db = sqlite3.connect(db_path)
    rows = db.execute("SELECT d.id, sum(a.ok = 1) FROM deliveries d JOIN delivery_attempts a "
                      "ON a.delivery_id = d.id GROUP BY d.id").fetchall()
    assert rows and all(ok == 1 for _, ok in rows), rows
    assert db.execute("SELECT count(*) FROM delivery_attempts WHERE finished_at IS NULL").fetchone()[0] == 0


def test_kill_during_a_send_then_restart(db_path, receiver):
    expected = _outbox(db_path, receiver, changes=5)
    receiver.script = ["ok", "ok", "hang"]
    process = _notifier(db_path)
    assert receiver.hung.wait(60), "the notifier never reached the third send"
    _kill(process)
    receiver.release()  # the receiver got that message: the notifier can't know it
    hung_key = receiver.requests[2]["key"]
    assert _statuses(db_path) == {"sent": 2, "sending": 1, "pending": 12}

    # Within the lease a restart leaves the in-flight row alone (another notifier may own it)…
    report = _run(db_path)
    assert (report["sent"], report["resumed"]) == (12, 0)
    assert _statuses(db_path) == {"sent": 14, "sending": 1}
    # …once it expires, the row is re-sent with the same key.
    report = _run(db_path, POLICYWATCH_NOTIFY_LEASE_SECONDS="0")
    assert (report["sent"], report["resumed"]) == (1, 1)
    assert _statuses(db_path) == {"sent": 15}

    assert set(receiver.accepted) == expected  # nothing lost
    assert receiver.duplicates == [hung_key]  # the one unknowable send, dropped by its key
    _one_success_each(db_path)
    db = sqlite3.connect(db_path)
    interrupted = db.execute("SELECT d.idempotency_key FROM delivery_attempts a JOIN deliveries d "
                             "ON d.id = a.delivery_id WHERE a.error = ?", [INTERRUPTED]).fetchall()
    assert interrupted == [(hung_key,)]
    assert _run(db_path, POLICYWATCH_NOTIFY_LEASE_SECONDS="0")["sent"] == 0


def test_repeated_kills_at_random_moments(db_path, receiver):
    expected = _outbox(db_path, receiver, changes=8)
    receiver.delay = 0.4  # a full pass takes ~10 s: every kill lands mid-batch
    rng = random.Random(7)
    for _ in range(4):
        # Killed while its k-th send is in flight (the receiver holds each for 0.4 s): a point in
        # the batch, not a time, which a loaded machine would make land before the first send.
        seen, k = len(receiver.requests), rng.randint(1, 6)
        process = _notifier(db_path, POLICYWATCH_NOTIFY_LEASE_SECONDS="0")
        try:
            assert wait_for(lambda: len(receiver.requests) - seen >= k, timeout=120), \
                f"the notifier never made its {k}th send"
        finally:
            _kill(process)
    for _ in range(3):  # on a loaded machine a slow answer may also time out: retry at once
        _run(db_path, POLICYWATCH_NOTIFY_LEASE_SECONDS="0", POLICYWATCH_NOTIFY_BACKOFF_SECONDS="0")
        if _statuses(db_path) == {"sent": 24}:
            break
    assert _statuses(db_path) == {"sent": 24}
    assert set(receiver.accepted) == expected
    db = sqlite3.connect(db_path)
    interrupted = {row[0] for row in db.execute(
        "SELECT d.idempotency_key FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id "
        "WHERE a.ok = 0")}
    # Only a send cut short by a kill (or timed out) is ever repeated; the receiver drops it.
    # (A row re-sent first after a restart can be cut short again, so a key may repeat twice.)
    assert set(receiver.duplicates) <= interrupted
    _one_success_each(db_path)
