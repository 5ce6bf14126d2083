"""Offline verification of an evidence bundle (see ``monitor.evidence.bundle``): no database needed.

Checks, in order, and stops at the first broken link: the ledger segment's chain; each
version's manifest entry against its ledger entry, its text file against its hash, its WARC
record's digests and body hash, and that its text re-derives from that body with the
recorded extractor; each change and delivery against its ledger entry; each RFC 3161 token
against the segment's entry it covers (``monitor.evidence.tsp.check_token``: imprint, signature, and
the TSA certificate against trusted CA certificates when given); the PDF report, when the
manifest lists one; every file's hash.
"""

import hashlib
import json
from pathlib import Path

from monitor.errors import ExtractionError, PolicywatchError
from monitor.evidence import ledger, tsp
from monitor.evidence.bundle import FORMAT, in_range, render_report
from monitor.evidence.warc_records import payload_digest, read_records, warc_date
from monitor.extract import EXTRACTOR_VERSION, extract


class BundleBroken(PolicywatchError):
    """The first broken link found in a bundle."""


def _entry(entries_by_seq: dict, item: dict, label: str) -> dict:
    entry = entries_by_seq.get(item.get("ledger_seq"))
    if entry is None:
        raise BundleBroken(f"{label}: no ledger entry in the bundle's chain segment")
    return entry


def claims(kind: str, item: dict) -> dict:
    """What a manifest item asserts, in the shape a format-2 ledger entry binds (``ledger.bound``)."""
    content = ledger.canonical(kind, item)
    if kind == "version":
        capture = item.get("capture") or {}
        content.update({
            "company": item.get("company"), "doc_type": item.get("doc_type"), "target_url": item.get("url"),
            "select": item.get("select"), "remove": item.get("remove"),
            **{k: capture.get(k) for k in ("fetched_at", "url", "final_url", "status", "content_type")},
            "warc_record_id": (item.get("warc") or {}).get("record_id")})
    elif kind == "delivery":
        content["recipient"] = item.get("recipient")
    return content


_FIELD_NAMES = {"fetched_at": "fetch time", "status": "HTTP status", "url": "URL", "final_url": "final URL",
                "target_url": "target URL", "doc_type": "document type", "warc_record_id": "WARC record id"}


def _check_ledgered(kind: str, item: dict, label: str, entries_by_seq: dict) -> None:
    entry = _entry(entries_by_seq, item, label)
    if entry["kind"] != kind or entry["ref_id"] != item["id"]:
        raise BundleBroken(f"{label}: ledger entry {entry['seq']} is for {entry['kind']} {entry['ref_id']}")
    if (entry.get("format") or 1) < 2:
        if ledger.content_hash(kind, item) != entry["content_hash"]:
            raise BundleBroken(f"{label}: manifest entry does not match ledger entry {entry['seq']} (edited)")
        return
    if entry.get("content") is None:
        raise BundleBroken(f"{label}: ledger entry {entry['seq']} is in the bundle without its content")
    bound = json.loads(entry["content"])
    claimed = claims(kind, item)
    for field in sorted(set(bound) | set(claimed)):
        if claimed.get(field) != bound.get(field):
            raise BundleBroken(f"{label}: {_FIELD_NAMES.get(field, field)} in the manifest entry "
                               f"({claimed.get(field)!r}) is not what ledger entry {entry['seq']} bound "
                               f"({bound.get(field)!r}) (edited)")
    if kind == "version" and (item.get("capture") or {}).get("id") != item.get("capture_id"):
        raise BundleBroken(f"{label}: its capture id in the manifest is not the one ledger entry {entry['seq']} bound")


def _check_record_headers(label: str, version: dict, response: dict) -> None:
    """The response record's WARC headers and status against the (ledger-bound) manifest values."""
    capture = version.get("capture") or {}
    headers = response.get("warc_headers") or {}
    expected = {
        "WARC-Target-URI": capture.get("final_url") or capture.get("url"),
        "WARC-Date": warc_date(capture["fetched_at"]) if capture.get("fetched_at") else None,
        "WARC-Record-ID": version["warc"]["record_id"],
        "WARC-Payload-Digest": payload_digest(response["body"]),
    }
    for name, value in expected.items():
        if headers.get(name) != value:
            raise BundleBroken(f"{label}: WARC record {version['warc']['record_id']} has {name} "
                               f"{headers.get(name)!r}, not {value!r} (edited)")
    if response.get("status") != capture.get("status"):
        raise BundleBroken(f"{label}: WARC record {version['warc']['record_id']} holds HTTP status "
                           f"{response.get('status')}, not {capture.get('status')} (edited)")


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
    _check_record_headers(label, version, response)
    if version["extractor_version"] != EXTRACTOR_VERSION:
        raise BundleBroken(f"{label}: extracted with {version['extractor_version']}, this policywatch has "
                           f"{EXTRACTOR_VERSION}: verify with the matching release")
    content_type = next((v for k, v in response["headers"].items() if k.lower() == "content-type"), None)
    try:
        derived = extract(response["body"], content_type, url=version["capture"]["final_url"] or version["url"],
                          select=version["select"], remove=version["remove"]).text
    except ExtractionError as error:
        raise BundleBroken(f"{label}: cannot re-derive the text from WARC record "
                           f"{warc['record_id']}: {error}") from error
    if hashlib.sha256(derived.encode("utf-8")).hexdigest() != version["text_sha256"]:
        raise BundleBroken(f"{label}: text does not re-derive from WARC record {warc['record_id']}")


def _check_timestamp(bundle: Path, stamp: dict, entries_by_seq: dict, trusted: list | None) -> None:
    label = f"timestamp {stamp['id']} ({stamp['file']}, ledger entry {stamp['seq']})"
    entry = entries_by_seq.get(stamp["seq"])
    if entry is None:
        raise BundleBroken(f"{label}: its ledger entry is not in the bundle's chain segment "
                           "(the chain was truncated)")
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


def _check_targets(manifest: dict) -> None:
    """The bundle's company and targets against what the versions' ledger entries bound."""
    targets = {t["id"]: t for t in manifest.get("targets", [])}
    latest = {}
    for version in manifest["versions"]:
        if version.get("target_id") not in targets:
            raise BundleBroken(f"version {version['id']}: its target {version.get('target_id')} is not in the manifest")
        latest[version["target_id"]] = version
    for target_id, version in latest.items():
        target = targets[target_id]
        for field, value in (("company", version["company"]), ("doc_type", version["doc_type"]),
                             ("url", version["url"])):
            if target.get(field) != value:
                raise BundleBroken(f"target {target_id}: {_FIELD_NAMES.get(field, field)} {target.get(field)!r} "
                                   f"in the manifest is not what version {version['id']}'s ledger entry bound "
                                   f"({value!r}) (edited)")
        if (manifest.get("company") or "").casefold() != (target.get("company") or "").casefold():
            raise BundleBroken(f"company {manifest.get('company')!r} in the manifest is not the company of "
                               f"target {target_id} ({target.get('company')!r}) (edited)")


def _check_complete(manifest: dict, entries: list[dict]) -> None:
    """Every format-2 entry of the bundle's targets in the segment is an item of the bundle."""
    own = {t["id"] for t in manifest.get("targets", [])}
    listed = {key: {item["id"] for item in manifest[plural]}
              for key, plural in (("version", "versions"), ("change", "changes"), ("delivery", "deliveries"))}
    for entry in entries:
        if (entry.get("format") or 1) < 2 or entry.get("target_id") not in own:
            continue
        label = f"ledger entry {entry['seq']} ({entry['kind']} {entry['ref_id']} of target {entry['target_id']})"
        if entry["ref_id"] in listed.get(entry["kind"], ()):
            continue
        if entry.get("content") is None:
            raise BundleBroken(f"{label}: is in the bundle without its content (withheld)")
        content = json.loads(entry["content"])
        if entry["kind"] == "version":
            wanted = in_range(content["first_seen_at"], manifest.get("since"), manifest.get("until"))
        elif entry["kind"] == "change":
            wanted = content["to_version_id"] in listed["version"]
        else:
            wanted = content["change_id"] in listed["change"]
        if wanted:
            raise BundleBroken(f"{label}: is in the chain segment but not in the bundle (an item was removed)")


def _check_report(bundle: Path, manifest: dict) -> None:
    """report.html is what the verified manifest renders to (bundles of format 2 on)."""
    if manifest.get("format") != FORMAT:
        return
    try:
        html = (bundle / "report.html").read_bytes()
    except OSError as error:
        raise BundleBroken(f"file report.html: cannot be read ({error.strerror})") from error
    if html != render_report(manifest).encode("utf-8"):
        raise BundleBroken("file report.html: is not the report the verified manifest renders to (edited)")


def verify_bundle(bundle: str | Path, *, trusted: list | None = None) -> dict:
    """Verify a bundle; return counts. Raises ``BundleBroken`` naming the first broken item.

    ``trusted``: CA certificates (``monitor.evidence.tsp.load_trusted``) to check the TSA certificates
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
    _check_targets(manifest)
    _check_complete(manifest, entries)
    stamps = manifest.get("timestamps") or []  # bundles made before timestamps have none
    for stamp in stamps:
        _check_timestamp(bundle, stamp, entries_by_seq, trusted)
    _check_report(bundle, manifest)
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
