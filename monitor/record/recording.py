"""Recording a capture: snapshot → extract → normalise → version → change → events.

``record_capture`` is the one entry point the crawler (or a test, or a file) calls with every
fetch attempt, successful or not. Everything it writes for one capture commits in one
transaction, so a crash leaves either the whole capture recorded or none of it (the raw body,
content-addressed, may be stored already; it is harmless and re-used on the next attempt).
"""

import json
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from monitor import events
from monitor.compare import DEFAULT_CLASSIFIER, history
from monitor.errors import ExtractionError
from monitor.extract import (
    DEFAULT_MAX_SHRINK,
    EXTRACTOR_VERSION,
    GuardError,
    comparable_text,
    extract,
    extraction_key,
    known_text,
)
from monitor.record import vetting
from monitor.record.capture import Capture, Prepared
from monitor.record.reextract import TECHNICAL_CLASSIFIER, upgrade_if_stale
from monitor.record.versions import append_change, append_version
from monitor.store import Store, next_fetch_after_success, sha256_hex
from monitor.timeutil import later_iso, now, now_iso

# After this many failed attempts in a row a target is "broken" (shown in `target list`).
BROKEN_AFTER_FAILURES = 3
# First retry delay after a failure; doubles per consecutive failure, capped at the interval.
RETRY_BASE_SECONDS = 900
MAX_STORED_HEADER_BYTES = 16_384
MAX_RETRY_AFTER_SECONDS = 86_400


@dataclass
class Recorded:
    """What recording a capture produced."""

    capture_id: int
    outcome: str  # first-version | new-version | returned | unchanged | not-modified | error
    version_id: int | None = None
    change_id: int | None = None
    error: str | None = None


def _headers_json(headers: dict) -> str:
    text = json.dumps(headers, sort_keys=True)
    return text if len(text) <= MAX_STORED_HEADER_BYTES else json.dumps({"truncated": True})


def _capture_row(capture: Capture, outcome: str, body_sha256: str | None, **extra) -> dict:
    return {
        "target_id": capture.target_id, "started_at": capture.started_at,
        "fetched_at": capture.fetched_at, "url": capture.url, "final_url": capture.final_url,
        "status": capture.status, "headers": _headers_json(capture.headers),
        "content_type": capture.content_type, "body_sha256": body_sha256,
        "body_size": len(capture.body) if capture.body is not None else None,
        "elapsed_ms": capture.elapsed_ms, "outcome": outcome,
        "error_kind": capture.error_kind, "error": capture.error,
        "warc_file": capture.warc.file if capture.warc else None,
        "warc_offset": capture.warc.offset if capture.warc else None,
        "warc_length": capture.warc.length if capture.warc else None,
        "warc_record_id": capture.warc.record_id if capture.warc else None,
        "warc_request_id": capture.warc.request_id if capture.warc else None,
        "warc_refers_to": capture.warc.refers_to if capture.warc else None,
        "guard": capture.guard, "rendered": int(capture.rendered),
        "source": capture.source, "archived_at": capture.archived_at, "archive_ref": capture.archive_ref,
        **extra,
    }


def _mark_success(store: Store, target: dict, capture: Capture) -> None:
    updates = {
        "state": "ok", "consecutive_failures": 0, "last_error": None, "guard": None,
        "last_success_at": capture.fetched_at,
        "next_fetch_at": next_fetch_after_success(target), "claimed_at": None,
    }
    # Conditional GET needs the validators of the last full response.
    if not capture.not_modified:
        updates["etag"] = capture.headers.get("etag")
        updates["last_modified"] = capture.headers.get("last-modified")
    store.update_row("targets", target["id"], updates)
    if target["state"] not in ("ok", "new"):
        events.emit(events.TARGET_STATE_CHANGED, store,
                    {"target": target, "old_state": target["state"], "new_state": "ok"})


def retry_after_seconds(headers: dict) -> float | None:
    """A 429/503 ``Retry-After`` (seconds or an HTTP date), bounded to one day."""
    value = (headers or {}).get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - now()).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def _mark_failure(store: Store, target: dict, kind: str, message: str,
                  retry_after: float | None = None) -> None:
    failures = (target["consecutive_failures"] or 0) + 1
    state = "broken" if failures >= BROKEN_AFTER_FAILURES else "failing"
    delay = min(target["every_seconds"], RETRY_BASE_SECONDS * 2 ** (failures - 1))
    if retry_after is not None:
        delay = max(delay, retry_after)  # the server asked us to wait: wait at least that long
    store.update_row("targets", target["id"], {
        "state": state, "consecutive_failures": failures, "last_error": f"{kind}: {message}",
        "next_fetch_at": later_iso(delay), "claimed_at": None,
    })
    if state != target["state"]:
        events.emit(events.TARGET_STATE_CHANGED, store,
                    {"target": target, "old_state": target["state"], "new_state": state,
                     "reason": f"{kind}: {message}"})


def record_capture(store: Store, capture: Capture, classifier: str = DEFAULT_CLASSIFIER, *,
                   max_shrink: float = DEFAULT_MAX_SHRINK, prepared: Prepared | None = None) -> Recorded:
    """Record one fetch attempt and whatever version and change it yields (see module doc).

    Guards (``monitor.record.vetting``) hold back bot walls, error and login pages, large shrinks,
    language switches and unconfirmed changes: recorded as capture errors, never as versions.
    ``prepared`` is what the pipeline already worked out about the body (an extraction, a look-up).
    """
    target = store.get_target(capture.target_id)
    if capture.error_kind:
        return _record_failure(store, target, capture, None, capture.error_kind, capture.error or "")
    if capture.not_modified:
        with store.transaction():
            latest = store.latest_version_key(target["id"])
            row = _capture_row(capture, "not-modified", latest and latest["snapshot_sha256"],
                               version_id=latest and latest["id"])
            capture_id = store.insert_row("captures", row)
            if latest:
                store.update_row("versions", latest["id"], {"last_seen_at": capture.fetched_at})
            _mark_success(store, target, capture)
        return Recorded(capture_id, "not-modified", latest and latest["id"])

    body = capture.body or b""
    body_sha256 = store.put_snapshot(body, capture.content_type) if body else None
    key = extraction_key(target)
    url = capture.final_url or capture.url
    prepared = prepared or Prepared()
    known = prepared.known
    if body_sha256 and known is None and prepared.extraction is None:
        known = known_text(store, target, body, capture.content_type, url, key)
    skeleton_sha256 = known.skeleton_sha256 if known else None
    if known is not None and known.compare_sha256 is not None and capture.confirmation is None:
        # The same bytes, or the same text-bearing markup, as a capture already extracted (and
        # vetted) with the same extractor and selectors: an unchanged page costs no extraction.
        with store.transaction():
            latest = store.latest_version_key(target["id"])
            if latest and latest["compare_sha256"] == known.compare_sha256:
                return _record_unchanged(store, target, capture, body_sha256, latest, key, skeleton_sha256)
    try:
        extraction = prepared.extraction
        if extraction is None or extraction.extractor_version != EXTRACTOR_VERSION:
            extraction = extract(body, capture.content_type, url=url, select=target["select"],
                                 remove=target["remove"], cleaned_tree=known and known.cleaned_tree())
        extraction = vetting.vet(store, target, capture, extraction, max_shrink)
    except ExtractionError as error:
        if isinstance(error, GuardError):
            capture.guard = error.guard
        return _record_failure(store, target, capture, body_sha256, error.kind, str(error))
    upgrade_if_stale(store, target)
    return _record_text(store, target, capture, body_sha256, extraction.text,
                        extraction.extractor_version, classifier, key, skeleton_sha256)


def _record_unchanged(store: Store, target: dict, capture: Capture, body_sha256: str, latest: dict,
                      key: str, skeleton_sha256: str | None) -> Recorded:
    """(Inside a transaction.) The capture shows the latest version's text again."""
    row = _capture_row(capture, "unchanged", body_sha256, version_id=latest["id"],
                       compare_sha256=latest["compare_sha256"], extraction_key=key,
                       skeleton_sha256=skeleton_sha256)
    capture_id = store.insert_row("captures", row)
    store.update_row("versions", latest["id"], {"last_seen_at": capture.seen_at})
    if not capture.backfilled:
        _mark_success(store, target, capture)
    return Recorded(capture_id, "unchanged", latest["id"])


def _record_failure(store: Store, target: dict, capture: Capture, body_sha256: str | None,
                    kind: str, message: str) -> Recorded:
    capture.error_kind, capture.error = kind, message
    with store.transaction():
        capture_id = store.insert_row("captures", _capture_row(capture, "error", body_sha256))
        if not capture.backfilled:  # an archive's bad copy says nothing about the live page
            _mark_failure(store, target, kind, message, retry_after_seconds(capture.headers))
            store.update_row("targets", target["id"], {"guard": capture.guard})
    return Recorded(capture_id, "error", error=f"{kind}: {message}")


def _record_text(store: Store, target: dict, capture: Capture, body_sha256: str, text: str,
                 extractor_version: str, classifier: str, key: str, skeleton_sha256: str | None) -> Recorded:
    compare_sha256 = sha256_hex(comparable_text(text))
    with store.transaction():
        latest = store.latest_version(target["id"])
        if latest and latest["compare_sha256"] == compare_sha256:
            return _record_unchanged(store, target, capture, body_sha256, latest, key, skeleton_sha256)

        earlier = store.earlier_version_with(target["id"], compare_sha256) if latest else None
        outcome = "first-version" if latest is None else ("returned" if earlier else "new-version")
        capture_id = store.insert_row("captures", _capture_row(
            capture, outcome, body_sha256, compare_sha256=compare_sha256, extraction_key=key,
            skeleton_sha256=skeleton_sha256))
        version_id = append_version(
            store, latest, target_id=target["id"], text=text, compare_sha256=compare_sha256,
            snapshot_sha256=body_sha256, capture_id=capture_id, seen_at=capture.seen_at,
            extractor_version=extractor_version, recorded_at=capture.fetched_at,
            returns_to_version_id=earlier["id"] if earlier else None, source=capture.source,
            technical=capture.technical)
        store.update_row("captures", capture_id, {"version_id": version_id})
        change_id = None
        if latest is not None:
            change_id = _record_change(store, target, latest, version_id, text, earlier, classifier,
                                       capture)
        if not capture.backfilled:
            _mark_success(store, target, capture)
    return Recorded(capture_id, outcome, version_id, change_id)


def _record_change(store: Store, target: dict, latest: dict, version_id: int, text: str,
                   earlier: dict | None, classifier: str, capture: Capture | None = None) -> int:
    # Judged against the target's history, not only the previous version (monitor/compare/history.py).
    assessment, counts = history.judge(store, target["id"], latest, text, capture.seen_at if capture
                                       else now_iso(), classifier)
    if capture is not None and capture.technical:
        assessment.klass, assessment.severity, assessment.direction = "noise", 0, "none"
        assessment.topics, assessment.classifier = [], TECHNICAL_CLASSIFIER
        assessment.evidence = [{"sentence": "", "side": "new", "topics": [],
                                "rule": f"{TECHNICAL_CLASSIFIER}:{capture.source}"}]
    elif earlier is not None:
        # A return to a text already seen (a "blink" or a rollback) is never news.
        assessment.klass, assessment.severity, assessment.direction = "noise", 0, "none"
        assessment.topics = []
        assessment.evidence = [{"sentence": "", "side": "new", "topics": [],
                                "rule": f"returns-to-version:{earlier['id']}"}]
    backfilled = capture is not None and capture.backfilled
    row = {
        "target_id": target["id"], "from_version_id": latest["id"], "to_version_id": version_id,
        # A backfilled change is dated when the archive first saw it (the ledger keeps the real
        # time it was recorded).
        "detected_at": capture.seen_at if backfilled else now_iso(),
        "class": assessment.klass, "severity": assessment.severity,
        "topics": json.dumps(assessment.topics), "direction": assessment.direction,
        "evidence": json.dumps(assessment.evidence), "hunks": json.dumps(assessment.hunks),
        "chars_added": counts["chars_added"], "chars_removed": counts["chars_removed"],
        "classifier": assessment.classifier,
    }
    change = append_change(store, row, now_iso() if backfilled else row["detected_at"])
    if not backfilled:  # history, not news: no event, so no delivery (like a technical upgrade)
        events.emit(events.CHANGE_RECORDED, store, {"change": change, "target": target})
    return change["id"]
