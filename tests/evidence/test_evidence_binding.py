"""Issue 17 item 6: a bundle binds what it claims — each tamper, with the manifest re-hashed
after it, fails ``evidence verify`` with one line naming what; an edited ``versions.text`` fails
``policywatch verify``.

One store (a copy of the session's crawled store, ``crawled_template``), timestamped and exported
once for the module (real CLI, real TSA on 127.0.0.1); each test edits a copy of the bundle and
verifies it in-process.
"""

import contextlib
import gzip
import hashlib
import json
import shutil
import sqlite3

import pytest

from monitor.evidence import BundleBroken, verify_bundle
from tests.conftest import run_cli
from tests.tsa import LocalTSA


def _cli(db, *args, check=0):
    return run_cli(*args, env={"POLICYWATCH_DB": str(db)}, check=check)


@pytest.fixture(scope="module")
def made(crawled_template, tmp_path_factory):
    """(database, bundle): two versions, a material change, a sent alert, one token over the head."""
    base = tmp_path_factory.mktemp("binding")
    shutil.copytree(crawled_template, base, dirs_exist_ok=True)
    db = base / "policywatch.db"
    tsa = LocalTSA(base / "tsa").start()
    try:
        _cli(db, "ledger", "timestamp", "--tsa", tsa.url)
        _cli(db, "evidence", "export", "--company", "Acme", "--no-pdf", base / "bundle")
    finally:
        tsa.stop()
    return db, base / "bundle"


@pytest.fixture
def bundle(made, tmp_path):
    copy = tmp_path / "bundle"
    shutil.copytree(made[1], copy)
    return copy


def _manifest(bundle):
    return json.loads((bundle / "manifest.json").read_text())


def _save(bundle, manifest):
    """Write the manifest back with every file's sha256 recomputed, as a forger would."""
    manifest["files"] = {name: hashlib.sha256((bundle / name).read_bytes()).hexdigest()
                         for name in manifest["files"]}
    (bundle / "manifest.json").write_text(json.dumps(manifest))


def _edit(bundle, edit):
    manifest = _manifest(bundle)
    edit(manifest)
    _save(bundle, manifest)


def _broken(bundle) -> str:
    with pytest.raises(BundleBroken) as caught:
        verify_bundle(bundle)
    reason = str(caught.value)
    assert "\n" not in reason
    return reason


def test_untouched_bundle_verifies(bundle):
    counts = verify_bundle(bundle)
    assert counts["versions"] == 2 and counts["deliveries"] == 1 and counts["timestamps"] == 1
    manifest = _manifest(bundle)
    assert manifest["format"] == "policywatch-evidence/2"
    assert all(e["format"] == 2 for e in manifest["chain"]["entries"])


def test_edited_company(bundle):
    def edit(m):
        m["company"] = "Initech"
        m["targets"][0]["company"] = "Initech"
        for version in m["versions"]:
            version["company"] = "Initech"
    _edit(bundle, edit)
    reason = _broken(bundle)
    assert "version 1" in reason and "company" in reason and "'Acme'" in reason


def test_edited_company_of_the_bundle_only(bundle):
    _edit(bundle, lambda m: m.update(company="Initech"))
    assert "company 'Initech'" in _broken(bundle)


def test_edited_url(bundle):
    def edit(m):
        for version in m["versions"]:
            version["capture"]["url"] = version["capture"]["final_url"] = "https://other.example/privacy"
    _edit(bundle, edit)
    reason = _broken(bundle)
    assert "version 1" in reason and "URL" in reason


def test_edited_target_url(bundle):
    _edit(bundle, lambda m: m["targets"][0].update(url="https://other.example/privacy"))
    reason = _broken(bundle)
    assert "target 1" in reason and "URL" in reason


def test_edited_fetch_time(bundle):
    _edit(bundle, lambda m: m["versions"][1]["capture"].update(fetched_at="2001-01-01T00:00:00.000000Z"))
    reason = _broken(bundle)
    assert "version 2" in reason and "fetch time" in reason


def test_edited_http_status(bundle):
    _edit(bundle, lambda m: m["versions"][1]["capture"].update(status=451))
    reason = _broken(bundle)
    assert "version 2" in reason and "HTTP status" in reason


def test_edited_recipient(bundle):
    _edit(bundle, lambda m: m["deliveries"][0].update(recipient="mailto://someone-else@example.org"))
    reason = _broken(bundle)
    assert "delivery 1" in reason and "recipient" in reason


def test_edited_report_html(bundle):
    report = bundle / "report.html"
    report.write_text(report.read_text().replace("material", "minor"))
    _edit(bundle, lambda m: None)
    assert "report.html" in _broken(bundle)


def _rewrite_record(bundle, version_index, old: bytes, new: bytes):
    """Edit a WARC header of one version's records and re-gzip them, fixing every offset."""
    manifest = _manifest(bundle)
    path = bundle / "warc" / "evidence.warc.gz"
    data = path.read_bytes()
    warc = manifest["versions"][version_index]["warc"]
    span = gzip.decompress(data[warc["offset"]: warc["offset"] + warc["length"]])
    assert old in span
    records = [b"WARC/1.1\r\n" + part for part in span.split(b"WARC/1.1\r\n") if part]
    rebuilt = b"".join(gzip.compress(record.replace(old, new)) for record in records)
    path.write_bytes(data[: warc["offset"]] + rebuilt + data[warc["offset"] + warc["length"]:])
    shift = len(rebuilt) - warc["length"]
    for version in manifest["versions"]:
        if version["warc"]["offset"] > warc["offset"]:
            version["warc"]["offset"] += shift
    warc["length"] = len(rebuilt)
    _save(bundle, manifest)
    return manifest["versions"][version_index]


def test_edited_warc_target_uri(bundle):
    version = _manifest(bundle)["versions"][0]
    uri = (version["capture"]["final_url"] or version["capture"]["url"]).encode()
    _rewrite_record(bundle, 0, b"WARC-Target-URI: " + uri, b"WARC-Target-URI: https://other.example/privacy")
    reason = _broken(bundle)
    assert "version 1" in reason and "WARC-Target-URI" in reason


def test_edited_warc_date(bundle):
    _rewrite_record(bundle, 1, b"WARC-Date: 20", b"WARC-Date: 19")
    reason = _broken(bundle)
    assert "version 2" in reason and "WARC-Date" in reason


def test_consistent_truncation_with_a_timestamp(bundle):
    """Drop the last delivery with its ledger entry, the segment cut back and its head moved."""
    def truncate(m):
        dropped = m["deliveries"].pop()
        m["chain"]["entries"] = [e for e in m["chain"]["entries"] if e["seq"] < dropped["ledger_seq"]]
        last = m["chain"]["entries"][-1]
        m["chain"]["head"] = {"seq": last["seq"], "entry_hash": last["entry_hash"]}
    _edit(bundle, truncate)
    reason = _broken(bundle)
    assert "timestamp 1" in reason and "truncated" in reason


def test_item_left_out_but_its_entry_kept(bundle):
    _edit(bundle, lambda m: m["deliveries"].pop())
    reason = _broken(bundle)
    assert "delivery 1" in reason and "removed" in reason


def test_withheld_content_of_an_own_entry(bundle):
    def withhold(m):
        m["deliveries"].pop()
        m["chain"]["entries"][-1]["content"] = None
    _edit(bundle, withhold)
    assert "withheld" in _broken(bundle)


def test_cli_names_the_tamper_in_one_line(made, bundle):
    _edit(bundle, lambda m: m["versions"][1]["capture"].update(status=451))
    result = _cli(made[0], "evidence", "verify", bundle, check=2)
    assert result.stdout.count("\n") == 1 and result.stdout.startswith("BROKEN: version 2: HTTP status")


def test_edited_version_text_fails_store_verify(made, tmp_path):
    db = tmp_path / "copy.db"
    # SQLite's backup, not a file copy: what the in-process commands wrote may still be in the
    # -wal file (their connection is closed by the garbage collector, not by a process exit).
    with contextlib.closing(sqlite3.connect(made[0])) as source, contextlib.closing(sqlite3.connect(db)) as copy:
        source.backup(copy)
    shutil.copytree(made[0].parent / "warc", tmp_path / "warc")
    _cli(db, "verify")
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE versions SET text = text || ' (edited)' WHERE id = 1")
    result = _cli(db, "verify", check=1)
    assert "version 1: its text does not match its text_sha256" in result.stderr


def _v1_append(db, kind, row, recorded_at):
    """The ledger's append as it was before format 2 (an existing database's entries)."""
    from monitor.evidence import ledger
    head = db.execute("SELECT seq, entry_hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (head[0] + 1, head[1]) if head else (1, ledger.GENESIS)
    digest = ledger.content_hash(kind, row)
    entry = {"seq": seq, "kind": kind, "ref_id": row["id"], "content_hash": digest, "recorded_at": recorded_at,
             "prev_hash": prev, "entry_hash": ledger.entry_hash(seq, kind, row["id"], digest, recorded_at, prev)}
    db["ledger"].insert(entry)
    return entry


def test_format_1_entries_still_verify_and_the_chain_goes_on(tmp_path, monkeypatch):
    from monitor.evidence import ledger
    from monitor.record import Capture, record_capture
    from monitor.store import open_store
    from monitor.timeutil import now_iso
    url = "https://acme.example/privacy"
    store = open_store(tmp_path / "old.db")
    target = store.add_target(url, "Acme")
    with monkeypatch.context() as patched:
        patched.setattr(ledger, "append", _v1_append)
        record_capture(store, Capture(target["id"], url, now_iso(), status=200, content_type="text/html",
                                      body=b"<main><h1>Privacy</h1><p>We keep logs for 30 days.</p></main>"))
    record_capture(store, Capture(target["id"], url, now_iso(), status=200, content_type="text/html",
                                  body=b"<main><h1>Privacy</h1><p>We keep logs for 90 days.</p></main>"))
    formats = [row[0] for row in store.db.execute("SELECT format FROM ledger ORDER BY seq")]
    assert formats[0] is None and formats[-1] == 2
    assert ledger.verify_store(store) == []
    store.edit_target(target["id"], company="Acme Holdings")  # as recorded: not an edit of a covered row
    assert ledger.verify_store(store) == []
    store.db.execute("UPDATE captures SET status = 500 WHERE id = 2")
    assert any("status was edited" in p for p in ledger.verify_store(store))
    store.db.execute("UPDATE captures SET status = 200 WHERE id = 2")
    store.db.execute("UPDATE versions SET text = 'We sell everything.' WHERE id = 1")  # a format-1 version
    assert ledger.verify_store(store) == ["version 1: its text does not match its text_sha256 "
                                          "(versions.text was edited)"]
    store.close()
