"""Subscriptions: who wants to hear about which changes, and through which apprise URL.

Apprise URLs carry secrets (tokens, passwords): the database keeps only their redacted form
(``notify.privacy.redact``) and a reference to the full URL, which lives in the secrets file or the
environment (``notify.secrets``, docs/decisions/0013); ``get_subscription(reveal=True)`` is
for the sender alone.
"""

import json
import logging

from monitor.errors import InputError
from monitor.store import Store, notifications
from monitor.timeutil import now_iso
from notify import secrets
from notify.channels import validate
from notify.privacy import redact, remember

log = logging.getLogger(__name__)

CLASS_FILTERS = ("material", "editorial", "any")
DIGESTS = ("none", "daily", "weekly")
FORMATS = ("text", "markdown", "html")
_LIST_FIELDS = ("companies", "doc_types", "topics")
MAX_NAME_CHARS = 100


def add_subscription(store: Store, apprise_url: str, *, name: str = "", companies=(), doc_types=(),
                     topics=(), min_severity: int = 1, class_filter: str = "material",
                     digest: str = "none", fmt: str = "text", operator: bool = False) -> dict:
    """Validate and store a subscription; return it with its URL redacted.

    ``apprise_url`` may be ``env:NAME``: the URL is then read from that environment variable
    (now, to validate it, and at every send).
    """
    env_name = secrets.env_reference(apprise_url)
    full_url = secrets.from_environment(env_name) if env_name else apprise_url
    validate(full_url)
    if class_filter not in CLASS_FILTERS:
        raise InputError(f"--class must be one of {', '.join(CLASS_FILTERS)}")
    if digest not in DIGESTS:
        raise InputError(f"--digest must be one of {', '.join(DIGESTS)}")
    if fmt not in FORMATS:
        raise InputError(f"--format must be one of {', '.join(FORMATS)}")
    if not isinstance(min_severity, int) or not 0 <= min_severity <= 3:
        raise InputError("--min-severity must be 0, 1, 2 or 3")
    if len(name) > MAX_NAME_CHARS:
        raise InputError(f"--name is limited to {MAX_NAME_CHARS} characters")
    clean = {key: sorted({v.strip() for v in values if v and v.strip()})
             for key, values in (("companies", companies), ("doc_types", doc_types), ("topics", topics))}
    ref = secrets.keep(store.path, apprise_url)  # before the row: a row never lacks its secret
    with store.transaction():
        subscription_id = notifications.insert_subscription(store.db, {
            "name": name, "apprise_url": redact(full_url), "secret_ref": ref,
            **{k: json.dumps(v) for k, v in clean.items()},
            "min_severity": min_severity, "class_filter": class_filter, "digest": digest,
            "format": fmt, "operator": int(bool(operator)), "active": 1, "created_at": now_iso(),
        })
    log.info("added subscription %s", subscription_id)
    return get_subscription(store, subscription_id)


def decode(row: dict) -> dict:
    """A subscriptions row with its JSON lists decoded (the URL untouched)."""
    subscription = dict(row)
    for key in _LIST_FIELDS:
        try:
            subscription[key] = json.loads(subscription[key] or "[]")
        except (TypeError, ValueError):
            subscription[key] = []
    subscription["operator"] = bool(subscription.get("operator"))
    return subscription


def reveal_url(store: Store, subscription: dict) -> str:
    """The full apprise URL of a subscription, from the secrets file or the environment
    (``secrets.SecretMissing`` if it is not there)."""
    url = secrets.reveal(store.path, subscription.get("secret_ref"))
    remember(url)  # from now on hidden from every log line of this process
    return url


def get_subscription(store: Store, subscription_id: int, *, reveal: bool = False) -> dict:
    """One subscription; its apprise URL redacted unless ``reveal`` (for sending only)."""
    row = notifications.find_subscription(store.db, subscription_id)
    if row is None:
        raise InputError(f"no subscription with id {subscription_id} (see `policywatch subscriptions`)")
    subscription = decode(row)
    subscription.pop("secret_ref", None)
    subscription["apprise_url"] = reveal_url(store, row) if reveal else redact(subscription["apprise_url"])
    return subscription


def list_subscriptions(store: Store, include_inactive: bool = False) -> list[dict]:
    """Subscriptions (active ones unless ``include_inactive``), URLs redacted, with outbox counts."""
    rows = notifications.subscriptions_with_counts(store.db, include_inactive)
    return [{**{k: v for k, v in decode(row).items() if k != "secret_ref"},
             "apprise_url": redact(row["apprise_url"]), "active": bool(row["active"])} for row in rows]


def remove_subscription(store: Store, subscription_id: int) -> None:
    """Deactivate a subscription; its waiting deliveries are cancelled, its history kept."""
    subscription = get_subscription(store, subscription_id)
    if not subscription["active"]:
        raise InputError(f"subscription {subscription_id} is already unsubscribed")
    ref = notifications.subscription_row(store.db, subscription_id)["secret_ref"]
    with store.transaction():
        notifications.deactivate_subscription(store.db, subscription_id)
    # Its URL is never needed again (a send in flight already holds it).
    secrets.forget(store.path, ref)
    with store.transaction():
        notifications.mark_secret_forgotten(store.db, subscription_id)


def forget_unsubscribed(store: Store) -> int:
    """Delete from the secrets file the channel URLs of subscriptions made inactive elsewhere
    (the web's one-click unsubscribe cannot write that file); returns how many. Each outbox
    pass calls it, so such a URL outlives its subscription by one pass at most."""
    rows = notifications.unsubscribed_file_secrets(store.db)
    for subscription_id, ref in rows:
        try:
            secrets.forget(store.path, ref)
        except InputError as problem:  # an unreadable secrets file: the sends will say so too
            log.warning("cannot forget the channel URL of subscription %s: %s", subscription_id, problem)
            return 0
        with store.transaction():
            notifications.mark_secret_forgotten(store.db, subscription_id)
    return len(rows)


def _wanted(values: list[str], value: str) -> bool:
    return not values or (value or "").casefold() in {v.casefold() for v in values}


def matches(subscription: dict, change: dict, target: dict) -> bool:
    """Whether a change is one this subscription asked to hear about.

    ``--class material`` takes material changes of at least ``--min-severity``; ``editorial``
    adds editorial ones; ``any`` also takes noise (every recorded change: for audits, not for
    people). ``--min-severity`` applies to material changes only. Company and type compare
    case-insensitively; topics need one in common with the change.
    """
    klass, wanted = change["class"], subscription["class_filter"]
    accepted = {"material": ("material",), "editorial": ("material", "editorial")}.get(wanted)
    if accepted is not None and klass not in accepted:
        return False
    if klass == "material" and (change["severity"] or 0) < subscription["min_severity"]:
        return False
    if not _wanted(subscription["companies"], target["company"]):
        return False
    if not _wanted(subscription["doc_types"], target["doc_type"]):
        return False
    if subscription["topics"] and not set(subscription["topics"]) & set(change["topics"] or []):
        return False
    return True


def matches_target(subscription: dict, target: dict) -> bool:
    """Whether an operator event about ``target`` concerns this subscription."""
    return (subscription["operator"] and _wanted(subscription["companies"], target["company"])
            and _wanted(subscription["doc_types"], target["doc_type"]))
