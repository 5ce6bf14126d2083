"""A small real store for the web tests, and the real ``policywatch serve`` running on it.

The store is built by recording captures through ``monitor.record.recording.record_capture`` (the path
the crawler takes), so every row is what production writes: Acme's policy goes from "we do not
sell" to "we may sell", gets a typo fix, then returns to its first text; a hostile company's
policy carries ``<script>`` and ``javascript:`` links that must render as text.
"""

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from monitor.record import Capture, record_capture
from monitor.store import open_store
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"

ACME_V1 = """<html><body><main><h1>Acme privacy policy</h1>
<p>We collect your email address to run your account.</p>
<p>We do not sell your personal information to anyone.</p>
<p>You can ask us to delete your data by writing to privacy@acme.example.</p>
</main></body></html>"""
ACME_V2 = ACME_V1.replace(
    "We do not sell your personal information to anyone.",
    "We may sell your personal information to our advertising partners.")
ACME_V3 = ACME_V2.replace("You can ask us", "You may ask us")
HOSTILE = """<html><body><main><h1>Policy of &lt;b&gt;Evil&lt;/b&gt;</h1>
<p>Plain text: &lt;script&gt;window.__pwned = 1&lt;/script&gt; and &lt;img src=x onerror="window.__pwned=2"&gt;.</p>
<p>Read <a href="javascript:window.__pwned=3">our terms</a> and we collect your location.</p>
<script>window.__pwned = 4</script>
</main></body></html>"""
HOSTILE_V2 = HOSTILE.replace("we collect your location", "we collect and sell your precise location")


def _record(store, target_id: int, url: str, html: str, when: str):
    return record_capture(store, Capture(
        target_id=target_id, url=url, started_at=when, fetched_at=when, status=200, final_url=url,
        headers={"content-type": "text/html; charset=utf-8"}, body=html.encode("utf-8"),
        content_type="text/html; charset=utf-8"))


def build_store(path: Path) -> dict:
    """Record the histories described in the module docstring; return their ids."""
    store = open_store(path)
    acme = store.add_target("https://acme.example/privacy", "Acme Corp")
    terms = store.add_target("https://acme.example/terms", "Acme Corp", doc_type="Terms of Service")
    evil = store.add_target("https://evil.example/privacy", 'Evil <script>alert("x")</script> Ltd')
    ids = {"acme": acme["id"], "terms": terms["id"], "evil": evil["id"], "changes": []}
    history = [
        (acme, ACME_V1, "2026-01-01T10:00:00.000000Z"),
        (terms, ACME_V1.replace("privacy policy", "terms"), "2026-01-01T10:05:00.000000Z"),
        (evil, HOSTILE, "2026-01-02T10:00:00.000000Z"),
        (acme, ACME_V2, "2026-02-01T10:00:00.000000Z"),
        (acme, ACME_V3, "2026-03-01T10:00:00.000000Z"),
        (evil, HOSTILE_V2, "2026-03-02T10:00:00.000000Z"),
        (acme, ACME_V1, "2026-04-01T10:00:00.000000Z"),
    ]
    for target, html, when in history:
        recorded = _record(store, target["id"], target["url"], html, when)
        if recorded.change_id:
            ids["changes"].append(recorded.change_id)
    ids["sale_change"], ids["typo_change"], ids["evil_change"], ids["return_change"] = ids["changes"]
    store.close()
    return ids


@contextlib.contextmanager
def serving(db_path: Path, *extra: str):
    """Run ``policywatch serve`` (uvicorn) on a free port; yield its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli.main", "--db", str(db_path), "serve", "--port", str(port), *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90  # a loaded machine starts Python slowly
        while True:
            try:
                with urllib.request.urlopen(base + "/", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start: {process.communicate()[1]!r}") from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def test_changes_readable_view_reads_a_change_in_words(tmp_path):
    import sqlite3
    db = tmp_path / "policywatch.db"
    build_store(db)
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT company, document, class, headline, permalink FROM changes_readable "
                                  "WHERE class = 'material' ORDER BY change_id").fetchall()
    assert rows and all(row[3] for row in rows)
    assert rows[0][0] == "Acme Corp" and rows[0][4].startswith("/change/")
