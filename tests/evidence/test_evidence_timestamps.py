"""RFC 3161 timestamps of the ledger, from a real TSA on 127.0.0.1 (tests/tsa.py), through the CLI."""

import json
import shutil
import sqlite3
import subprocess

import pytest

from monitor import config
from tests.conftest import free_port
from tests.tsa import LocalTSA, make_ca


@pytest.fixture
def tsa(tmp_path):
    """A running timestamp authority with its own test CA (``tsa.ca_pem``)."""
    server = LocalTSA(tmp_path / "tsa").start()
    yield server
    server.stop()


@pytest.fixture
def other_ca(tmp_path):
    """A CA that did not issue the TSA's certificate."""
    from cryptography.hazmat.primitives import serialization
    path = tmp_path / "other-ca.pem"
    path.write_bytes(make_ca("someone else's root")[1].public_bytes(serialization.Encoding.PEM))
    return path


def _rows(db_path, table):
    with sqlite3.connect(db_path) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(row) for row in connection.execute(f"SELECT * FROM {table} ORDER BY id")]


def _head(db_path):
    with sqlite3.connect(db_path) as connection:
        return connection.execute("SELECT seq, entry_hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()


@pytest.fixture
def stamped(crawled, cli, db_path, tsa):
    """The crawled store with one token over its head."""
    cli("ledger", "timestamp", "--tsa", tsa.url, "--tsa-ca", tsa.ca_pem, check=0)
    return db_path


def test_timestamp_covers_the_head_and_verifies(stamped, cli, db_path, tsa):
    seq, entry_hash = _head(db_path)
    [row] = _rows(db_path, "ledger_timestamps")
    assert (row["seq"], row["entry_hash"], row["tsa_url"]) == (seq, entry_hash, tsa.url)
    assert row["tsa_name"] == "CN=policywatch test TSA" and row["gen_time"].endswith("Z")
    assert len(tsa.requests) == 1
    assert tsa.requests[0]["headers"]["Content-Type"] == "application/timestamp-query"

    ok = cli("verify", check=0)
    assert "OK: the ledger verifies; 1 RFC 3161 timestamp(s) verify (signatures only" in ok.stderr
    trusted = cli("verify", "--tsa-ca", tsa.ca_pem, check=0)
    assert f"checked against {tsa.ca_pem}" in trusted.stderr
    trusted_by_env = cli("verify", env={"POLICYWATCH_TSA_CA": str(tsa.ca_pem)}, check=0)
    assert "checked against" in trusted_by_env.stderr

    again = cli("ledger", "timestamp", "--tsa", tsa.url, check=0)
    assert "already timestamped" in again.stderr and len(tsa.requests) == 1
    listed = cli("ledger", "timestamps", "--json", check=0).json()
    assert [t["seq"] for t in listed["timestamps"]] == [seq] and listed["last_failure"] is None


@pytest.mark.skipif(not shutil.which("openssl"), reason="needs the openssl command")
def test_token_verifies_with_openssl(stamped, db_path, tsa, tmp_path):
    """An independent RFC 3161 implementation accepts the stored token over the entry hash."""
    [row] = _rows(db_path, "ledger_timestamps")
    token = tmp_path / "head.tsr"
    token.write_bytes(row["token_der"])
    result = subprocess.run(["openssl", "ts", "-verify", "-in", token, "-digest", row["entry_hash"],
                             "-CAfile", tsa.ca_pem], capture_output=True, text=True, check=False)
    assert "Verification: OK" in result.stdout, result


def test_credentials_are_sent_but_never_stored_or_printed(crawled, cli, db_path, tsa):
    tsa.credentials = ("alice", "s3cret-pass")
    secret_url = tsa.url.replace("http://", "http://alice:s3cret-pass@") + "?apikey=k3y-value"
    wrong = cli("ledger", "timestamp", "--tsa", secret_url.replace("s3cret-pass", "bad-pass"), check=1)
    assert "HTTP 401" in wrong.stderr and "bad-pass" not in wrong.stderr + wrong.stdout
    done = cli("ledger", "timestamp", "--json", env={"POLICYWATCH_TSA_URL": secret_url}, check=0)
    assert tsa.requests[-1]["headers"]["Authorization"].startswith("Basic ")
    shown = f"http://***@127.0.0.1:{tsa.port}/tsa?apikey=***"
    assert done.json()["tsa_url"] == shown
    everything = done.stdout + done.stderr + cli("ledger", "timestamps", check=0).stdout
    with sqlite3.connect(db_path) as connection:
        everything += " ".join(str(row) for table in ("ledger_timestamps", "timestamp_failures")
                               for row in connection.execute(f"SELECT * FROM {table}"))
    assert "s3cret" not in everything and "k3y-value" not in everything and "alice" not in everything


def test_tampered_stored_token_is_named(stamped, cli, db_path):
    with sqlite3.connect(db_path) as connection:
        connection.execute("DROP TRIGGER ledger_timestamps_no_update")  # what an attacker would do first
        token = bytearray(connection.execute("SELECT token_der FROM ledger_timestamps").fetchone()[0])
        token[-10] ^= 0x01  # inside the ECDSA signature, the token's last field
        connection.execute("UPDATE ledger_timestamps SET token_der = ?", [bytes(token)])
    result = cli("verify", check=1)
    assert "BROKEN: timestamp 1 (ledger entry" in result.stderr
    assert "signature does not verify" in result.stderr


def test_timestamps_refuse_edits(stamped, db_path):
    with sqlite3.connect(db_path) as connection, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        connection.execute("DELETE FROM ledger_timestamps")


def test_wrong_ca_fails_verification_and_storage(stamped, cli, db_path, tsa, other_ca):
    result = cli("verify", "--tsa-ca", other_ca, check=1)
    assert "timestamp 1" in result.stderr and "does not chain to the trusted CA" in result.stderr
    # A reply that does not chain to the configured CA is not stored.
    refused = cli("ledger", "timestamp", "--tsa", tsa.url, "--tsa-ca", other_ca, "--force", check=1)
    assert "does not chain to the trusted CA" in refused.stderr
    assert len(_rows(db_path, "ledger_timestamps")) == 1
    assert "does not chain" in _rows(db_path, "timestamp_failures")[-1]["error"]


@pytest.mark.parametrize(("mode", "says"), [
    ("down", "cannot be reached (connection refused)"),
    ("http-500", "answered HTTP 500"),
    ("reject", "refused the request (rejection: policy not supported)"),
    ("garbage", "sent an unusable reply: it is not a readable RFC 3161 token"),
])
def test_tsa_failure_is_one_line_and_stores_no_token(crawled, cli, db_path, tsa, mode, says):
    url = tsa.url
    if mode == "down":
        tsa.stop()
    else:
        tsa.mode = mode
    result = cli("ledger", "timestamp", "--tsa", url, check=1)
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"policywatch: error: timestamp authority {url} {says}"), result
    assert _rows(db_path, "ledger_timestamps") == []
    [failure] = _rows(db_path, "timestamp_failures")
    assert failure["seq"] == _head(db_path)[0] and failure["tsa_url"] == url and says in failure["error"]
    assert cli("verify", check=0).returncode == 0


def test_crawl_hook_timestamps_new_heads_and_never_raises(crawled, db_path, tsa, monkeypatch):
    from monitor.evidence import timestamp_head_if_configured
    from monitor.store import open_store
    store = open_store(db_path)
    warnings = []
    assert timestamp_head_if_configured(store, warn=warnings.append) is None  # off by default
    monkeypatch.setenv("POLICYWATCH_TSA_URL", tsa.url)
    monkeypatch.setenv("POLICYWATCH_TSA_CA", str(tsa.ca_pem))
    config.reload()  # the settings are read once per process (the CLI re-reads them per invocation)
    stamped = timestamp_head_if_configured(store, warn=warnings.append)
    assert stamped and stamped["seq"] == _head(db_path)[0] and stamped["trusted"]
    assert timestamp_head_if_configured(store, warn=warnings.append) is None  # the head has its token
    tsa.stop()
    monkeypatch.setenv("POLICYWATCH_TSA_URL", f"http://127.0.0.1:{free_port()}/tsa")
    config.reload()
    assert timestamp_head_if_configured(store, warn=warnings.append) is None
    assert len(warnings) == 1 and warnings[0].startswith("ledger timestamp skipped: timestamp authority")
    assert len(_rows(db_path, "ledger_timestamps")) == 1
    store.close()


@pytest.fixture
def stamped_bundle(stamped, cli, tmp_path):
    out = tmp_path / "bundle"
    cli("evidence", "export", "--company", "Acme", "--no-pdf", out, check=0)
    return out


def test_bundle_carries_and_verifies_its_tokens(stamped_bundle, cli, db_path, tsa, tmp_path):
    manifest = json.loads((stamped_bundle / "manifest.json").read_text())
    [stamp] = manifest["timestamps"]
    seq, entry_hash = _head(db_path)
    assert (stamp["seq"], stamp["entry_hash"], stamp["file"]) == (seq, entry_hash, "timestamps/1.tsr")
    assert manifest["chain"]["head"]["seq"] == seq  # the token's entry is in the segment
    assert stamp["file"] in manifest["files"]
    report = (stamped_bundle / "report.html").read_text()
    assert "Trusted timestamps (RFC 3161)" in report and f"no later than {stamp['gen_time']}" in report

    moved = tmp_path / "elsewhere"
    shutil.move(stamped_bundle, moved)
    offline = {"db": tmp_path / "absent.db"}
    ok = cli("evidence", "verify", moved, **offline, check=0)
    assert ok.stdout.startswith("OK: 2 versions, 1 changes, 1 deliveries")
    assert "1 RFC 3161 timestamps (signatures only" in ok.stdout
    trusted = cli("evidence", "verify", moved, "--tsa-ca", tsa.ca_pem, **offline, check=0)
    assert f"checked against {tsa.ca_pem}" in trusted.stdout


def test_bundle_token_against_the_wrong_ca_is_named(stamped_bundle, cli, other_ca):
    result = cli("evidence", "verify", stamped_bundle, "--tsa-ca", other_ca, check=2)
    assert result.stdout.startswith("BROKEN: timestamp 1 (timestamps/1.tsr, ledger entry")
    assert "does not chain to the trusted CA" in result.stdout


@pytest.mark.parametrize("where", ["signature", "gen_time", "unsigned version field"])
def test_flipped_token_byte_is_named(stamped_bundle, cli, where):
    path = stamped_bundle / "timestamps" / "1.tsr"
    data = bytearray(path.read_bytes())
    if where == "signature":
        offset = len(data) - 10
    elif where == "gen_time":
        offset = data.index(b"\x18\x0f") + 5  # GeneralizedTime, 15 bytes: a digit of the year
    else:
        offset = 34  # SignedData.version: not signed, so only the manifest's sha256 catches it
        assert data[32:35] == b"\x02\x01\x03"
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    result = cli("evidence", "verify", stamped_bundle, check=2)
    assert result.stdout.startswith("BROKEN: timestamp 1 (timestamps/1.tsr, ledger entry"), result


def test_edited_manifest_timestamp_is_named(stamped_bundle, cli):
    manifest = json.loads((stamped_bundle / "manifest.json").read_text())
    manifest["timestamps"][0]["gen_time"] = "2001-01-01T00:00:00.000000Z"
    (stamped_bundle / "manifest.json").write_text(json.dumps(manifest))
    result = cli("evidence", "verify", stamped_bundle, check=2)
    assert "timestamp 1" in result.stdout and "gen_time" in result.stdout


def test_a_crawl_with_a_tsa_configured_timestamps_its_head(site, cli, db_path, tsa):
    """``crawl`` calls the hook after its outbox: the head it leaves has a token; no TSA, no token."""
    url = site.html("/privacy", "<html><body><main><h1>Policy</h1><p>We collect your email address "
                                "to run the service.</p></main></body></html>")
    cli("target", "add", url, "--company", "Acme", check=0)
    cli("crawl", "--no-notify", check=0)
    assert _rows(db_path, "ledger_timestamps") == []  # off by default
    site.html("/privacy", "<html><body><main><h1>Policy</h1><p>We collect your email address and "
                          "location to run the service.</p></main></body></html>")
    cli("crawl", "--all", "--no-notify", env={"POLICYWATCH_TSA_URL": tsa.url,
                                             "POLICYWATCH_TSA_CA": str(tsa.ca_pem)}, check=0)
    [row] = _rows(db_path, "ledger_timestamps")
    assert (row["seq"], row["entry_hash"]) == tuple(_head(db_path))
    assert "1 RFC 3161 timestamp(s) verify" in cli("verify", "--tsa-ca", tsa.ca_pem, check=0).stderr


@pytest.mark.slow
def test_the_daemon_timestamps_the_head_after_a_tick(site, cli, db_path, tsa):
    """``run`` with a TSA configured: after the tick that recorded versions, the head has a token."""
    import os
    import signal
    import sys

    from tests.conftest import ROOT, wait_for
    from tests.crawler.test_daemon import query
    for n in range(2):
        site.html(f"/p{n}", f"<html><body><main><h1>Policy {n}</h1><p>We collect your email address "
                            f"for account {n}.</p></main></body></html>")
        cli("target", "add", site.url(f"/p{n}"), "--company", f"Company {n}", check=0)
    env = {**os.environ, "POLICYWATCH_DB": str(db_path), "POLICYWATCH_TSA_URL": tsa.url,
           "POLICYWATCH_TSA_CA": str(tsa.ca_pem)}
    daemon = subprocess.Popen([sys.executable, "-m", "monitor.cli.main", "run", "--tick", "0.5", "--no-notify"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: query(db_path, "SELECT count(*) FROM ledger_timestamps")[0][0] == 1)
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=20)
    finally:
        daemon.kill()
    assert daemon.returncode == 0, stderr
    [row] = _rows(db_path, "ledger_timestamps")
    assert (row["seq"], row["entry_hash"]) == tuple(_head(db_path)) and row["seq"] == 2
