"""What every backfill shares: the ordering rule, resumption, and recording an archived copy.

An archived copy goes through ``record_capture`` like a live fetch (same extraction, guards,
normalisation, classification, ledger), marked with its ``source`` and dated by the archive
(``archived_at``). The rule that keeps history in order (docs/decisions/0008): versions are
ordered by id, so a backfill only appends, oldest first, to a target that has no *live*
version yet, and only copies newer than everything already recorded for it. A killed backfill
resumes because every recorded copy is a ``captures`` row with its ``source`` and
``archived_at``: a re-run skips what is there and continues after it.
"""

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from monitor.errors import FetchError, InputError, PolicywatchError, TargetNotFound
from monitor.record.recording import Capture, Recorded, record_capture
from monitor.store import Store
from monitor.timeutil import iso, now_iso

SOURCES = {"wayback": "the Wayback Machine", "ota": "Open Terms Archive"}


class BackfillError(PolicywatchError):
    """A backfill cannot run or had to stop (a re-run resumes where it stopped)."""


class ArchiveUnavailable(FetchError):
    """The archive did not answer usefully even after retries: stop, a re-run resumes."""

    kind = "archive-unavailable"


@dataclass
class ArchivedCopy:
    """One copy of a page as an archive holds it."""

    url: str  # the page's own URL, as the archive captured it
    archived_at: str  # store time format (UTC, Z)
    archive_ref: str  # the archived copy: a Wayback URL, an OTA commit
    body: bytes = field(repr=False, default=b"")
    content_type: str | None = None
    status: int | None = 200
    headers: dict = field(default_factory=dict)
    elapsed_ms: int | None = None
    error_kind: str | None = None  # the archive's copy is unusable (recorded, so not re-fetched)
    error: str | None = None
    technical: bool = False  # the archive re-extracted a copy it already held (see record.Capture)


@dataclass
class BackfillReport:
    """What one backfill run did for one target."""

    target_id: int
    source: str
    recorded: list[dict] = field(default_factory=list)  # {archived_at, outcome, version_id, ...}
    already_recorded: int = 0  # skipped: recorded by an earlier run
    older_than_history: int = 0  # skipped: older than what the target already holds
    stopped: str | None = None  # why the run stopped early (a re-run resumes), if it did
    failed: bool = False  # stopped by a failure (the archive, a refusal), not by --max
    warnings: list[str] = field(default_factory=list)

    @property
    def versions(self) -> int:
        return sum(1 for r in self.recorded if r["version_id"] and r["outcome"] != "unchanged")

    def as_json(self) -> dict:
        return {**asdict(self), "versions_added": self.versions}


def archive_time(moment: datetime) -> str:
    """The store's time form of an archive's date."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return iso(moment)


def resolve_target(store: Store, ref: str) -> dict:
    """A target by id or by its exact URL (``InputError`` if the URL is tracked twice)."""
    if ref.isdigit():
        return store.get_target(int(ref))
    rows = store.target_ids_with_url(ref)
    if not rows:
        raise TargetNotFound(f"no target with id or URL {ref!r} (see `policywatch target list`)")
    if len(rows) > 1:
        raise InputError(f"{ref} is tracked as {len(rows)} documents: give the target id "
                         f"({', '.join(map(str, rows))})")
    return store.get_target(rows[0])


def live_versions(store: Store, target_id: int) -> int:
    """How many versions of a target came from live fetches."""
    return store.live_version_count(target_id)


def ensure_backfillable(store: Store, target: dict) -> None:
    """Refuse a target that already has live versions (see the module docstring)."""
    count = live_versions(store, target["id"])
    if count:
        raise BackfillError(
            f"target {target['id']} ({target['company']} — {target['doc_type']}) already has "
            f"{count} live version(s): history can only be backfilled before the first live "
            f"capture (run the backfill right after `target add`, before `crawl`; see docs/backfill.md)")


def history_horizon(store: Store, target_id: int) -> str | None:
    """The newest time already recorded for a target: a backfill appends only after it."""
    return store.history_horizon(target_id)


def recorded_refs(store: Store, target_id: int, source: str) -> tuple[set[str], set[str]]:
    """The archive times and references already recorded for a target from a source."""
    times, refs = set(), set()
    for at, ref in store.archived_refs(target_id, source):
        times.add(at)
        refs.add(ref)
    return times, refs


def record_copy(store: Store, target: dict, copy: ArchivedCopy, source: str, started_at: str,
                report: BackfillReport) -> Recorded:
    """Record one archived copy as a capture of ``target`` (one transaction, via record_capture)."""
    # A daemon may have crawled the target since the backfill started: never append after it.
    ensure_backfillable(store, target)
    capture = Capture(
        target_id=target["id"], url=copy.url, started_at=started_at, fetched_at=now_iso(),
        status=copy.status, headers=copy.headers, body=copy.body, content_type=copy.content_type,
        elapsed_ms=copy.elapsed_ms, error_kind=copy.error_kind, error=copy.error,
        source=source, archived_at=copy.archived_at, archive_ref=copy.archive_ref,
        technical=copy.technical)
    recorded = record_capture(store, capture)
    report.recorded.append({"archived_at": copy.archived_at, "archive_ref": copy.archive_ref,
                            "outcome": recorded.outcome, "version_id": recorded.version_id,
                            "change_id": recorded.change_id, "error": recorded.error})
    return recorded
