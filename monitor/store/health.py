"""What an operator needs to see: ``policywatch status`` and the web app's ``/health``."""

import os
from datetime import timedelta

from monitor.store.database import Store
from monitor.timeutil import iso, now


def database_bytes(path: str) -> int:
    """Size of the database file with its WAL and shared-memory files."""
    return sum(os.path.getsize(p) for p in (path, f"{path}-wal", f"{path}-shm") if os.path.exists(p))


def status_report(store: Store, failing_limit: int = 50) -> dict:
    """Targets by state, freshness, failing targets with reasons, outbox backlog, storage."""
    db = store.db
    moment = now()
    by_state = {state: n for state, n in db.execute("SELECT state, count(*) FROM targets GROUP BY state")}
    failing = [dict(row) for row in db.query(
        "SELECT id, company, doc_type, url, state, consecutive_failures, last_error, last_success_at "
        "FROM targets WHERE state IN ('failing', 'broken') ORDER BY state DESC, consecutive_failures DESC "
        "LIMIT ?", [failing_limit])]
    outbox = {status: n for status, n in db.execute(
        "SELECT status, count(*) FROM deliveries WHERE status IN ('pending', 'sending', 'failed', 'dead', 'digest') "
        "GROUP BY status")}
    oldest_pending = db.execute(
        "SELECT min(created_at) FROM deliveries WHERE status IN ('pending', 'failed', 'sending')").fetchone()[0]
    since = iso(moment - timedelta(days=1))
    last_day = {outcome: n for outcome, n in db.execute(
        "SELECT outcome, count(*) FROM captures WHERE fetched_at >= ? GROUP BY outcome", [since])}
    return {
        "database": {"path": store.path, "bytes": database_bytes(store.path),
                     "snapshots": db.execute("SELECT count(*) FROM snapshots").fetchone()[0],
                     "versions": db.execute("SELECT count(*) FROM versions").fetchone()[0]},
        "targets": {"total": sum(by_state.values()), "by_state": by_state,
                    "due_now": db.execute("SELECT count(*) FROM targets WHERE state != 'removed' AND "
                                          "next_fetch_at <= ?", [iso(moment)]).fetchone()[0],
                    "last_success_at": db.execute("SELECT max(last_success_at) FROM targets").fetchone()[0]},
        "failing": failing,
        "captures_last_24h": last_day,
        "outbox": {"backlog": sum(n for s, n in outbox.items() if s in ("pending", "sending", "failed")),
                   "by_status": outbox, "oldest_pending_at": oldest_pending},
        "healthy": not by_state.get("broken") and not outbox.get("dead"),
    }
