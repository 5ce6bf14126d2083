"""policywatch's notifier: subscriptions, the delivery outbox, templates and apprise.

``install()`` registers the outbox as a listener on monitor events; the CLI (the composition
root) calls it once. The monitor itself never imports this package.
"""

from monitor import events

from notify.channels import install_log_filters
from notify.outbox import enqueue_for_change, enqueue_operator_event


def install() -> None:
    """Listen to monitor events: every recorded change, or a target breaking or recovering,
    queues its deliveries in the same transaction. Also hides every channel secret from the
    log handlers installed so far."""
    install_log_filters()
    events.listen(events.CHANGE_RECORDED, enqueue_for_change)
    events.listen(events.TARGET_STATE_CHANGED, enqueue_operator_event)
