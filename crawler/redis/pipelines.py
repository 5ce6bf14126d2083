"""The worker's pipeline: push each capture back through Redis to the recorder.

A worker has no store: ``BoundCapturePipeline`` (100) bounds the capture as on one machine, then
``RedisCapturePipeline`` (300) pushes it with its claim token (``crawler.redis.queue``). The
recorder inside ``policywatch run --redis`` archives it to WARC and records it.
"""

import logging

from scrapy.exceptions import DropItem, NotConfigured

from crawler.redis import queue as redis_queue
from crawler.redis.worker_spider import RemoteCaptureItem

log = logging.getLogger(__name__)


class RedisCapturePipeline:
    """RPUSH one capture message per fetch attempt to ``<prefix>:captures``."""

    def __init__(self, url: str, prefix: str, stats):
        self.url = url
        self.keys = redis_queue.Keys(prefix)
        self.stats = stats
        self.client = None

    @classmethod
    def from_crawler(cls, crawler):
        url = crawler.settings.get("REDIS_URL")
        if not url:
            raise NotConfigured("REDIS_URL is not set")
        return cls(url, crawler.settings.get("POLICYWATCH_REDIS_PREFIX"), crawler.stats)

    def open_spider(self) -> None:
        import redis.asyncio  # the redis extra: imported only where it is used
        self.client = redis.asyncio.Redis.from_url(self.url, socket_timeout=30)

    async def close_spider(self) -> None:
        if self.client is not None:
            await self.client.aclose()

    async def process_item(self, item: RemoteCaptureItem) -> RemoteCaptureItem:
        if not isinstance(item, RemoteCaptureItem) or not item.claim:
            raise DropItem(f"not a claimed capture: {item!r}")
        import redis  # the redis extra: imported only where it is used
        message = redis_queue.capture_message(item.capture, item.claim, worker=item.worker)
        try:
            await self.client.rpush(self.keys.captures, message)
        except redis.RedisError as error:
            # The claim lapses and the run re-queues the target: nothing is lost for good.
            self.stats.inc_value("policywatch/redis/push_failed")
            raise DropItem(f"target {item.capture.target_id}: not pushed: {error}") from error
        self.stats.inc_value("policywatch/redis/pushed")
        if item.capture.error_kind:
            self.stats.inc_value(f"policywatch/errors/{item.capture.error_kind}")
        return item
