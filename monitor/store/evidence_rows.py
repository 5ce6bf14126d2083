"""The reads evidence makes of the other tables (``monitor.evidence``: the ledger's bindings,
its verification, bundles, WARC pointer checks). Every function takes the sqlite-utils
database a ``Store`` holds (``store.db``) and returns plain dicts and values. Table names
come from our code, never from input."""

from collections.abc import Iterator

import sqlite_utils


def row(db: sqlite_utils.Database, table: str, row_id: int | None) -> dict | None:
    """One row of ``table`` by id, or None."""
    rows = list(db.query(f"SELECT * FROM {table} WHERE id = ?", [row_id]))
    return dict(rows[0]) if rows else None


def row_ids(db: sqlite_utils.Database, table: str, *, sent_only: bool = False) -> list[int]:
    """Every id of ``table`` (with ``sent_only``: of the rows with status ``sent``)."""
    where = " WHERE status = 'sent'" if sent_only else ""
    return [row_id for (row_id,) in db.execute(f"SELECT id FROM {table}{where}")]


def change_target_id(db: sqlite_utils.Database, change_id: int) -> int | None:
    """The target a change is of, or None if there is no such change."""
    found = db.execute("SELECT target_id FROM changes WHERE id = ?", [change_id]).fetchone()
    return found[0] if found else None


def version_texts(db: sqlite_utils.Database) -> Iterator[tuple[int, str, str]]:
    """Every version's ``(id, text, text_sha256)``, in id order, one at a time."""
    yield from db.execute("SELECT id, text, text_sha256 FROM versions ORDER BY id")


def subscription_url(db: sqlite_utils.Database, subscription_id: int) -> str | None:
    """A subscription's stored (redacted) ``apprise_url``, or None if there is none."""
    found = db.execute("SELECT apprise_url FROM subscriptions WHERE id = ?", [subscription_id]).fetchone()
    return found[0] if found else None


def sent_deliveries(db: sqlite_utils.Database, change_id: int) -> list[dict]:
    """The deliveries of a change that were sent."""
    return list(db.query("SELECT * FROM deliveries WHERE change_id = ? AND status = 'sent'", [change_id]))


def warc_pointers(db: sqlite_utils.Database) -> Iterator[tuple]:
    """Every capture's WARC pointer, in capture order: ``(id, warc_file, warc_offset,
    warc_length, warc_record_id, warc_request_id)``."""
    yield from db.execute("SELECT id, warc_file, warc_offset, warc_length, warc_record_id, warc_request_id "
                          "FROM captures WHERE warc_file IS NOT NULL ORDER BY id")

