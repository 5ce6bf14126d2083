"""The outbox: one ``deliveries`` row per change × matching subscription, sent through apprise.

Rows are written by the listeners here inside the transaction that records the change (or
the target's state change), so nothing is recorded without its deliveries. ``send_pending``
sends due rows one at a time: claim (status ``sending`` + an open attempt row, committed),
send, then record the outcome (committed). A row left ``sending`` by a killed notifier is
re-sent once its lease expires, with the same idempotency key (docs/decisions/0004). Failures
are retried with capped exponential backoff, then marked ``dead``. Nothing here raises for a
failing channel: a crawl that sends its outbox is never aborted by one.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor import ledger
from monitor.errors import ChangeNotFound, PolicywatchError, TargetNotFound
from monitor.store import Store
from monitor.timeutil import iso
from monitor.timeutil import now as utc_now

from . import channels
from .digests import compose_digests, digest_items, digest_since
from .messages import change_context, digest_context, operator_context
from .render import TemplateProblem, render_message
from .settings import NotifySettings
from .subscriptions import decode, matches, matches_target

log = logging.getLogger(__name__)

WAITING = ("pending", "failed", "sending", "digest")
INTERRUPTED = ("notifier stopped during this send; outcome unknown, re-sent with the same "
               "idempotency key")


@dataclass
class SendReport:
    """What one ``send_pending`` pass did."""

    sent: int = 0
    failed: int = 0
    dead: int = 0
    digests: int = 0
    resumed: int = 0  # rows found `sending` after a notifier stopped mid-send

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def idempotency_key(change_id: int, subscription_id: int) -> str:
    """The key that makes a delivery unique per change × subscription."""
    return f"change:{change_id}:subscription:{subscription_id}"


def operator_key(event_id: int, subscription_id: int) -> str:
    """The key that makes an operator alert unique per event × subscription."""
    return f"operator:{event_id}:subscription:{subscription_id}"


def _insert(store: Store, **row) -> None:
    columns = ", ".join(row)
    store.db.execute(f"INSERT OR IGNORE INTO deliveries ({columns}) VALUES ({', '.join('?' * len(row))})",
                     list(row.values()))


def _active_subscriptions(store: Store) -> list[dict]:
    return [decode(row) for row in store.db.query("SELECT * FROM subscriptions WHERE active = 1 ORDER BY id")]


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
        _insert(store, kind="change", change_id=change["id"], subscription_id=subscription["id"],
                idempotency_key=idempotency_key(change["id"], subscription["id"]),
                status="pending" if subscription["digest"] == "none" else "digest",
                attempts=0, next_attempt_at=now, created_at=now)


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
    event_id = store.db["operator_events"].insert({
        "target_id": target["id"], "company": target["company"], "doc_type": target["doc_type"],
        "url": target["url"], "kind": kind, "old_state": old, "new_state": new,
        "reason": (payload.get("reason") or "")[:1000], "created_at": now}).last_pk
    for subscription in _active_subscriptions(store):
        if matches_target(subscription, target):
            _insert(store, kind="operator", change_id=None, operator_event_id=event_id,
                    subscription_id=subscription["id"], idempotency_key=operator_key(event_id, subscription["id"]),
                    status="pending", attempts=0, next_attempt_at=now, created_at=now)


# -- sending --------------------------------------------------------------------------------
def _message(store: Store, delivery: dict, subscription: dict, settings: NotifySettings,
             body_limit: int, title_limit: int) -> tuple[str, str]:
    key, kind = delivery["idempotency_key"], delivery["kind"] or "change"
    if kind == "digest":
        items = digest_items(store, delivery["id"])
        context_for = digest_context(items, subscription, since=digest_since(store, delivery["id"]),
                                     until=delivery["created_at"][:16].replace("T", " "),
                                     base_url=settings.base_url, max_items=settings.max_items, key=key)
    elif kind == "operator":
        event = store.db["operator_events"].get(delivery["operator_event_id"])
        target = {"id": event["target_id"], "company": event["company"], "doc_type": event["doc_type"],
                  "url": event["url"]}
        context_for = operator_context(event, target, subscription, key=key)
    else:
        change = store.get_change(delivery["change_id"])
        context_for = change_context(change, store.get_target(change["target_id"]), subscription,
                                     base_url=settings.base_url, max_items=settings.max_items, key=key)
    return render_message(kind if kind != "change" else "alert", context_for, subscription["format"],
                          settings.template_dir or None, body_limit, title_limit)


def _due(store: Store, now: datetime, settings: NotifySettings, limit: int) -> list[int]:
    stale = iso(now - timedelta(seconds=settings.lease_seconds))
    return [row[0] for row in store.db.execute(
        "SELECT d.id FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id "
        "WHERE s.active = 1 AND ((d.status IN ('pending', 'failed') AND d.next_attempt_at <= ?) "
        "OR (d.status = 'sending' AND d.claimed_at <= ?)) ORDER BY d.id LIMIT ?",
        [iso(now), stale, limit]).fetchall()]


def _claim(store: Store, delivery: dict, now: datetime, settings: NotifySettings) -> int | None:
    """Mark a row `sending` and open an attempt, committed before the send; None if taken."""
    stale = iso(now - timedelta(seconds=settings.lease_seconds))
    with store.transaction():
        taken = store.db.execute(
            "UPDATE deliveries SET status = 'sending', claimed_at = ?, attempts = attempts + 1 "
            "WHERE id = ? AND ((status IN ('pending', 'failed') AND next_attempt_at <= ?) "
            "OR (status = 'sending' AND claimed_at <= ?))",
            [iso(utc_now()), delivery["id"], iso(now), stale]).rowcount
        if not taken:
            return None
        store.db.execute("UPDATE delivery_attempts SET ok = 0, error = ?, finished_at = ? "
                         "WHERE delivery_id = ? AND finished_at IS NULL",
                         [INTERRUPTED, iso(utc_now()), delivery["id"]])
        return store.db["delivery_attempts"].insert({
            "delivery_id": delivery["id"], "attempted_at": iso(utc_now()), "ok": None, "error": None,
            "finished_at": None}).last_pk


def _finish(store: Store, delivery: dict, attempt_id: int | None, attempts: int, error: str | None,
            settings: NotifySettings, now: datetime, *, permanent: bool = False,
            count_attempt: bool = True) -> str:
    """Record an outcome; return the delivery's new status. Backoff counts from the pass's
    ``now`` (the clock, or a later time a test passes)."""
    finished = iso(utc_now())
    if error is None:
        status, updates = "sent", {"status": "sent", "sent_at": finished, "last_error": None}
    else:
        dead = permanent or (count_attempt and attempts >= settings.max_attempts)
        status = "dead" if dead else "failed"
        delay = settings.backoff(max(1, attempts))
        updates = {"status": status, "last_error": error,
                   "next_attempt_at": iso(max(now, utc_now()) + timedelta(seconds=delay))}
    with store.transaction():
        if attempt_id is None:
            store.db["delivery_attempts"].insert({"delivery_id": delivery["id"], "attempted_at": finished,
                                                  "ok": 0, "error": error, "finished_at": finished})
        else:
            store.db["delivery_attempts"].update(attempt_id, {"ok": int(error is None), "error": error,
                                                              "finished_at": finished})
        store.db["deliveries"].update(delivery["id"], updates)
        if status == "sent":
            # Proof of notice: the sent delivery joins the ledger in the same transaction.
            ledger.append_delivery(store.db, delivery["id"], finished)
    return status


def _deliver(store: Store, delivery_id: int, now: datetime, settings: NotifySettings,
             report: SendReport) -> None:
    delivery = store.db["deliveries"].get(delivery_id)
    subscription = decode(store.db["subscriptions"].get(delivery["subscription_id"]))
    url = subscription["apprise_url"]
    plugin = channels.channel(url)
    if plugin is None:
        attempt = _claim(store, delivery, now, settings)
        if attempt is not None:
            _finish(store, delivery, attempt, delivery["attempts"] + 1,
                    f"apprise cannot use {channels.redact(url)} any more", settings, now, permanent=True)
            report.dead += 1
        return
    title_limit, body_limit = channels.limits(plugin)
    body_limit = min(body_limit or settings.max_body_chars, settings.max_body_chars)
    try:
        title, body = _message(store, delivery, subscription, settings, body_limit, title_limit)
    except (TemplateProblem, ChangeNotFound, TargetNotFound) as problem:
        # Not the channel's fault and not a reason to give up: keep it, retry after a fix.
        _finish(store, delivery, None, max(1, delivery["attempts"]), str(problem), settings, now,
                count_attempt=False)
        log.warning("delivery %s: %s", delivery_id, problem)
        report.failed += 1
        return
    resumed = delivery["status"] == "sending"
    attempt = _claim(store, delivery, now, settings)
    if attempt is None:
        return  # another notifier took it
    report.resumed += int(resumed)
    error = channels.send(url, title, body, subscription["format"], delivery["idempotency_key"])
    status = _finish(store, delivery, attempt, delivery["attempts"] + 1, error, settings, now)
    if status == "sent":
        report.sent += 1
        return
    log.warning("delivery %s to subscription %s failed (attempt %s, now %s): %s",
                delivery_id, subscription["id"], delivery["attempts"] + 1, status, error)
    if status == "dead":
        report.dead += 1
    else:
        report.failed += 1


def send_pending(store: Store, limit: int = 100, base_url: str | None = None,
                 template_dir: str | None = None, settings: NotifySettings | None = None,
                 now: datetime | None = None, flush_digests: bool = False) -> SendReport:
    """Compose due digests, then send the deliveries that are due; never raises for a channel.

    ``now`` (default: the clock) decides what is due; tests pass a later time instead of waiting.
    """
    settings = settings or NotifySettings.from_env()
    overrides = {k: v for k, v in (("base_url", base_url), ("template_dir", template_dir)) if v is not None}
    if overrides:
        from dataclasses import replace
        settings = replace(settings, **overrides)
    now = now or utc_now()
    report = SendReport(digests=compose_digests(store, now=now, force=flush_digests))
    for delivery_id in _due(store, now, settings, limit):
        try:
            _deliver(store, delivery_id, now, settings, report)
        except PolicywatchError:
            raise  # the store itself failed (locked, full): the caller reports it
        except Exception as error:  # a bug in one delivery must not stop the others, or a crawl
            log.error("delivery %s: unexpected %s; it stays in the outbox", delivery_id, type(error).__name__)
            report.failed += 1
    return report


def outbox_counts(store: Store) -> dict:
    """How many deliveries are in each status."""
    return {row[0]: row[1] for row in store.db.execute(
        "SELECT status, count(*) FROM deliveries GROUP BY status ORDER BY status").fetchall()}
