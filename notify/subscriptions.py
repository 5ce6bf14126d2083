"""Subscriptions: who wants to hear about which changes, and through which apprise URL.

Apprise URLs carry secrets (tokens, passwords): they are stored, but only ever shown redacted.
"""

import json
import re

import apprise

from monitor.errors import InputError
from monitor.store import Store
from monitor.timeutil import now_iso

CLASS_FILTERS = ("material", "editorial", "any")
DIGESTS = ("none", "daily", "weekly")
FORMATS = ("text", "markdown", "html")
_LONG_SEGMENT = re.compile(r"(?<=/)([^/@:?#]{3})[^/@:?#]{5,}")


def redact(apprise_url: str) -> str:
    """A form of an apprise URL safe to print: no password, no query, long path parts cut."""
    instance = apprise.Apprise.instantiate(apprise_url)
    shown = instance.url(privacy=True) if instance else apprise_url.split("://", 1)[0] + "://…"
    shown = shown.split("?", 1)[0]
    scheme, _, rest = shown.partition("://")
    return scheme + "://" + _LONG_SEGMENT.sub("\\1…", rest)


def validate(apprise_url: str) -> None:
    """Raise ``InputError`` saying what is wrong if apprise cannot use the URL."""
    if "://" not in apprise_url:
        raise InputError("not an apprise URL: expected SCHEME://…, e.g. mailto://user:pass@host "
                         "or json://host/path (see https://github.com/caronc/apprise/wiki)")
    scheme = apprise_url.split("://", 1)[0].lower()
    if apprise.Apprise.instantiate(apprise_url) is None:
        known = {s for plugin in apprise.Apprise().details()["schemas"]
                 for key in ("protocols", "secure_protocols") for s in (plugin.get(key) or ())}
        if scheme not in known:
            raise InputError(f"apprise does not know the scheme {scheme!r}")
        raise InputError(f"apprise cannot use this {scheme}:// URL: a required part is missing or malformed")


def add_subscription(store: Store, apprise_url: str, *, name: str = "", companies=(), doc_types=(),
                     topics=(), min_severity: int = 1, class_filter: str = "material",
                     digest: str = "none", fmt: str = "text") -> dict:
    """Validate and store a subscription; return it redacted."""
    validate(apprise_url)
    if class_filter not in CLASS_FILTERS:
        raise InputError(f"--class must be one of {', '.join(CLASS_FILTERS)}")
    if digest not in DIGESTS:
        raise InputError(f"--digest must be one of {', '.join(DIGESTS)}")
    if fmt not in FORMATS:
        raise InputError(f"--format must be one of {', '.join(FORMATS)}")
    if not 0 <= min_severity <= 3:
        raise InputError("--min-severity must be 0, 1, 2 or 3")
    with store.transaction():
        subscription_id = store.db["subscriptions"].insert({
            "name": name, "apprise_url": apprise_url, "companies": json.dumps(list(companies)),
            "doc_types": json.dumps(list(doc_types)), "topics": json.dumps(list(topics)),
            "min_severity": min_severity, "class_filter": class_filter, "digest": digest,
            "format": fmt, "active": 1, "created_at": now_iso(),
        }).last_pk
    return get_subscription(store, subscription_id)


def _decode(row: dict) -> dict:
    subscription = dict(row)
    for key in ("companies", "doc_types", "topics"):
        subscription[key] = json.loads(subscription[key] or "[]")
    return subscription


def get_subscription(store: Store, subscription_id: int, *, reveal: bool = False) -> dict:
    """One subscription; its apprise URL redacted unless ``reveal`` (for sending only)."""
    rows = list(store.db.query("SELECT * FROM subscriptions WHERE id = ?", [subscription_id]))
    if not rows:
        raise InputError(f"no subscription with id {subscription_id}")
    subscription = _decode(rows[0])
    if not reveal:
        subscription["apprise_url"] = redact(subscription["apprise_url"])
    return subscription


def list_subscriptions(store: Store) -> list[dict]:
    """Every active subscription, apprise URLs redacted."""
    rows = store.db.query("SELECT * FROM subscriptions WHERE active = 1 ORDER BY id")
    return [{**_decode(row), "apprise_url": redact(row["apprise_url"])} for row in rows]


def remove_subscription(store: Store, subscription_id: int) -> None:
    """Deactivate a subscription; its pending deliveries are cancelled, its history kept."""
    get_subscription(store, subscription_id)
    with store.transaction():
        store.db["subscriptions"].update(subscription_id, {"active": 0})
        store.db.execute("UPDATE deliveries SET status = 'cancelled' "
                         "WHERE subscription_id = ? AND status IN ('pending', 'failed')", [subscription_id])


def matches(subscription: dict, change: dict, target: dict) -> bool:
    """Whether a change is one this subscription asked to hear about."""
    wanted_class = subscription["class_filter"]
    if change["class"] == "noise":
        return False
    if wanted_class == "material" and change["class"] != "material":
        return False
    if wanted_class == "editorial" and change["class"] not in ("editorial", "material"):
        return False
    if change["class"] == "material" and change["severity"] < subscription["min_severity"]:
        return False
    if subscription["companies"] and target["company"].casefold() not in {
            c.casefold() for c in subscription["companies"]}:
        return False
    if subscription["doc_types"] and target["doc_type"].casefold() not in {
            t.casefold() for t in subscription["doc_types"]}:
        return False
    if subscription["topics"] and not set(subscription["topics"]) & set(change["topics"]):
        return False
    return True
