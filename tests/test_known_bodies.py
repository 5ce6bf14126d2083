"""Identical bytes are extracted once per extractor and selectors; anything else re-extracts."""

import json

from monitor.record import Capture, extraction_key, record_capture
from monitor.store import open_store
from monitor.timeutil import now_iso

PAGE = (b"<html><body><main><h1>Policy</h1><p>We collect your email.</p></main>"
        b"<aside><p>We never sell anything.</p></aside></body></html>")


def capture(target, body=PAGE):
    return Capture(target_id=target["id"], url=target["url"], started_at=now_iso(), status=200,
                   body=body, content_type="text/html; charset=utf-8")


def test_same_bytes_are_recorded_unchanged_from_what_they_extracted_to(tmp_path):
    store = open_store(tmp_path / "db.sqlite")
    target = store.add_target("http://127.0.0.1:9/p", "Acme", select=["main"])
    first = record_capture(store, capture(target))
    again = record_capture(store, capture(store.get_target(target["id"])))
    assert (first.outcome, again.outcome) == ("first-version", "unchanged")
    rows = list(store.db.query("SELECT compare_sha256, extraction_key FROM captures ORDER BY id"))
    version = store.get_version(first.version_id)
    assert rows[0] == rows[1] == {"compare_sha256": version["compare_sha256"],
                                  "extraction_key": extraction_key(store.get_target(target["id"]))}


def test_a_selector_change_makes_the_same_bytes_extract_again(tmp_path):
    store = open_store(tmp_path / "db.sqlite")
    target = store.add_target("http://127.0.0.1:9/p", "Acme", select=["main"])
    record_capture(store, capture(target))
    store.db["targets"].update(target["id"], {"select_css": json.dumps(["body"])})
    widened = record_capture(store, capture(store.get_target(target["id"])))
    assert widened.outcome == "new-version"  # the aside's sentence is now part of the text
    assert "never sell" in store.get_version(widened.version_id)["text"]


def test_other_bytes_with_the_same_text_are_still_extracted(tmp_path):
    store = open_store(tmp_path / "db.sqlite")
    target = store.add_target("http://127.0.0.1:9/p", "Acme", select=["main"])
    record_capture(store, capture(target))
    changed_bytes = PAGE.replace(b"<html>", b"<html><!-- token 8f3a -->")
    assert record_capture(store, capture(store.get_target(target["id"]), changed_bytes)).outcome == "unchanged"
    assert store.db.execute("SELECT count(DISTINCT body_sha256) FROM captures").fetchone()[0] == 2
