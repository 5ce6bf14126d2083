"""Item pipelines, one per concern (order and reasons in ``settings.ITEM_PIPELINES``)."""

import logging

from scrapy.exceptions import DropItem, NotConfigured

from crawler.items import CaptureItem
from crawler.recorder import CaptureRecorder, shared

log = logging.getLogger(__name__)


class BoundCapturePipeline:
    """Turn a malformed or oversized capture into a capture error before it is recorded."""

    def __init__(self, max_body_bytes: int):
        self.max_body_bytes = max_body_bytes

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.getint("POLICYWATCH_MAX_BODY_BYTES"))

    def process_item(self, item: CaptureItem) -> CaptureItem:
        capture = item.capture
        if not isinstance(capture.target_id, int):
            raise ValueError(f"capture without a target id: {capture!r}")
        if capture.body is not None and len(capture.body) > self.max_body_bytes:
            capture.body = None
            capture.error_kind = "too-large"
            capture.error = f"body larger than {self.max_body_bytes} bytes"
        return item


class ArchiveAndRecordPipeline:
    """Archive each capture to WARC, then record it in one transaction — in batches, off the
    reactor (``crawler.recorder``), so downloading goes on while the disk syncs."""

    def __init__(self, recorder: CaptureRecorder, owned: bool, stats=None):
        self.recorder, self.owned, self.stats = recorder, owned, stats
        self._counted = (recorder.batches, recorder.captures)

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        recorder = shared(settings.get("POLICYWATCH_RECORDER_KEY"))  # the run's, shared by its passes
        if recorder is not None:
            return cls(recorder, owned=False, stats=crawler.stats)
        if not settings.get("POLICYWATCH_DB") or not settings.get("POLICYWATCH_WARC_DIR"):
            raise NotConfigured("POLICYWATCH_DB and POLICYWATCH_WARC_DIR must be set")
        return cls(CaptureRecorder(settings.get("POLICYWATCH_DB"), settings.get("POLICYWATCH_WARC_DIR"),
                                   settings.getint("POLICYWATCH_WARC_MAX_BYTES"),
                                   settings.get("POLICYWATCH_RECORD_IN")), owned=True, stats=crawler.stats)

    def close_spider(self) -> None:
        batches, captures = self.recorder.batches - self._counted[0], self.recorder.captures - self._counted[1]
        if self.stats is not None:
            self.stats.set_value("policywatch/recorder/batches", batches)
            self.stats.set_value("policywatch/recorder/captures", captures)
        if self.owned:
            self.recorder.close()

    async def process_item(self, item: CaptureItem) -> CaptureItem:
        outcome = await self.recorder.record(item.capture, item.prepared)
        if outcome.dropped:
            # Nothing of it was committed: the target's claim lapses and it is fetched again.
            raise DropItem(outcome.dropped)
        item.recorded = outcome.recorded
        return item


class CaptureStatsPipeline:
    """Count outcomes under ``policywatch/`` stats keys and log one line per capture."""

    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_item(self, item: CaptureItem) -> CaptureItem:
        outcome = item.recorded.outcome if item.recorded else "unrecorded"
        self.stats.inc_value(f"policywatch/captures/{outcome}")
        if item.capture.error_kind:
            self.stats.inc_value(f"policywatch/errors/{item.capture.error_kind}")
            log.info("target %s: %s: %s", item.capture.target_id, item.capture.error_kind, item.capture.error)
        return item
