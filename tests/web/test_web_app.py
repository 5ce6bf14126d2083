"""The web over HTTP: feeds (validated with feedparser), JSON API, CSV, headers, read-only
store and the static site, against the real ``policywatch serve`` and the real CLI."""

import csv
import io
import json
import sqlite3
import urllib.error
import urllib.request

import feedparser
import pytest

from monitor.store.read_model import Queries, fts_query
from monitor.web.feeds import _cell
from tests.web.test_web_data import build_store, serving


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    db = tmp_path_factory.mktemp("webapp") / "policywatch.db"
    return db, build_store(db)


@pytest.fixture(scope="module")
def web(store):
    db, ids = store
    with serving(db, "--base-url", "https://watch.example/pw") as base:
        yield base, ids


def get(url: str):
    """(status, headers, body bytes) without raising on 4xx/5xx."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def get_json(url: str):
    status, _, body = get(url)
    return status, json.loads(body)


@pytest.mark.parametrize("path, expected", [
    ("/feeds/all.atom", 4), ("/feeds/material.atom", 2), ("/feeds/topic/sale.atom", 2),
    ("/feeds/company/acme-corp.atom", 3), ("/feeds/document/1.atom", 3),
])
def test_atom_feeds_are_valid_and_filtered(web, path, expected):
    base, ids = web
    status, headers, body = get(base + path)
    assert status == 200 and headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert len(parsed.entries) == expected
    for entry in parsed.entries:
        # --base-url makes every link absolute and stable.
        assert entry.link.startswith("https://watch.example/pw/change/")
        assert entry.id == entry.link and entry.updated_parsed and entry.title
    assert parsed.feed.links[0].href == "https://watch.example/pw" + path


def test_hostile_text_in_feeds_stays_text(web):
    base, ids = web
    parsed = feedparser.parse(get(base + "/feeds/topic/sensitive-data.atom")[2])
    assert not parsed.bozo
    (entry,) = parsed.entries
    assert entry.title.startswith('Evil <script>alert("x")</script> Ltd')
    assert entry.summary_detail.type == "text/plain"


def test_unknown_feeds_are_404(web):
    base, _ = web
    for path in ("/feeds/topic/nonsense.atom", "/feeds/company/nobody.atom", "/feeds/document/999.atom",
                 "/feeds/document/x.atom", "/feeds/other.atom"):
        assert get(base + path)[0] == 404, path


def test_api_lists_filters_and_pages_changes(web):
    base, ids = web
    status, data = get_json(base + "/api/changes")
    assert status == 200
    assert [c["id"] for c in data["items"]] == sorted(ids["changes"], reverse=True)
    assert data["next"] is None
    _, material = get_json(base + "/api/changes?class=material&severity=3")
    assert {c["id"] for c in material["items"]} == {ids["sale_change"], ids["evil_change"]}
    _, sale_at_acme = get_json(base + "/api/changes?topic=sale&company=Acme+Corp")
    assert [c["id"] for c in sale_at_acme["items"]] == [ids["sale_change"]]
    assert sale_at_acme["items"][0]["permalink"] == f"https://watch.example/pw/change/{ids['sale_change']}/"

    seen, url = [], base + "/api/changes?limit=1"
    while url:
        _, page = get_json(url.replace("https://watch.example/pw", base))
        seen += [c["id"] for c in page["items"]]
        url = page["next"]
    assert seen == sorted(ids["changes"], reverse=True)


def test_api_change_document_version_compare_search(web):
    base, ids = web
    _, change = get_json(f"{base}/api/changes/{ids['sale_change']}")
    assert change["class"] == "material" and "sale" in change["topics"]
    assert any(e["rule"] == "negation-removed" for e in change["evidence"])
    assert change["hunks"] and change["old"]["snapshot_sha256"] and change["new"]["capture"]["body_sha256"]
    assert change["next_change_id"] == ids["typo_change"] and change["previous_change_id"] is None

    _, company = get_json(base + "/api/companies/acme-corp")
    assert [d["doc_type"] for d in company["documents"]] == ["Privacy Policy", "Terms of Service"]
    _, document = get_json(f"{base}/api/documents/{ids['acme']}")
    assert len(document["versions"]) == 4 and document["versions"][0]["returns_to_version_id"]
    _, version = get_json(f"{base}/api/versions/{change['new']['id']}")
    assert "We may sell" in version["text"]
    _, compared = get_json(f"{base}/api/compare?a={change['new']['id']}&b={change['old']['id']}")
    assert compared["old"]["id"] == change["old"]["id"] and compared["hunks"]
    _, found = get_json(base + "/api/search?q=sell+advertising&scope=current")
    assert found["items"] == []  # the current Acme text no longer sells
    _, found = get_json(base + "/api/search?q=sell+advertising")
    assert {r["target_id"] for r in found["items"]} == {ids["acme"]}
    assert "\ue000" in found["items"][0]["snippet_marked"] and "\ue000" not in found["items"][0]["snippet"]
    assert get_json(base + "/api/changes/999")[0] == 404
    assert get_json(base + "/api/compare?a=1")[0] == 400


def test_csv_export(web):
    base, ids = web
    status, headers, body = get(base + "/export/changes.csv?class=material")
    assert status == 200 and headers["content-type"].startswith("text/csv")
    assert "attachment" in headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
    assert {int(r["id"]) for r in rows} == {ids["sale_change"], ids["evil_change"]}
    assert all(r["class"] == "material" and r["permalink"].startswith("https://watch.example/pw/")
               for r in rows)


def test_csv_cells_cannot_become_formulas():
    assert _cell("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert _cell("@SUM(1)") == "'@SUM(1)" and _cell("Acme") == "Acme" and _cell(None) == ""


def test_every_response_carries_the_security_headers(web):
    base, ids = web
    for path in ("/", "/companies/", f"/change/{ids['sale_change']}/", "/search/?q=x", "/api/changes",
                 "/feeds/all.atom", "/nope", "/static/app.js"):
        _, headers, _ = get(base + path)
        csp = headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp, path
        assert "unsafe-inline" not in csp and headers["x-content-type-options"] == "nosniff"


def test_raw_capture_is_a_sandboxed_plain_text_download(web):
    base, ids = web
    _, change = get_json(f"{base}/api/changes/{ids['evil_change']}")
    status, headers, body = get(f"{base}/capture/{change['new']['capture_id']}/raw")
    assert status == 200 and b"<script>window.__pwned = 4</script>" in body
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert headers["content-disposition"].startswith("attachment;")
    assert headers["content-security-policy"].startswith("sandbox")
    assert headers["x-policywatch-sha256"] == change["new"]["capture"]["body_sha256"]


def test_pages_render_and_missing_things_are_404(web):
    base, ids = web
    for path in ("/", "/?class=material&topic=sale&severity=2&company=acme", "/?before=3", "/companies/?letter=A",
                 "/companies/?letter=%23", "/company/acme-corp/", f"/document/{ids['acme']}/?page=1",
                 "/version/1/", "/search/?q=", "/search/?q=%22%22%22"):
        assert get(base + path)[0] == 200, path
    for path in ("/change/999/", "/document/999/", "/company/nobody/", "/version/999/", "/capture/999/raw"):
        assert get(base + path)[0] == 404, path
    assert get(base + "/compare/")[0] == 400


def test_the_web_cannot_write_the_store(store):
    db, _ = store
    queries = Queries(db)
    with pytest.raises(sqlite3.OperationalError):
        queries.conn.execute("DELETE FROM changes")


def test_search_input_is_quoted_for_fts5():
    assert fts_query('sell "precise location" AND (') == '"sell" "precise location" "AND"'
    assert fts_query('"" * -') == ""


def test_static_site_build(store, cli, tmp_path):
    db, ids = store
    out = tmp_path / "site"
    cli("--db", db, "site", "build", out, "--base-url", "https://static.example/pw", check=0)
    home = (out / "index.html").read_text()
    assert f'href="/pw/change/{ids["sale_change"]}/"' in home and "/search/" not in home
    for path in (f"change/{ids['evil_change']}/index.html", f"document/{ids['acme']}/index.html",
                 "company/acme-corp/index.html", "companies/index.html", "companies/A/index.html",
                 "version/1/index.html", "capture/1.txt", "export/changes.csv", "static/style.css",
                 "404.html"):
        assert (out / path).is_file(), path
    evil = (out / f"change/{ids['evil_change']}/index.html").read_text()
    assert "<script>window" not in evil and "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in evil
    for feed in ("feeds/all.atom", "feeds/material.atom", "feeds/topic/sale.atom",
                 "feeds/company/acme-corp.atom", f"feeds/document/{ids['acme']}.atom"):
        parsed = feedparser.parse((out / feed).read_bytes())
        assert not parsed.bozo and parsed.entries, feed
        assert parsed.entries[0].link.startswith("https://static.example/pw/change/")


def test_health_endpoint_reports_the_store(web):
    base, _ = web
    status, data = get_json(base + "/health")
    assert data["targets"]["total"] >= 2
    assert {"by_state", "due_now", "last_success_at"} <= set(data["targets"])
    assert "backlog" in data["outbox"] and data["database"]["bytes"] > 0
    assert status == (200 if data["healthy"] else 503)
    assert "apprise_url" not in json.dumps(data)


def _conditional_get(url: str, **headers):
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.mark.parametrize("path", ["/feeds/all.atom", "/api/changes", "/export/changes.csv"])
def test_feeds_api_and_csv_answer_conditional_gets_with_304(web, path):
    base, _ = web
    status, headers, body = get(base + path)
    assert status == 200 and body and headers["etag"]
    status, again, body = _conditional_get(base + path, **{"If-None-Match": headers["etag"]})
    assert status == 304 and body == b"" and again["etag"] == headers["etag"]
    status, _, body = _conditional_get(base + path, **{"If-None-Match": '"something-else"'})
    assert status == 200 and body
    if headers.get("last-modified"):
        status, _, _ = _conditional_get(base + path, **{"If-Modified-Since": headers["last-modified"]})
        assert status == 304


def test_feed_updated_is_its_newest_entry(web):
    base, _ = web
    _, _, body = get(base + "/feeds/all.atom")
    parsed = feedparser.parse(body)
    assert parsed.feed.updated == max(entry.updated for entry in parsed.entries)
