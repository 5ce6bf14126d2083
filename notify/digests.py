"""Digests: daily and weekly subscriptions get one message for all their changes of a period.

A matching change is queued for a digest subscription with status ``digest``. When the
subscription's period has passed since its last digest (``last_digest_at``, else its
creation), ``compose_digests`` turns the waiting rows into one ``digest`` delivery in one
transaction: the new row is ``pending`` and each change row becomes ``digested`` with a
pointer to it. From then on the digest is sent, retried and recorded like any delivery.
"""

from datetime import datetime, timedelta

from monitor.store.database import Store
from monitor.timeutil import iso
from monitor.timeutil import now as utc_now

PERIODS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}


def digest_key(subscription_id: int, until: str) -> str:
    """The idempotency key of the digest a subscription's period ending at ``until`` yields."""
    return f"digest:{subscription_id}:{until}"


def compose_digests(store: Store, now: datetime | None = None, force: bool = False) -> int:
    """Compose the digests that are due (every waiting one with ``force``); return how many."""
    now = now or utc_now()
    until = iso(now)
    composed = 0
    subscriptions = list(store.db.query(
        "SELECT id, digest, created_at, last_digest_at FROM subscriptions "
        "WHERE active = 1 AND digest IN ('daily', 'weekly') ORDER BY id"))
    for sub in subscriptions:
        since = sub["last_digest_at"] or sub["created_at"]
        if not force and since > iso(now - PERIODS[sub["digest"]]):
            continue
        with store.transaction():
            # The conditional update makes two notifiers composing at once harmless.
            claimed = store.db.execute(
                "UPDATE subscriptions SET last_digest_at = ? WHERE id = ? "
                "AND coalesce(last_digest_at, '') = coalesce(?, '')",
                [until, sub["id"], sub["last_digest_at"]]).rowcount
            if not claimed:
                continue
            waiting = [row[0] for row in store.db.execute(
                "SELECT id FROM deliveries WHERE subscription_id = ? AND status = 'digest' ORDER BY id",
                [sub["id"]]).fetchall()]
            if not waiting:
                continue  # no empty digests; the next period starts now
            digest_id = store.db["deliveries"].insert({
                "kind": "digest", "change_id": None, "subscription_id": sub["id"],
                "idempotency_key": digest_key(sub["id"], until), "status": "pending", "attempts": 0,
                "next_attempt_at": until, "created_at": until,
                "last_error": None, "sent_at": None,
            }).last_pk
            marks = ",".join("?" * len(waiting))
            store.db.execute(f"UPDATE deliveries SET status = 'digested', digest_delivery_id = ? "
                             f"WHERE id IN ({marks})", [digest_id, *waiting])
            composed += 1
    return composed


def digest_items(store: Store, digest_delivery_id: int) -> list[tuple[dict, dict]]:
    """The (change, target) pairs a digest delivery summarises, oldest first."""
    change_ids = [row[0] for row in store.db.execute(
        "SELECT change_id FROM deliveries WHERE digest_delivery_id = ? ORDER BY change_id",
        [digest_delivery_id]).fetchall()]
    items = []
    for change_id in change_ids:
        change = store.get_change(change_id)
        items.append((change, store.get_target(change["target_id"])))
    return items


def digest_since(store: Store, digest_delivery_id: int) -> str:
    """When the period a digest covers began (its first change's detection time)."""
    row = store.db.execute(
        "SELECT min(c.detected_at) FROM deliveries d JOIN changes c ON c.id = d.change_id "
        "WHERE d.digest_delivery_id = ?", [digest_delivery_id]).fetchone()
    return (row[0] or "")[:16].replace("T", " ")
