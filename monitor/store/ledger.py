"""The ledger table's SQL (``monitor.evidence.ledger`` owns the hash chain; this only reads
and appends rows). Every function takes the sqlite-utils database a ``Store`` holds
(``store.db``) and returns plain dicts and values."""

import sqlite_utils


def head(db: sqlite_utils.Database) -> dict | None:
    """The newest ledger entry, whole, or None while the ledger is empty."""
    rows = list(db.query("SELECT * FROM ledger ORDER BY seq DESC LIMIT 1"))
    return rows[0] if rows else None


def head_link(db: sqlite_utils.Database) -> tuple[int, str] | None:
    """The newest entry's ``(seq, entry_hash)`` (what the next entry links to), or None."""
    row = db.execute("SELECT seq, entry_hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else None


def insert_entry(db: sqlite_utils.Database, entry: dict) -> None:
    """Append an entry (the caller computed its hash; the table refuses edits and deletes)."""
    db["ledger"].insert(entry)


def entries(db: sqlite_utils.Database, first_seq: int | None = None) -> list[dict]:
    """Every entry (from ``first_seq`` on), oldest first."""
    if first_seq is None:
        return list(db.query("SELECT * FROM ledger ORDER BY seq"))
    return list(db.query("SELECT * FROM ledger WHERE seq >= ? ORDER BY seq", [first_seq]))


def entry_hash(db: sqlite_utils.Database, seq: int) -> str | None:
    """The stored hash of entry ``seq``, or None if there is no such entry."""
    found = db.execute("SELECT entry_hash FROM ledger WHERE seq = ?", [seq]).fetchone()
    return found[0] if found else None
