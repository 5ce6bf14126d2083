"""The notifier's SQL (``notify`` owns what it means): ``subscriptions``, the ``deliveries``
outbox and its ``delivery_attempts``, ``operator_events`` and digests.

Every function takes the sqlite-utils database a ``Store`` holds (``store.db``) and returns
plain dicts and values. None opens a transaction: the caller (``notify.outbox``,
``notify.digests``, ``notify.subscriptions``) wraps the writes that must commit together in
``store.transaction()``, and the conditional updates here (``take_delivery``,
``claim_digest_period``) are what keep two notifiers from sending or composing the same row.
"""

import sqlite_utils

# -- subscriptions --------------------------------------------------------------------------


def insert_subscription(db: sqlite_utils.Database, row: dict) -> int:
    """Store a subscription row; return its id."""
    return db["subscriptions"].insert(row).last_pk


def find_subscription(db: sqlite_utils.Database, subscription_id: int) -> dict | None:
    """One subscriptions row as stored, or None if there is no such id."""
    rows = list(db.query("SELECT * FROM subscriptions WHERE id = ?", [subscription_id]))
    return rows[0] if rows else None


def subscription_row(db: sqlite_utils.Database, subscription_id: int) -> dict:
    """One subscriptions row as stored (sqlite-utils' ``NotFoundError`` if there is none)."""
    return db["subscriptions"].get(subscription_id)


def active_subscriptions(db: sqlite_utils.Database) -> list[dict]:
    """Every active subscriptions row, oldest first."""
    return list(db.query("SELECT * FROM subscriptions WHERE active = 1 ORDER BY id"))


def subscriptions_with_counts(db: sqlite_utils.Database, include_inactive: bool = False) -> list[dict]:
    """Subscriptions rows (active ones unless ``include_inactive``), each with its ``sent``,
    ``waiting`` (pending, failed, sending, digest) and ``dead`` delivery counts."""
    where = "" if include_inactive else "WHERE s.active = 1"
    return list(db.query(
        "SELECT s.*, "
        "(SELECT count(*) FROM deliveries d WHERE d.subscription_id = s.id AND d.status = 'sent') AS sent, "
        "(SELECT count(*) FROM deliveries d WHERE d.subscription_id = s.id "
        " AND d.status IN ('pending', 'failed', 'sending', 'digest')) AS waiting, "
        "(SELECT count(*) FROM deliveries d WHERE d.subscription_id = s.id AND d.status = 'dead') AS dead "
        f"FROM subscriptions s {where} ORDER BY s.id"))


def deactivate_subscription(db: sqlite_utils.Database, subscription_id: int) -> None:
    """Mark a subscription inactive and cancel its waiting deliveries (call in a transaction)."""
    db["subscriptions"].update(subscription_id, {"active": 0})
    # A row being sent right now (`sending`) is left to finish: it may already be out.
    db.execute("UPDATE deliveries SET status = 'cancelled' WHERE subscription_id = ? "
               "AND status IN ('pending', 'failed', 'digest')", [subscription_id])


def unsubscribed_file_secrets(db: sqlite_utils.Database) -> list[tuple[int, str]]:
    """``(id, secret_ref)`` of inactive subscriptions whose channel URL may still be in the
    secrets file (unsubscribed by the web's one-click link, which never touches that file)."""
    return [tuple(row) for row in db.execute(
        "SELECT id, secret_ref FROM subscriptions WHERE active = 0 AND secret_ref LIKE 'file:%'").fetchall()]


def mark_secret_forgotten(db: sqlite_utils.Database, subscription_id: int) -> None:
    """An inactive subscription's file secret is deleted: its reference says so."""
    db.execute("UPDATE subscriptions SET secret_ref = 'forgotten' WHERE id = ? AND active = 0",
               [subscription_id])


# -- the outbox: queuing --------------------------------------------------------------------


def queue_delivery(db: sqlite_utils.Database, row: dict) -> None:
    """``INSERT OR IGNORE`` a deliveries row: its idempotency key makes a second one a no-op."""
    columns = ", ".join(row)
    db.execute(f"INSERT OR IGNORE INTO deliveries ({columns}) VALUES ({', '.join('?' * len(row))})",
               list(row.values()))


def insert_operator_event(db: sqlite_utils.Database, row: dict) -> int:
    """Store an operator event (a target broken or recovered); return its id."""
    return db["operator_events"].insert(row).last_pk


def operator_event(db: sqlite_utils.Database, event_id: int) -> dict:
    """One operator_events row (sqlite-utils' ``NotFoundError`` if there is none)."""
    return db["operator_events"].get(event_id)


# -- the outbox: sending --------------------------------------------------------------------


def delivery(db: sqlite_utils.Database, delivery_id: int) -> dict:
    """One deliveries row (sqlite-utils' ``NotFoundError`` if there is none)."""
    return db["deliveries"].get(delivery_id)


def due_deliveries(db: sqlite_utils.Database, now: str, stale: str) -> list[tuple[int, int]]:
    """``(delivery id, subscription id)`` of every due row of an active subscription, oldest
    first: `pending`/`failed` ones whose ``next_attempt_at`` is ``now`` or earlier, and
    `sending` ones whose lease ran out (claimed at ``stale`` or earlier)."""
    return [tuple(row) for row in db.execute(
        "SELECT d.id, d.subscription_id FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id "
        "WHERE s.active = 1 AND ((d.status IN ('pending', 'failed') AND d.next_attempt_at <= ?) "
        "OR (d.status = 'sending' AND d.claimed_at <= ?)) ORDER BY d.id", [now, stale]).fetchall()]


def take_delivery(db: sqlite_utils.Database, delivery_id: int, claimed_at: str, now: str, stale: str) -> bool:
    """Mark a row `sending` (one attempt more) if it is still due; False if another notifier
    took it first. The condition in the UPDATE is the lock: only one claim can match."""
    return bool(db.execute(
        "UPDATE deliveries SET status = 'sending', claimed_at = ?, attempts = attempts + 1 "
        "WHERE id = ? AND ((status IN ('pending', 'failed') AND next_attempt_at <= ?) "
        "OR (status = 'sending' AND claimed_at <= ?))",
        [claimed_at, delivery_id, now, stale]).rowcount)


def close_open_attempts(db: sqlite_utils.Database, delivery_id: int, error: str, finished_at: str) -> None:
    """Close a delivery's attempts left open (a notifier stopped mid-send) as failed with ``error``."""
    db.execute("UPDATE delivery_attempts SET ok = 0, error = ?, finished_at = ? "
               "WHERE delivery_id = ? AND finished_at IS NULL", [error, finished_at, delivery_id])


def insert_attempt(db: sqlite_utils.Database, row: dict) -> int:
    """Store a delivery_attempts row; return its id."""
    return db["delivery_attempts"].insert(row).last_pk


def update_attempt(db: sqlite_utils.Database, attempt_id: int, values: dict) -> None:
    """Record an attempt's outcome."""
    db["delivery_attempts"].update(attempt_id, values)


def update_delivery(db: sqlite_utils.Database, delivery_id: int, values: dict) -> None:
    """Record a delivery's new status (and its error, time, next attempt)."""
    db["deliveries"].update(delivery_id, values)


def release_delivery(db: sqlite_utils.Database, delivery_id: int, attempt_id: int, error: str,
                     finished_at: str) -> None:
    """A send cut short by a stop: close its attempt with ``error``, and put the delivery back
    to `pending` (due at ``finished_at``, the attempt not counted) if it is still `sending`."""
    db.execute("UPDATE delivery_attempts SET ok = 0, error = ?, finished_at = ? WHERE id = ?",
               [error, finished_at, attempt_id])
    db.execute("UPDATE deliveries SET status = 'pending', claimed_at = NULL, next_attempt_at = ?, "
               "attempts = max(0, attempts - 1) WHERE id = ? AND status = 'sending'",
               [finished_at, delivery_id])


def delivery_counts(db: sqlite_utils.Database) -> dict:
    """How many deliveries are in each status."""
    return {row[0]: row[1] for row in db.execute(
        "SELECT status, count(*) FROM deliveries GROUP BY status ORDER BY status").fetchall()}


# -- digests --------------------------------------------------------------------------------


def digest_subscriptions(db: sqlite_utils.Database) -> list[dict]:
    """``id``, ``digest``, ``created_at`` and ``last_digest_at`` of every active daily or
    weekly subscription, oldest first."""
    return list(db.query(
        "SELECT id, digest, created_at, last_digest_at FROM subscriptions "
        "WHERE active = 1 AND digest IN ('daily', 'weekly') ORDER BY id"))


def claim_digest_period(db: sqlite_utils.Database, subscription_id: int, until: str,
                        last_digest_at: str | None) -> bool:
    """Move a subscription's ``last_digest_at`` to ``until`` if it is still ``last_digest_at``;
    False if another notifier composed this period first (the condition is the lock)."""
    return bool(db.execute(
        "UPDATE subscriptions SET last_digest_at = ? WHERE id = ? "
        "AND coalesce(last_digest_at, '') = coalesce(?, '')",
        [until, subscription_id, last_digest_at]).rowcount)


def waiting_for_digest(db: sqlite_utils.Database, subscription_id: int) -> list[int]:
    """Ids of a subscription's deliveries waiting for its next digest, oldest first."""
    return [row[0] for row in db.execute(
        "SELECT id FROM deliveries WHERE subscription_id = ? AND status = 'digest' ORDER BY id",
        [subscription_id]).fetchall()]


def insert_delivery(db: sqlite_utils.Database, row: dict) -> int:
    """Store a deliveries row (a digest); return its id."""
    return db["deliveries"].insert(row).last_pk


def mark_digested(db: sqlite_utils.Database, digest_id: int, delivery_ids: list[int]) -> None:
    """The deliveries ``delivery_ids`` are summarised by the digest delivery ``digest_id``."""
    marks = ",".join("?" * len(delivery_ids))
    db.execute(f"UPDATE deliveries SET status = 'digested', digest_delivery_id = ? "
               f"WHERE id IN ({marks})", [digest_id, *delivery_ids])


def digested_change_ids(db: sqlite_utils.Database, digest_id: int) -> list[int]:
    """The ids of the changes a digest delivery summarises, oldest first."""
    return [row[0] for row in db.execute(
        "SELECT change_id FROM deliveries WHERE digest_delivery_id = ? ORDER BY change_id",
        [digest_id]).fetchall()]


def digest_first_detected(db: sqlite_utils.Database, digest_id: int) -> str | None:
    """When the first change a digest delivery summarises was detected (None if none)."""
    return db.execute(
        "SELECT min(c.detected_at) FROM deliveries d JOIN changes c ON c.id = d.change_id "
        "WHERE d.digest_delivery_id = ?", [digest_id]).fetchone()[0]
