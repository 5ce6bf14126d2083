"""What every part of the ``Store`` shares: the connection, transactions, plain-SQL row writes,
and one readable line for a SQLite error."""

import contextlib
import os
import sqlite3
from collections.abc import Iterator

import sqlite_utils

from monitor.errors import StoreError


def _why_unwritable(path: str) -> str:
    folder = os.path.dirname(os.path.abspath(path))
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return "the file system is read-only"
    except OSError:
        return "its folder is missing"
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        return "no write permission"
    return "it could not be opened for writing"


def describe_sqlite_error(path: str, error: sqlite3.Error) -> str:
    """A SQLite error on the database at ``path`` as one line saying what is wrong."""
    text = str(error)
    if "locked" in text or "busy" in text:
        return f"database {path} is locked by another process: {text}"
    if "not a database" in text or "malformed" in text:
        return f"database {path} is corrupt or not a policywatch database: {text}"
    if "readonly" in text or "unable to open" in text:
        return f"database {path} cannot be written ({_why_unwritable(path)}): {text}"
    if "disk" in text and ("full" in text or "I/O" in text):
        return f"database {path}: the disk is full or failing: {text}"
    return f"database {path}: {text}"


class StoreBase:
    """The connection and its plumbing; the repositories (targets, snapshots, history) add
    the reads and writes of their tables, and ``Store`` is all of them."""

    def __init__(self, db: sqlite_utils.Database, path: str):
        self.db = db
        self.path = path

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """All writes inside commit together or not at all.

        The outermost transaction is ``BEGIN IMMEDIATE``: it waits (``busy_timeout``) for the
        write lock up front. A deferred one that reads and then writes fails at once with
        "database is locked" when another process (a second ``crawl``, the daemon) committed
        in between — SQLite cannot wait there without breaking isolation. Nested ones are
        savepoints."""
        connection = self.db.conn
        try:
            if connection.in_transaction:
                with self.db.atomic():
                    yield self.db
                return
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.rollback()  # a no-op if the error already ended the transaction
                raise
            try:
                connection.execute("COMMIT")
            except BaseException:
                self.db.rollback()
                raise
        except sqlite3.Error as error:
            raise StoreError(describe_sqlite_error(self.path, error)) from error

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def update_row(self, table: str, row_id: int, values: dict) -> None:
        """``UPDATE table SET … WHERE id = ?`` in plain SQL: the per-capture hot path, where
        sqlite-utils' ``Table.update`` (a lookup, then introspection) costs more than the write.
        ``table`` and the column names come from our code, never from input."""
        columns = ", ".join(f"[{column}] = ?" for column in values)
        self.db.execute(f"UPDATE [{table}] SET {columns} WHERE id = ?", [*values.values(), row_id])

    def insert_row(self, table: str, values: dict) -> int:
        """``INSERT INTO table (…) VALUES (…)`` in plain SQL; returns the new row id. The
        per-capture hot path, like ``update_row``: sqlite-utils' ``insert`` introspects the
        table on every call. ``table`` and the column names come from our code, never from input."""
        columns = ", ".join(f"[{column}]" for column in values)
        marks = ", ".join("?" * len(values))
        return self.db.execute(f"INSERT INTO [{table}] ({columns}) VALUES ({marks})",
                               list(values.values())).lastrowid
