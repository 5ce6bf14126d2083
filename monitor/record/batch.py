"""Recording captures in batches: WARC first, one fsync for the batch, then each capture's
transaction (``record_capture``).

The crawler hands batches to a ``BatchWriter`` off its reactor (``crawler.recorder``: a writer
process by default), so downloading goes on while the disk syncs. The durability contract of
one capture at a time is kept: a capture row is committed only after its WARC records are on
disk, and each capture still commits (or rolls back) on its own.
"""

import logging
from dataclasses import dataclass
from pathlib import Path

from monitor.errors import PolicywatchError, StoreError
from monitor.evidence import LastCapture, Original, WarcFiles, build_capture
from monitor.extract import KnownText, extraction_key
from monitor.record.capture import Capture, Prepared
from monitor.record.recording import Recorded, record_capture
from monitor.store import DatabaseFailure, last_warc_capture, open_store, sha256_hex

log = logging.getLogger(__name__)


@dataclass
class BatchOutcome:
    """What became of one capture of a batch: recorded, or dropped with a reason."""

    recorded: Recorded | None = None
    dropped: str | None = None


def last_capture_in(db_path: str | None, file_name: str) -> LastCapture | None:
    """The records of the last capture row pointing into ``file_name``, if any.

    A capture row is committed only after its records are fsynced, so everything up to their
    end is whole (``monitor.evidence.warc.recover`` checks that the record id really is there before it
    trusts this): only the tail after it needs checking for a torn record."""
    if not db_path or not Path(db_path).exists():
        return None
    try:
        row = last_warc_capture(db_path, file_name)
    except DatabaseFailure:
        return None  # no hint: the whole file is checked
    return LastCapture(*row) if row and None not in row else None


def record_or_report(store, capture: Capture, prepared: Prepared | None = None) -> BatchOutcome:
    """Record one capture; a store that refuses the write drops it (nothing partial is
    committed, and the target's claim lapses so it is fetched again), a bug records the
    attempt as an ``internal-error`` capture."""
    try:
        return BatchOutcome(record_capture(store, capture, prepared=prepared))
    except PolicywatchError as error:
        return BatchOutcome(dropped=f"target {capture.target_id}: not recorded: {error}")
    except Exception as error:
        log.exception("target %s: recording failed", capture.target_id)
        capture.body, capture.not_modified, capture.confirmation = None, False, None
        capture.error_kind, capture.error = "internal-error", f"{type(error).__name__}: {error}"
        try:
            return BatchOutcome(record_capture(store, capture))
        except Exception as second:  # the store itself is failing: report, lose nothing committed
            return BatchOutcome(dropped=f"target {capture.target_id}: not recorded: {second}")


def warc_fields(capture: Capture) -> dict:
    """The arguments ``build_capture`` takes for a capture (and its confirmation re-fetch)."""
    fields = {"url": capture.final_url or capture.url, "fetched_at": capture.fetched_at,
              "request_headers": capture.request_headers, "status": capture.status,
              "response_headers": capture.headers, "body": capture.body,
              "error": f"{capture.error_kind}: {capture.error}" if capture.error_kind else None,
              "not_modified": capture.not_modified and capture.status is not None}
    second = capture.confirmation
    if second is not None:
        fields["confirmation"] = {
            "url": second.url or fields["url"], "fetched_at": second.fetched_at,
            "request_headers": second.request_headers or {}, "status": second.status,
            "response_headers": second.headers or {},
            "body": second.body if second.status is not None else None,
            "error": second.error}
    return fields


class BatchWriter:
    """Archives and records batches of captures into one store and one WARC directory."""

    def __init__(self, db_path: str, warc_dir: str, warc_max_bytes: int):
        self.store = open_store(db_path)
        self.warc = WarcFiles(warc_dir, warc_max_bytes,
                              last_capture=lambda name: last_capture_in(db_path, name))

    def record(self, captures: list[Capture], prepared: list[Prepared | None] | None = None) -> list[BatchOutcome]:
        """Archive then record each capture (with what was ``prepared`` about it, if anything);
        one outcome per capture, in order."""
        outcomes = [BatchOutcome() for _ in captures]
        prepared = [p or Prepared() for p in (prepared or [None] * len(captures))]
        built = []
        for index, capture in enumerate(captures):
            try:
                original = self._revisit_of(capture, prepared[index])
                built.append((index, build_capture(**warc_fields(capture), revisit_of=original)))
            except Exception as error:  # a header warcio cannot write: this capture only
                outcomes[index].dropped = f"target {capture.target_id}: not archived: {error}"
        try:
            refs = self.warc.write_built([data for _, data in built])
        except StoreError as error:
            for index, _ in built:
                outcomes[index].dropped = f"target {captures[index].target_id}: not archived: {error}"
            return outcomes
        for (index, _), ref in zip(built, refs):
            captures[index].warc = ref
            outcomes[index] = record_or_report(self.store, captures[index], prepared[index])
        return outcomes

    def _revisit_of(self, capture: Capture, prepared: Prepared) -> Original | None:
        """The archived response this capture repeats, when it will be recorded unchanged; for a
        ``304``, the response holding the latest version's payload. A look-up it makes is kept
        in ``prepared`` for recording.

        Only then: a version's capture always holds its own payload, so evidence bundles (which
        carry the records of versions) never depend on another record."""
        if capture.not_modified and capture.status is not None and not capture.error_kind:
            latest = self.store.latest_version_key(capture.target_id)
            return self._original(capture.target_id, latest["snapshot_sha256"]) if latest else None
        if capture.body is None or capture.status is None or capture.error_kind or capture.confirmation is not None:
            return None
        known = prepared.known
        if known is not None and known.skeleton is not None:
            return None  # the crawler looked the bytes up already: they are new to this target
        if known is None or known.compare_sha256 is None:  # not looked up by the crawler
            target = self.store.get_target(capture.target_id)
            body_sha256 = sha256_hex(capture.body)
            compare = self.store.known_comparable(target["id"], body_sha256, extraction_key(target),
                                                  capture.content_type)
            if compare is None:
                return None
            prepared.known = known = KnownText(body_sha256, compare_sha256=compare)
        latest = self.store.latest_version_key(capture.target_id)
        if latest is None or latest["compare_sha256"] != known.compare_sha256:
            return None
        return self._original(capture.target_id, known.body_sha256)

    def _original(self, target_id: int, body_sha256: str | None) -> Original | None:
        """The latest response record of this target that holds the body ``body_sha256`` itself:
        never a revisit, never a 304 (whose rows name the version's body but archive none)."""
        if body_sha256 is None:
            return None
        row = self.store.original_response(target_id, body_sha256)
        return Original(*row) if row else None

    def close(self) -> None:
        """Close the WARC file and the store."""
        self.warc.close()
        self.store.close()
