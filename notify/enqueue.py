"""Queuing the outbox: the listeners that write ``deliveries`` rows.

They run inside the transaction that records the change (or the target's state change), so
nothing is recorded without its deliveries; each row's idempotency key makes a second
queuing of the same change × subscription a no-op (docs/decisions/0004).
"""

import logging

from monitor.store import Store, notifications
from monitor.timeutil import iso
from monitor.timeutil import now as utc_now
from notify.subscriptions import decode, matches, matches_target

log = logging.getLogger("notify.outbox")  # the outbox's log, as before the split


def idempotency_key(change_id: int, subscription_id: int) -> str:
    """The key that makes a delivery unique per change × subscription."""
    return f"change:{change_id}:subscription:{subscription_id}"


def operator_key(event_id: int, subscription_id: int) -> str:
    """The key that makes an operator alert unique per event × subscription."""
    return f"operator:{event_id}:subscription:{subscription_id}"


def _active_subscriptions(store: Store) -> list[dict]:
    return [decode(row) for row in notifications.active_subscriptions(store.db)]


def enqueue_for_change(store: Store, payload: dict) -> None:
    """Listener of ``change.recorded``: queue the change for every subscription it matches."""
    change, target = payload["change"], payload["target"]
    now = iso(utc_now())
    for subscription in _active_subscriptions(store):
        try:
            wanted = matches(subscription, change, target)
        except (KeyError, TypeError, ValueError) as error:
            # Better an unwanted alert than a lost one: queue it and say why.
            log.warning("subscription %s: cannot evaluate its filters (%s); queuing change %s",
                        subscription["id"], type(error).__name__, change["id"])
            wanted = True
        if not wanted:
            continue
        notifications.queue_delivery(store.db, dict(
            kind="change", change_id=change["id"], subscription_id=subscription["id"],
            idempotency_key=idempotency_key(change["id"], subscription["id"]),
            status="pending" if subscription["digest"] == "none" else "digest",
            attempts=0, next_attempt_at=now, created_at=now))


def enqueue_operator_event(store: Store, payload: dict) -> None:
    """Listener of ``target.state_changed``: a target turning broken, or recovering from broken."""
    target, old, new = payload["target"], payload["old_state"], payload["new_state"]
    if new == "broken" and old != "broken":
        kind = "broken"
    elif old == "broken" and new == "ok":
        kind = "recovered"
    else:
        return
    now = iso(utc_now())
    event_id = notifications.insert_operator_event(store.db, {
        "target_id": target["id"], "company": target["company"], "doc_type": target["doc_type"],
        "url": target["url"], "kind": kind, "old_state": old, "new_state": new,
        "reason": (payload.get("reason") or "")[:1000], "created_at": now})
    for subscription in _active_subscriptions(store):
        if matches_target(subscription, target):
            notifications.queue_delivery(store.db, dict(
                kind="operator", change_id=None, operator_event_id=event_id,
                subscription_id=subscription["id"],
                idempotency_key=operator_key(event_id, subscription["id"]),
                status="pending", attempts=0, next_attempt_at=now, created_at=now))
