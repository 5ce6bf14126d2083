"""The distributed worker's spider: targets come from Redis, captures go back through Redis.

It is a scrapy-redis ``RedisSpider`` (its settings, key naming and connection) that fetches
exactly like ``TargetsSpider`` (conditional GET, error kinds, the render fallback), with three
deliberate departures from scrapy-redis 0.9.1, measured against Scrapy 2.19:

- ``start()`` is our own: Scrapy ≥ 2.13 never calls the ``start_requests()`` that scrapy-redis
  defines, and scrapy-redis's idle-signal loop only refills when the whole batch is done and
  polls every 5 s (the engine heartbeat) when idle. Our ``start()`` pops one message at a time
  with a blocking pop, and Scrapy pulls from it only while it has room (``needs_backout``), so a
  worker holds at most a few messages that a ``kill -9`` could lose.
- ``make_request_from_data`` validates each message and returns ``None`` for a bad one (counted
  in ``policywatch/redis/rejected`` and in Redis), instead of raising: in scrapy-redis an
  exception there drops the rest of the popped batch.
- no dupefilter of scrapy-redis's: every request is ``dont_filter`` and the project keeps
  Scrapy's scheduler (a shared fingerprint set would block tomorrow's recrawl of today's URL).
"""

import asyncio
import logging
import os
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import scrapy
from scrapy_redis.spiders import RedisSpider

from crawler.items import CaptureItem
from crawler.redis import queue as redis_queue
from crawler.render import handler_installed, render_meta
from crawler.spiders.targets import HANDLED_STATUSES, TargetsSpider, conditional_headers
from monitor.errors import ExtractionError
from monitor.extract import comparable_text
from monitor.record import extract_for
from monitor.store import sha256_hex
from monitor.timeutil import now_iso

log = logging.getLogger(__name__)
# How long one blocking pop waits before checking again whether the spider is closing.
POP_TIMEOUT_SECONDS = 1
REDIS_RETRY_SECONDS = 5


@dataclass
class RemoteCaptureItem(CaptureItem):
    """A capture with the claim token it answers (echoed back to the recorder)."""

    claim: str = ""
    worker: str = ""  # host:pid, for the operator reading the capture log


def changes_text(target: dict, capture) -> bool:
    """True when this body would change the target's stored text (the message says which)."""
    if not target.get("compare_sha256") or not capture.body:
        return False
    try:
        text = extract_for(target, capture.body, capture.content_type, capture.final_url or capture.url).text
    except ExtractionError:
        return False
    return sha256_hex(comparable_text(text)) != target["compare_sha256"]


class RedisWorkerSpider(RedisSpider, TargetsSpider):
    """Pop target messages, fetch, emit ``RemoteCaptureItem``s (pushed by ``crawler.redis.pipelines``)."""

    name = "policywatch-worker"
    # The key comes from the REDIS_START_URLS_KEY setting (crawler.redis.distributed.worker_settings).

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self.keys = None
        self.async_server = None

    def setup_redis(self, crawler=None):
        super().setup_redis(crawler)
        import redis.asyncio  # the redis extra: imported only where it is used
        self.keys = redis_queue.Keys(crawler.settings.get("POLICYWATCH_REDIS_PREFIX"))
        self.async_server = redis.asyncio.Redis.from_url(
            crawler.settings.get("REDIS_URL"), socket_timeout=POP_TIMEOUT_SECONDS + 30)
        crawler.signals.connect(self._close_async, signal=scrapy.signals.spider_closed)

    async def _close_async(self):
        await self.async_server.aclose()

    async def start(self) -> AsyncIterator[scrapy.Request]:
        import redis  # the redis extra: imported only where it is used
        while True:
            try:
                popped = await self.async_server.blpop([self.redis_key], timeout=POP_TIMEOUT_SECONDS)
            except redis.ConnectionError as error:
                # Redis restarting is no reason to die: wait and pop again.
                log.warning("Redis unreachable (%s); retrying in %s s", error, REDIS_RETRY_SECONDS)
                await asyncio.sleep(REDIS_RETRY_SECONDS)
                continue
            if popped is None:
                await asyncio.sleep(0)
                continue
            request = self.make_request_from_data(popped[1])
            if request is not None:
                yield request

    def make_request_from_data(self, data: bytes):
        """A request for a valid target message; ``None`` (counted, kept) for anything else."""
        try:
            target = redis_queue.parse_target_message(data)
        except redis_queue.MessageError as error:
            self.crawler.stats.inc_value("policywatch/redis/rejected")
            log.warning("rejected a target message: %s", error)
            redis_queue.reject(self.server, self.keys, data, str(error), "worker")
            return None
        self.crawler.stats.inc_value("policywatch/redis/received")
        js = target.get("render") == "js"
        # As TargetsSpider.start: a rendered page has no validators worth trusting.
        return scrapy.Request(
            target["url"], headers={} if js else conditional_headers(target), callback=self.parse,
            errback=self.on_error, dont_filter=True,
            meta={"target": target, "started_at": now_iso(), "handle_httpstatus_list": HANDLED_STATUSES,
                  **(render_meta(target) if js and handler_installed(self.settings) else {})})

    def would_change(self, target: dict, capture) -> tuple[bool, None]:
        """Whether to fetch a body a second time to confirm a change (as ``TargetsSpider``
        does, through ``crawler.confirm.confirm``): a worker has no store, so the
        body is compared with the hash its target message carries (``changes_text``)."""
        return changes_text(target, capture), None  # its extraction stays here: the recorder is elsewhere

    async def parse(self, response) -> AsyncIterator:
        target = response.meta["target"]
        async for output in super().parse(response):
            if isinstance(output, CaptureItem):
                output = RemoteCaptureItem(output.capture, claim=target["claim"], worker=self.worker_id)
            yield output

    def on_error(self, failure) -> Iterator[CaptureItem]:
        claim = failure.request.meta["target"]["claim"]
        for item in super().on_error(failure):
            yield RemoteCaptureItem(item.capture, claim=claim, worker=self.worker_id)
