"""The outbox: one ``deliveries`` row per change × matching subscription, sent through apprise.

Rows are written by ``enqueue_for_change`` inside the transaction that records the change, so
a change is never recorded without its deliveries. ``send_pending`` claims due rows, sends
them, and records every attempt; failures are retried with exponential backoff up to a cap,
then marked ``dead``. A failing channel is logged and retried, never raised to the crawl.
"""

import json
import logging
import os
from dataclasses import dataclass

import apprise

from monitor.errors import InputError
from monitor.store import Store
from monitor.timeutil import later_iso, now_iso

from .render import render_alert
from .subscriptions import matches, redact

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 60
BACKOFF_CAP_SECONDS = 6 * 3600
MAX_HUNKS_IN_ALERT = 5
BODY_FORMATS = {"text": apprise.NotifyFormat.TEXT, "markdown": apprise.NotifyFormat.MARKDOWN,
                "html": apprise.NotifyFormat.HTML}


@dataclass
class SendReport:
    """What one ``send_pending`` pass did."""

    sent: int = 0
    failed: int = 0
    dead: int = 0


def idempotency_key(change_id: int, subscription_id: int) -> str:
    """The key that makes a delivery unique per change × subscription."""
    return f"change:{change_id}:subscription:{subscription_id}"


def enqueue_for_change(store: Store, payload: dict) -> None:
    """Event listener: queue a delivery for every active subscription the change matches."""
    change, target = payload["change"], payload["target"]
    rows = store.db.query("SELECT * FROM subscriptions WHERE active = 1 ORDER BY id")
    for row in rows:
        subscription = {**row, **{k: json.loads(row[k] or "[]") for k in ("companies", "doc_types", "topics")}}
        if not matches(subscription, change, target):
            continue
        status = "pending" if subscription["digest"] == "none" else "digest"
        store.db.execute(
            "INSERT OR IGNORE INTO deliveries (change_id, subscription_id, idempotency_key, status, "
            "attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, 0, ?, ?)",
            [change["id"], subscription["id"], idempotency_key(change["id"], subscription["id"]),
             status, now_iso(), now_iso()])


def alert_context(store: Store, change: dict, subscription: dict, base_url: str | None = None) -> dict:
    """Everything an alert template may use."""
    target = store.get_target(change["target_id"])
    hunks = [h for h in change["hunks"] if h.get("topics") or change["class"] != "material"]
    hunks = hunks or change["hunks"]
    base_url = base_url if base_url is not None else os.environ.get("POLICYWATCH_BASE_URL", "")
    return {
        "change": change, "target": target, "subscription": subscription,
        "evidence": change["evidence"][:MAX_HUNKS_IN_ALERT],
        "hunks": hunks[:MAX_HUNKS_IN_ALERT],
        "more_hunks": max(0, len(hunks) - MAX_HUNKS_IN_ALERT),
        "diff_url": f"{base_url.rstrip('/')}/changes/{change['id']}" if base_url else "",
    }


def _send(apprise_url: str, title: str, body: str, fmt: str) -> str | None:
    """Send one message; return None on success or the error text (secrets redacted)."""
    notifier = apprise.Apprise()
    if not notifier.add(apprise_url):
        return f"apprise cannot use {redact(apprise_url)}"
    with apprise.LogCapture(level=logging.WARNING) as captured:
        ok = notifier.notify(title=title, body=body, body_format=BODY_FORMATS[fmt])
        messages = captured.getvalue().strip()
    if ok:
        return None
    detail = messages.splitlines()[-1] if messages else "the channel refused the message"
    return detail.replace(apprise_url, redact(apprise_url))[:500]


def send_pending(store: Store, limit: int = 100, base_url: str | None = None,
                 template_dir: str | None = None) -> SendReport:
    """Send the deliveries that are due; return counts. Never raises for a failing channel."""
    report = SendReport()
    due = list(store.db.query(
        "SELECT d.*, s.apprise_url, s.format, s.name AS subscription_name FROM deliveries d "
        "JOIN subscriptions s ON s.id = d.subscription_id "
        "WHERE d.status IN ('pending', 'failed') AND d.next_attempt_at <= ? AND s.active = 1 "
        "ORDER BY d.id LIMIT ?", [now_iso(), limit]))
    for delivery in due:
        change = store.get_change(delivery["change_id"])
        subscription = {"id": delivery["subscription_id"], "name": delivery["subscription_name"]}
        try:
            title, body = render_alert(alert_context(store, change, subscription, base_url),
                                       delivery["format"], template_dir)
            error = _send(delivery["apprise_url"], title, body, delivery["format"])
        except InputError as problem:
            error = str(problem)
        attempts = delivery["attempts"] + 1
        with store.transaction():
            store.db["delivery_attempts"].insert({
                "delivery_id": delivery["id"], "attempted_at": now_iso(), "ok": int(error is None),
                "error": error})
            if error is None:
                store.db["deliveries"].update(delivery["id"], {
                    "status": "sent", "attempts": attempts, "sent_at": now_iso(), "last_error": None})
                report.sent += 1
                continue
            dead = attempts >= MAX_ATTEMPTS
            delay = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempts - 1))
            store.db["deliveries"].update(delivery["id"], {
                "status": "dead" if dead else "failed", "attempts": attempts, "last_error": error,
                "next_attempt_at": later_iso(delay)})
        log.warning("delivery %s to subscription %s failed (attempt %s): %s",
                    delivery["id"], delivery["subscription_id"], attempts, error)
        if dead:
            report.dead += 1
        else:
            report.failed += 1
    return report
