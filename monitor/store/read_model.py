"""Read-only queries for the web UI, the API, the feeds and the static site.

The web never writes: it opens the store with a ``mode=ro`` URI and ``PRAGMA query_only``, so a
bug (or a hostile request) cannot change history. Every list is paginated; lists of changes
use keyset pagination (``before`` a change id) so that page 3,000 costs what page 1 costs.
"""

import json
import re
import sqlite3
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import sqlite_utils

from monitor.errors import PolicywatchError, StoreError
from monitor.store.change_filter import ChangeFilter, next_month, slugify
from monitor.store.database import Store, sha256_hex
from monitor.store.health import status_report

__all__ = ["NotFound", "Page", "Queries", "fts_query", "open_readonly"]

PAGE_SIZE = 50
SEARCH_PAGE_SIZE = 20
# Deep offset pagination costs a scan; search results past this are not worth a reader's time.
MAX_SEARCH_PAGES = 25


class NotFound(PolicywatchError, LookupError):
    """The requested company, document, version or change does not exist."""


def open_readonly(path: str | Path) -> sqlite3.Connection:
    """A read-only connection to an existing store (``StoreError`` if it cannot be read)."""
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"database {path} does not exist (create it with `policywatch init`)")
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA query_only = ON")
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.create_function("slug", 1, slugify, deterministic=True)
        conn.execute("SELECT count(*) FROM targets").fetchone()
    except sqlite3.Error as error:
        raise StoreError(f"database {path} cannot be read: {error}") from error
    return conn


def _decode_change(row: sqlite3.Row, summarise: Callable[[dict], dict] | None) -> dict:
    change = dict(row)
    for key in ("topics", "evidence", "hunks"):
        if key in change:
            change[key] = json.loads(change[key] or "[]")
    change["slug"] = slugify(change.get("company"))
    if summarise is not None and "evidence" in change and "class" in change:
        change["summary"] = summarise(change)
    return change


@dataclass
class Page:
    """One page of a list, and how to get the next one."""

    items: list
    next_before: int | None = None  # keyset pagination
    page: int = 1  # offset pagination
    has_next: bool = False
    extra: dict = field(default_factory=dict)


class Queries:
    """All the reads the web needs, over one thread-local read-only connection per thread.

    ``summarise`` gives each change read its plain-language ``summary`` (the web passes
    ``monitor.compare.summary.summary_of``: the phrasing is the comparison's, above the store)."""

    def __init__(self, path: str | Path, summarise: Callable[[dict], dict] | None = None):
        self.path = str(path)
        self._summarise = summarise
        self._local = threading.local()
        conn = open_readonly(self.path)  # fail at start-up, not on the first request
        # Older stores lack later migrations' columns; the web reads them only where present.
        version_columns = {row[1] for row in conn.execute("PRAGMA table_info(versions)")}
        self._technical = "v.technical" if "technical" in version_columns else "0"
        # Backfilled history (docs/backfill.md): a change's source is its new version's.
        self._source = "v.source" if "source" in version_columns else "'live'"
        # A change is technical or backfilled as its new version (``tv``, joined by id) is.
        self._change_technical = "tv.technical" if "technical" in version_columns else "0"
        self._change_source = "tv.source" if "source" in version_columns else "'live'"
        conn.close()

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = open_readonly(self.path)
        return conn

    def changes_state(self) -> str:
        """A token that changes whenever any change is added or its summary re-derived: the
        validator of responses built from the changes list (the CSV's weak ETag)."""
        row = self.conn.execute("SELECT count(*), max(id), max(detected_at), "
                                "total(length(summary)) FROM changes").fetchone()
        return "-".join(str(value) for value in row)

    def status_report(self) -> dict:
        """``monitor.store.health.status_report`` over this thread's read-only connection."""
        return status_report(Store(sqlite_utils.Database(self.conn), self.path))

    def _all(self, sql: str, params=()) -> list[dict]:
        return [dict(row) for row in self.conn.execute(sql, params)]

    def _one(self, sql: str, params=()) -> dict:
        row = self.conn.execute(sql, params).fetchone()
        if row is None:
            raise NotFound(sql.split("FROM", 1)[1].split()[0])
        return dict(row)

    # -- companies and documents -----------------------------------------------------------
    def company_targets(self, slug: str) -> list[dict]:
        """A company's documents with their state and counts (``NotFound`` if none)."""
        rows = self._all(
            "SELECT t.*, (SELECT count(*) FROM versions v WHERE v.target_id = t.id) AS versions, "
            "(SELECT max(id) FROM changes c WHERE c.target_id = t.id) AS last_change_id "
            "FROM targets t WHERE slug(t.company) = ? ORDER BY t.doc_type, t.id", [slug])
        if not rows:
            raise NotFound(f"company {slug}")
        return rows

    def companies(self, letter: str = "", page: int = 1, size: int = 100) -> Page:
        """Companies A–Z (optionally by first letter, ``#`` for the rest), with their documents."""
        where, params = "", []
        if letter == "#":
            where = "WHERE upper(substr(company, 1, 1)) NOT BETWEEN 'A' AND 'Z'"
        elif len(letter) == 1 and letter.isalpha():
            where, params = "WHERE upper(substr(company, 1, 1)) = ?", [letter.upper()]
        names = [row["company"] for row in self._all(
            f"SELECT DISTINCT company FROM targets {where} ORDER BY company COLLATE NOCASE "
            f"LIMIT ? OFFSET ?", [*params, size + 1, (page - 1) * size])]
        has_next = len(names) > size
        names = names[:size]
        targets: dict[str, list] = {name: [] for name in names}
        if names:
            marks = ",".join("?" * len(names))
            for row in self._all(
                    f"SELECT t.id, t.company, t.doc_type, t.url, t.state, t.last_success_at, "
                    f"(SELECT count(*) FROM versions v WHERE v.target_id = t.id) AS versions "
                    f"FROM targets t WHERE t.company IN ({marks}) ORDER BY t.doc_type, t.id", names):
                targets[row["company"]].append(row)
        items = [{"company": name, "slug": slugify(name), "targets": targets[name]} for name in names]
        return Page(items, page=page, has_next=has_next)

    def letters(self) -> list[str]:
        """The first letters companies start with (``#`` for digits and the rest)."""
        found = {row[0] for row in self.conn.execute(
            "SELECT DISTINCT upper(substr(company, 1, 1)) FROM targets")}
        letters = sorted(letter for letter in found if letter and "A" <= letter <= "Z")
        return letters + (["#"] if any(not ("A" <= (x or "") <= "Z") for x in found) else [])

    def target(self, target_id: int) -> dict:
        """One document."""
        target = self._one("SELECT * FROM targets WHERE id = ?", [target_id])
        target["slug"] = slugify(target["company"])
        return target

    def timeline(self, target_id: int, page: int = 1, size: int = 100) -> Page:
        """A document's versions, newest first, each with the change that led to it."""
        rows = self._all(
            "SELECT v.id, v.target_id, v.text_sha256, v.snapshot_sha256, v.capture_id, "
            "v.first_seen_at, v.last_seen_at, v.returns_to_version_id, v.extractor_version, "
            f"length(v.text) AS text_length, {self._technical} AS technical, {self._source} AS source, "
            "c.id AS change_id, "
            "c.class, c.severity, c.topics, c.direction, c.chars_added, c.chars_removed FROM versions v "
            "LEFT JOIN changes c ON c.to_version_id = v.id AND c.target_id = v.target_id "
            "WHERE v.target_id = ? ORDER BY v.id DESC LIMIT ? OFFSET ?",
            [target_id, size + 1, (page - 1) * size])
        for row in rows:
            row["topics"] = json.loads(row["topics"] or "[]")
        return Page(rows[:size], page=page, has_next=len(rows) > size)

    def version_choices(self, target_id: int, limit: int = 500) -> list[dict]:
        """The versions offered by the compare form, newest first."""
        return self._all("SELECT id, first_seen_at FROM versions WHERE target_id = ? "
                         "ORDER BY id DESC LIMIT ?", [target_id, limit])

    def version(self, version_id: int) -> dict:
        """One version with its text."""
        return self._one("SELECT * FROM versions WHERE id = ?", [version_id])

    # -- changes ---------------------------------------------------------------------------
    _CHANGE_COLUMNS = ("c.id, c.target_id, c.from_version_id, c.to_version_id, c.detected_at, "
                       "c.class, c.severity, c.topics, c.direction, c.evidence, c.chars_added, "
                       "c.chars_removed, c.classifier, t.company, t.doc_type, t.url")

    _CHANGE_FROM = "FROM changes c JOIN targets t ON t.id = c.target_id JOIN versions tv ON tv.id = c.to_version_id"

    def _change_clauses(self, where: ChangeFilter) -> tuple[list[str], list]:
        """The SQL conditions of a filter (over ``c``, ``tv``), and their parameters."""
        clauses, params = [], []
        if where.klass:
            clauses.append("c.class = ?")
            params.append(where.klass)
        if where.min_severity:
            clauses.append("c.severity >= ?")
            params.append(where.min_severity)
        if where.topic:
            # topics is a JSON list of plain words: a quoted substring match is exact.
            clauses.append("instr(c.topics, ?) > 0")
            params.append(json.dumps(where.topic))
        if where.month:
            # Stored stamps are ISO 8601: a month is a range of strings (and uses the index).
            clauses.append("c.detected_at >= ? AND c.detected_at < ?")
            params.extend([where.month, next_month(where.month)])
        if "technical" not in where.include:
            clauses.append(f"{self._change_technical} = 0")
        if "backfilled" not in where.include:
            clauses.append(f"{self._change_source} = 'live'")
        target_ids = []
        if where.company:
            target_ids = [row["id"] for row in self._all(
                "SELECT id FROM targets WHERE slug(company) = ?", [where.company])] or [0]
        if where.target_id:
            target_ids = [where.target_id] if not target_ids or where.target_id in target_ids else [0]
        if target_ids:
            clauses.append(f"c.target_id IN ({','.join('?' * len(target_ids))})")
            params.extend(target_ids)
        return clauses, params

    def changes(self, where: ChangeFilter, before: int | None = None, size: int = PAGE_SIZE) -> Page:
        """The newest changes matching the filter, ``size`` at a time, after change ``before``.

        Newest by date, not by id: a backfilled change (recorded today, dated when the archive
        saw it) takes its place in time. ``before`` is a change id, the keyset cursor."""
        clauses, params = self._change_clauses(where)
        if before:
            cursor = self.conn.execute("SELECT detected_at FROM changes WHERE id = ?", [before]).fetchone()
            # Row values compare (date, id) pairs in the index's order.
            clauses.append("(c.detected_at, c.id) < (?, ?)")
            params.extend([cursor[0] if cursor else "", before])
        sql = (f"SELECT {self._CHANGE_COLUMNS}, {self._change_source} AS source, "
               f"{self._change_technical} AS technical {self._CHANGE_FROM}"
               f"{' WHERE ' + ' AND '.join(clauses) if clauses else ''} "
               f"ORDER BY c.detected_at DESC, c.id DESC LIMIT ?")
        rows = [_decode_change(row, self._summarise) for row in self.conn.execute(sql, [*params, size + 1])]
        has_next = len(rows) > size
        rows = rows[:size]
        return Page(rows, next_before=rows[-1]["id"] if has_next else None, has_next=has_next)

    def topic_months(self, first: str, last: str, include: frozenset) -> list[dict]:
        """Material changes per topic and month, ``first`` to ``last`` (``YYYY-MM``, inclusive):
        ``{topic, month, changes, companies}`` for each non-empty cell, over every company.

        The same filter as the changes list, so a cell's count is what its link lists. One
        grouped scan of the covering index ``changes(class, detected_at, target_id, topics)``,
        each change counted once under each of its topics (``json_each``). A technical change is
        never material (``monitor.record.recording``), so versions are joined only to leave out
        backfilled ones."""
        include = include | {"technical"}
        clauses, params = self._change_clauses(ChangeFilter(klass="material", include=include))
        clauses.append("c.detected_at >= ? AND c.detected_at < ?")
        params.extend([first, next_month(last)])
        versions = "" if "backfilled" in include else " JOIN versions tv ON tv.id = c.to_version_id"
        return self._all(
            "SELECT j.value AS topic, substr(c.detected_at, 1, 7) AS month, count(*) AS changes, "
            "count(DISTINCT t.company) AS companies FROM changes c JOIN targets t ON t.id = c.target_id"
            f"{versions} JOIN json_each(c.topics) j WHERE {' AND '.join(clauses)} GROUP BY j.value, month",
            params)

    def change(self, change_id: int) -> dict:
        """One change with its document, both versions and its neighbours in the document."""
        row = self.conn.execute(
            f"SELECT {self._CHANGE_COLUMNS}, c.hunks, {self._change_source} AS source, "
            f"{self._change_technical} AS technical {self._CHANGE_FROM} WHERE c.id = ?", [change_id]).fetchone()
        if row is None:
            raise NotFound(f"change {change_id}")
        change = _decode_change(row, self._summarise)
        change["old"] = self.version(change["from_version_id"])
        change["new"] = self.version(change["to_version_id"])
        for side in ("old", "new"):
            change[side]["capture"] = self.capture(change[side]["capture_id"])
        change["previous_id"] = self._scalar(
            "SELECT max(id) FROM changes WHERE target_id = ? AND id < ?", [change["target_id"], change_id])
        change["next_id"] = self._scalar(
            "SELECT min(id) FROM changes WHERE target_id = ? AND id > ?", [change["target_id"], change_id])
        return change

    def _scalar(self, sql: str, params=()):
        row = self.conn.execute(sql, params).fetchone()
        return row[0] if row else None

    def capture(self, capture_id: int | None) -> dict | None:
        """One capture row (without headers), or None."""
        if capture_id is None:
            return None
        row = self.conn.execute(
            "SELECT id, target_id, fetched_at, url, final_url, status, content_type, body_sha256, "
            "body_size, outcome FROM captures WHERE id = ?", [capture_id]).fetchone()
        return dict(row) if row else None

    def raw_capture(self, capture_id: int) -> tuple[dict, bytes]:
        """A capture and its raw body, verified against its sha256."""
        capture = self.capture(capture_id)
        if capture is None or not capture["body_sha256"]:
            raise NotFound(f"capture {capture_id}")
        row = self.conn.execute("SELECT body_zlib FROM snapshots WHERE sha256 = ?",
                                [capture["body_sha256"]]).fetchone()
        if row is None:
            raise NotFound(f"snapshot of capture {capture_id}")
        body = zlib.decompress(row[0])
        if sha256_hex(body) != capture["body_sha256"]:
            raise StoreError(f"snapshot {capture['body_sha256']} does not match its hash")
        return capture, body

    def iter_change_ids(self) -> list[int]:
        """Every change id, newest first (for the static site)."""
        return [row[0] for row in self.conn.execute("SELECT id FROM changes ORDER BY id DESC")]

    def iter_target_ids(self) -> list[int]:
        """Every document id (for the static site)."""
        return [row[0] for row in self.conn.execute("SELECT id FROM targets ORDER BY id")]

    def company_slugs(self) -> list[str]:
        """Every company's slug (for the static site)."""
        return sorted({slugify(row[0]) for row in self.conn.execute("SELECT DISTINCT company FROM targets")})

    # -- search ----------------------------------------------------------------------------
    def search(self, text: str, page: int = 1, current_only: bool = False) -> Page:
        """Full-text search over every version (newest first), with highlighted snippets.

        Snippets mark hits with U+E000/U+E001 so that templates can escape the text first and
        only then turn the markers into ``<mark>``.
        """
        match = fts_query(text)
        page = max(1, min(page, MAX_SEARCH_PAGES))
        if not match:
            return Page([], page=page)
        current = ("AND v.id = (SELECT max(id) FROM versions WHERE target_id = v.target_id)"
                   if current_only else "")
        # Newest first by rowid lets FTS5 stop after one page; ranking would score every hit.
        sql = ("SELECT v.id, v.target_id, v.first_seen_at, v.last_seen_at, t.company, t.doc_type, "
               "snippet(versions_fts, 0, char(57344), char(57345), '…', 24) AS snippet, "
               "(v.id = (SELECT max(id) FROM versions WHERE target_id = v.target_id)) AS is_current "
               "FROM versions_fts JOIN versions v ON v.id = versions_fts.rowid "
               "JOIN targets t ON t.id = v.target_id "
               f"WHERE versions_fts MATCH ? {current} ORDER BY versions_fts.rowid DESC LIMIT ? OFFSET ?")
        try:
            rows = self._all(sql, [match, SEARCH_PAGE_SIZE + 1, (page - 1) * SEARCH_PAGE_SIZE])
        except sqlite3.OperationalError as error:
            # fts_query quotes every term, so this is not expected; show no results, not a 500.
            return Page([], page=page, extra={"error": str(error)})
        for row in rows:
            row["slug"] = slugify(row["company"])
        return Page(rows[:SEARCH_PAGE_SIZE], page=page,
                    has_next=len(rows) > SEARCH_PAGE_SIZE and page < MAX_SEARCH_PAGES)


_TERM = re.compile(r'"([^"]+)"|(\S+)')


def fts_query(text: str) -> str:
    """A user's search box as a safe FTS5 query: every word or "quoted phrase" must appear."""
    terms = []
    for phrase, word in _TERM.findall((text or "")[:200]):
        words = re.findall(r"\w+", phrase or word)
        if words:
            terms.append('"' + " ".join(words) + '"')
    return " ".join(terms[:12])
