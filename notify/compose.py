"""What a delivery says: its title and body, rendered from its kind's template (an alert for
one change, a digest, an operator event) within the channel's limits."""

from monitor.store import Store, notifications
from notify.digests import digest_items, digest_since
from notify.messages import change_context, digest_context, operator_context
from notify.render import render_message
from notify.settings import NotifySettings


def delivery_message(store: Store, delivery: dict, subscription: dict, settings: NotifySettings,
                     body_limit: int, title_limit: int, unsubscribe_url: str = "") -> tuple[str, str]:
    """``(title, body)`` of a delivery (``TemplateProblem``, ``ChangeNotFound`` or
    ``TargetNotFound`` if it cannot be rendered now); ``unsubscribe_url`` is shown in it."""
    key, kind = delivery["idempotency_key"], delivery["kind"] or "change"
    if kind == "digest":
        items = digest_items(store, delivery["id"])
        context_for = digest_context(items, subscription, since=digest_since(store, delivery["id"]),
                                     until=delivery["created_at"][:16].replace("T", " "),
                                     base_url=settings.base_url, max_items=settings.max_items, key=key)
    elif kind == "operator":
        event = notifications.operator_event(store.db, delivery["operator_event_id"])
        target = {"id": event["target_id"], "company": event["company"], "doc_type": event["doc_type"],
                  "url": event["url"]}
        context_for = operator_context(event, target, subscription, key=key)
    else:
        change = store.get_change(delivery["change_id"])
        context_for = change_context(change, store.get_target(change["target_id"]), subscription,
                                     base_url=settings.base_url, max_items=settings.max_items, key=key)
    return render_message(kind if kind != "change" else "alert", context_for, subscription["format"],
                          settings.template_dir or None, body_limit, title_limit, unsubscribe_url)
