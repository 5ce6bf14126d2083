"""The web app (Starlette, served by uvicorn): pages, feeds, the JSON API and the CSV export.

Read-only on the store but for one write, one-click unsubscribe (``unsubscribe.py``, checked
by its signed token). Every response carries a strict Content-Security-Policy (no inline
script or style, nothing from elsewhere); raw captures are served as plain-text attachments in
a CSP sandbox so that a crawled page can never run as part of this site.
"""

import hashlib
import json
import re
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from monitor.compare import summary_of
from monitor.config import reload
from monitor.errors import StoreError
from monitor.store import EXPORT_INCLUDE, MAX_SQL_INT, ChangeFilter, NotFound, Queries, parse_id
from monitor.web import api, feeds, glossary, pages, trends, unsubscribe
from monitor.web.render import CSP, Links, make_environment

STATIC_DIR = Path(__file__).parent / "static"
SECURITY_HEADERS = {
    "content-security-policy": CSP + "; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}


class SecurityHeaders:
    """ASGI middleware: add the security headers to every response that lacks them."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name.encode(), value.encode()) for name, value in SECURITY_HEADERS.items()
                         if name.encode() not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


# Without --base-url, links and feed ids use this (``serve`` passes its own host and port):
# never the request's Host header, which a client can forge into links and feed ids.
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


class IdConvertor(Convertor):
    """``{id:id}``: a database id in a path. Only ASCII digits within SQLite's integer range match,
    so ``/change/99999999999999999999/`` is a 404, not an overflow."""

    regex = "[0-9]{1,19}"

    def convert(self, value: str) -> int:
        number = int(value)
        if number > MAX_SQL_INT:
            raise NotFound(value)
        return number

    def to_string(self, value: int) -> str:
        return str(int(value))


register_url_convertor("id", IdConvertor())


# Offset pagination past this page is never useful, and page × size must stay an SQL integer.
MAX_PAGE = 1_000_000


def _page(value) -> int:
    """A 1-based page number from a query parameter, clamped to ``MAX_PAGE``."""
    return max(1, min(MAX_PAGE, parse_id(value, 1)))


def _int(value, default: int = 0) -> int:
    """A query parameter as a non-negative id-sized integer, or ``default`` (never an error)."""
    return parse_id(value, default)


_FEED_UPDATED = re.compile(r"<updated>([^<]{1,40})</updated>")


def _etag_matches(request: Request, etag: str) -> bool:
    """If-None-Match names this validator (weak comparison, as RFC 9110 says for GET)."""
    wanted = request.headers.get("if-none-match", "")
    tags = {tag.strip().removeprefix("W/") for tag in wanted.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags


def conditional(request: Request, body: bytes, media_type: str, *, headers: dict | None = None,
                last_modified: str | None = None) -> Response:
    """A 200 with an ETag (the body's hash) and Last-Modified, or a 304 when the client holds it.

    Feed readers and scripts poll: a 304 costs them and us no body. ``last_modified`` is an
    ISO stamp (the newest change shown)."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    validators = {"etag": etag, "cache-control": "no-cache"}
    if last_modified:
        stamp = datetime.fromisoformat(last_modified.replace("Z", "+00:00"))
        validators["last-modified"] = format_datetime(stamp.astimezone(UTC), usegmt=True)
    if _etag_matches(request, etag):
        return Response(status_code=304, headers=validators)
    if "if-none-match" not in request.headers and last_modified and request.headers.get("if-modified-since"):
        try:
            since = parsedate_to_datetime(request.headers["if-modified-since"])
            if stamp.replace(microsecond=0) <= since:
                return Response(status_code=304, headers=validators)
        except (TypeError, ValueError):
            pass  # an unreadable date is ignored, as RFC 9110 says
    return Response(body, media_type=media_type, headers={**validators, **(headers or {})})


def _newest(items) -> str | None:
    return max((item["detected_at"] for item in items if item.get("detected_at")), default=None)


def _chain(first: str, rest):
    yield first
    yield from rest


def create_app(db_path: str, base_url: str = "") -> SecurityHeaders:
    """The ASGI app over the store at ``db_path``. ``base_url`` is the public URL that feed ids,
    citations and API links are built from (``DEFAULT_BASE_URL`` without one): the same whatever
    ``Host`` a request claims."""
    queries = Queries(db_path, summarise=summary_of)
    env = make_environment()
    links = Links(base_url or DEFAULT_BASE_URL)

    def links_for(request: Request) -> Links:
        return links

    def page(request: Request, template: str, context: dict, status: int = 200) -> HTMLResponse:
        html = env.get_template(template).render(links=links_for(request), request_path=request.url.path,
                                                 **context)
        return HTMLResponse(html, status_code=status)

    def not_found(request: Request, what: str = "") -> HTMLResponse:
        return page(request, "error.html", {"title": "Not found", "message": f"Not found: {what}"}, 404)

    async def on_not_found(request: Request, error: Exception):
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": f"not found: {error}"}, status_code=404)
        return not_found(request, str(error) if isinstance(error, NotFound) else request.url.path)

    async def on_store_error(request: Request, error: Exception):
        # Not the error itself: it names the database file.
        return page(request, "error.html", {"title": "Store unavailable", "message":
                    "The database cannot be read right now; try again shortly."}, 503)

    routes = [
        *_page_routes(queries, page, links_for), *_feed_routes(queries, env, links_for),
        *_api_routes(queries, links_for), *unsubscribe.routes(db_path, page), *glossary.routes(page),
        *trends.routes(queries, page, links_for, conditional),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={
        NotFound: on_not_found, 404: on_not_found, StoreError: on_store_error})
    return SecurityHeaders(app)


def _page_routes(queries: Queries, page, links_for) -> list[Route]:
    """The HTML pages; ``page(request, template, context, status)`` renders one."""

    def home(request: Request):
        params = request.query_params
        return page(request, "home.html",
                    pages.home(queries, ChangeFilter.from_params(params), _int(params.get("before")) or None))

    def companies(request: Request):
        params = request.query_params
        letter = (params.get("letter") or "")[:1]
        return page(request, "companies.html", pages.companies(queries, letter, _page(params.get("page"))))

    def company(request: Request):
        return page(request, "company.html", pages.company(queries, request.path_params["slug"]))

    def document(request: Request):
        return page(request, "document.html", pages.document(
            queries, request.path_params["id"], _page(request.query_params.get("page"))))

    def change(request: Request):
        links = links_for(request)
        change_id = request.path_params["id"]
        return page(request, "change.html",
                    pages.change(queries, change_id, links.absolute(links.change(change_id))))

    def version(request: Request):
        return page(request, "version.html", pages.version(queries, request.path_params["id"]))

    def raw(request: Request):
        capture, body = queries.raw_capture(request.path_params["id"])
        name = f"capture-{capture['id']}-{capture['body_sha256'][:12]}.txt"
        # Never HTML: a crawled body is shown as text and downloaded, in a sandbox.
        return Response(body, media_type="text/plain; charset=utf-8", headers={
            "content-disposition": f'attachment; filename="{name}"',
            "content-security-policy": "sandbox; default-src 'none'",
            "x-policywatch-sha256": capture["body_sha256"]})

    def compare(request: Request):
        a, b = _int(request.query_params.get("a")), _int(request.query_params.get("b"))
        if not (a and b):
            return page(request, "error.html", {"title": "Compare", "message":
                        "Pick two versions to compare from a document's timeline."}, 400)
        return page(request, "compare.html", pages.compare(queries, a, b))

    def search(request: Request):
        params = request.query_params
        return page(request, "search.html", pages.search(
            queries, (params.get("q") or "").strip(), _page(params.get("page")),
            "current" if params.get("scope") == "current" else ""))

    return [
        Route("/", home), Route("/companies/", companies), Route("/company/{slug}/", company),
        Route("/document/{id:id}/", document), Route("/change/{id:id}/", change),
        Route("/version/{id:id}/", version), Route("/capture/{id:id}/raw", raw),
        Route("/compare/", compare), Route("/search/", search),
    ]


def _feed_routes(queries: Queries, env, links_for) -> list[Route]:
    """The Atom feeds and the CSV export."""

    def feed(request: Request):
        kind = request.path_params.get("kind", "all")
        key = request.path_params.get("key", "")
        if kind == "document" and not parse_id(key):
            raise NotFound(key)
        text = feeds.atom(env, queries, links_for(request), kind, key)
        # The feed's own <updated> (the template writes it before any entry): its newest change.
        updated = _FEED_UPDATED.search(text)
        newest = updated.group(1) if updated and updated.group(1) != feeds.EPOCH else None
        return conditional(request, text.encode("utf-8"), "application/atom+xml; charset=utf-8",
                           last_modified=newest)

    def export_csv(request: Request):
        # A weak validator from the changes' state and the query: the CSV streams, so it is never
        # hashed whole.
        state = f"{queries.changes_state()}?{request.url.query}"
        etag = 'W/"' + hashlib.sha256(state.encode()).hexdigest()[:32] + '"'
        if _etag_matches(request, etag):
            return Response(status_code=304, headers={"etag": etag})
        rows = feeds.csv_rows(queries, links_for(request),
                              ChangeFilter.from_params(request.query_params, EXPORT_INCLUDE))
        # The first batch is read before the 200 goes out: a failing query answers with an
        # error status, not a 200 and a truncated body.
        first = next(rows)
        return StreamingResponse(_chain(first, rows), media_type="text/csv; charset=utf-8", headers={
            "content-disposition": 'attachment; filename="policywatch-changes.csv"', "etag": etag})

    return [
        Route("/feeds/{kind:str}.atom", feed), Route("/feeds/{kind:str}/{key:str}.atom", feed),
        Route("/export/changes.csv", export_csv),
    ]


def _api_routes(queries: Queries, links_for) -> list[Route]:
    """The JSON API and ``/health``."""

    def api_changes(request: Request):
        params = request.query_params
        size = max(1, min(500, _int(params.get("limit"), 50)))
        data = api.changes(queries, links_for(request), ChangeFilter.from_params(params, EXPORT_INCLUDE),
                           _int(params.get("before")) or None, size)
        return conditional(request, json.dumps(data, ensure_ascii=False).encode("utf-8"), "application/json",
                           last_modified=_newest(data["items"]))

    def api_change(request: Request):
        return JSONResponse(api.change(queries, links_for(request), request.path_params["id"]))

    def api_companies(request: Request):
        params = request.query_params
        return JSONResponse(api.companies(queries, (params.get("letter") or "")[:1],
                                          _page(params.get("page"))))

    def api_company(request: Request):
        return JSONResponse(api.company(queries, request.path_params["slug"]))

    def api_document(request: Request):
        return JSONResponse(api.document(queries, request.path_params["id"],
                                         _page(request.query_params.get("page"))))

    def api_version(request: Request):
        return JSONResponse(api.version(queries, request.path_params["id"]))

    def api_compare(request: Request):
        a, b = _int(request.query_params.get("a")), _int(request.query_params.get("b"))
        if not (a and b):
            return JSONResponse({"error": "give two version ids: ?a=ID&b=ID"}, status_code=400)
        return JSONResponse(api.compare(queries, a, b))

    def api_search(request: Request):
        params = request.query_params
        return JSONResponse(api.search(queries, (params.get("q") or "").strip(),
                                       _page(params.get("page")),
                                       "current" if params.get("scope") == "current" else ""))

    def health(request: Request):
        # For load balancers and uptime probes: 200 when healthy, 503 with the reasons when
        # targets are broken or alerts are dead. Read-only, like every page.
        report = queries.status_report()
        # The server's file layout is nobody's business on a public endpoint (status keeps it).
        report["database"].pop("path", None)
        return JSONResponse(report, status_code=200 if report["healthy"] else 503)

    return [
        Route("/api/changes", api_changes), Route("/api/changes/{id:id}", api_change),
        Route("/api/companies", api_companies), Route("/api/companies/{slug}", api_company),
        Route("/api/documents/{id:id}", api_document), Route("/api/versions/{id:id}", api_version),
        Route("/api/compare", api_compare), Route("/api/search", api_search),
        Route("/health", health),
    ]


def app_from_environment() -> SecurityHeaders:
    """The app for uvicorn's worker processes (``serve --workers N``)."""
    settings = reload()  # serve set these variables after this process's config was first read
    return create_app(settings.web_db, settings.web_base_url)
