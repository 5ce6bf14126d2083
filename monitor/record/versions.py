"""Appending to a target's history: a version with its chain hash, a change with its summary,
each with its ledger entry.

``record_capture`` and ``reextract`` both append through here. Call inside the transaction
that writes the rest of the capture (``Store.transaction``): the row and its ledger entry
commit together or not at all.
"""

from monitor.compare import summary_json
from monitor.evidence import ledger
from monitor.store import Store, sha256_hex


def chain_hash(previous: dict | None, text_sha256: str, first_seen_at: str) -> str:
    """A version's link in its target's chain: the previous version's chain hash (none for the
    first), the text's hash and when it was first seen."""
    previous_chain = previous["chain_hash"] if previous else ""
    return sha256_hex(f"{previous_chain}\n{text_sha256}\n{first_seen_at}")


def append_version(store: Store, previous: dict | None, *, target_id: int, text: str, compare_sha256: str,
                   snapshot_sha256: str | None, capture_id: int | None, seen_at: str,
                   extractor_version: str, recorded_at: str, returns_to_version_id: int | None = None,
                   source: str = "live", technical: bool = False) -> int:
    """Insert the version after ``previous`` (the target's latest, None for its first) and its
    ledger entry dated ``recorded_at``; return the version id."""
    text_sha256 = sha256_hex(text)
    version_id = store.add_version({
        "target_id": target_id, "text": text, "text_sha256": text_sha256,
        "compare_sha256": compare_sha256, "snapshot_sha256": snapshot_sha256,
        "capture_id": capture_id, "first_seen_at": seen_at, "last_seen_at": seen_at,
        "extractor_version": extractor_version, "returns_to_version_id": returns_to_version_id,
        "chain_hash": chain_hash(previous, text_sha256, seen_at),
        "source": source, "technical": int(technical),
    })
    ledger.append(store.db, "version", store.get_version(version_id), recorded_at)
    return version_id


def append_change(store: Store, row: dict, recorded_at: str) -> dict:
    """Insert a change row (JSON columns encoded; its ``summary`` is added here) and its ledger
    entry dated ``recorded_at``; return the change as the store reads it."""
    row["summary"] = summary_json(row)
    change = store.get_change(store.add_change(row))
    ledger.append(store.db, "change", change, recorded_at)
    return change
