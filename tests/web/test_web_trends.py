"""Technical and backfilled changes in the lists, and the trends page (topics × months), against
the real ``policywatch serve`` on a store recorded through the real paths: ``build_store``'s live
histories, a history backfilled from the Wayback Machine through ``record_capture`` (dated by
the archive, 2025), and a technical re-extraction by ``monitor.record.reextract``."""

import csv
import io
import json
import sqlite3
import urllib.error
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

import feedparser
import pytest

from monitor.record import Capture, record_capture, reextract_target
from monitor.store import open_store
from monitor.store.change_filter import ChangeFilter, next_month, parse_include, parse_month
from monitor.web.trends import month_range
from tests.web.browsing import NEEDS_CHROMIUM, Watched
from tests.web.test_web_app import get, get_json
from tests.web.test_web_data import ACME_V1, ACME_V2, HOSTILE_V2, build_store, serving

BACKFILLED = 'Old <b onmouseover="x">Archive</b> & Co'
ARCHIVED = [(ACME_V1, "2025-03-10T08:00:00Z"), (ACME_V2, "2025-06-01T12:00:00Z"),
            (ACME_V1, "2025-06-20T12:00:00Z"), (HOSTILE_V2, "2025-09-05T00:00:00Z")]


def _backfill(store, target: dict, html: str, archived_at: str):
    return record_capture(store, Capture(
        target_id=target["id"], url=target["url"], started_at=archived_at, fetched_at=archived_at,
        status=200, final_url=target["url"], headers={"content-type": "text/html"},
        body=html.encode(), content_type="text/html", source="wayback", archived_at=archived_at,
        archive_ref=f"https://web.archive.org/web/{archived_at[:10]}/{target['url']}"))


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    db = tmp_path_factory.mktemp("trends") / "policywatch.db"
    ids = build_store(db)
    store = open_store(db)
    archive = store.add_target("https://archive.example/privacy", BACKFILLED)
    ids["backfilled"] = [_backfill(store, archive, html, when).change_id for html, when in ARCHIVED]
    ids["backfilled"] = [change for change in ids["backfilled"] if change]
    # A selector change: the stored capture extracts to another text, a technical version.
    edited = store.edit_target(ids["evil"], select=["p"])
    ids["technical"] = reextract_target(store, edited).change_id
    store.close()
    with serving(db) as base:
        yield base, ids, db


def _api(base: str, query: str = "") -> list[dict]:
    items, url = [], f"{base}/api/changes?limit=2{'&' + query if query else ''}"
    while url:
        _, page = get_json(url)
        items += page["items"]
        url = page["next"]
    return items


def test_the_fixture_has_backfilled_and_technical_changes(web):
    _, ids, _ = web
    assert len(ids["backfilled"]) == 3 and ids["technical"]
    assert min(ids["backfilled"]) > max(ids["changes"])  # recorded last: the highest ids


def test_latest_changes_leave_out_technical_and_backfilled_until_asked(web):
    base, ids, _ = web
    home = get(base + "/")[2].decode()
    for change in ids["backfilled"] + [ids["technical"]]:
        assert f'href="/change/{change}/"' not in home
    assert f'href="/change/{ids["sale_change"]}/"' in home
    assert "Show backfilled changes" in home and "Show technical re-extractions" in home
    assert 'href="/?include=backfilled"' in home and 'href="/?include=technical"' in home

    backfilled = get(base + "/?include=backfilled")[2].decode()
    assert all(f'href="/change/{change}/"' in backfilled for change in ids["backfilled"])
    assert "backfilled from the Wayback Machine, archived 2025-09-05" in backfilled
    assert f'href="/change/{ids["technical"]}/"' not in backfilled
    assert "Hide backfilled changes" in backfilled
    # The filters keep the choice: a hidden field in the form, and in the CSV link.
    assert '<input type="hidden" name="include" value="backfilled">' in backfilled
    assert "/export/changes.csv?include=backfilled" in backfilled
    # Archived dates, not the recording order: the 2025 changes come after every 2026 one.
    rows = [int(part.split("/")[0]) for part in backfilled.split('class="change-link" href="/change/')[1:]]
    assert rows[:len(ids["changes"])] == sorted(ids["changes"], reverse=True)
    assert rows[len(ids["changes"]):] == sorted(ids["backfilled"], reverse=True)

    technical = get(base + "/?include=technical")[2].decode()
    assert f'href="/change/{ids["technical"]}/"' in technical and "technical (re-extraction)" in technical
    everything = get(base + "/?include=all")[2].decode()
    assert all(f'href="/change/{c}/"' in everything for c in ids["backfilled"] + [ids["technical"]])
    # The hostile backfilled company is text.
    assert "Old &lt;b onmouseover=&#34;x&#34;&gt;Archive&lt;/b&gt; &amp; Co" in everything
    assert '<b onmouseover' not in everything


def test_change_and_document_pages_label_them(web):
    base, ids, _ = web
    technical = get(f"{base}/change/{ids['technical']}/")[2].decode()
    assert "technical (re-extraction)" in technical
    backfilled = get(f"{base}/change/{ids['backfilled'][0]}/")[2].decode()
    assert "backfilled from the Wayback Machine, archived 2025-06-01" in backfilled
    timeline = get(f"{base}/document/{ids['evil']}/")[2].decode()
    assert "technical (re-extraction)" in timeline
    company = get(f"{base}/company/old-b-onmouseover-x-archive-b-co/")[2].decode()
    assert all(f'href="/change/{c}/"' in company for c in ids["backfilled"])


def test_api_csv_and_feeds_list_backfilled_history_by_date_without_technical(web):
    base, ids, _ = web
    listed = _api(base)
    assert [c["id"] for c in listed] == sorted(ids["changes"], reverse=True) + sorted(ids["backfilled"], reverse=True)
    assert [c["source"] for c in listed[-3:]] == ["wayback"] * 3
    assert [c["detected_at"] for c in listed] == sorted((c["detected_at"] for c in listed), reverse=True)
    assert {c["id"] for c in _api(base, "include=none")} == set(ids["changes"])
    everything = _api(base, "include=technical,backfilled")
    assert ids["technical"] in {c["id"] for c in everything} and len(everything) == len(listed) + 1
    assert [c["id"] for c in _api(base, "include=all")] == [c["id"] for c in everything]

    rows = list(csv.DictReader(io.StringIO(get(base + "/export/changes.csv")[2].decode())))
    assert [int(r["id"]) for r in rows] == [c["id"] for c in listed]

    feed = feedparser.parse(get(base + "/feeds/all.atom")[2])
    entry_ids = [int(e.link.rstrip("/").rsplit("/", 1)[1]) for e in feed.entries]
    assert entry_ids == [c["id"] for c in listed] and ids["technical"] not in entry_ids
    assert feed.feed.updated == feed.entries[0].updated  # the newest entry, a live one


def _expected_cells(db) -> Counter:
    """Material changes per (topic, month), counted straight from the tables."""
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT c.topics, c.detected_at, t.company FROM changes c JOIN targets t ON t.id = c.target_id "
            "JOIN versions v ON v.id = c.to_version_id WHERE c.class = 'material' AND v.technical = 0").fetchall()
    cells: dict = {}
    for topics, detected_at, company in rows:
        for topic in json.loads(topics):
            cells.setdefault((topic, detected_at[:7]), []).append(company)
    return {key: (len(companies), len(set(companies))) for key, companies in cells.items()}


def test_trends_counts_cells_that_link_to_their_changes(web):
    base, ids, db = web
    now = datetime.now(UTC)
    status, _, body = get(f"{base}/trends.csv?from=2025-01&to={now:%Y-%m}")
    assert status == 200
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    found = {(r["topic"], r["month"]): (int(r["material_changes"]), int(r["companies"]))
             for r in rows if int(r["material_changes"])}
    expected = _expected_cells(db)
    assert found == expected
    assert any(month.startswith("2025") for _, month in expected)  # backfilled history counted
    assert any(month == f"{now:%Y-%m}" for _, month in expected)  # and live changes
    assert len(rows) == 17 * (12 + now.month)  # every topic × every month, empty ones too
    for r in rows:
        if not int(r["material_changes"]):
            assert r["changes_url"] == ""
            continue
        link = urlsplit(r["changes_url"])
        query = dict(parse_qsl(link.query))
        assert link.path == "/" and query["topic"] == r["topic"] and query["month"] == r["month"]
        listed = _api(base, link.query)
        assert len(listed) == int(r["material_changes"])
        assert len({c["company"] for c in listed}) == int(r["companies"])
        assert all(c["class"] == "material" and r["topic"] in c["topics"]
                   and c["detected_at"].startswith(r["month"]) for c in listed)
        page = get(base + link.path + "?" + link.query)[2].decode()
        assert page.count('class="change-link"') == int(r["material_changes"])


def test_trends_page_matches_its_csv_and_escapes(web):
    base, ids, _ = web
    page = get(base + "/trends/?year=2025")[2].decode()
    head = page.split("<thead>")[1].split("</thead>")[0]
    assert "2025-01" in head and "2025-12" in head and "2026-01" not in head
    assert 'href="/?class=material&amp;topic=sale&amp;month=2025-06&amp;include=backfilled"' in page
    assert 'href="/trends.csv?from=2025-01&amp;to=2025-12&amp;include=backfilled"' in page
    rows = list(csv.DictReader(io.StringIO(get(base + "/trends.csv?year=2025")[2].decode())))
    for r in rows:
        if int(r["material_changes"]):
            assert f'>{r["material_changes"]}</a> <span class="companies">({r["companies"]})</span>' in page
    live_only = list(csv.DictReader(io.StringIO(get(base + "/trends.csv?year=2025&include=none")[2].decode())))
    assert all(r["material_changes"] == "0" for r in live_only)  # 2025 is all backfilled
    for hostile in ("/trends/?from=%3Cscript%3Ealert(1)%3C/script%3E&to=%22%3E", "/trends/?year=%3Cb%3E",
                    "/trends/?include=%3Cscript%3E", "/trends.csv?from=9999-99&to=-1"):
        status, _, body = get(base + hostile)
        assert status == 200 and b"<script>alert" not in body and b"<b>" not in body, hostile


def test_the_trends_page_answers_conditional_gets(web):
    base, _, _ = web
    status, headers, _ = get(base + "/trends.csv")
    assert status == 200 and headers["etag"]
    request = urllib.request.Request(base + "/trends.csv", headers={"If-None-Match": headers["etag"]})
    try:
        urllib.request.urlopen(request, timeout=10)
        raise AssertionError("expected a 304")
    except urllib.error.HTTPError as error:
        assert error.code == 304


@pytest.mark.parametrize("params, expected", [
    ({}, ("2025-12", "2026-11")), ({"year": "2024"}, ("2024-01", "2024-12")),
    ({"from": "2026-03", "to": "2025-11"}, ("2025-11", "2026-03")),
    ({"from": "1900-01", "to": "2026-01"}, ("2016-02", "2026-01")),
    ({"from": "<x>", "to": "2026-13", "year": "２０２４"}, ("2025-12", "2026-11")),
])
def test_month_range(params, expected):
    assert month_range(params, datetime(2026, 11, 20, tzinfo=UTC)) == expected


def test_filter_parameters_parse_hostile_values():
    assert parse_month("2026-12") == "2026-12" and parse_month("2026-13") == "" and parse_month(None) == ""
    assert next_month("2026-12") == "2027-01" and next_month("2026-01") == "2026-02"
    assert parse_include(None, frozenset({"backfilled"})) == {"backfilled"}
    assert parse_include("none") == set() and parse_include("all") == {"technical", "backfilled"}
    assert parse_include("technical,<script>") == {"technical"}
    where = ChangeFilter.from_params({"include": "backfilled", "month": "2026-02"})
    assert where.params() == {"month": "2026-02", "include": "backfilled"}
    assert ChangeFilter.from_params({}, frozenset({"backfilled"})).params() == {}
    assert ChangeFilter.from_params({}, frozenset({"backfilled"})).params(explicit=True) == {"include": "backfilled"}


@pytest.mark.slow
@NEEDS_CHROMIUM
def test_a_reader_follows_a_trends_cell_to_its_changes_in_a_browser(web, browser):
    base, ids, _ = web
    page = Watched(browser)
    _follow_a_cell(page, base)
    assert page.csp_violations == [] and page.errors == []
    page.close()


def _follow_a_cell(page, base: str) -> None:
    page.page.goto(base + "/trends/?year=2025")
    cell = page.page.locator('table.trends tr:has(span.topic:text-is("sale")) a').first
    assert cell.inner_text() == "1"
    page.shot("trends-2025")
    cell.click()
    page.page.wait_for_load_state()
    assert "month=2025-06" in page.page.url and "topic=sale" in page.page.url
    links = page.page.locator("a.change-link")
    assert links.count() == 1
    assert "backfilled from the Wayback Machine, archived 2025-06-01" in page.page.content()
    assert page.page.locator("a.company-link").first.inner_text() == BACKFILLED  # text, not markup
    page.shot("trends-cell-changes")
