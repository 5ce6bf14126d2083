"""Monitor events and their listeners.

The monitor announces what it recorded; other parts (the notifier's outbox) listen. Listeners
of ``change.recorded`` run inside the transaction that records the change, so what they write
(deliveries) commits or rolls back with it. A listener must not do network I/O.
"""

import importlib
from collections import defaultdict
from collections.abc import Callable

CHANGE_RECORDED = "change.recorded"
TARGET_STATE_CHANGED = "target.state_changed"
# A schema migration found channel URLs in the database: payload {"db"}, store None (not open yet).
CHANNEL_URLS_MIGRATING = "store.channel_urls_migrating"

_listeners: dict[str, list[Callable]] = defaultdict(list)


def listen(event: str, listener: Callable) -> None:
    """Call ``listener(store, payload)`` whenever ``event`` is emitted (once per listener)."""
    if listener not in _listeners[event]:
        _listeners[event].append(listener)


def emit(event: str, store, payload: dict) -> None:
    """Call every listener of ``event``; an exception aborts the surrounding transaction."""
    for listener in list(_listeners[event]):
        listener(store, payload)


def registered() -> list[tuple[str, str]]:
    """Every listener as ``(event, "module:qualname")``: what another process (the crawler's
    writer process) must ``restore`` to behave like this one."""
    return [(event, f"{listener.__module__}:{listener.__qualname__}")
            for event, listeners in _listeners.items() for listener in listeners]


def restore(names: list[tuple[str, str]]) -> None:
    """Register the listeners ``registered`` named (module-level functions only)."""
    for event, name in names:
        module, _, qualname = name.partition(":")
        target = importlib.import_module(module)
        for part in qualname.split("."):
            target = getattr(target, part)
        listen(event, target)
