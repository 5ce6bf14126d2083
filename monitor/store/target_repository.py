"""The targets table: what is watched, how, and when it is due.

Selectors are stored as given; whether they are valid CSS or well-formed ranges is the
extractor's to say, so the callers that add or edit targets check them first
(``monitor.targets.checks``): the store sits below extraction.
"""

import json

from monitor.errors import InputError, TargetNotFound
from monitor.store.base import StoreBase
from monitor.timeutil import later_iso, now_iso

DEFAULT_DOC_TYPE = "Privacy Policy"
DEFAULT_EVERY_SECONDS = 86400
# How a target is fetched: plain HTTP, or through Chromium (crawler/render.py).
RENDER_MODES = ("plain", "js")


def check_url_and_company(url: str, company: str) -> None:
    """Raise ``InputError`` unless ``url`` is http(s) and ``company`` is not empty."""
    if not url.lower().startswith(("http://", "https://")):
        raise InputError(f"target URL must start with http:// or https://: {url!r}")
    if not company.strip():
        raise InputError("a target needs a non-empty --company")


def decode_target(row: dict) -> dict:
    """A targets row with its JSON selector lists decoded (``select``, ``remove``)."""
    target = dict(row)
    target["select"] = json.loads(target.pop("select_css") or "[]")
    target["remove"] = json.loads(target.pop("remove_css") or "[]")
    return target


def _edited_values(company, doc_type, select, remove, every_seconds, render) -> dict:
    """The columns an edit sets (``None``: kept), checked (``InputError``)."""
    values: dict = {}
    if company is not None:
        if not company.strip():
            raise InputError("a target needs a non-empty --company")
        values["company"] = company.strip()
    if doc_type is not None:
        if not doc_type.strip():
            raise InputError("a target needs a non-empty --type")
        values["doc_type"] = doc_type.strip()
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
    return values


class TargetRepository(StoreBase):
    """Reads and writes of ``targets``."""

    def add_target(self, url: str, company: str, doc_type: str = DEFAULT_DOC_TYPE,
                   select: list[str] | None = None, remove: list[str] | None = None,
                   every_seconds: int = DEFAULT_EVERY_SECONDS) -> dict:
        """Add a target, due at once. Raises ``InputError`` if the URL is already tracked, is
        not http(s), or the company is empty. Selectors are the caller's to check first
        (``monitor.targets.checks``)."""
        check_url_and_company(url, company)
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
        empty company or type, an unknown render mode, or a type under which the URL is
        already tracked; selectors are the caller's to check first (``monitor.targets.checks``).
        Re-deriving the latest version after a selector change is the caller's
        (``monitor.record.reextract``): the store only stores."""
        target = self.get_target(target_id)
        values = _edited_values(company, doc_type, select, remove, every_seconds, render)
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
        return decode_target(rows[0])

    def get_targets(self, target_ids: list[int]) -> list[dict]:
        """Several targets by id (any order; unknown ids are skipped), selectors decoded."""
        marks = ", ".join("?" * len(target_ids))
        return [decode_target(row) for row in self.db.query(
            f"SELECT * FROM targets WHERE id IN ({marks})", list(target_ids))] if target_ids else []

    def target_ids_with_url(self, url: str) -> list[int]:
        """The ids of every target (removed ones too) with exactly this URL (one per document type)."""
        return [row[0] for row in self.db.execute("SELECT id FROM targets WHERE url = ?", [url])]

    def target_id_with(self, url: str, doc_type: str) -> int | None:
        """The id of the target (removed or not) tracking ``url`` as ``doc_type``, if any."""
        row = self.db.execute("SELECT id FROM targets WHERE url = ? AND doc_type = ?",
                              [url, doc_type]).fetchone()
        return row[0] if row else None

    def target_ids_of(self, company: str, doc_type: str) -> list[int]:
        """The ids of the targets (removed ones too) of a company and document type, both
        compared case-insensitively, in id order."""
        return [row[0] for row in self.db.execute(
            "SELECT id FROM targets WHERE lower(company) = lower(?) AND lower(doc_type) = lower(?) "
            "ORDER BY id", [company, doc_type])]

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
        targets = [decode_target(row) for row in self.db.query(sql, params)]
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
