"""``policywatch summaries rebuild``: stored summaries re-derived from the evidence, in batches,
idempotent, waiting for the writer lock; through the real CLI on a real SQLite database."""

import json
import sqlite3

import pytest

from monitor.record import Capture, record_capture
from monitor.store import open_store
from monitor.timeutil import now_iso

PAGE = "<html><body><main><h1>Privacy</h1><p>We keep logs for 30 days.</p><p>{}</p></main></body></html>"
# Two material changes and a return to the first text (noise): three changes, three kinds of summary.
SENTENCES = ["We do not sell your personal data.", "We may sell your personal data to data brokers.",
             "We may share your precise location with advertising partners.", "We do not sell your personal data."]


@pytest.fixture
def recorded(db_path):
    """A store with three changes recorded (each with its summary); their summaries by id."""
    store = open_store(db_path)
    target = store.add_target("https://acme.example/privacy", "Acme")
    for sentence in SENTENCES:
        record_capture(store, Capture(target["id"], target["url"], now_iso(), status=200,
                                      body=PAGE.format(sentence).encode(), content_type="text/html",
                                      final_url=target["url"]))
    store.close()
    originals = _summaries(db_path)
    assert len(originals) == 3 and all(originals.values())
    assert {json.loads(s)["kind"] for s in originals.values()} == {"material", "returns"}
    return originals


def _summaries(db_path) -> dict:
    with sqlite3.connect(db_path) as connection:
        return dict(connection.execute("SELECT id, summary FROM changes ORDER BY id"))


def _set(db_path, sql, *params) -> None:
    with sqlite3.connect(db_path) as connection:
        connection.execute(sql, params)


def test_blanked_summaries_are_rebuilt_equal_and_a_second_run_writes_nothing(cli, db_path, recorded):
    _set(db_path, "UPDATE changes SET summary = NULL")

    dry = cli("summaries", "rebuild", "--dry-run", "--json", check=0)
    assert dry.json() == {"checked": 3, "missing": 3, "rebuilt": 3, "dry_run": True, "missing_only": False}
    assert dry.stderr.strip() == ("summaries: 3 change(s) checked, 3 would be rewritten (3 had none), "
                                  "0 already current; dry run, nothing written")
    assert set(_summaries(db_path).values()) == {None}

    done = cli("summaries", "rebuild", "--batch", "2", "--json", check=0)  # two batches
    assert done.json()["rebuilt"] == 3
    assert done.stderr.strip() == "summaries: 3 change(s) checked, 3 rewritten (3 had none), 0 already current"
    assert _summaries(db_path) == recorded

    again = cli("summaries", "rebuild", "--json", check=0)
    assert again.json() == {"checked": 3, "missing": 0, "rebuilt": 0, "dry_run": False, "missing_only": False}
    assert _summaries(db_path) == recorded


def test_missing_only_leaves_stale_ones_and_the_full_run_rewrites_them(cli, db_path, recorded):
    first, second, third = recorded
    stale = {**json.loads(recorded[first]), "version": "older-phrasing", "headline": "Old words"}
    _set(db_path, "UPDATE changes SET summary = ? WHERE id = ?", json.dumps(stale), first)
    _set(db_path, "UPDATE changes SET summary = 'not json' WHERE id = ?", second)
    _set(db_path, "UPDATE changes SET summary = '' WHERE id = ?", third)

    partial = cli("summaries", "rebuild", "--missing-only", "--json", check=0).json()
    assert (partial["checked"], partial["missing"], partial["rebuilt"]) == (2, 2, 2)
    assert _summaries(db_path) == {**recorded, first: json.dumps(stale)}

    full = cli("summaries", "rebuild", check=0)
    assert full.stderr.strip() == "summaries: 3 change(s) checked, 1 rewritten (0 had none), 2 already current"
    assert _summaries(db_path) == recorded


def test_it_waits_for_the_writer_lock_and_writes_nothing_without_it(cli, db_path, recorded):
    _set(db_path, "UPDATE changes SET summary = NULL")
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer (a crawl, the daemon) mid-transaction
    try:
        blocked = cli("summaries", "rebuild", env={"POLICYWATCH_BUSY_TIMEOUT_MS": "200"}, check=1)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    [line] = blocked.stderr.strip().splitlines()
    assert line.startswith("policywatch: error:") and "locked" in line
    assert set(_summaries(db_path).values()) == {None}

    cli("summaries", "rebuild", check=0)
    assert _summaries(db_path) == recorded
