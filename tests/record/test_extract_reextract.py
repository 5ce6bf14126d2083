"""``policywatch reextract``: rebuild text from stored snapshots as a technical upgrade."""

import json
import sqlite3

from monitor.record import Capture, record_capture
from monitor.store import open_store
from monitor.timeutil import now_iso

PAGE = b"""<html><body><main><h1>Privacy</h1><p>We keep logs for 30 days.</p>
<div class="tagline">Try our app today!</div></main></body></html>"""


def query(db_path, sql):
    with sqlite3.connect(db_path) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(row) for row in connection.execute(sql)]


def test_reextract_records_a_technical_upgrade_that_never_alerts(cli, db_path):
    store = open_store(db_path)
    target = store.add_target("https://acme.example/privacy", "Acme")
    record_capture(store, Capture(target["id"], target["url"], now_iso(), status=200, body=PAGE,
                                  content_type="text/html", final_url=target["url"]))
    store.db["targets"].update(target["id"], {"remove_css": json.dumps([".tagline"])})
    store.close()
    cli("subscribe", "json://127.0.0.1:9/hook", "--class", "any", "--min-severity", "0", check=0)

    result = cli("reextract", "--json", check=0)
    [outcome] = result.json()
    assert outcome["outcome"] == "upgraded"
    versions = query(db_path, "SELECT * FROM versions ORDER BY id")
    assert [v["technical"] for v in versions] == [0, 1]
    assert "Try our app" in versions[0]["text"] and "Try our app" not in versions[1]["text"]
    assert versions[1]["snapshot_sha256"] == versions[0]["snapshot_sha256"]
    [change] = query(db_path, "SELECT * FROM changes")
    assert change["class"] == "noise" and change["classifier"] == "technical-upgrade"
    assert query(db_path, "SELECT * FROM deliveries") == []

    again = cli("reextract", "--target", target["id"], "--json", check=0).json()
    assert again[0]["outcome"] == "unchanged"


def test_an_extractor_upgrade_is_never_reported_as_the_companys_change(db_path):
    """A version made by an older extractor is re-derived (technical) before a new capture is
    compared with it: only the company's own edit is judged, with no `reextract` run first."""
    store = open_store(db_path)
    target = store.add_target("https://acme.example/privacy", "Acme")
    record_capture(store, Capture(target["id"], target["url"], now_iso(), status=200, body=PAGE,
                                  content_type="text/html", final_url=target["url"]))
    # As an older extractor would have stored it: different text, an older version string.
    store.db.execute("UPDATE versions SET text = text || ' Old extractor footer.', extractor_version = 'pw-extract/0'")
    store.db.conn.commit()
    edited = PAGE.replace(b"30 days", b"30 days. We never sell your data")
    record_capture(store, Capture(target["id"], target["url"], now_iso(), status=200, body=edited,
                                  content_type="text/html", final_url=target["url"]))
    store.close()
    versions = query(db_path, "SELECT technical, extractor_version FROM versions ORDER BY id")
    assert [v["technical"] for v in versions] == [0, 1, 0]
    changes = query(db_path, "SELECT classifier, evidence FROM changes ORDER BY id")
    assert changes[0]["classifier"] == "technical-upgrade"
    assert "Old extractor footer" not in changes[1]["evidence"]
    assert "never sell" in changes[1]["evidence"]
