"""policywatch's notifier: subscriptions, the delivery outbox, templates and apprise.

``install()`` registers the outbox as a listener on monitor events; the CLI (the composition
root) calls it once. The monitor itself never imports this package.
"""

from monitor import events

from .outbox import enqueue_for_change


def install() -> None:
    """Listen to monitor events: every recorded change queues its deliveries."""
    events.listen(events.CHANGE_RECORDED, enqueue_for_change)
