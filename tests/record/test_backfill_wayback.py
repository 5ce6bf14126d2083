"""Backfill from the Wayback Machine against a fixture archive (CDX API + raw captures) on
127.0.0.1, through the real CLI: versions, dates, sources, no alerts, idempotence, retries, and
a backfill killed with SIGKILL that resumes where it stopped."""

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from monitor.record.backfill import ArchiveUnavailable
from monitor.record.backfill.wayback import CdxEntry, WaybackClient, pick
from tests.conftest import ROOT
from tests.web.test_web_data import serving

PAGE = """<!DOCTYPE html><html><head><title>Acme privacy</title></head><body>
<main>
<h1>Acme Privacy Policy</h1>
<h2>Sharing</h2>
<p>{sharing}</p>
<ul><li>We keep logs for {days} days.</li><li>Write to privacy@acme.example to exercise your rights.</li></ul>
</main>
</body></html>"""
V1 = PAGE.format(sharing="We do not sell your personal data to anyone.", days=30)
V1_RESTYLED = V1.replace("<main>", "<main class='v2'>")  # another digest, the same text
V2 = PAGE.format(sharing="We may share your personal data with advertising partners.", days=30)
V3 = PAGE.format(sharing="We may sell your personal data to data brokers.", days=30)


class FixtureArchive:
    """A Wayback-like archive: ``/cdx/search/cdx`` (JSON output, from/to/filter/collapse) and
    ``/web/{timestamp}id_/{url}`` raw captures. ``failures`` answers 503 that many times per
    path; ``hold`` blocks one timestamp's fetch until its event is set."""

    def __init__(self):
        self.captures: list[dict] = []
        self.requests: list[dict] = []
        self.failures: dict[str, int] = {}
        self.hold: dict[str, threading.Event] = {}
        archive = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                archive.requests.append({"path": self.path, "headers": dict(self.headers)})
                try:
                    self._answer()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client was killed mid-request: that is the point of a test

            def _answer(self):
                path = urlsplit(self.path).path
                if archive.failures.get(path, 0) > 0:
                    archive.failures[path] -= 1
                    return self._send(503, b"busy", "text/plain", {"Retry-After": "7"})
                if path == "/cdx/search/cdx":
                    return self._send(200, json.dumps(archive.cdx(parse_qs(urlsplit(self.path).query)))
                                      .encode(), "application/json")
                if path.startswith("/web/"):
                    stamp, _, original = path[len("/web/"):].partition("id_/")
                    if stamp in archive.hold:
                        archive.hold[stamp].wait(30)
                    for capture in archive.captures:
                        if capture["timestamp"] == stamp and capture["original"] == original \
                                and not capture.get("gone"):
                            return self._send(200, capture["body"], "text/html; charset=utf-8")
                self._send(404, b"not archived", "text/plain")

            def _send(self, status, body, content_type, headers=None):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, timestamp: str, original: str, html: str, status: int = 200) -> None:
        body = html.encode("utf-8")
        self.captures.append({"timestamp": timestamp, "original": original, "body": body,
                              "status": status, "digest": hashlib.sha1(body).hexdigest().upper()})

    def cdx(self, query: dict) -> list:
        rows = sorted((c for c in self.captures if c["original"] == query["url"][0]),
                      key=lambda c: c["timestamp"])
        if "from" in query:
            rows = [c for c in rows if c["timestamp"][:4] >= query["from"][0]]
        if "to" in query:
            rows = [c for c in rows if c["timestamp"][:4] <= query["to"][0]]
        if query.get("filter") == ["statuscode:200"]:
            rows = [c for c in rows if c["status"] == 200]
        if query.get("collapse") == ["digest"]:
            rows = [c for i, c in enumerate(rows) if i == 0 or rows[i - 1]["digest"] != c["digest"]]
        fields = query["fl"][0].split(",")
        return [fields] + [[str(c[f] if f != "statuscode" else c["status"]) if f != "mimetype"
                            else "text/html" for f in fields] for c in rows] if rows else []

    def start(self) -> "FixtureArchive":
        self.thread.start()
        return self

    def stop(self) -> None:
        for event in self.hold.values():
            event.set()
        self.server.shutdown()
        self.server.server_close()


URL = "https://acme.example/privacy"


@pytest.fixture
def archive():
    server = FixtureArchive().start()
    server.add("20180301000000", URL, V2)  # before --from 2019
    server.add("20190105101500", URL, V1)
    server.add("20190120000000", URL, V1)  # same digest: collapsed by the CDX server
    server.add("20190210000000", URL, V1_RESTYLED)  # another digest, same text: "unchanged"
    server.add("20190601120000", URL, V2)  # material: sharing
    server.add("20190615000000", URL, V1)  # same month as the one before: not picked
    server.add("20190701000000", URL, "<html><body>404 Not Found</body></html>", status=404)
    server.add("20200301000000", URL, V3)  # retention
    server.add("20210101000000", URL, V1)  # a return to the first text
    yield server
    server.stop()


def rows(db_path, sql, params=()):
    with sqlite3.connect(db_path) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(row) for row in connection.execute(sql, params)]


def env(archive):
    return {"POLICYWATCH_WAYBACK_URL": archive.base, "POLICYWATCH_WAYBACK_DELAY": "0"}


EXPECTED_VERSIONS = [  # (first_seen_at, last_seen_at) of each version, oldest first
    ("2019-01-05T10:15:00.000000Z", "2019-02-10T00:00:00.000000Z"),
    ("2019-06-01T12:00:00.000000Z", "2019-06-01T12:00:00.000000Z"),
    ("2020-03-01T00:00:00.000000Z", "2020-03-01T00:00:00.000000Z"),
    ("2021-01-01T00:00:00.000000Z", "2021-01-01T00:00:00.000000Z"),
]


def test_wayback_backfill_records_dated_history_that_never_alerts(archive, cli, db_path):
    cli("target", "add", URL, "--company", "Acme", check=0)
    cli("subscribe", "json://127.0.0.1:9/hook", "--class", "any", "--min-severity", "0", check=0)
    [before] = rows(db_path, "SELECT * FROM targets")

    result = cli("backfill", "wayback", "1", "--from", "2019", "--json", env=env(archive), check=0)
    [report] = result.json()
    assert [r["outcome"] for r in report["recorded"]] == [
        "first-version", "unchanged", "new-version", "new-version", "returned"]
    assert report["versions_added"] == 4

    versions = rows(db_path, "SELECT * FROM versions ORDER BY id")
    assert [(v["first_seen_at"], v["last_seen_at"]) for v in versions] == EXPECTED_VERSIONS
    assert {v["source"] for v in versions} == {"wayback"}
    assert versions[3]["returns_to_version_id"] == versions[0]["id"]
    captures = rows(db_path, "SELECT * FROM captures ORDER BY id")
    assert {c["source"] for c in captures} == {"wayback"}
    assert captures[0]["archive_ref"] == f"{archive.base}/web/20190105101500id_/{URL}"
    assert captures[0]["url"] == URL

    changes = rows(db_path, "SELECT * FROM changes ORDER BY id")
    assert [c["detected_at"] for c in changes] == [v[0] for v in EXPECTED_VERSIONS[1:]]
    assert [c["class"] for c in changes] == ["material", "material", "noise"]
    assert "sharing" in changes[0]["topics"] or "sale" in changes[0]["topics"]
    assert rows(db_path, "SELECT * FROM deliveries") == []  # history, not news
    [after] = rows(db_path, "SELECT * FROM targets")
    assert (after["state"], after["next_fetch_at"]) == (before["state"], before["next_fetch_at"])
    assert cli("verify", check=0).returncode == 0  # the ledger vouches for the backfill too

    # Politeness: who we are, and the CDX query the issue names.
    [cdx] = [r for r in archive.requests if r["path"].startswith("/cdx/")]
    query = parse_qs(urlsplit(cdx["path"]).query)
    assert query["filter"] == ["statuscode:200"] and query["collapse"] == ["digest"]
    assert query["from"] == ["2019"] and query["url"] == [URL]
    assert all(r["headers"]["User-Agent"].startswith("policywatch/") for r in archive.requests)

    # Twice adds nothing, and fetches no archived page again.
    fetched = len(archive.requests)
    again = cli("backfill", "wayback", URL, "--from", "2019", "--json", env=env(archive), check=0)
    [report] = again.json()
    assert report["recorded"] == [] and report["already_recorded"] == 5
    assert [r["path"] for r in archive.requests[fetched:]] and all(
        r["path"].startswith("/cdx/") for r in archive.requests[fetched:])
    assert len(rows(db_path, "SELECT * FROM versions")) == 4
    assert len(rows(db_path, "SELECT * FROM captures")) == 5


def test_live_capture_continues_backfilled_history_and_blocks_further_backfill(archive, site, cli, db_path):
    url = site.url("/privacy")
    for capture in archive.captures:
        capture["original"] = url
    site.html("/privacy", V2)
    cli("target", "add", url, "--company", "Acme", check=0)
    cli("backfill", "wayback", "1", "--from", "2019", "--to", "2020", env=env(archive), check=0)
    assert [v["source"] for v in rows(db_path, "SELECT source FROM versions ORDER BY id")] == ["wayback"] * 3

    [crawl] = cli("crawl", "--json", check=0).json()
    assert crawl["outcome"] == "returned"  # back to the 2019-06 text, after the 2020 one
    versions = rows(db_path, "SELECT * FROM versions ORDER BY id")
    assert [v["source"] for v in versions] == ["wayback"] * 3 + ["live"]
    assert versions[-1]["first_seen_at"] > "2024"

    refused = cli("backfill", "wayback", "1", env=env(archive))
    assert refused.returncode == 1
    assert "already has 1 live version" in refused.stderr


def test_web_and_feeds_show_the_source(archive, cli, db_path):
    cli("target", "add", URL, "--company", "Acme", check=0)
    cli("backfill", "wayback", "1", "--from", "2019", env=env(archive), check=0)
    with serving(db_path) as base:
        def get(path):
            with urllib.request.urlopen(base + path, timeout=10) as response:
                return response.read().decode()
        timeline = get("/document/1/")
        assert "from the Wayback Machine, archived 2019-01-05" in timeline
        assert "from the Wayback Machine, archived 2021-01-01" in timeline
        assert "from the Wayback Machine, archived 2019-06-01" in get("/change/1/")
        # Latest changes lists live ones; the filter shows the backfilled history, labelled.
        assert "archived 2019-06-01" not in get("/")
        assert "backfilled from the Wayback Machine, archived 2019-06-01" in get("/?include=backfilled")
        assert "Backfilled history from the Wayback Machine, archived 2019-06-01" in get("/feeds/all.atom")
        api = json.loads(get("/api/changes"))
        assert {c["source"] for c in api["items"]} == {"wayback"}


@pytest.mark.slow
def test_killed_backfill_resumes_where_it_stopped(archive, cli, db_path):
    cli("target", "add", URL, "--company", "Acme", check=0)
    archive.hold["20200301000000"] = threading.Event()  # the fourth fetch hangs
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli.main", "--db", str(db_path), "backfill", "wayback", "1",
         "--from", "2019"], cwd=ROOT, env={**os.environ, **env(archive)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not any("20200301000000" in r["path"] for r in archive.requests):
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        archive.hold["20200301000000"].set()
        if process.poll() is None:
            process.kill()
    done = rows(db_path, "SELECT archived_at FROM captures ORDER BY id")
    assert [c["archived_at"][:10] for c in done] == ["2019-01-05", "2019-02-10", "2019-06-01"]

    [report] = cli("backfill", "wayback", "1", "--from", "2019", "--json", env=env(archive), check=0).json()
    assert report["already_recorded"] == 3
    assert [r["outcome"] for r in report["recorded"]] == ["new-version", "returned"]
    versions = rows(db_path, "SELECT * FROM versions ORDER BY id")
    assert [(v["first_seen_at"], v["last_seen_at"]) for v in versions] == EXPECTED_VERSIONS
    assert len(rows(db_path, "SELECT * FROM captures")) == 5
    assert len(rows(db_path, "SELECT * FROM changes")) == 3


def test_max_limits_a_run_and_the_next_run_continues(archive, cli, db_path):
    cli("target", "add", URL, "--company", "Acme", check=0)
    [first] = cli("backfill", "wayback", "1", "--from", "2019", "--max", "2", "--json",
                  env=env(archive), check=0).json()
    assert len(first["recorded"]) == 2 and "--max 2" in first["stopped"]
    [second] = cli("backfill", "wayback", "1", "--from", "2019", "--json", env=env(archive), check=0).json()
    assert len(second["recorded"]) == 3 and second["stopped"] is None
    versions = rows(db_path, "SELECT * FROM versions ORDER BY id")
    assert [(v["first_seen_at"], v["last_seen_at"]) for v in versions] == EXPECTED_VERSIONS


def test_retries_with_backoff_then_stops_and_resumes(archive):
    pauses = []
    client = WaybackClient(archive.base, delay=0, retries=2, backoff=1, sleep=pauses.append)
    archive.failures["/cdx/search/cdx"] = 2
    entries = client.cdx(URL, 2019)
    assert pauses == [7, 7]  # Retry-After wins over a shorter backoff
    assert [e.timestamp for e in entries][:2] == ["20190105101500", "20190210000000"]

    archive.failures[f"/web/20190105101500id_/{URL}"] = 5
    with pytest.raises(ArchiveUnavailable):
        client.fetch(entries[0])
    assert sum(1 for r in archive.requests if "20190105101500id_" in r["path"]) == 3
    client.close()


def test_archive_down_stops_the_run_with_exit_3_and_a_rerun_resumes(archive, cli, db_path):
    cli("target", "add", URL, "--company", "Acme", check=0)
    archive.add("20191201000000", URL, V3)
    archive.captures[-1]["gone"] = True  # listed by the index, but the archive cannot serve it
    archive.failures[f"/web/20190601120000id_/{URL}"] = 100
    stopped = cli("backfill", "wayback", "1", "--from", "2019", "--to", "2019", "--json",
                  env={**env(archive), "POLICYWATCH_WAYBACK_RETRIES": "0"})
    assert stopped.returncode == 3, stopped
    [report] = stopped.json()
    assert report["failed"] and "run again" in report["stopped"]
    assert [r["outcome"] for r in report["recorded"]] == ["first-version", "unchanged"]
    archive.failures.clear()
    [resumed] = cli("backfill", "wayback", "1", "--from", "2019", "--to", "2019", "--json",
                    env=env(archive), check=0).json()
    assert [r["outcome"] for r in resumed["recorded"]] == ["new-version", "error"]
    assert "HTTP 404" in resumed["recorded"][1]["error"]
    [third] = cli("backfill", "wayback", "1", "--from", "2019", "--to", "2019", "--json",
                  env=env(archive), check=0).json()
    assert third["recorded"] == [] and third["already_recorded"] == 4  # the bad copy too
    [target] = rows(db_path, "SELECT * FROM targets")
    assert target["state"] == "new" and target["consecutive_failures"] == 0


@pytest.mark.parametrize("period, expected", [
    ("none", ["20190101", "20190102", "20190201", "20200101"]),
    ("day", ["20190101", "20190102", "20190201", "20200101"]),
    ("month", ["20190101", "20190201", "20200101"]),
    ("year", ["20190101", "20200101"]),
])
def test_pick_keeps_the_first_distinct_capture_of_each_period(period, expected):
    entries = [CdxEntry(f"{day}000000", URL, "200", digest, "text/html") for day, digest in [
        ("20190101", "A"), ("20190102", "B"), ("20190103", "B"), ("20190201", "A"),
        ("20200101", "C")]]
    assert [e.timestamp[:8] for e in pick(entries, period)] == expected
