"""The spider that fetches due targets and emits one capture per attempt, success or failure."""

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator

import scrapy
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
    UnsupportedURLSchemeError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import error as net_errors
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseFailed, ResponseNeverReceived

from crawler import render
from crawler.address_guard import BlockedAddressError
from crawler.confirm import changes_stored_text, confirm, decoded_headers, render_retry
from crawler.items import CaptureItem
from crawler.render import handler_installed, render_meta
from monitor.record import Capture, Prepared
from monitor.timeutil import now_iso

logger = logging.getLogger(__name__)

# Start requests queued ahead of the downloader, in multiples of CONCURRENT_REQUESTS; how often
# to look again when the queue is full (see TargetsSpider._wait_for_room).
SCHEDULED_AHEAD = 2
WAIT_FOR_ROOM_SECONDS = 0.005

# Statuses handed to the callback rather than dropped: 304 (conditional GET) and every error,
# so each becomes a recorded capture. Redirects are left to RedirectMiddleware.
HANDLED_STATUSES = [304] + list(range(400, 600))


def conditional_headers(target: dict) -> dict:
    """If-None-Match / If-Modified-Since from the validators of the target's last response."""
    headers = {}
    if target.get("etag"):
        headers["If-None-Match"] = target["etag"]
    if target.get("last_modified"):
        headers["If-Modified-Since"] = target["last_modified"]
    return headers


def error_kind(failure: Failure, engine_running: bool = True) -> tuple[str, str]:
    """A short kind and a readable message for a failed download."""
    if failure.check(DownloadCancelledError) and (
            "size" in str(failure.value).lower() or (engine_running and not str(failure.value))):
        # Scrapy cancels a body that grows past DOWNLOAD_MAXSIZE without a message; the only
        # other silent cancel is a stopping engine, which this excludes.
        return "too-large", "the body is larger than the configured maximum (DOWNLOAD_MAXSIZE)"
    checks = [
        (DownloadTimeoutError, "timeout", "the server did not answer in time"),
        (CannotResolveHostError, "dns", "the host name does not resolve"),
        (DownloadConnectionRefusedError, "connection-refused", "the connection was refused"),
        (ResponseDataLossError, "truncated", "the body was shorter than announced"),
        (UnsupportedURLSchemeError, "bad-url", "the URL scheme is not supported"),
        (DownloadFailedError, "connection-reset", "the download failed mid-response"),
        (net_errors.TimeoutError, "timeout", "the server did not answer in time"),
        (net_errors.TCPTimedOutError, "timeout", "the connection timed out"),
        (net_errors.DNSLookupError, "dns", "the host name does not resolve"),
        (net_errors.ConnectionRefusedError, "connection-refused", "the connection was refused"),
        (net_errors.ConnectionLost, "connection-reset", "the connection was lost mid-response"),
        (net_errors.ConnectionDone, "connection-reset", "the connection closed mid-response"),
        (ResponseNeverReceived, "connection-reset", "the server closed the connection without answering"),
        (ResponseFailed, "connection-reset", "the response was cut off"),
        (net_errors.SSLError, "tls", "the TLS handshake failed"),
    ]
    for exception_type, kind, message in checks:
        if failure.check(exception_type):
            return kind, message
    if failure.check(BlockedAddressError):
        return "blocked-address", str(failure.value)
    if failure.check(IgnoreRequest):
        text = str(failure.value)
        if "redirect" in text.lower():
            return "redirect-loop", "too many redirects"
        return "ignored", text or "the request was dropped"
    if failure.check(HttpError):
        return f"http-{failure.value.response.status}", f"HTTP {failure.value.response.status}"
    full = str(failure.value).strip()
    if "\n" in full:
        # A browser's error carries Chromium's launch command and its stderr ("Browser logs:",
        # "Call log:"): kept for -vv, while the capture (and the terminal) get the first line.
        logger.debug("%s: %s", failure.type.__name__, full)
    text = (full.splitlines() or [""])[0].strip() or failure.type.__name__
    if "maxsize" in text.lower() or "max size" in text.lower() or "larger than" in text.lower():
        return "too-large", text
    return "fetch", f"{failure.type.__name__}: {text}"


class TargetsSpider(scrapy.Spider):
    """Fetch the given targets once each. ``targets`` is a list of target dicts from the store."""

    name = "targets"

    def __init__(self, targets: list[dict] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.targets = targets or []

    async def start(self):
        for target in self.targets:
            await self._wait_for_room()
            js = target.get("render") == "js"
            # A rendered page has no validators worth trusting: always fetch it whole.
            yield scrapy.Request(
                target["url"], headers={} if js else conditional_headers(target), callback=self.parse,
                errback=self.on_error, dont_filter=True,
                meta={"target": target, "started_at": now_iso(),
                      "handle_httpstatus_list": HANDLED_STATUSES,
                      **(render_meta(target) if js and handler_installed(self.settings) else {})})

    async def _wait_for_room(self) -> None:
        """Hand Scrapy a target only when its scheduler is nearly empty.

        Scrapy keeps taking start requests while its downloader is full (they wait in the
        scheduler), so 100,000 targets would all become requests in memory at once. A short
        queue keeps every download slot busy, and memory flat however many targets a pass has."""
        stats, room = self.crawler.stats, SCHEDULED_AHEAD * self.settings.getint("CONCURRENT_REQUESTS")
        while self.crawler.engine.running and (
                (stats.get_value("scheduler/enqueued") or 0) - (stats.get_value("scheduler/dequeued") or 0) >= room):
            await asyncio.sleep(WAIT_FOR_ROOM_SECONDS)

    async def parse(self, response) -> AsyncIterator[CaptureItem]:
        target = response.meta["target"]
        retry = render_retry(self, response)
        if retry is not None:
            yield retry
            return
        status = response.status
        headers = {k.lower(): v for k, v in decoded_headers(response.headers).items()}
        capture = Capture(
            target_id=target["id"], url=target["url"], started_at=response.meta["started_at"],
            status=status, final_url=response.url, headers=headers,
            content_type=headers.get("content-type"),
            elapsed_ms=int(1000 * response.meta.get("download_latency", 0)),
            request_headers=decoded_headers(response.request.headers),
        )
        prepared = None
        if status == 304:
            capture.not_modified = True
        elif status >= 400:
            capture.error_kind, capture.error = f"http-{status}", f"the server answered HTTP {status}"
        else:
            capture.body = response.body
            capture.confirmation, prepared = await confirm(self, response, capture)
        capture.rendered = bool(response.meta.get("playwright"))
        yield CaptureItem(capture, prepared)

    def would_change(self, target: dict, capture: Capture) -> tuple[bool, Prepared | None]:
        """Whether the capture's body would change the target's text, so that it is fetched a
        second time to confirm (``crawler.confirm.confirm``): asked of the store, whose look-up
        and extraction come back too."""
        return changes_stored_text(self, capture)

    def closed(self, reason: str) -> None:
        store = getattr(self, "_policywatch_store", None)  # opened by crawler.confirm
        if store is not None:
            store.close()

    def on_error(self, failure: Failure) -> Iterator[CaptureItem]:
        request = failure.request
        target = request.meta["target"]
        kind, message = error_kind(failure, engine_running=bool(self.crawler.engine.running))
        yield CaptureItem(Capture(
            target_id=target["id"], url=target["url"], started_at=request.meta["started_at"],
            error_kind=kind, error=message, request_headers=decoded_headers(request.headers)))


def spider_for(targets: list[dict]) -> type[TargetsSpider]:
    """The spider class for a pass: one with the playwright handler (``crawler.render``) if any
    target may need a browser."""
    if not render.available() or not any(render.may_need_browser(t) for t in targets):
        return TargetsSpider
    return type("RenderingTargetsSpider", (TargetsSpider,), {"custom_settings": render.settings()})
