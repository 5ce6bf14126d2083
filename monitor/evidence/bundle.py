"""Evidence bundles: what a policy said when, and who was told — verifiable offline.

``export_bundle`` writes a directory:

- ``manifest.json`` — targets, versions (capture time, URL, HTTP status, hashes, WARC
  record ids), changes (classification and hunks), deliveries (channel kind, time, redacted
  target), the ledger segment that covers them with its anchors, and the sha256 of every file;
- ``versions/<id>.md`` — each version's text;
- ``warc/evidence.warc.gz`` — a ``warcinfo`` record, then the WARC records each version rests
  on, copied byte for byte;
- ``timestamps/<id>.tsr`` — the RFC 3161 tokens over ledger entries in the segment (DER
  TimeStampResp, what ``openssl ts -reply -in`` reads); a token over an entry vouches for every
  entry before it, and the segment runs to the head, so each token's entry is in the bundle;
- ``report.html`` — the same for people, and ``report.pdf`` printed from it (when a browser is
  installed; the manifest says when there is none).

``monitor.evidence.verify.verify_bundle`` checks it without the database.
"""

import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

import jinja2

from monitor.compare import with_summary
from monitor.errors import InputError
from monitor.evidence import ledger
from monitor.evidence.report_pdf import PdfUnavailable, html_to_pdf
from monitor.evidence.timestamps import stored_timestamps
from monitor.evidence.warc import read_records, warcinfo_member
from monitor.extract import EXTRACTOR_VERSION
from monitor.store import Store, evidence_rows
from monitor.store import ledger as ledger_rows
from monitor.timeutil import now_iso

FORMAT = "policywatch-evidence/2"
# Format 2: ledger entries of format 2 carry what each item asserts, and ``evidence verify``
# re-renders report.html from the verified manifest and compares it byte for byte.
REPORT_FROM = ("report_pdf", "files")  # manifest keys written after the report (not in it)


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def in_range(stamp: str, since: str | None, until: str | None) -> bool:
    return (not since or stamp >= since) and (not until or stamp[: len(until)] <= until)


def _bound(entry: dict | None) -> dict | None:
    """What a format-2 ledger entry binds (None for format 1 or no entry)."""
    if entry and (entry.get("format") or 1) >= 2 and entry.get("content"):
        return json.loads(entry["content"])
    return None


def export_bundle(store: Store, out: str | Path, *, company: str, doc_type: str | None = None,
                  since: str | None = None, until: str | None = None, warc_dir: str | Path,
                  pdf: bool = True, warn: Callable[[str], None] | None = None) -> dict:
    """Write an evidence bundle for a company's documents into ``out``; return the manifest.

    ``pdf``: also print the report to ``report.pdf``. Without a browser the bundle is still
    written: ``warn`` gets one line and the manifest's ``report_pdf.file`` is null.
    """
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise InputError(f"{out} exists and is not empty: choose a new directory for the bundle")
    targets = [t for t in store.list_targets(company) if doc_type is None or t["doc_type"] == doc_type]
    if not targets:
        raise InputError(f"company {company!r} has no {doc_type!r} document")
    # Written beside OUT and renamed into place at the end: a bundle that failed half-way
    # (a missing WARC, a full disk, Ctrl-C) must not be mistaken for evidence.
    final = out.resolve()  # a name to put the work directory beside, even for "."
    final.parent.mkdir(parents=True, exist_ok=True)
    work = final.parent / f".{final.name}.partial-{os.getpid()}-{secrets.token_hex(4)}"
    work.mkdir()
    try:
        manifest = _write_bundle(store, work, targets, company=company, doc_type=doc_type, since=since,
                                 until=until, warc_dir=warc_dir, pdf=pdf, warn=warn)
        # rename(2) replaces an empty directory, and refuses one somebody filled meanwhile.
        work.replace(final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return manifest


def _write_bundle(store: Store, out: Path, targets: list[dict], *, company, doc_type, since, until,
                  warc_dir, pdf, warn) -> dict:
    """Write the whole bundle into the (new, empty) directory ``out``; return the manifest."""
    (out / "versions").mkdir()
    (out / "warc").mkdir()
    db = store.db
    entries_by_ref = {(e["kind"], e["ref_id"]): e for e in ledger_rows.entries(db)}
    bundle_warc = out / "warc" / "evidence.warc.gz"
    manifest = {"format": FORMAT, "generated_at": now_iso(), "extractor_version": EXTRACTOR_VERSION,
                "company": company, "doc_type": doc_type, "since": since, "until": until,
                "targets": [], "versions": [], "changes": [], "deliveries": []}
    with open(bundle_warc, "wb") as warc_out:
        # A WARC file opens with its warcinfo record (ISO 28500 §6.2); the copied records follow.
        warc_out.write(warcinfo_member(bundle_warc.name, f"policywatch evidence bundle for {company}: "
                                       "the WARC records each version rests on, copied byte for byte"))
        for target in targets:
            manifest["targets"].append({k: target[k] for k in ("id", "company", "doc_type", "url", "select", "remove")})
            for version in store.versions(target["id"]):
                if not in_range(version["first_seen_at"], since, until):
                    continue
                manifest["versions"].append(_export_version(store, version, target, out, warc_out,
                                                            Path(warc_dir), entries_by_ref))
            version_ids = {v["id"] for v in manifest["versions"]}
            for change in store.changes(target["id"]):
                if change["to_version_id"] not in version_ids:
                    continue
                entry = entries_by_ref.get(("change", change["id"]))
                manifest["changes"].append({**with_summary(change), "ledger_seq": entry and entry["seq"]})
                for delivery in evidence_rows.sent_deliveries(db, change["id"]):
                    entry = entries_by_ref.get(("delivery", delivery["id"]))
                    manifest["deliveries"].append({
                        **{k: delivery[k]
                           for k in ("id", "change_id", "subscription_id", "idempotency_key", "sent_at")},
                        "channel": ledger.delivery_channel(db, delivery["subscription_id"]),
                        "recipient": (_bound(entry) or {}).get(
                            "recipient", ledger.delivery_recipient(db, delivery["subscription_id"])),
                        "ledger_seq": entry and entry["seq"]})
            _target_as_bound(manifest)
    manifest["chain"] = _chain_segment(db, manifest)
    own = {target["id"] for target in manifest["targets"]}
    for chain_entry in manifest["chain"]["entries"]:
        if chain_entry.get("target_id") not in own:
            chain_entry["content"] = None  # other companies' entries: only their hashes
    manifest["timestamps"] = _export_timestamps(db, out, manifest["chain"])
    html = _write_report(out, manifest)
    manifest["report_pdf"] = _write_pdf(out, html, pdf, warn)
    manifest["files"] = {str(p.relative_to(out)): _sha256_file(p)
                         for p in sorted(out.rglob("*")) if p.is_file()}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), "utf-8")
    return manifest


def _export_version(store, version, target, out, warc_out, warc_dir, entries_by_ref) -> dict:
    capture = evidence_rows.row(store.db, "captures", version["capture_id"])
    text_file = f"versions/{version['id']}.md"
    (out / text_file).write_text(version["text"], "utf-8")
    warc = None
    if capture["warc_file"]:
        source = warc_dir / capture["warc_file"]
        if not source.exists():
            raise InputError(f"WARC file {source} for version {version['id']} is missing")
        read_records(source, capture["warc_offset"], capture["warc_length"])  # refuse to export a bad record
        with open(source, "rb") as stream:
            stream.seek(capture["warc_offset"])
            data = stream.read(capture["warc_length"])
        warc = {"file": "warc/evidence.warc.gz", "offset": warc_out.tell(), "length": len(data),
                "record_id": capture["warc_record_id"]}
        warc_out.write(data)
    entry = entries_by_ref.get(("version", version["id"]))
    item = {
        **{k: version[k] for k in ledger.VERSION_FIELDS}, "id": version["id"],
        "last_seen_at": version["last_seen_at"], "text_file": text_file,
        "company": target["company"], "doc_type": target["doc_type"],
        "url": target["url"], "select": target["select"], "remove": target["remove"],
        "capture": {k: capture[k] for k in ("id", "fetched_at", "url", "final_url", "status", "content_type")},
        "warc": warc, "ledger_seq": entry and entry["seq"],
    }
    bound = _bound(entry)
    if bound:  # the target as it was when the version was recorded (it may be renamed since)
        item.update({k: bound[k] for k in ("company", "doc_type", "select", "remove")}, url=bound["target_url"])
    return item


def _target_as_bound(manifest: dict) -> None:
    """A target's company, type and URL as its latest exported version's ledger entry bound them."""
    target = manifest["targets"][-1]
    versions = [v for v in manifest["versions"] if v["target_id"] == target["id"]]
    if versions:
        latest = versions[-1]
        target.update(company=latest["company"], doc_type=latest["doc_type"], url=latest["url"],
                      select=latest["select"], remove=latest["remove"])


def _chain_segment(db, manifest) -> dict:
    seqs = [item["ledger_seq"] for key in ("versions", "changes", "deliveries")
            for item in manifest[key] if item.get("ledger_seq")]
    if not seqs:
        return {"entries": [], "anchor_prev_hash": None, "head": None}
    entries = ledger_rows.entries(db, first_seq=min(seqs))
    # Entries of other companies stay in the segment (only their hashes) so the chain is whole.
    return {"entries": entries, "anchor_prev_hash": entries[0]["prev_hash"],
            "head": {"seq": entries[-1]["seq"], "entry_hash": entries[-1]["entry_hash"]}}


def _export_timestamps(db, out: Path, chain: dict) -> list[dict]:
    """The stored RFC 3161 tokens over entries of the segment, written as ``timestamps/<id>.tsr``."""
    if not chain["entries"]:
        return []
    exported = []
    for row in stored_timestamps(db, first_seq=chain["entries"][0]["seq"], last_seq=chain["head"]["seq"]):
        name = f"timestamps/{row['id']}.tsr"
        (out / "timestamps").mkdir(exist_ok=True)
        (out / name).write_bytes(row["token_der"])
        exported.append({**{k: row[k] for k in ("id", "seq", "entry_hash", "tsa_url", "gen_time", "serial",
                                                 "policy", "tsa_name")},
                         "file": name, "sha256": row["token_sha256"]})
    return exported


def earliest_timestamps(manifest: dict) -> dict[int, dict]:
    """For each ledger seq of the bundle's items, the token with the earliest genTime covering it."""
    seqs = {item["ledger_seq"] for key in ("versions", "changes", "deliveries")
            for item in manifest[key] if item.get("ledger_seq")}
    covering = {}
    for seq in seqs:
        tokens = [t for t in manifest.get("timestamps", []) if t["seq"] >= seq]
        if tokens:
            covering[seq] = min(tokens, key=lambda t: t["gen_time"])
    return covering


def render_report(manifest: dict) -> str:
    """report.html for a manifest: what export writes and what ``evidence verify`` re-renders
    (from the manifest as JSON, without the keys written after the report)."""
    data = json.loads(json.dumps({k: v for k, v in manifest.items() if k not in REPORT_FROM}, ensure_ascii=False))
    env = jinja2.Environment(loader=jinja2.PackageLoader("monitor.evidence", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    return env.get_template("evidence_report.html.j2").render(m=data, stamped=earliest_timestamps(data))


def _write_report(out: Path, manifest: dict) -> str:
    html = render_report(manifest)
    (out / "report.html").write_bytes(html.encode("utf-8"))
    return html


def _write_pdf(out: Path, html: str, wanted: bool, warn: Callable[[str], None] | None) -> dict:
    if not wanted:
        return {"file": None, "note": "not requested (--no-pdf)"}
    try:
        renderer = html_to_pdf(html, out / "report.pdf")
    except PdfUnavailable as unavailable:
        if warn:
            warn(f"report.pdf not written: {unavailable}")
        return {"file": None, "note": str(unavailable)}
    return {"file": "report.pdf", "renderer": renderer, "from": "report.html"}
