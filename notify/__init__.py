"""policywatch's notifier: subscriptions, the delivery outbox, templates and apprise.

``install()`` registers the outbox as a listener on monitor events; the CLI (the composition
root) calls it once. The monitor itself never imports this package.
"""

from monitor import events
from notify.channels import install_log_filters
from notify.outbox import enqueue_for_change, enqueue_operator_event
from notify.secrets import move_urls_out


def install() -> None:
    """Listen to monitor events: every recorded change, or a target breaking or recovering,
    queues its deliveries in the same transaction. Also hides every channel secret from the
    log handlers installed so far, and moves an old database's channel URLs out of it when
    its migration asks."""
    install_log_filters()
    events.listen(events.CHANGE_RECORDED, enqueue_for_change)
    events.listen(events.TARGET_STATE_CHANGED, enqueue_operator_event)
    events.listen(events.CHANNEL_URLS_MIGRATING, move_channel_urls_out)


def move_channel_urls_out(store, payload: dict) -> None:
    """The store's secrets migration: full channel URLs still in an old database's
    ``subscriptions`` move to the secrets file (``notify.secrets.move_urls_out``)."""
    move_urls_out(payload["db"])
