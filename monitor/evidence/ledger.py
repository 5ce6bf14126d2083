"""The ledger: an append-only hash chain over versions, changes and sent deliveries.

Each entry's hash covers its sequence number, kind, row id, the row's content hash, its time
and the previous entry's hash, so editing or deleting any ledger row — or any field of the
row it covers — breaks the chain at a point ``verify_store`` names. The chain functions are
pure so an evidence bundle can be checked offline without the database.

Two entry formats (docs/evidence.md, "The ledger"):

- **format 1** (entries written before format 2; ``format`` NULL): ``content_hash`` is the
  sha256 of the row's canonical JSON (``FIELDS``); the hash preimage is
  ``seq|kind|ref_id|content_hash|recorded_at|prev_hash``. Verified exactly as before.
- **format 2** (every new entry): the entry stores ``content`` — the canonical JSON of what
  an evidence bundle asserts about the row (``bound``: for a version also its company,
  document type, target URL and selectors, the capture's fetch time, URL, final URL, HTTP
  status, content type and WARC record id; for a delivery also its redacted recipient) — and
  ``content_hash`` is its sha256. The preimage is
  ``v2|seq|kind|ref_id|target_id|content_hash|recorded_at|prev_hash``, so the target an entry
  belongs to is bound too (a bundle can then tell its own entries from others' without their
  content, and an omitted item is noticed).
"""

import hashlib
import json

from monitor.redaction import redact_url
from monitor.store import evidence_rows
from monitor.store import ledger as ledger_rows

GENESIS = "0" * 64
VERSION_FIELDS = ("target_id", "text_sha256", "compare_sha256", "snapshot_sha256", "capture_id",
                  "first_seen_at", "extractor_version", "returns_to_version_id")
CHANGE_FIELDS = ("target_id", "from_version_id", "to_version_id", "detected_at", "class", "severity",
                 "topics", "direction", "evidence", "hunks", "classifier")
DELIVERY_FIELDS = ("change_id", "subscription_id", "idempotency_key", "sent_at", "channel")
FIELDS = {"version": VERSION_FIELDS, "change": CHANGE_FIELDS, "delivery": DELIVERY_FIELDS}
FORMAT = 2  # the format of new entries
# What format 2 adds to a row's fields, per kind. Version: the target as it was when the
# version was recorded, and the capture it came from.
VERSION_BOUND = ("company", "doc_type", "target_url", "select", "remove", "fetched_at", "url",
                 "final_url", "status", "content_type", "warc_record_id")
DELIVERY_BOUND = ("recipient",)
# Bound fields that come from rows the ledger does not cover (a target can be renamed, a
# subscription's URL re-redacted): the ledger keeps them as they were, and ``verify_store``
# does not compare them with today's rows.
AS_RECORDED = {"company", "doc_type", "target_url", "select", "remove", "recipient"}
TABLES = {"version": "versions", "change": "changes", "delivery": "deliveries"}
_JSON_FIELDS = {"topics", "evidence", "hunks"}


def canonical(kind: str, row: dict) -> dict:
    """The fields of a row that the ledger vouches for, JSON columns decoded."""
    content = {}
    for field in FIELDS[kind]:
        value = row.get(field)
        if field in _JSON_FIELDS and isinstance(value, str):
            value = json.loads(value)
        content[field] = value
    return content


def content_hash(kind: str, row: dict) -> str:
    """sha256 of a row's canonical JSON."""
    text = json.dumps(canonical(kind, row), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical_json(content: dict) -> str:
    """The one JSON text of a dict that its hash is taken over."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_line(seq: int, kind: str, ref_id: int, content: str, recorded_at: str, prev_hash: str,
               *, format: int | None = None, target_id: int | None = None) -> bytes:
    """The bytes an entry's hash is the sha256 of (also what an RFC 3161 request hashes)."""
    if format and format >= 2:
        return f"v{format}|{seq}|{kind}|{ref_id}|{target_id}|{content}|{recorded_at}|{prev_hash}".encode()
    return f"{seq}|{kind}|{ref_id}|{content}|{recorded_at}|{prev_hash}".encode()


def entry_hash(seq: int, kind: str, ref_id: int, content: str, recorded_at: str, prev_hash: str,
               *, format: int | None = None, target_id: int | None = None) -> str:
    """The hash of one ledger entry."""
    return hashlib.sha256(entry_line(seq, kind, ref_id, content, recorded_at, prev_hash,
                                     format=format, target_id=target_id)).hexdigest()


def line_of(entry: dict) -> bytes:
    """``entry_line`` of a ledger row (either format)."""
    return entry_line(entry["seq"], entry["kind"], entry["ref_id"], entry["content_hash"], entry["recorded_at"],
                      entry["prev_hash"], format=entry.get("format"), target_id=entry.get("target_id"))


def bound(db, kind: str, row: dict) -> dict:
    """What a format-2 entry binds for ``row``: its ledger fields plus what a bundle asserts."""
    content = canonical(kind, row)
    if kind == "version":
        capture = evidence_rows.row(db, "captures", row["capture_id"]) or {}
        target = evidence_rows.row(db, "targets", row["target_id"]) or {}
        content.update({
            "company": target.get("company"), "doc_type": target.get("doc_type"),
            "target_url": target.get("url"),
            "select": json.loads(target.get("select_css") or "[]"),
            "remove": json.loads(target.get("remove_css") or "[]"),
            **{k: capture.get(k) for k in ("fetched_at", "url", "final_url", "status", "content_type",
                                            "warc_record_id")}})
    elif kind == "delivery":
        content["recipient"] = delivery_recipient(db, row["subscription_id"])
    return content


def row_bound(db, kind: str, row: dict) -> dict:
    """``bound`` of a row as stored (a delivery's channel kind looked up)."""
    return bound(db, kind, _with_channel(kind, row, db))


def target_of(db, kind: str, row: dict) -> int | None:
    """The target a row belongs to (a delivery: its change's target)."""
    if kind == "delivery":
        return evidence_rows.change_target_id(db, row["change_id"])
    return row.get("target_id")


def append(db, kind: str, row: dict, recorded_at: str) -> dict:
    """Append a (format 2) entry for ``row`` (call inside the transaction that writes the row)."""
    head = ledger_rows.head_link(db)
    seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
    content = canonical_json(bound(db, kind, row))
    digest = hashlib.sha256(content.encode("utf-8")).hexdigest()
    target_id = target_of(db, kind, row)
    entry = {"seq": seq, "kind": kind, "ref_id": row["id"], "content_hash": digest,
             "recorded_at": recorded_at, "prev_hash": prev,
             "entry_hash": entry_hash(seq, kind, row["id"], digest, recorded_at, prev,
                                      format=FORMAT, target_id=target_id),
             "format": FORMAT, "target_id": target_id, "content": content}
    ledger_rows.insert_entry(db, entry)
    return entry


def check_content(entry: dict) -> str | None:
    """For a format-2 entry carrying its content: a sentence if the content is not what it hashes."""
    if (entry.get("format") or 1) < 2 or entry.get("content") is None:
        return None
    if hashlib.sha256(entry["content"].encode("utf-8")).hexdigest() != entry["content_hash"]:
        return (f"ledger entry {entry['seq']} ({entry['kind']} {entry['ref_id']}): its content does not "
                "match its content_hash (the entry was edited)")
    return None


def check_chain(entries: list[dict], anchor_prev_hash: str | None = None) -> str | None:
    """The first broken link in consecutive entries, as a sentence; None if the chain holds."""
    previous_hash = anchor_prev_hash
    previous_seq = None
    for entry in entries:
        label = f"ledger entry {entry['seq']} ({entry['kind']} {entry['ref_id']})"
        if previous_seq is not None and entry["seq"] != previous_seq + 1:
            return f"ledger entries {previous_seq + 1}–{entry['seq'] - 1} are missing (deleted)"
        if previous_hash is not None and entry["prev_hash"] != previous_hash:
            return f"{label}: does not link to the entry before it (an entry was edited or removed)"
        recomputed = hashlib.sha256(line_of(entry)).hexdigest()
        if recomputed != entry["entry_hash"]:
            return f"{label}: its hash does not match its content (the entry was edited)"
        problem = check_content(entry)
        if problem:
            return problem
        previous_hash, previous_seq = entry["entry_hash"], entry["seq"]
    return None


def verify_store(store) -> list[str]:
    """Check the whole ledger against the database; return problems, first broken link first."""
    db = store.db
    entries = ledger_rows.entries(db)
    problems = []
    if entries and entries[0]["seq"] != 1:
        problems.append(f"ledger entries 1–{entries[0]['seq'] - 1} are missing (deleted)")
    broken = check_chain(entries, GENESIS if entries and entries[0]["seq"] == 1 else None)
    if broken:
        problems.append(broken)
    covered = {kind: set() for kind in TABLES}
    for entry in entries:
        covered[entry["kind"]].add(entry["ref_id"])
        row = evidence_rows.row(db, TABLES[entry["kind"]], entry["ref_id"])
        label = f"{entry['kind']} {entry['ref_id']} (ledger entry {entry['seq']})"
        if row is None:
            problems.append(f"{label}: the row is missing (deleted)")
        elif (entry.get("format") or 1) < 2:
            if content_hash(entry["kind"], _with_channel(entry["kind"], row, db)) != entry["content_hash"]:
                problems.append(f"{label}: the row was edited after it was recorded")
        else:
            problem = _compare_bound(db, entry, row, label)
            if problem:
                problems.append(problem)
    problems += check_version_texts(db)
    for kind, table in TABLES.items():
        for row_id in evidence_rows.row_ids(db, table, sent_only=kind == "delivery"):
            if row_id not in covered[kind]:
                problems.append(f"{kind} {row_id}: has no ledger entry (inserted outside policywatch)")
    return problems


def _compare_bound(db, entry: dict, row: dict, label: str) -> str | None:
    """A format-2 entry against its row (and the capture it names): the first field that differs."""
    try:
        recorded = json.loads(entry["content"])
    except (TypeError, ValueError):
        return f"{label}: the entry's content is missing or not JSON"
    now = row_bound(db, entry["kind"], row)
    for field in sorted(set(recorded) | set(now)):
        if field in AS_RECORDED:
            continue
        if recorded.get(field) != now.get(field):
            return (f"{label}: {field} was edited after it was recorded "
                    f"(ledger: {recorded.get(field)!r}, now: {now.get(field)!r})")
    if target_of(db, entry["kind"], row) != entry.get("target_id"):
        return f"{label}: its target was changed after it was recorded"
    return None


def check_version_texts(db) -> list[str]:
    """Every version's text against its ``text_sha256`` (which the ledger covers)."""
    problems = []
    for version_id, text, digest in evidence_rows.version_texts(db):
        if hashlib.sha256((text or "").encode("utf-8")).hexdigest() != digest:
            problems.append(f"version {version_id}: its text does not match its text_sha256 "
                            "(versions.text was edited)")
    return problems


def _with_channel(kind: str, row: dict, db) -> dict:
    if kind != "delivery":
        return row
    return {**row, "channel": delivery_channel(db, row["subscription_id"])}


def delivery_channel(db, subscription_id: int) -> str:
    """The channel kind of a subscription (its apprise scheme), never its secret URL."""
    found = evidence_rows.subscription_url(db, subscription_id)
    return found.split("://", 1)[0].lower() if found is not None else "unknown"


def delivery_recipient(db, subscription_id: int) -> str:
    """A subscription's recipient as a bundle shows it: the redacted apprise URL."""
    found = evidence_rows.subscription_url(db, subscription_id)
    return redact_url(found) if found is not None else "unknown"


def append_delivery(db, delivery_id: int, recorded_at: str) -> dict:
    """Ledger entry for a delivery just marked sent (call in the same transaction)."""
    row = evidence_rows.row(db, "deliveries", delivery_id)
    return append(db, "delivery", _with_channel("delivery", row, db), recorded_at)
