"""Backfill from the Wayback Machine: the CDX index, then each picked capture in raw mode.

The CDX API lists a URL's captures (``collapse=digest`` drops runs of identical bodies); we keep
the first of each period (a month by default) and fetch it as the archive stored it
(``/web/{timestamp}id_/{url}``: no toolbar, no rewritten links). Politeness: one request at a
time, a delay between requests, a User-Agent that says who we are, and retries with backoff
(honouring ``Retry-After``) on 429, 5xx and connection errors. If the archive still fails, the
run stops; a re-run resumes after the last recorded copy (``monitor.record.backfill.common``).
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import requests

from monitor import __version__
from monitor.errors import InputError
from monitor.record.backfill.common import (
    ArchivedCopy,
    ArchiveUnavailable,
    BackfillReport,
    archive_time,
    ensure_backfillable,
    history_horizon,
    record_copy,
    recorded_refs,
)
from monitor.record.recording import retry_after_seconds
from monitor.store import Store
from monitor.timeutil import now_iso

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://web.archive.org"
DEFAULT_DELAY_SECONDS = 2.0  # between requests: the Internet Archive is a shared, free service
USER_AGENT = (f"policywatch/{__version__} (history backfill of privacy policies; "
              f"+https://github.com/policywatch/policywatch)")
RETRIES = 4
BACKOFF_SECONDS = 2.0  # doubled per retry
MAX_BACKOFF_SECONDS = 120.0
TIMEOUT_SECONDS = 60
CDX_FIELDS = ("timestamp", "original", "statuscode", "digest", "mimetype")
PERIODS = {"day": 8, "month": 6, "year": 4, "none": 14}  # timestamp prefix naming a period
SOURCE = "wayback"


@dataclass(frozen=True)
class CdxEntry:
    """One line of the CDX index."""

    timestamp: str  # YYYYMMDDhhmmss
    original: str
    statuscode: str
    digest: str
    mimetype: str

    @property
    def archived_at(self) -> str:
        return archive_time(datetime.strptime(self.timestamp.ljust(14, "0")[:14], "%Y%m%d%H%M%S"))


class WaybackClient:
    """A polite HTTP client for the Wayback Machine (or anything that speaks its API)."""

    def __init__(self, base_url: str = DEFAULT_BASE_URL, delay: float = DEFAULT_DELAY_SECONDS,
                 retries: int = RETRIES, backoff: float = BACKOFF_SECONDS,
                 timeout: float = TIMEOUT_SECONDS, sleep: Callable[[float], None] = time.sleep):
        self.base_url = base_url.rstrip("/")
        self.delay, self.retries, self.backoff, self.timeout = delay, retries, backoff, timeout
        self.sleep = sleep
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self._last_request = 0.0

    def close(self) -> None:
        self.session.close()

    def _get(self, url: str, params: dict | None = None) -> requests.Response:
        """GET with the politeness delay and retries; ``ArchiveUnavailable`` when they run out."""
        problem = ""
        for attempt in range(self.retries + 1):
            wait = self._last_request + self.delay - time.monotonic()
            if wait > 0:
                self.sleep(wait)
            self._last_request = time.monotonic()
            try:
                response = self.session.get(url, params=params, timeout=self.timeout)
            except requests.RequestException as error:
                problem, pause = f"{type(error).__name__}: {error}", None
            else:
                if response.status_code != 429 and response.status_code < 500:
                    return response
                problem = f"HTTP {response.status_code}"
                pause = retry_after_seconds({k.lower(): v for k, v in response.headers.items()})
            if attempt < self.retries:
                pause = min(MAX_BACKOFF_SECONDS, max(pause or 0, self.backoff * 2 ** attempt))
                log.info("wayback: %s for %s; retrying in %.1fs", problem, url, pause)
                self.sleep(pause)
        raise ArchiveUnavailable(f"{url}: {problem} after {self.retries + 1} attempts")

    def cdx(self, url: str, from_year: int | None = None, to_year: int | None = None) -> list[CdxEntry]:
        """The 200-status captures of ``url``, oldest first, runs of identical bodies collapsed."""
        params = {"url": url, "output": "json", "fl": ",".join(CDX_FIELDS),
                  "filter": "statuscode:200", "collapse": "digest"}
        if from_year:
            params["from"] = str(from_year)
        if to_year:
            params["to"] = str(to_year)
        response = self._get(f"{self.base_url}/cdx/search/cdx", params)
        if response.status_code != 200:
            raise ArchiveUnavailable(f"CDX index for {url}: HTTP {response.status_code}",
                                     transient=False)
        text = response.text.strip()
        try:
            rows = response.json() if text else []
        except ValueError as error:
            raise ArchiveUnavailable(f"CDX index for {url}: not JSON ({text[:80]!r})",
                                     transient=False) from error
        if rows and rows[0] == list(CDX_FIELDS):
            rows = rows[1:]  # the header line
        entries = [CdxEntry(*map(str, row[:5])) for row in rows if isinstance(row, list) and len(row) >= 5]
        return sorted(entries, key=lambda e: e.timestamp)

    def archive_url(self, entry: CdxEntry) -> str:
        """The raw (``id_``) URL of a capture: the body as archived, links not rewritten."""
        return f"{self.base_url}/web/{entry.timestamp}id_/{entry.original}"

    def fetch(self, entry: CdxEntry) -> ArchivedCopy:
        """One archived copy (an unusable one carries ``error_kind`` and is recorded as such)."""
        url = self.archive_url(entry)
        started = time.monotonic()
        response = self._get(url)
        elapsed = int((time.monotonic() - started) * 1000)
        copy = ArchivedCopy(url=entry.original, archived_at=entry.archived_at, archive_ref=url,
                            body=response.content, content_type=response.headers.get("content-type"),
                            status=response.status_code, elapsed_ms=elapsed,
                            headers={k.lower(): v for k, v in response.headers.items()})
        if response.status_code != 200:
            copy.error_kind, copy.error = "http", f"the archive answered HTTP {response.status_code}"
            copy.body = b""
        return copy


def pick(entries: list[CdxEntry], period: str = "month") -> list[CdxEntry]:
    """The first capture of each period, after dropping consecutive repeats of one body."""
    if period not in PERIODS:
        raise InputError(f"unknown period {period!r}: use one of {', '.join(PERIODS)}")
    picked, last_digest, seen_periods = [], None, set()
    for entry in sorted(entries, key=lambda e: e.timestamp):
        if entry.digest == last_digest:
            continue
        last_digest = entry.digest
        key = entry.timestamp[:PERIODS[period]]
        if key in seen_periods:
            continue
        seen_periods.add(key)
        picked.append(entry)
    return picked


def backfill_wayback(store: Store, target: dict, client: WaybackClient, *,
                     from_year: int | None = None, to_year: int | None = None,
                     period: str = "month", max_fetches: int | None = None,
                     progress: Callable[[str], None] = lambda message: None) -> BackfillReport:
    """Record a target's history from the Wayback Machine, oldest first (see module doc)."""
    ensure_backfillable(store, target)
    report = BackfillReport(target["id"], SOURCE)
    picks = pick(client.cdx(target["url"], from_year, to_year), period)
    times, _ = recorded_refs(store, target["id"], SOURCE)
    horizon = history_horizon(store, target["id"])
    fetched = 0
    for entry in picks:
        at = entry.archived_at
        if at in times:
            report.already_recorded += 1
            continue
        if horizon and at <= horizon:
            report.older_than_history += 1
            continue
        if max_fetches is not None and fetched >= max_fetches:
            report.stopped = f"--max {max_fetches} reached; run again to continue"
            break
        started = now_iso()
        try:
            copy = client.fetch(entry)
        except ArchiveUnavailable as error:
            report.stopped, report.failed = f"{error}; run again to resume", True
            break
        fetched += 1
        recorded = record_copy(store, target, copy, SOURCE, started, report)
        progress(f"{entry.timestamp} {recorded.outcome}"
                 + (f" ({recorded.error})" if recorded.error else ""))
    if report.older_than_history:
        report.warnings.append(
            f"{report.older_than_history} archived copies are older than the history already "
            f"recorded and were skipped (history is only appended, oldest first)")
    return report
