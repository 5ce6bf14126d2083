"""Proof of notice: WARC captures, the ledger, evidence bundles verified offline."""

import gzip
import json
import shutil
import sqlite3
import subprocess
import sys

import pytest


def test_every_capture_is_in_a_readable_warc(crawled, db_path):
    warc_dir = db_path.parent / "warc"
    files = list(warc_dir.glob("*.warc.gz"))
    assert files
    index = subprocess.run([sys.executable, "-m", "warcio.cli", "index", *map(str, files)],
                           capture_output=True, text=True, check=True).stdout
    types = [json.loads(line)["warc-type"] for line in index.splitlines()]
    # Two captures, and the confirmation re-fetch of the changed page: every fetch is archived.
    assert types == ["warcinfo"] + ["request", "response"] * 3
    with sqlite3.connect(db_path) as connection:
        ids = [r[0] for r in connection.execute("SELECT warc_record_id FROM captures")]
    assert len(ids) == 2 and all(i and i.startswith("<urn:uuid:") for i in ids)


def test_store_ledger_verifies_and_names_an_edited_row(crawled, cli, db_path):
    ok = cli("verify", check=0)
    assert "OK" in ok.stderr
    with sqlite3.connect(db_path) as connection:
        connection.execute("UPDATE changes SET severity = 0")
    broken = cli("verify", check=1)
    assert "change 1" in broken.stderr and "edited" in broken.stderr


def test_store_ledger_refuses_edits_to_itself(crawled, db_path):
    with sqlite3.connect(db_path) as connection, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        connection.execute("UPDATE ledger SET content_hash = 'x' WHERE seq = 1")


def test_store_ledger_detects_a_deleted_version(crawled, cli, db_path):
    with sqlite3.connect(db_path) as connection:
        connection.execute("PRAGMA foreign_keys = OFF")
        connection.execute("DELETE FROM versions WHERE id = 1")
    broken = cli("verify", check=1)
    assert "version 1" in broken.stderr and "deleted" in broken.stderr


@pytest.fixture
def bundle(crawled, cli, tmp_path):
    out = tmp_path / "bundle"
    # The PDF (a browser start) is tested in test_evidence_pdf.py; these tests are about the rest.
    cli("evidence", "export", "--company", "Acme", "--no-pdf", out, check=0)
    return out


def test_bundle_verifies_offline(bundle, cli, tmp_path):
    moved = tmp_path / "elsewhere"
    shutil.move(bundle, moved)  # nothing in it points back at the database or WARC directory
    result = cli("evidence", "verify", moved, db=tmp_path / "absent.db", check=0)
    assert result.stdout.startswith("OK: 2 versions, 1 changes, 1 deliveries")
    report = (moved / "report.html").read_text()
    assert "Acme" in report and "material" in report and "json" in report


def _flip_byte(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def _edit_manifest(bundle, edit):
    manifest = json.loads((bundle / "manifest.json").read_text())
    edit(manifest)
    (bundle / "manifest.json").write_text(json.dumps(manifest))


def test_flipped_warc_byte_is_named(bundle, cli):
    manifest = json.loads((bundle / "manifest.json").read_text())
    warc = manifest["versions"][1]["warc"]
    _flip_byte(bundle / warc["file"], warc["offset"] + warc["length"] - 30)
    result = cli("evidence", "verify", bundle, check=2)
    assert "version 2" in result.stdout and warc["record_id"] in result.stdout


def test_flipped_version_text_is_named(bundle, cli):
    _flip_byte(bundle / "versions" / "1.md", 5)
    result = cli("evidence", "verify", bundle, check=2)
    assert "version 1" in result.stdout and "versions/1.md" in result.stdout


def test_edited_manifest_entry_is_named(bundle, cli):
    _edit_manifest(bundle, lambda m: m["versions"][0].update(first_seen_at="2001-01-01T00:00:00.000000Z"))
    result = cli("evidence", "verify", bundle, check=2)
    assert "version 1" in result.stdout and "manifest entry" in result.stdout


def test_flipped_chain_hash_is_named(bundle, cli):
    def flip(manifest):
        entry = manifest["chain"]["entries"][1]
        entry["entry_hash"] = ("0" if entry["entry_hash"][0] != "0" else "1") + entry["entry_hash"][1:]
    _edit_manifest(bundle, flip)
    result = cli("evidence", "verify", bundle, check=2)
    assert "ledger entry 2" in result.stdout


def test_edited_delivery_row_is_named(bundle, cli):
    _edit_manifest(bundle, lambda m: m["deliveries"][0].update(sent_at="2030-01-01T00:00:00.000000Z"))
    result = cli("evidence", "verify", bundle, check=2)
    assert "delivery 1" in result.stdout


@pytest.mark.slow
def test_killed_writer_leaves_the_warc_readable(tmp_path):
    """A process killed mid-record leaves a torn tail; the next writer cuts it off."""
    from monitor.evidence.warc import WarcFiles, complete_length
    files = WarcFiles(tmp_path / "warc")
    ref = files.write_capture(url="http://127.0.0.1/p", fetched_at=None, request_headers={},
                              status=200, response_headers={"Content-Type": "text/html"}, body=b"<p>one</p>")
    files.close()
    path = tmp_path / "warc" / ref.file
    good = path.stat().st_size
    script = (
        "import os, signal, sys\n"
        "from monitor.evidence.warc import WarcFiles\n"
        "import monitor.evidence.warc as w\n"
        "def torn(descriptor, data, offset):\n"
        "    os.pwrite(descriptor, data[: len(data) // 2], offset)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "w._pwrite_all = torn\n"
        f"WarcFiles({str(tmp_path / 'warc')!r}).write_capture(url='http://127.0.0.1/q', fetched_at=None,"
        " request_headers={}, status=200, response_headers={}, body=b'x' * 5000)\n")
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert killed.returncode == -9
    assert path.stat().st_size > good  # the torn half-record is there
    assert complete_length(path) == good
    WarcFiles(tmp_path / "warc").close()  # a new writer repairs the tail before appending
    assert path.stat().st_size == good
    with gzip.open(path) as stream:
        assert b"<p>one</p>" in stream.read()


def test_warc_files_rotate_by_size_and_start_with_warcinfo(tmp_path):
    from monitor.evidence.warc import WarcFiles, read_records
    files = WarcFiles(tmp_path / "warc", max_bytes=2000)
    refs = [files.write_capture(url=f"http://127.0.0.1/{n}", fetched_at=None, request_headers={},
                                status=200, response_headers={}, body=b"y" * 800) for n in range(4)]
    files.close()
    assert len({ref.file for ref in refs}) >= 2
    for ref in refs:
        records = read_records(tmp_path / "warc" / ref.file, ref.offset, ref.length)
        assert [r["type"] for r in records] == ["request", "response"]
        assert records[1]["id"] == ref.record_id
    first = sorted((tmp_path / "warc").iterdir())[0]
    assert gzip.open(first).read(200).count(b"WARC-Type: warcinfo") == 1
