"""Item pipelines, one per concern (order and reasons in ``settings.ITEM_PIPELINES``)."""

import logging
import sqlite3
from contextlib import closing
from pathlib import Path

from scrapy.exceptions import DropItem, NotConfigured

from crawler.items import CaptureItem
from monitor.errors import PolicywatchError, StoreError
from monitor.record import record_capture
from monitor.store import open_store
from monitor.warc import WarcFiles

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


class WarcPipeline:
    """Archive each capture (request and response, or the failure) to WARC files first,
    so the capture row that the monitor commits can point at complete records."""

    def __init__(self, directory: str, max_bytes: int, db_path: str | None = None):
        self.db_path = db_path
        self.files = WarcFiles(directory, max_bytes, complete_up_to=self._last_recorded_end)

    @classmethod
    def from_crawler(cls, crawler):
        directory = crawler.settings.get("POLICYWATCH_WARC_DIR")
        if not directory:
            raise NotConfigured("POLICYWATCH_WARC_DIR is not set")
        return cls(directory, crawler.settings.getint("POLICYWATCH_WARC_MAX_BYTES"),
                   crawler.settings.get("POLICYWATCH_DB"))

    def _last_recorded_end(self, file_name: str) -> int | None:
        """Where the last recorded capture's records end in ``file_name``, if it is there.

        A capture row is committed only after its records are fsynced, so everything before
        that offset is whole; only the tail after it needs checking for a torn record."""
        if not self.db_path or not Path(self.db_path).exists():
            return None
        try:
            with closing(sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=5)) as db:
                row = db.execute("SELECT warc_file, warc_offset + warc_length FROM captures "
                                 "WHERE warc_file IS NOT NULL ORDER BY id DESC LIMIT 1").fetchone()
        except sqlite3.Error:
            return None  # no hint: the whole file is checked
        return row[1] if row and row[0] == file_name else None

    def close_spider(self) -> None:
        self.files.close()

    def process_item(self, item: CaptureItem) -> CaptureItem:
        capture = item.capture
        try:
            item.capture.warc = self._write(capture)
        except StoreError as error:
            raise DropItem(f"target {capture.target_id}: not archived: {error}") from error
        return item

    def _write(self, capture):
        return self.files.write_capture(
            url=capture.final_url or capture.url, fetched_at=capture.fetched_at,
            request_headers=capture.request_headers, status=capture.status,
            response_headers=capture.headers, body=capture.body,
            error=f"{capture.error_kind}: {capture.error}" if capture.error_kind else None)


class RecordCapturePipeline:
    """Hand each capture to the monitor, which records it in one transaction."""

    def __init__(self, db_path: str):
        self.db_path = db_path
        self.store = None

    @classmethod
    def from_crawler(cls, crawler):
        db_path = crawler.settings.get("POLICYWATCH_DB")
        if not db_path:
            raise NotConfigured("POLICYWATCH_DB is not set")
        return cls(db_path)

    def open_spider(self) -> None:
        self.store = open_store(self.db_path)

    def close_spider(self) -> None:
        if self.store is not None:
            self.store.close()

    def process_item(self, item: CaptureItem) -> CaptureItem:
        try:
            item.recorded = record_capture(self.store, item.capture)
        except PolicywatchError as error:
            # The store refused the write (full disk, read-only, locked): nothing partial was
            # committed, and the target's claim lapses so it is fetched again later.
            raise DropItem(f"target {item.capture.target_id}: not recorded: {error}") from error
        except Exception as error:
            # A bug must not lose the attempt: record it as a failed capture, then report it.
            log.exception("target %s: recording failed", item.capture.target_id)
            capture = item.capture
            capture.body, capture.not_modified = None, False
            capture.error_kind, capture.error = "internal-error", f"{type(error).__name__}: {error}"
            item.recorded = record_capture(self.store, capture)
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
