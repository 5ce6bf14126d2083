"""The embedded store: SQLite through sqlite-utils, in WAL mode, one writer.

Everything that reads or writes the database goes through ``Store`` so that a server database
can replace SQLite later behind the same methods.
"""

import contextlib
import hashlib
import json
import os
import sqlite3
import zlib
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils

from monitor.store import schema
from monitor.errors import ChangeNotFound, DatabaseMissing, InputError, StoreError, TargetNotFound
from monitor.timeutil import later_iso, now_iso

DEFAULT_DB_PATH = "data/policywatch.db"
DEFAULT_DOC_TYPE = "Privacy Policy"
DEFAULT_EVERY_SECONDS = 86400
# How a target is fetched: plain HTTP, or through Chromium (crawler/render.py).
RENDER_MODES = ("plain", "js")
# A locked database is retried for this long before the command gives up with a clear error.
BUSY_TIMEOUT_MS = 10000


def busy_timeout_ms() -> int:
    """``POLICYWATCH_BUSY_TIMEOUT_MS``, read when a store opens (else ``BUSY_TIMEOUT_MS``)."""
    return int(os.environ.get("POLICYWATCH_BUSY_TIMEOUT_MS", BUSY_TIMEOUT_MS))


def default_db_path() -> str:
    """The database path from ``POLICYWATCH_DB``, else ``data/policywatch.db``."""
    return os.environ.get("POLICYWATCH_DB") or DEFAULT_DB_PATH


def sha256_hex(data: bytes | str) -> str:
    """Hex sha256 of bytes, or of a string encoded as UTF-8."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


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


def _describe_sqlite_error(path: str, error: sqlite3.Error) -> str:
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


class Store:
    """A policywatch database. Open it with ``open_store``."""

    def __init__(self, db: sqlite_utils.Database, path: str):
        self.db = db
        self.path = path

    # -- plumbing ---------------------------------------------------------------------------
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
            raise StoreError(_describe_sqlite_error(self.path, error)) from error

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

    # -- targets ----------------------------------------------------------------------------
    def add_target(self, url: str, company: str, doc_type: str = DEFAULT_DOC_TYPE,
                   select: list[str] | None = None, remove: list[str] | None = None,
                   every_seconds: int = DEFAULT_EVERY_SECONDS) -> dict:
        """Add a target, due at once. Raises ``InputError`` if the URL is already tracked or a
        selector is not valid CSS or a well-formed range."""
        check_new_target(url, company, select or [], remove or [])
        existing = self.db.execute(
            "SELECT id, state FROM targets WHERE url = ? AND doc_type = ?", [url, doc_type]).fetchone()
        now = now_iso()
        if existing and existing[1] == "removed":
            # Watching it again continues its history rather than starting a second one.
            with self.transaction():
                self.db["targets"].update(existing[0], {
                    "company": company.strip(), "select_css": json.dumps(select or []),
                    "remove_css": json.dumps(remove or []), "every_seconds": every_seconds,
                    "next_fetch_at": now, "state": "new", "consecutive_failures": 0})
            return self.get_target(existing[0])
        if existing:
            raise InputError(f"{url} is already tracked as {doc_type!r} (target {existing[0]})")
        with self.transaction():
            table = self.db["targets"].insert({
                "company": company.strip(), "doc_type": doc_type, "url": url,
                "select_css": json.dumps(select or []), "remove_css": json.dumps(remove or []),
                "every_seconds": every_seconds, "next_fetch_at": now, "state": "new",
                "consecutive_failures": 0, "created_at": now,
            })
        return self.get_target(table.last_pk)

    def edit_target(self, target_id: int, *, company: str | None = None, doc_type: str | None = None,
                    select: list | None = None, remove: list | None = None,
                    every_seconds: int | None = None, render: str | None = None) -> dict:
        """Change a target's settings; ``None`` keeps one as it is, ``[]`` clears a selector
        list. Returns the target as it is now. Raises ``InputError`` (nothing written) for an
        invalid selector, an empty company or type, an unknown render mode, or a type under
        which the URL is already tracked. Re-deriving the latest version after a selector
        change is the caller's (``monitor.record.reextract``): the store only stores."""
        target = self.get_target(target_id)
        values: dict = {}
        if company is not None:
            if not company.strip():
                raise InputError("a target needs a non-empty --company")
            values["company"] = company.strip()
        if doc_type is not None:
            if not doc_type.strip():
                raise InputError("a target needs a non-empty --type")
            values["doc_type"] = doc_type.strip()
        if select is not None or remove is not None:
            _check_selectors(select or [], remove or [])
        if select is not None:
            values["select_css"] = json.dumps(select)
        if remove is not None:
            values["remove_css"] = json.dumps(remove)
        if every_seconds is not None:
            values["every_seconds"] = every_seconds
        if render is not None:
            if render not in RENDER_MODES:
                raise InputError(f"render must be one of {', '.join(RENDER_MODES)}, not {render!r}")
            values["render"] = render
        if not values:
            return target
        with self.transaction():
            if values.get("doc_type", target["doc_type"]) != target["doc_type"]:
                clash = self.db.execute("SELECT id FROM targets WHERE url = ? AND doc_type = ? AND id != ?",
                                        [target["url"], values["doc_type"], target_id]).fetchone()
                if clash:
                    raise InputError(f"{target['url']} is already tracked as {values['doc_type']!r} "
                                     f"(target {clash[0]})")
            self.update_row("targets", target_id, values)
            if every_seconds is not None:
                # A shorter interval takes effect now rather than after the fetch already
                # scheduled under the old one; a claimed target (mid-fetch) keeps its lease.
                sooner = later_iso(every_seconds)
                self.db.execute("UPDATE targets SET next_fetch_at = ? WHERE id = ? AND claimed_at IS NULL "
                                "AND next_fetch_at > ?", [sooner, target_id, sooner])
        return self.get_target(target_id)

    def get_target(self, target_id: int) -> dict:
        """One target by id, with its selectors decoded."""
        rows = list(self.db.query("SELECT * FROM targets WHERE id = ?", [target_id]))
        if not rows:
            raise TargetNotFound(f"no target with id {target_id}")
        return _decode_target(rows[0])

    def get_targets(self, target_ids: list[int]) -> list[dict]:
        """Several targets by id (any order; unknown ids are skipped), selectors decoded."""
        marks = ", ".join("?" * len(target_ids))
        return [_decode_target(row) for row in self.db.query(
            f"SELECT * FROM targets WHERE id IN ({marks})", list(target_ids))] if target_ids else []

    def list_targets(self, company: str | None = None, include_removed: bool = False) -> list[dict]:
        """Every watched target (or one company's), with a count of versions, by company then
        type; removed targets only with ``include_removed``."""
        sql = ("SELECT t.*, (SELECT count(*) FROM versions v WHERE v.target_id = t.id) AS versions "
               "FROM targets t")
        params: list = []
        clauses = [] if include_removed else ["t.state != 'removed'"]
        if company is not None:
            clauses.append("lower(t.company) = lower(?)")
            params.append(company)
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY t.company COLLATE NOCASE, t.doc_type, t.id"
        targets = [_decode_target(row) for row in self.db.query(sql, params)]
        if company is not None and not targets:
            raise TargetNotFound(f"no targets for company {company!r} (see `policywatch target list`)")
        return targets

    def remove_target(self, target_id: int) -> None:
        """Stop watching a target. Its history stays: versions, changes and deliveries are
        covered by the append-only ledger and may be needed as evidence."""
        self.get_target(target_id)
        with self.transaction():
            self.db["targets"].update(target_id, {"state": "removed", "next_fetch_at": None,
                                                  "claimed_at": None})

    def due_target_ids(self, at: str, include_all: bool = False, company: str | None = None) -> list[int]:
        """Ids of the targets whose ``next_fetch_at`` has passed (every target with
        ``include_all``), oldest due first: ids, so a pass over 100,000 targets stays small."""
        clauses, params = ["state != 'removed'"], []
        if not include_all:
            clauses.append("(next_fetch_at IS NULL OR next_fetch_at <= ?)")
            params.append(at)
        if company is not None:
            clauses.append("lower(company) = lower(?)")
            params.append(company)
        ids = [row[0] for row in self.db.execute(
            f"SELECT id FROM targets WHERE {' AND '.join(clauses)} ORDER BY next_fetch_at, id", params)]
        if company is not None and not ids and not self.list_targets(company):
            raise TargetNotFound(f"no targets for company {company!r}")
        return ids

    def due_targets(self, at: str, include_all: bool = False, company: str | None = None) -> list[dict]:
        """The due targets themselves (see ``due_target_ids``)."""
        return [self.get_target(target_id) for target_id in self.due_target_ids(at, include_all, company)]

    # -- snapshots --------------------------------------------------------------------------
    def put_snapshot(self, body: bytes, content_type: str | None) -> str:
        """Store a raw body once, keyed by its sha256, zlib-compressed; return the key."""
        digest = sha256_hex(body)
        if self.db.execute("SELECT 1 FROM snapshots WHERE sha256 = ?", [digest]).fetchone():
            return digest  # stored before: skip compressing it again
        with self.transaction():
            self.db.execute(
                "INSERT OR IGNORE INTO snapshots (sha256, content_type, size, body_zlib, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [digest, content_type, len(body), zlib.compress(body, 6), now_iso()])
        return digest

    def get_snapshot(self, digest: str) -> bytes:
        """A raw body by its sha256, verified against the key."""
        row = self.db.execute("SELECT body_zlib FROM snapshots WHERE sha256 = ?", [digest]).fetchone()
        if row is None:
            raise StoreError(f"snapshot {digest} is missing from {self.path}")
        body = zlib.decompress(row[0])
        if sha256_hex(body) != digest:
            raise StoreError(f"snapshot {digest} in {self.path} does not match its hash")
        return body

    # -- versions and changes ---------------------------------------------------------------
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
            "AND compare_sha256 IS NOT NULL ORDER BY id DESC LIMIT 1", [target_id, skeleton_sha256]).fetchone()
        return row[0] if row else None

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
        return [_decode_change(row) for row in self.db.query(
            "SELECT * FROM changes WHERE target_id = ? ORDER BY id", [target_id])]

    def get_change(self, change_id: int) -> dict:
        """One change by id, with JSON fields decoded."""
        rows = list(self.db.query("SELECT * FROM changes WHERE id = ?", [change_id]))
        if not rows:
            raise ChangeNotFound(f"no change with id {change_id} (see `policywatch history COMPANY`)")
        return _decode_change(rows[0])

    def captures(self, target_id: int, limit: int = 20) -> list[dict]:
        """The newest captures of a target, newest first."""
        return list(self.db.query(
            "SELECT * FROM captures WHERE target_id = ? ORDER BY id DESC LIMIT ?", [target_id, limit]))


def check_new_target(url: str, company: str, select: list, remove: list) -> None:
    """Raise ``InputError`` if ``add_target`` would refuse these: callers that must not create
    a database for a refused target (``target add``) ask before opening one."""
    if not url.lower().startswith(("http://", "https://")):
        raise InputError(f"target URL must start with http:// or https://: {url!r}")
    if not company.strip():
        raise InputError("a target needs a non-empty --company")
    _check_selectors(select, remove)


def _check_selectors(select: list, remove: list) -> None:
    # Imported here, not at the top: extraction pulls in lxml, readability and pypdf, which
    # the many readers of the store (the web UI, the daemon's threads) never need for this.
    from monitor.extract.extractor import check_selectors
    check_selectors(select, "--select")
    check_selectors(remove, "--remove")


def _decode_target(row: dict) -> dict:
    target = dict(row)
    target["select"] = json.loads(target.pop("select_css") or "[]")
    target["remove"] = json.loads(target.pop("remove_css") or "[]")
    return target


def _decode_change(row: dict) -> dict:
    change = dict(row)
    for key in ("topics", "evidence", "hunks"):
        change[key] = json.loads(change[key] or "[]")
    from monitor.compare.summary import of  # the store is imported by everything; summaries need the rules
    change["summary"] = of(change)
    return change


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
        raise StoreError(_describe_sqlite_error(path, error)) from error
    return Store(db, path)
