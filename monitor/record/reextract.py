"""Re-extraction: rebuild a target's current text from its stored snapshot.

After an extractor upgrade (``EXTRACTOR_VERSION``) or a selector edit, the text we would store
for the same raw body may differ. ``reextract`` re-derives it from the snapshot of each target's
latest version and, when the stored text differs, appends a *technical* version
(``versions.technical = 1``) with a ``noise`` change by the ``technical-upgrade`` classifier. No
event is emitted, so nothing is ever delivered: a technical upgrade never alerts. History is
append-only (the ledger vouches for every version), so older versions are left as recorded.
"""

import json
from dataclasses import asdict, dataclass

from monitor.errors import ExtractionError
from monitor.extract import EXTRACTOR_VERSION, comparable_text, extract
from monitor.record.versions import append_change, append_version
from monitor.store import Store, sha256_hex
from monitor.timeutil import now_iso

TECHNICAL_CLASSIFIER = "technical-upgrade"
# Latest versions (by store path and id) that an older extractor made and that re-extract to
# the same text: versions are append-only, so their extractor_version stays old; remember them
# for the life of the process instead of re-extracting their snapshot at every capture.
_CHECKED: set[tuple[str, int]] = set()
_CHECKED_MAX = 100_000


@dataclass
class Reextracted:
    """The outcome for one target: ``upgraded``, ``unchanged``, ``no-snapshot`` or ``error``."""

    target_id: int
    outcome: str
    version_id: int | None = None
    change_id: int | None = None
    error: str | None = None

    def as_json(self) -> dict:
        """For ``policywatch reextract --json``."""
        return asdict(self)


def _snapshot_of(store: Store, version: dict) -> tuple[bytes, str | None, str]:
    body = store.get_snapshot(version["snapshot_sha256"])
    capture = store.capture_urls(version["capture_id"])
    url = (capture[1] or capture[0]) if capture else ""
    return body, store.snapshot_content_type(version["snapshot_sha256"]), url


def upgrade_if_stale(store: Store, target: dict) -> Reextracted | None:
    """Re-derive the latest version first when an older extractor made it (None when current).

    Called before a new capture is compared: after an extractor upgrade the first crawl would
    otherwise compare the new extractor's text with the old one's and report the difference as
    the company's change. Re-deriving appends a technical version (never an alert), so the
    capture is compared like with like, whether or not the operator ran ``reextract``."""
    latest = store.latest_version_key(target["id"])
    if latest is None or not latest["snapshot_sha256"] or latest["extractor_version"] == EXTRACTOR_VERSION:
        return None
    checked = (store.path, latest["id"])
    if checked in _CHECKED:  # same text (or unreadable) under the new extractor: asked already
        return None
    outcome = reextract_target(store, target)
    if outcome.outcome != "upgraded":
        if len(_CHECKED) >= _CHECKED_MAX:
            _CHECKED.clear()
        _CHECKED.add(checked)
    return outcome


def reextract_target(store: Store, target: dict) -> Reextracted:
    """Re-extract one target's latest version (see module docstring)."""
    latest = store.latest_version(target["id"])
    if latest is None or not latest["snapshot_sha256"]:
        return Reextracted(target["id"], "no-snapshot")
    body, content_type, url = _snapshot_of(store, latest)
    try:
        extraction = extract(body, content_type, url=url or target["url"],
                             select=target["select"], remove=target["remove"])
    except ExtractionError as error:
        return Reextracted(target["id"], "error", error=str(error))
    if extraction.text == latest["text"]:
        return Reextracted(target["id"], "unchanged", latest["id"])
    now = now_iso()
    with store.transaction():
        version_id = append_version(
            store, latest, target_id=target["id"], text=extraction.text,
            compare_sha256=sha256_hex(comparable_text(extraction.text)),
            snapshot_sha256=latest["snapshot_sha256"], capture_id=latest["capture_id"], seen_at=now,
            extractor_version=extraction.extractor_version, recorded_at=now, technical=True)
        change = append_change(store, {
            "target_id": target["id"], "from_version_id": latest["id"], "to_version_id": version_id,
            "detected_at": now, "class": "noise", "severity": 0, "topics": "[]", "direction": "none",
            "evidence": json.dumps([{"sentence": "", "side": "new", "topics": [],
                                     "rule": f"{TECHNICAL_CLASSIFIER}:{extraction.extractor_version}"}]),
            "hunks": "[]", "chars_added": 0, "chars_removed": 0, "classifier": TECHNICAL_CLASSIFIER,
        }, now)
    return Reextracted(target["id"], "upgraded", version_id, change["id"])


def reextract(store: Store, target_id: int | None = None) -> list[Reextracted]:
    """Re-extract one target, or every target."""
    targets = [store.get_target(target_id)] if target_id is not None else store.list_targets()
    return [reextract_target(store, target) for target in targets]
