"""Stable paths of the web UI's pages, shared by the web app and by alerts that link to it."""


def change_path(change_id: int) -> str:
    """The permalink path of a change page (``/change/ID/``)."""
    return f"/change/{int(change_id)}/"


def glossary_path(anchor: str = "") -> str:
    """The glossary page's path, or an entry's on it (``/glossary/#rule-negation-removed``)."""
    return "/glossary/" + (f"#{anchor}" if anchor else "")


def unsubscribe_path(subscription_id: int, token: str) -> str:
    """The one-click unsubscribe path of a subscription (``/unsubscribe/ID/TOKEN``); ``token``
    is ``monitor.store.unsubscribe.token``'s (base64url: safe in a path as it is)."""
    return f"/unsubscribe/{int(subscription_id)}/{token}"
