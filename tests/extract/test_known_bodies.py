"""Identical bytes are extracted once per extractor and selectors; anything else re-extracts."""

import json

from monitor.record.recording import Capture, extraction_key, record_capture
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


# -- page skeletons: rotating bytes, same text-bearing markup ---------------------------------
ROTATING = ('<html><head><meta name="csrf-token" content="{t}"><link rel="stylesheet" href="/a.css?v={t}">'
            '<script nonce="{t}">window.build="{t}"</script></head><body><!-- build {t} -->'
            '<main><h1>Policy</h1><p>We collect your email.</p>'
            '<form><input type="hidden" name="csrf" value="{t}"></form></main></body></html>')


def rotating(token, page=ROTATING):
    return page.format(t=token).encode()


def refuse_extraction(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("extracted a page whose skeleton was known")
    monkeypatch.setattr("monitor.extract.extractor._tree_to_markdown", refuse)


def test_rotating_tokens_are_recorded_unchanged_without_extracting(tmp_path, monkeypatch):
    store = open_store(tmp_path / "db.sqlite")
    target = store.add_target("http://127.0.0.1:9/p", "Acme")
    first = record_capture(store, capture(target, rotating("a1")))
    refuse_extraction(monkeypatch)
    again = record_capture(store, capture(store.get_target(target["id"]), rotating("b2")))
    assert (first.outcome, again.outcome) == ("first-version", "unchanged")
    rows = list(store.db.query("SELECT body_sha256, skeleton_sha256 FROM captures ORDER BY id"))
    assert rows[0]["body_sha256"] != rows[1]["body_sha256"]
    assert rows[0]["skeleton_sha256"] == rows[1]["skeleton_sha256"] is not None


def test_a_changed_sentence_with_new_tokens_is_a_new_version(tmp_path):
    store = open_store(tmp_path / "db.sqlite")
    target = store.add_target("http://127.0.0.1:9/p", "Acme")
    record_capture(store, capture(target, rotating("a1")))
    changed = rotating("b2", ROTATING.replace("your email", "your email and location"))
    recorded = record_capture(store, capture(store.get_target(target["id"]), changed))
    assert recorded.outcome == "new-version"
    assert "location" in store.get_version(recorded.version_id)["text"]


def test_a_changed_link_target_or_visible_field_is_extracted_again(tmp_path):
    store = open_store(tmp_path / "db.sqlite")
    target = store.add_target("http://127.0.0.1:9/p", "Acme")
    page = ROTATING.replace("your email", '<a href="/optout">opt out</a>')
    record_capture(store, capture(target, rotating("a1", page)))
    moved = rotating("b2", page.replace("/optout", "/opt-out"))
    skeletons = {row["skeleton_sha256"] for row in store.db.query("SELECT skeleton_sha256 FROM captures")}
    recorded = record_capture(store, capture(store.get_target(target["id"]), moved))
    row = store.db.execute("SELECT skeleton_sha256 FROM captures WHERE id = ?", [recorded.capture_id]).fetchone()
    assert row[0] not in skeletons  # the link target is part of the Markdown: extract again
    visible = rotating("c3", page.replace('type="hidden" name="csrf" value="{t}"', 'type="submit" value="{t}"'))
    record_capture(store, capture(store.get_target(target["id"]), visible))
    again = rotating("d4", page.replace('type="hidden" name="csrf" value="{t}"', 'type="submit" value="{t}"'))
    before = store.db.execute("SELECT skeleton_sha256 FROM captures ORDER BY id DESC LIMIT 1").fetchone()[0]
    record_capture(store, capture(store.get_target(target["id"]), again))
    newest = store.db.execute("SELECT skeleton_sha256 FROM captures ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert newest != before  # only hidden fields' values are ignored


def test_the_same_skeleton_under_another_url_or_selector_is_not_known(tmp_path):
    from monitor.extract.skeleton import page_skeleton
    store = open_store(tmp_path / "db.sqlite")
    target = store.add_target("http://127.0.0.1:9/p", "Acme")
    key = extraction_key(target)
    base = page_skeleton(rotating("a1"), "text/html", "http://127.0.0.1:9/p", key).sha256
    assert page_skeleton(rotating("b2"), "text/html", "http://127.0.0.1:9/p", key).sha256 == base
    assert page_skeleton(rotating("a1"), "text/html", "http://127.0.0.1:9/other", key).sha256 != base
    store.db["targets"].update(target["id"], {"select_css": json.dumps(["main"])})
    other_key = extraction_key(store.get_target(target["id"]))
    assert page_skeleton(rotating("a1"), "text/html", "http://127.0.0.1:9/p", other_key).sha256 != base
    assert page_skeleton(b"%PDF-1.4 ...", "application/pdf", "http://127.0.0.1:9/p", key) is None


# -- WARC revisit records for repeated payloads -------------------------------------------------
def test_an_unchanged_repeat_is_archived_as_a_revisit_of_the_first_response(tmp_path):
    import gzip

    from warcio.archiveiterator import ArchiveIterator

    from monitor.evidence.warc import read_records
    from monitor.record import BatchWriter

    db = tmp_path / "db.sqlite"
    store = open_store(db)
    target = store.add_target("http://127.0.0.1:9/p", "Acme")
    writer = BatchWriter(str(db), str(tmp_path / "warc"), 10 << 20)
    first, again, changed = (writer.record([capture(store.get_target(target["id"]), body)])[0]
                             for body in (PAGE, PAGE, PAGE.replace(b"email", b"email and address")))
    writer.close()
    assert [o.recorded.outcome for o in (first, again, changed)] == ["first-version", "unchanged", "new-version"]
    rows = list(store.db.query("SELECT warc_file, warc_offset, warc_length, warc_record_id, warc_refers_to "
                               "FROM captures ORDER BY id"))
    assert [r["warc_refers_to"] for r in rows] == [None, rows[0]["warc_record_id"], None]
    revisit = read_records(tmp_path / "warc" / rows[1]["warc_file"], rows[1]["warc_offset"], rows[1]["warc_length"])[1]
    assert revisit["type"] == "revisit" and revisit["body"] == b""
    assert rows[1]["warc_length"] < rows[0]["warc_length"] / 2 or len(PAGE) < 1000
    # Any WARC reader sees the revisit pointing at the response with the same payload digest.
    with open(tmp_path / "warc" / rows[0]["warc_file"], "rb") as stream:
        records = {r.rec_headers.get_header("WARC-Record-ID"): r.rec_headers for r in ArchiveIterator(stream)}
    pointer = records[rows[1]["warc_record_id"]]
    original = records[pointer.get_header("WARC-Refers-To")]
    assert original.get_header("WARC-Type") == "response"
    assert pointer.get_header("WARC-Payload-Digest") == original.get_header("WARC-Payload-Digest")
    assert pointer.get_header("WARC-Refers-To-Target-URI") == original.get_header("WARC-Target-URI")
    assert pointer.get_header("WARC-Refers-To-Date") == original.get_header("WARC-Date")
    with gzip.open(tmp_path / "warc" / rows[0]["warc_file"]) as stream:
        assert stream.read().count(b"We collect your email.") == 1  # the payload is stored once
