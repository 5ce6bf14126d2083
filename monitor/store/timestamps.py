"""The SQL of ledger timestamps (``monitor.evidence.timestamps``): the append-only
``ledger_timestamps`` (RFC 3161 tokens over ledger heads) and ``timestamp_failures``. Every
function takes the sqlite-utils database a ``Store`` holds (``store.db``)."""

import sqlite_utils


def tokens(db: sqlite_utils.Database, *, first_seq: int = 0, last_seq: int | None = None) -> list[dict]:
    """Stored tokens (with their DER) covering entries ``first_seq``..``last_seq``, oldest first."""
    sql = "SELECT * FROM ledger_timestamps WHERE seq >= ?"
    params: list = [first_seq]
    if last_seq is not None:
        sql += " AND seq <= ?"
        params.append(last_seq)
    return list(db.query(sql + " ORDER BY seq, id", params))


def tokens_of_entry(db: sqlite_utils.Database, seq: int, tsa_url: str) -> list[dict]:
    """The tokens a (redacted) TSA URL gave for entry ``seq``, oldest first."""
    return list(db.query("SELECT * FROM ledger_timestamps WHERE seq = ? AND tsa_url = ? ORDER BY id",
                         [seq, tsa_url]))


def insert_token(db: sqlite_utils.Database, row: dict) -> int:
    """Store a token row; return its id."""
    return db["ledger_timestamps"].insert(row).last_pk


def insert_failure(db: sqlite_utils.Database, row: dict) -> None:
    """Record a failed request (``attempted_at``, ``seq``, redacted ``tsa_url``, ``error``)."""
    db["timestamp_failures"].insert(row)


def last_failure(db: sqlite_utils.Database) -> dict | None:
    """The most recent failed request, if any."""
    rows = list(db.query("SELECT * FROM timestamp_failures ORDER BY id DESC LIMIT 1"))
    return rows[0] if rows else None
