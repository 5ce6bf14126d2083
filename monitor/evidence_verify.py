"""Offline verification of an evidence bundle (see ``monitor.evidence``): no database needed.

Checks, in order, and stops at the first broken link: the ledger segment's chain; each
version's manifest entry against its ledger entry, its text file against its hash, its WARC
record's digests and body hash, and that its text re-derives from that body with the
recorded extractor; each change and delivery against its ledger entry; each RFC 3161 token
against the segment's entry it covers (``monitor.tsp.check_token``: imprint, signature, and
the TSA certificate against trusted CA certificates when given); the PDF report, when the
manifest lists one; every file's hash.
"""

import hashlib
import json
from pathlib import Path

from . import ledger, tsp
from .errors import ExtractionError
from .extract import EXTRACTOR_VERSION, extract
from .warc import read_records


class BundleBroken(Exception):
    """The first broken link found in a bundle."""


def _entry(entries_by_seq: dict, item: dict, label: str) -> dict:
    entry = entries_by_seq.get(item.get("ledger_seq"))
    if entry is None:
        raise BundleBroken(f"{label}: no ledger entry in the bundle's chain segment")
    return entry


def _check_ledgered(kind: str, item: dict, label: str, entries_by_seq: dict) -> None:
    entry = _entry(entries_by_seq, item, label)
    if entry["kind"] != kind or entry["ref_id"] != item["id"]:
        raise BundleBroken(f"{label}: ledger entry {entry['seq']} is for {entry['kind']} {entry['ref_id']}")
    if ledger.content_hash(kind, item) != entry["content_hash"]:
        raise BundleBroken(f"{label}: manifest entry does not match ledger entry {entry['seq']} (edited)")


def _check_version(bundle: Path, version: dict, entries_by_seq: dict) -> None:
    label = f"version {version['id']}"
    _check_ledgered("version", version, label, entries_by_seq)
    text = (bundle / version["text_file"]).read_bytes()
    if hashlib.sha256(text).hexdigest() != version["text_sha256"]:
        raise BundleBroken(f"{label}: text file {version['text_file']} does not match its sha256")
    warc = version.get("warc")
    if not warc:
        raise BundleBroken(f"{label}: no WARC record to re-derive it from")
    try:
        records = read_records(bundle / warc["file"], warc["offset"], warc["length"])
    except (ValueError, OSError) as error:
        raise BundleBroken(f"{label}: WARC record {warc['record_id']} is damaged: {error}") from error
    response = next((r for r in records if r["id"] == warc["record_id"]), None)
    if response is None or response["type"] != "response":
        raise BundleBroken(f"{label}: WARC record {warc['record_id']} is not in {warc['file']} at its offset")
    if hashlib.sha256(response["body"]).hexdigest() != version["snapshot_sha256"]:
        raise BundleBroken(f"{label}: WARC record {warc['record_id']} body does not match snapshot_sha256")
    if version["extractor_version"] != EXTRACTOR_VERSION:
        raise BundleBroken(f"{label}: extracted with {version['extractor_version']}, this policywatch has "
                           f"{EXTRACTOR_VERSION}: verify with the matching release")
    content_type = next((v for k, v in response["headers"].items() if k.lower() == "content-type"), None)
    try:
        derived = extract(response["body"], content_type, url=version["capture"]["final_url"] or version["url"],
                          select=version["select"], remove=version["remove"]).text
    except ExtractionError as error:
        raise BundleBroken(f"{label}: cannot re-derive the text from WARC record {warc['record_id']}: {error}") from error
    if hashlib.sha256(derived.encode("utf-8")).hexdigest() != version["text_sha256"]:
        raise BundleBroken(f"{label}: text does not re-derive from WARC record {warc['record_id']}")


def _check_timestamp(bundle: Path, stamp: dict, entries_by_seq: dict, trusted: list | None) -> None:
    label = f"timestamp {stamp['id']} ({stamp['file']}, ledger entry {stamp['seq']})"
    entry = entries_by_seq.get(stamp["seq"])
    if entry is None:
        raise BundleBroken(f"{label}: its ledger entry is not in the bundle's chain segment")
    if entry["entry_hash"] != stamp["entry_hash"]:
        raise BundleBroken(f"{label}: the ledger entry's hash is not the one timestamped")
    try:
        der = (bundle / stamp["file"]).read_bytes()
    except OSError as error:
        raise BundleBroken(f"{label}: cannot be read ({error.strerror})") from error
    try:
        info = tsp.check_token(der, entry["entry_hash"], trusted)
    except tsp.TokenInvalid as invalid:
        raise BundleBroken(f"{label}: {invalid}") from invalid
    if hashlib.sha256(der).hexdigest() != stamp["sha256"]:
        raise BundleBroken(f"{label}: does not match its sha256 in the manifest (the token was altered)")
    if info.gen_time != stamp["gen_time"]:
        raise BundleBroken(f"{label}: its gen_time in the manifest is not the token's (edited)")


def _check_pdf(bundle: Path, manifest: dict) -> None:
    pdf = (manifest.get("report_pdf") or {}).get("file")
    if not pdf:
        return
    if pdf not in manifest.get("files", {}):
        raise BundleBroken(f"file {pdf}: listed as the PDF report but has no sha256 in the manifest")
    path = bundle / pdf
    if not path.is_file():
        raise BundleBroken(f"file {pdf}: missing")
    with open(path, "rb") as stream:
        if stream.read(5) != b"%PDF-":
            raise BundleBroken(f"file {pdf}: is not a PDF")


def verify_bundle(bundle: str | Path, *, trusted: list | None = None) -> dict:
    """Verify a bundle; return counts. Raises ``BundleBroken`` naming the first broken item.

    ``trusted``: CA certificates (``monitor.tsp.load_trusted``) to check the TSA certificates
    of RFC 3161 tokens against; without them only the tokens' signatures and imprints are checked.
    """
    bundle = Path(bundle)
    try:
        manifest = json.loads((bundle / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError) as error:
        raise BundleBroken(f"manifest.json cannot be read: {error}") from error
    chain = manifest.get("chain") or {}
    entries = chain.get("entries") or []
    problem = ledger.check_chain(entries, chain.get("anchor_prev_hash"))
    if problem:
        raise BundleBroken(problem)
    if entries and chain.get("head", {}).get("entry_hash") != entries[-1]["entry_hash"]:
        raise BundleBroken("chain head does not match the last ledger entry")
    entries_by_seq = {e["seq"]: e for e in entries}
    for version in manifest["versions"]:
        _check_version(bundle, version, entries_by_seq)
    for change in manifest["changes"]:
        _check_ledgered("change", change, f"change {change['id']}", entries_by_seq)
    for delivery in manifest["deliveries"]:
        _check_ledgered("delivery", delivery, f"delivery {delivery['id']}", entries_by_seq)
    stamps = manifest.get("timestamps") or []  # bundles made before timestamps have none
    for stamp in stamps:
        _check_timestamp(bundle, stamp, entries_by_seq, trusted)
    _check_pdf(bundle, manifest)
    for name, digest in manifest.get("files", {}).items():
        path = bundle / name
        if not path.is_file():
            raise BundleBroken(f"file {name}: missing")
        if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            raise BundleBroken(f"file {name}: does not match its sha256 in the manifest")
    return {"versions": len(manifest["versions"]), "changes": len(manifest["changes"]),
            "deliveries": len(manifest["deliveries"]), "ledger_entries": len(entries),
            "timestamps": len(stamps), "pdf": bool((manifest.get("report_pdf") or {}).get("file"))}
