"""Stable paths of the web UI's pages, shared by the web app and by alerts that link to it."""


def change_path(change_id: int) -> str:
    """The permalink path of a change page (``/change/ID/``)."""
    return f"/change/{int(change_id)}/"
