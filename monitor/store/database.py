"""The embedded store: SQLite through sqlite-utils, in WAL mode, one writer.

Everything that reads or writes the database goes through ``Store`` so that a server database
can replace SQLite later behind the same methods. ``Store`` is its repositories together, one
module a group of tables: ``target_repository`` (targets), ``snapshot_repository`` (raw
bodies), ``history_repository`` (versions, changes), ``capture_repository`` (reads of earlier
captures); ``base`` holds the shared plumbing
(connection, transactions, plain-SQL row writes).
"""

import os
import sqlite3
from pathlib import Path

import sqlite_utils

from monitor.errors import DatabaseMissing, StoreError
from monitor.store import schema
from monitor.store.base import describe_sqlite_error
from monitor.store.capture_repository import CaptureRepository
from monitor.store.history_repository import HistoryRepository
from monitor.store.snapshot_repository import SnapshotRepository, sha256_hex
from monitor.store.target_repository import (
    DEFAULT_DOC_TYPE,
    DEFAULT_EVERY_SECONDS,
    RENDER_MODES,
    TargetRepository,
)

__all__ = ["DEFAULT_DB_PATH", "DEFAULT_DOC_TYPE", "DEFAULT_EVERY_SECONDS", "RENDER_MODES", "BUSY_TIMEOUT_MS",
           "Store", "busy_timeout_ms", "default_db_path", "open_store", "require_database", "sha256_hex"]

DEFAULT_DB_PATH = "data/policywatch.db"
# A locked database is retried for this long before the command gives up with a clear error.
BUSY_TIMEOUT_MS = 10000


def busy_timeout_ms() -> int:
    """``POLICYWATCH_BUSY_TIMEOUT_MS``, read when a store opens (else ``BUSY_TIMEOUT_MS``)."""
    return int(os.environ.get("POLICYWATCH_BUSY_TIMEOUT_MS", BUSY_TIMEOUT_MS))


def default_db_path() -> str:
    """The database path from ``POLICYWATCH_DB``, else ``data/policywatch.db``."""
    return os.environ.get("POLICYWATCH_DB") or DEFAULT_DB_PATH


class Store(TargetRepository, SnapshotRepository, HistoryRepository, CaptureRepository):
    """A policywatch database. Open it with ``open_store``."""


def require_database(path: str | os.PathLike) -> None:
    """Raise ``DatabaseMissing`` (one line naming the absolute path) if no database file is at
    ``path``: a mistyped ``--db`` must not look like a database that lost its data."""
    if not Path(path).exists():
        raise DatabaseMissing(f"no database at {Path(path).absolute()} (create it with "
                              "'policywatch init' or 'policywatch target add')")


def open_store(path: str | os.PathLike | None = None, create: bool = True) -> Store:
    """Open (migrating if needed) the database at ``path``; with ``create`` (the default),
    create it and its folder if missing, else raise ``DatabaseMissing``.

    Raises ``StoreError`` with one readable line if the file is corrupt, locked or unwritable.
    """
    path = str(path or default_db_path())
    if not create:
        require_database(path)
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StoreError(f"cannot create the directory for database {path}: {error.strerror}") from error
    try:
        db = sqlite_utils.Database(path)
        db.execute(f"PRAGMA busy_timeout = {busy_timeout_ms()}")
        if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            db.enable_wal()
        db.execute("PRAGMA foreign_keys = ON")
        # WAL + NORMAL: a killed process loses nothing committed; only a power cut can roll back
        # the last transactions, and the database stays consistent (docs/performance.md).
        db.execute("PRAGMA synchronous = NORMAL")
        schema.migrate(db)
    except sqlite3.Error as error:
        raise StoreError(describe_sqlite_error(path, error)) from error
    return Store(db, path)
