"""The ledger: an append-only hash chain over versions, changes and sent deliveries.

Each entry's hash covers its sequence number, kind, row id, the row's content hash, its time
and the previous entry's hash, so editing or deleting any ledger row — or any field of the
row it covers — breaks the chain at a point ``verify_store`` names. The chain functions are
pure so an evidence bundle can be checked offline without the database.
"""

import hashlib
import json

GENESIS = "0" * 64
VERSION_FIELDS = ("target_id", "text_sha256", "compare_sha256", "snapshot_sha256", "capture_id",
                  "first_seen_at", "extractor_version", "returns_to_version_id")
CHANGE_FIELDS = ("target_id", "from_version_id", "to_version_id", "detected_at", "class", "severity",
                 "topics", "direction", "evidence", "hunks", "classifier")
DELIVERY_FIELDS = ("change_id", "subscription_id", "idempotency_key", "sent_at", "channel")
FIELDS = {"version": VERSION_FIELDS, "change": CHANGE_FIELDS, "delivery": DELIVERY_FIELDS}
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


def entry_line(seq: int, kind: str, ref_id: int, content: str, recorded_at: str, prev_hash: str) -> bytes:
    """The bytes an entry's hash is the sha256 of (also what an RFC 3161 request hashes)."""
    return f"{seq}|{kind}|{ref_id}|{content}|{recorded_at}|{prev_hash}".encode("utf-8")


def entry_hash(seq: int, kind: str, ref_id: int, content: str, recorded_at: str, prev_hash: str) -> str:
    """The hash of one ledger entry."""
    return hashlib.sha256(entry_line(seq, kind, ref_id, content, recorded_at, prev_hash)).hexdigest()


def append(db, kind: str, row: dict, recorded_at: str) -> dict:
    """Append an entry for ``row`` (call inside the transaction that writes the row)."""
    head = db.execute("SELECT seq, entry_hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
    digest = content_hash(kind, row)
    entry = {"seq": seq, "kind": kind, "ref_id": row["id"], "content_hash": digest,
             "recorded_at": recorded_at, "prev_hash": prev,
             "entry_hash": entry_hash(seq, kind, row["id"], digest, recorded_at, prev)}
    db["ledger"].insert(entry)
    return entry


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
        recomputed = entry_hash(entry["seq"], entry["kind"], entry["ref_id"], entry["content_hash"],
                                entry["recorded_at"], entry["prev_hash"])
        if recomputed != entry["entry_hash"]:
            return f"{label}: its hash does not match its content (the entry was edited)"
        previous_hash, previous_seq = entry["entry_hash"], entry["seq"]
    return None


def verify_store(store) -> list[str]:
    """Check the whole ledger against the database; return problems, first broken link first."""
    db = store.db
    entries = list(db.query("SELECT * FROM ledger ORDER BY seq"))
    problems = []
    if entries and entries[0]["seq"] != 1:
        problems.append(f"ledger entries 1–{entries[0]['seq'] - 1} are missing (deleted)")
    broken = check_chain(entries, GENESIS if entries and entries[0]["seq"] == 1 else None)
    if broken:
        problems.append(broken)
    covered = {kind: set() for kind in TABLES}
    for entry in entries:
        covered[entry["kind"]].add(entry["ref_id"])
        rows = list(db.query(f"SELECT * FROM {TABLES[entry['kind']]} WHERE id = ?", [entry["ref_id"]]))
        label = f"{entry['kind']} {entry['ref_id']} (ledger entry {entry['seq']})"
        if not rows:
            problems.append(f"{label}: the row is missing (deleted)")
        elif content_hash(entry["kind"], _with_channel(entry["kind"], rows[0], db)) != entry["content_hash"]:
            problems.append(f"{label}: the row was edited after it was recorded")
    for kind, table in TABLES.items():
        where = " WHERE status = 'sent'" if kind == "delivery" else ""
        for (row_id,) in db.execute(f"SELECT id FROM {table}{where}"):
            if row_id not in covered[kind]:
                problems.append(f"{kind} {row_id}: has no ledger entry (inserted outside policywatch)")
    return problems


def _with_channel(kind: str, row: dict, db) -> dict:
    if kind != "delivery":
        return row
    return {**row, "channel": delivery_channel(db, row["subscription_id"])}


def delivery_channel(db, subscription_id: int) -> str:
    """The channel kind of a subscription (its apprise scheme), never its secret URL."""
    found = db.execute("SELECT apprise_url FROM subscriptions WHERE id = ?", [subscription_id]).fetchone()
    return found[0].split("://", 1)[0].lower() if found else "unknown"


def append_delivery(db, delivery_id: int, recorded_at: str) -> dict:
    """Ledger entry for a delivery just marked sent (call in the same transaction)."""
    row = dict(next(db.query("SELECT * FROM deliveries WHERE id = ?", [delivery_id])))
    return append(db, "delivery", _with_channel("delivery", row, db), recorded_at)
