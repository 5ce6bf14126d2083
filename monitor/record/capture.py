"""The crawler → monitor contract: one fetch attempt as a plain message (``Capture``).

A ``Capture`` holds only what the fetch saw (status, headers, body, error, and the second
fetch made to confirm a change): it pickles to the recorder's writer process and serialises
to a Redis message as it is. What the pipeline works out about a body before recording it
(an extraction, a look-up of the store) travels beside it as ``Prepared``, a cache that
``record_capture`` may use and may ignore.
"""

from dataclasses import dataclass, field

from monitor.evidence import WarcRef
from monitor.extract import Extraction, KnownText
from monitor.timeutil import now_iso


@dataclass
class Confirmation:
    """The second fetch of a body that would change the text (``crawler.confirm``): archived
    with the capture (every fetch is in the WARC files) and compared by ``monitor.record.vetting``."""

    url: str
    fetched_at: str
    request_headers: dict = field(default_factory=dict)
    status: int | None = None  # None: the refetch failed (``error`` says how)
    headers: dict = field(default_factory=dict)
    body: bytes | None = field(default=None, repr=False)  # as received
    error: str | None = None

    @property
    def usable_body(self) -> bytes:
        """The body to confirm a change with: empty unless the refetch answered 2xx."""
        return (self.body or b"") if self.status is not None and 200 <= self.status < 300 else b""


@dataclass
class Capture:
    """One fetch attempt as the crawler saw it."""

    target_id: int
    url: str
    started_at: str
    fetched_at: str = field(default_factory=now_iso)
    status: int | None = None
    final_url: str | None = None
    headers: dict = field(default_factory=dict)
    body: bytes | None = field(default=None, repr=False)
    content_type: str | None = None
    elapsed_ms: int | None = None
    not_modified: bool = False
    error_kind: str | None = None
    error: str | None = None
    request_headers: dict = field(default_factory=dict)
    warc: WarcRef | None = None  # where the crawler archived this capture, if it did
    # A second fetch of a body that would change the text (see monitor.record.vetting).
    confirmation: Confirmation | None = None
    rendered: bool = False  # fetched through a browser (render: js, or the blocked-fetch fallback)
    guard: str | None = None  # the guard that held this capture back (monitor.extract.guards)
    # Backfill (monitor.record.backfill, docs/decisions/0008): a capture of an archived copy is history,
    # not news. It dates its version by ``archived_at``, leaves the target's state and schedule
    # alone and emits no event, so it never alerts.
    source: str = "live"  # live | wayback | ota
    archived_at: str | None = None  # when the archive saw the page (Wayback timestamp, OTA commit)
    archive_ref: str | None = None  # the archived copy: a Wayback URL or an OTA commit
    # The archive re-extracted a copy it already held (OTA's "Apply technical or declaration
    # upgrade"): a technical version, like ``policywatch reextract``'s, that never alerts.
    technical: bool = False

    @property
    def backfilled(self) -> bool:
        """True for a capture of an archived copy (see ``source``)."""
        return self.source != "live"

    @property
    def seen_at(self) -> str:
        """When the page was seen with this body: the archive's time, else the fetch's."""
        return self.archived_at or self.fetched_at

    def drop_bodies(self) -> None:
        """Forget the raw bodies once recorded (they are in the store and the WARC files)."""
        self.body = None
        if self.confirmation is not None:
            self.confirmation.body = None


@dataclass
class Prepared:
    """What was already worked out about a capture's body before recording: the extraction the
    crawler made to decide on a confirmation fetch, and what the store knows of the body.
    A cache: recording gives the same result without it."""

    extraction: Extraction | None = None
    known: KnownText | None = None
