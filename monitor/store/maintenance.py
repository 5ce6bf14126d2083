"""Storage upkeep: prune raw bodies nobody needs, checkpoint and VACUUM — under the writer lock.

A raw snapshot is needed while a version was extracted from it (versions must re-derive from
their snapshot) or a recent capture points at it. Snapshots that only unchanged, not-modified
or failed captures older than the retention point at can go; the capture rows keep the hash.
"""

from datetime import timedelta

from monitor.store.database import Store
from monitor.store.health import database_bytes
from monitor.store.lock import DaemonLock
from monitor.timeutil import iso, now


def prune_snapshots(store: Store, keep_days: int) -> dict:
    """Delete raw bodies referenced only by non-version captures older than ``keep_days``."""
    cutoff = iso(now() - timedelta(days=keep_days))
    with store.transaction():
        doomed = [row[0] for row in store.db.execute(
            "SELECT s.sha256 FROM snapshots s "
            "WHERE NOT EXISTS (SELECT 1 FROM versions v WHERE v.snapshot_sha256 = s.sha256) "
            "AND NOT EXISTS (SELECT 1 FROM captures c WHERE c.body_sha256 = s.sha256 AND c.fetched_at >= ?)",
            [cutoff])]
        freed = 0
        for digest in doomed:
            freed += store.db.execute("SELECT length(body_zlib) FROM snapshots WHERE sha256 = ?",
                                      [digest]).fetchone()[0] or 0
            store.db.execute("DELETE FROM snapshots WHERE sha256 = ?", [digest])
    return {"snapshots_deleted": len(doomed), "bytes_freed": freed}


def vacuum(store: Store) -> dict:
    """Checkpoint the WAL and VACUUM (no transaction may be open; the caller holds the lock)."""
    before = database_bytes(store.path)
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.db.execute("VACUUM")
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return {"bytes_before": before, "bytes_after": database_bytes(store.path)}


def maintain(store: Store, *, keep_unchanged_days: int | None, run_vacuum: bool) -> dict:
    """Prune and/or vacuum while holding the writer lock, so no daemon writes meanwhile."""
    lock = DaemonLock(store.path).acquire()
    try:
        result = {}
        if keep_unchanged_days is not None:
            result.update(prune_snapshots(store, keep_unchanged_days))
        if run_vacuum:
            result.update(vacuum(store))
        integrity = store.db.execute("PRAGMA integrity_check").fetchone()[0]
        result["integrity"] = integrity
        return result
    finally:
        lock.release()
