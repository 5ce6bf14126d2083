"""Digests: daily and weekly subscriptions get one message for all their changes of a period.

A matching change is queued for a digest subscription with status ``digest``. When the
subscription's period has passed since its last digest (``last_digest_at``, else its
creation), ``compose_digests`` turns the waiting rows into one ``digest`` delivery in one
transaction: the new row is ``pending`` and each change row becomes ``digested`` with a
pointer to it. From then on the digest is sent, retried and recorded like any delivery.
"""

from datetime import datetime, timedelta

from monitor.store import Store, notifications
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
    for sub in notifications.digest_subscriptions(store.db):
        since = sub["last_digest_at"] or sub["created_at"]
        if not force and since > iso(now - PERIODS[sub["digest"]]):
            continue
        with store.transaction():
            # The conditional update makes two notifiers composing at once harmless.
            if not notifications.claim_digest_period(store.db, sub["id"], until, sub["last_digest_at"]):
                continue
            waiting = notifications.waiting_for_digest(store.db, sub["id"])
            if not waiting:
                continue  # no empty digests; the next period starts now
            digest_id = notifications.insert_delivery(store.db, {
                "kind": "digest", "change_id": None, "subscription_id": sub["id"],
                "idempotency_key": digest_key(sub["id"], until), "status": "pending", "attempts": 0,
                "next_attempt_at": until, "created_at": until,
                "last_error": None, "sent_at": None,
            })
            notifications.mark_digested(store.db, digest_id, waiting)
            composed += 1
    return composed


def digest_items(store: Store, digest_delivery_id: int) -> list[tuple[dict, dict]]:
    """The (change, target) pairs a digest delivery summarises, oldest first."""
    items = []
    for change_id in notifications.digested_change_ids(store.db, digest_delivery_id):
        change = store.get_change(change_id)
        items.append((change, store.get_target(change["target_id"])))
    return items


def digest_since(store: Store, digest_delivery_id: int) -> str:
    """When the period a digest covers began (its first change's detection time)."""
    first = notifications.digest_first_detected(store.db, digest_delivery_id)
    return (first or "")[:16].replace("T", " ")
