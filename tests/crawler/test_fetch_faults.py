"""A page server that misbehaves on purpose: bodies too large, bodies cut short.

Each failure must become one capture error of the right kind (``too-large``, ``truncated``),
recorded with its WARC metadata record, never a version; the crawl exits 3 (some fetches failed)
and the good page in the same pass is recorded as usual.
"""

import contextlib
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from crawler.settings import DOWNLOAD_MAXSIZE

GOOD = b"<html><body><main><h1>Privacy</h1><p>We collect your email address to send receipts.</p></main></body></html>"
CHUNK = b"<p>" + b"x" * 65_536 + b"</p>"


class Faulty(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/good":
            self._head(len(GOOD))
            self.wfile.write(GOOD)
        elif self.path == "/announced-too-large":
            # Says it is bigger than DOWNLOAD_MAXSIZE: the crawler must not read it.
            self._head(DOWNLOAD_MAXSIZE + 1)
            self.wfile.write(b"<html><body>" + b"x" * 1024)
            self.close_connection = True
        elif self.path == "/streamed-too-large":
            # No length announced: chunks until past the maximum (the crawler hangs up first).
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            with contextlib.suppress(OSError):
                for _ in range(DOWNLOAD_MAXSIZE // len(CHUNK) + 2):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK))
                self.wfile.write(b"0\r\n\r\n")
            self.close_connection = True
        elif self.path == "/truncated":
            # Announces 20,000 bytes, sends 5,000, hangs up.
            self._head(20_000)
            self.wfile.write(GOOD + b"y" * (5_000 - len(GOOD)))
            self.wfile.flush()
            self.close_connection = True
        else:
            self.send_error(404)

    def _head(self, length):
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(length))
        self.end_headers()


@pytest.fixture
def faulty():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Faulty)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_oversized_and_truncated_bodies_become_capture_errors(faulty, cli, db_path):
    expected = {"/good": None, "/announced-too-large": "too-large", "/truncated": "truncated"}
    for path in expected:
        cli("target", "add", faulty + path, "--company", f"Co {path}", check=0)
    result = cli("crawl", "--no-notify", "--json", "--timeout", "20")
    assert result.returncode == 3, result  # some fetches failed
    by_url = {c["url"].removeprefix(faulty): c for c in result.json()}
    assert by_url["/good"]["outcome"] == "first-version"
    for path, kind in expected.items():
        if kind:
            assert by_url[path]["outcome"] == "error", by_url[path]
            assert by_url[path]["error"].startswith(f"{kind}:"), by_url[path]
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        rows = db.execute("SELECT url, error_kind, version_id, body_sha256, warc_file FROM captures").fetchall()
        states = dict(db.execute("SELECT url, state FROM targets"))
    assert len(rows) == len(expected)
    for url, kind, version_id, body_sha256, warc_file in rows:
        assert kind == expected[url.removeprefix(faulty)]
        assert warc_file  # the failure is archived too (a WARC metadata record)
        if kind:
            assert version_id is None and body_sha256 is None
            assert states[url] == "failing"
    # Each failure is one readable line on stderr, with its target.
    for path, kind in expected.items():
        if kind:
            assert any(path in line and kind in line for line in result.stderr.splitlines()), result.stderr


def test_a_streamed_body_past_the_maximum_is_too_large(faulty, cli, db_path):
    cli("target", "add", faulty + "/streamed-too-large", "--company", "Streamer", check=0)
    result = cli("crawl", "--no-notify", "--json", "--timeout", "20")
    assert result.returncode == 3, result
    [capture] = result.json()
    assert capture["outcome"] == "error"
    assert capture["error"].startswith("too-large:"), capture
