"""Spider helpers that ask the monitor about a response: render it instead, or fetch it again.

The crawler still decides nothing about changes: ``monitor.record.vetting`` answers whether a body
extracts nothing (→ try the browser) or would change the stored text (→ fetch it a second time
and hand both bodies to ``record_capture``, which records the change only if they agree).

Both spiders confirm through ``confirm``; what tells them a body would change the
text differs: a local crawl asks its store (``changes_stored_text``), a distributed worker,
which has no store, compares with the hash its target message carries
(``crawler.redis.worker_spider``). The spider's ``would_change`` says which.
"""

import logging

from crawler import render
from monitor.record import Confirmation, Prepared, extracts_nothing, preview
from monitor.store import open_store
from monitor.timeutil import now_iso

log = logging.getLogger(__name__)
CONDITIONAL = (b"If-None-Match", b"If-Modified-Since")
# The meta keys we set; Scrapy's own (download_latency, redirect_times…) must not be copied.
OWN_META = ("target", "started_at", "handle_httpstatus_list", "playwright", "playwright_page_methods",
            "render_fallback")


def own_meta(meta: dict) -> dict:
    """The request meta keys policywatch set (``OWN_META``), for a follow-up request: Scrapy's
    own (download latency, redirect counts…) must not carry over."""
    return {key: meta[key] for key in OWN_META if key in meta}


def _plain_headers(response) -> dict:
    """The request's headers without validators: a refetch must get the whole body."""
    return {k: v for k, v in response.request.headers.items() if k not in CONDITIONAL}


def render_retry(spider, response):
    """A browser request for a blocked or empty plain response, or None."""
    meta = response.meta
    if meta.get("playwright") or not spider.settings.getbool("POLICYWATCH_RENDER_FALLBACK") \
            or not render.handler_installed(spider.settings):
        return None
    target = meta["target"]
    blocked = response.status in render.BLOCKED_STATUSES
    empty = 200 <= response.status < 300 and extracts_nothing(
        target, response.body, response.headers.get("Content-Type", b"").decode("latin-1"), response.url)
    if not (blocked or empty):
        return None
    return response.request.replace(url=target["url"], headers=_plain_headers(response), dont_filter=True,
                                    meta={**own_meta(meta), **render.render_meta(target),
                                          "render_fallback": True})


async def confirm(spider, response, capture) -> tuple[Confirmation | None, Prepared | None]:
    """A second fetch of a body that would change the target's text (the spider's
    ``would_change(target, capture)`` says), and what was worked out to tell; None for the
    fetch when confirming is off or not needed."""
    if not spider.settings.getbool("POLICYWATCH_CONFIRM_CHANGES") or not capture.body:
        return None, None
    changed, prepared = spider.would_change(response.meta["target"], capture)
    if not changed:
        return None, prepared
    return await refetch(spider, response, capture), prepared


def changes_stored_text(spider, capture) -> tuple[bool, Prepared]:
    """Whether the capture's body would change its target's text in the crawl's store, and the
    look-up and extraction made to tell (for ``record_capture``, which then need not repeat them)."""
    db_path = spider.settings.get("POLICYWATCH_DB")
    if not db_path:
        return False, Prepared()
    # One connection per spider, not per response: opening (and migrating) costs more than asking.
    store = getattr(spider, "_policywatch_store", None)
    if store is None:
        store = spider._policywatch_store = open_store(db_path)
    target = store.get_target(capture.target_id)
    return preview(store, target, capture.body, capture.content_type, capture.final_url or capture.url)


def decoded_headers(headers) -> dict:
    """Scrapy's bytes headers as a str → str dict (repeated values joined)."""
    return {k.decode("latin-1"): b", ".join(v).decode("latin-1") for k, v in headers.items()}


async def refetch(spider, response, capture) -> Confirmation:
    """Fetch ``response``'s URL a second time, without validators: the attempt, whole (the
    recorder archives it: every fetch is in the WARC files), failed or not."""
    request = response.request.replace(headers=_plain_headers(response), dont_filter=True,
                                       meta={**own_meta(response.meta), "confirmation": True})
    try:
        second = await spider.crawler.engine.download_async(request)
    except Exception as error:  # any failed refetch leaves the change unconfirmed
        log.info("target %s: confirmation fetch failed: %s", capture.target_id, error)
        return Confirmation(request.url, now_iso(), decoded_headers(request.headers),
                            error=f"confirmation fetch failed: {type(error).__name__}: {error}")
    return Confirmation(second.url, now_iso(),
                        decoded_headers(second.request.headers) if second.request else decoded_headers(request.headers),
                        status=second.status, body=second.body,
                        headers={k.lower(): v for k, v in decoded_headers(second.headers).items()})
