"""The captures table's reads beyond the hot path: what the recorder, re-extraction, the
guards, backfills and the WARC writer ask about earlier captures.

Captures are written through ``StoreBase.insert_row`` / ``update_row`` inside the caller's
transaction (``monitor.record.recording``); these methods only read.
"""

import sqlite3
from contextlib import closing

from monitor.store.base import StoreBase


def last_warc_capture(db_path: str, file_name: str) -> tuple | None:
    """``(warc_offset, warc_length, warc_record_id)`` of the last capture row pointing into
    the WARC file ``file_name``, or None.

    Opens its own read-only connection: the WARC writer asks this while it opens a file, apart
    from (and possibly before) any ``Store`` of the process. A failing database raises
    ``sqlite3.Error`` (``monitor.store.sqlite_errors.DatabaseFailure``)."""
    with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)) as db:
        return db.execute("SELECT warc_offset, warc_length, warc_record_id FROM captures "
                          "WHERE warc_file = ? AND warc_offset IS NOT NULL ORDER BY id DESC LIMIT 1",
                          [file_name]).fetchone()


class CaptureRepository(StoreBase):
    """Reads of ``captures`` (and of versions by the captures they came from)."""

    def capture_urls(self, capture_id: int | None) -> tuple[str, str | None] | None:
        """A capture's ``(url, final_url)``, or None if there is no such capture."""
        row = self.db.execute("SELECT url, final_url FROM captures WHERE id = ?", [capture_id]).fetchone()
        return (row[0], row[1]) if row else None

    def recent_guards(self, target_id: int, count: int) -> list[str | None]:
        """The ``guard`` of a target's newest ``count`` captures, newest first."""
        return [row[0] for row in self.db.execute(
            "SELECT guard FROM captures WHERE target_id = ? ORDER BY id DESC LIMIT ?", [target_id, count])]

    def original_response(self, target_id: int, body_sha256: str) -> tuple[str, str, str] | None:
        """``(warc_record_id, url, fetched_at)`` of the latest archived response of a target that
        holds the body ``body_sha256`` itself: never a revisit, never a 304 (whose rows name the
        version's body but archive none), never an empty body."""
        row = self.db.execute(
            "SELECT warc_record_id, coalesce(final_url, url), fetched_at FROM captures "
            "WHERE target_id = ? AND body_sha256 = ? AND warc_record_id IS NOT NULL "
            "AND warc_refers_to IS NULL AND outcome != 'not-modified' AND body_size > 0 "
            "ORDER BY id DESC LIMIT 1",
            [target_id, body_sha256]).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def archived_refs(self, target_id: int, source: str) -> list[tuple[str | None, str | None]]:
        """``(archived_at, archive_ref)`` of every capture of a target from a backfill ``source``."""
        return [(row[0], row[1]) for row in self.db.execute(
            "SELECT archived_at, archive_ref FROM captures WHERE target_id = ? AND source = ?",
            [target_id, source])]

    def history_horizon(self, target_id: int) -> str | None:
        """The newest time recorded for a target: its newest version's ``first_seen_at`` or its
        newest archived capture's ``archived_at``, whichever is later (None with neither)."""
        row = self.db.execute(
            "SELECT max(t) FROM (SELECT max(first_seen_at) AS t FROM versions WHERE target_id = ? "
            "UNION ALL SELECT max(archived_at) FROM captures WHERE target_id = ? AND source != 'live')",
            [target_id, target_id]).fetchone()
        return row[0] if row else None

    def version_archive_refs(self, target_id: int) -> dict[int, str | None]:
        """Each version of a target → the ``archive_ref`` of the capture it came from."""
        return {row[0]: row[1] for row in self.db.execute(
            "SELECT v.id, c.archive_ref FROM versions v JOIN captures c ON c.id = v.capture_id "
            "WHERE v.target_id = ?", [target_id])}
