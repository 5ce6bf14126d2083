"""One-click unsubscribe (RFC 8058): the web app's only write.

``GET /unsubscribe/ID/TOKEN`` only shows a confirmation form: mail scanners and link
previewers fetch every link in a message, and a GET must not unsubscribe anyone. ``POST`` to
the same URL (a mail client's one-click ``List-Unsubscribe=One-Click``, or the form) makes the
subscription inactive; a second POST changes nothing and answers the same. The HMAC token is
the whole check (``monitor.store.unsubscribe``): a wrong one is a 403 that says nothing of why
or of whether the subscription exists, and only a valid one is looked up (unknown: a 404).
"""

from starlette.requests import Request
from starlette.routing import Route

from monitor.store import unsubscribe

# The link carries a capability: no cache or proxy keeps a page that answers it.
_NO_STORE = {"cache-control": "no-store"}


def routes(db_path: str, page) -> list[Route]:
    """The unsubscribe route over the store at ``db_path``; ``page(request, template, context,
    status)`` renders a page."""

    def answer(request: Request, state: str, status: int = 200):
        response = page(request, "unsubscribe.html", {"title": "Unsubscribe", "state": state}, status)
        response.headers.update(_NO_STORE)
        return response

    def unsubscribe_page(request: Request):
        subscription_id, token = request.path_params["id"], request.path_params["token"]
        if not unsubscribe.valid(db_path, subscription_id, token):
            return answer(request, "invalid", 403)
        if request.method != "POST":
            return answer(request, "confirm")
        outcome = unsubscribe.unsubscribe(db_path, subscription_id)
        if outcome is None:
            return answer(request, "unknown", 404)
        return answer(request, "done")

    return [Route("/unsubscribe/{id:id}/{token:str}", unsubscribe_page, methods=["GET", "POST"])]
