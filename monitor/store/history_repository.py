"""The history tables: versions (the distinct texts of a target), the changes between them,
and what earlier captures extracted to.

Change rows come back with their JSON columns decoded, ``summary`` included (the stored
summary as a dict, or None): whether it is still current, and deriving it if not, is
``monitor.compare.summary.summary_of``'s, above the store.
"""

import json

from monitor.errors import ChangeNotFound, InputError
from monitor.store.base import StoreBase


def decode_change(row: dict) -> dict:
    """A changes row with its JSON columns decoded: ``topics``, ``evidence``, ``hunks`` (lists)
    and ``summary`` (a dict, or None when missing or not JSON)."""
    change = dict(row)
    for key in ("topics", "evidence", "hunks"):
        change[key] = json.loads(change[key] or "[]")
    stored = change.get("summary")
    if isinstance(stored, str):
        try:
            stored = json.loads(stored) if stored else None
        except ValueError:
            stored = None  # unreadable: derived again when read (monitor.compare.summary.summary_of)
        change["summary"] = stored if isinstance(stored, dict) else None
    return change


class HistoryRepository(StoreBase):
    """Reads and writes of ``versions`` and ``changes``, and the capture keys that skip
    re-extraction. The writes join the caller's transaction (``monitor.record.versions``
    appends the ledger entry in the same one)."""

    def add_version(self, values: dict) -> int:
        """Insert a version row (its chain hash computed by the caller); return its id."""
        return self.insert_row("versions", values)

    def add_change(self, values: dict) -> int:
        """Insert a change row (JSON columns already encoded); return its id."""
        return self.insert_row("changes", values)

    def latest_version(self, target_id: int) -> dict | None:
        """The newest version of a target, or None before its first."""
        rows = list(self.db.query(
            "SELECT * FROM versions WHERE target_id = ? ORDER BY id DESC LIMIT 1", [target_id]))
        return rows[0] if rows else None

    def latest_version_key(self, target_id: int) -> dict | None:
        """The newest version's ``id``, ``compare_sha256``, ``snapshot_sha256`` and
        ``extractor_version``: what an unchanged capture needs, without reading the policy text
        (the per-capture hot path)."""
        row = self.db.execute("SELECT id, compare_sha256, snapshot_sha256, extractor_version FROM versions "
                              "WHERE target_id = ? ORDER BY id DESC LIMIT 1", [target_id]).fetchone()
        return {"id": row[0], "compare_sha256": row[1], "snapshot_sha256": row[2],
                "extractor_version": row[3]} if row else None

    def earlier_version_with(self, target_id: int, compare_sha256: str) -> dict | None:
        """The first version of a target whose compared text hashes to ``compare_sha256``."""
        rows = list(self.db.query(
            "SELECT * FROM versions WHERE target_id = ? AND compare_sha256 = ? ORDER BY id LIMIT 1",
            [target_id, compare_sha256]))
        return rows[0] if rows else None

    def known_comparable(self, target_id: int, body_sha256: str, extraction_key: str,
                         content_type: str | None) -> str | None:
        """The comparable-text hash that these exact bytes already extracted to for this
        target with the same extractor and selectors, if they were seen before."""
        row = self.db.execute(
            "SELECT compare_sha256 FROM captures WHERE target_id = ? AND body_sha256 = ? "
            "AND extraction_key = ? AND content_type IS ? AND compare_sha256 IS NOT NULL "
            "ORDER BY id DESC LIMIT 1", [target_id, body_sha256, extraction_key, content_type]).fetchone()
        return row[0] if row else None

    def known_skeleton(self, target_id: int, skeleton_sha256: str) -> str | None:
        """The comparable-text hash a page with this skeleton (``monitor.extract.skeleton``, which
        covers the extractor and selectors) already extracted to for this target, if any."""
        row = self.db.execute(
            "SELECT compare_sha256 FROM captures WHERE target_id = ? AND skeleton_sha256 = ? "
            "AND compare_sha256 IS NOT NULL ORDER BY id DESC LIMIT 1",
            [target_id, skeleton_sha256]).fetchone()
        return row[0] if row else None

    def live_version_count(self, target_id: int) -> int:
        """How many versions of a target came from live fetches (not from a backfill)."""
        return self.db.execute("SELECT count(*) FROM versions WHERE target_id = ? AND source = 'live'",
                               [target_id]).fetchone()[0]

    def versions_up_to(self, target_id: int, version_id: int, limit: int) -> list[dict]:
        """The ``id``, ``text`` and ``first_seen_at`` of a target's newest ``limit`` versions up
        to ``version_id`` (included), newest first."""
        return list(self.db.query(
            "SELECT id, text, first_seen_at FROM versions WHERE target_id = ? AND id <= ? "
            "ORDER BY id DESC LIMIT ?", [target_id, version_id, limit]))

    def versions(self, target_id: int) -> list[dict]:
        """Every version of a target, oldest first."""
        return list(self.db.query(
            "SELECT * FROM versions WHERE target_id = ? ORDER BY id", [target_id]))

    def get_version(self, version_id: int) -> dict:
        """One version by id."""
        rows = list(self.db.query("SELECT * FROM versions WHERE id = ?", [version_id]))
        if not rows:
            raise InputError(f"no version with id {version_id}")
        return rows[0]

    def changes(self, target_id: int) -> list[dict]:
        """Every change of a target, oldest first, with JSON fields decoded."""
        return [decode_change(row) for row in self.db.query(
            "SELECT * FROM changes WHERE target_id = ? ORDER BY id", [target_id])]

    def get_change(self, change_id: int) -> dict:
        """One change by id, with JSON fields decoded."""
        rows = list(self.db.query("SELECT * FROM changes WHERE id = ?", [change_id]))
        if not rows:
            raise ChangeNotFound(f"no change with id {change_id} (see `policywatch history COMPANY`)")
        return decode_change(rows[0])

    def change_summary_rows(self, after_id: int, limit: int, missing_only: bool = False) -> list[dict]:
        """Up to ``limit`` changes after id ``after_id``, in id order, with what a summary is
        made of (``id``, ``class``, ``severity``, ``evidence``, ``hunks``, ``classifier``) and
        the stored ``summary``, JSON columns as stored. ``missing_only``: only changes with no
        readable summary (NULL, empty or not JSON)."""
        missing = " AND (summary IS NULL OR summary = '' OR NOT json_valid(summary))" if missing_only else ""
        return list(self.db.query(
            "SELECT id, class, severity, evidence, hunks, classifier, summary FROM changes "
            f"WHERE id > ?{missing} ORDER BY id LIMIT ?", [after_id, limit]))

    def set_summaries(self, summaries: list[tuple[int, str]]) -> None:
        """Store ``(change id, summary JSON)`` pairs, all in one transaction."""
        with self.transaction():
            for change_id, summary in summaries:
                self.db.execute("UPDATE changes SET summary = ? WHERE id = ?", [summary, change_id])

    def captures(self, target_id: int, limit: int = 20) -> list[dict]:
        """The newest captures of a target, newest first."""
        return list(self.db.query(
            "SELECT * FROM captures WHERE target_id = ? ORDER BY id DESC LIMIT ?", [target_id, limit]))
