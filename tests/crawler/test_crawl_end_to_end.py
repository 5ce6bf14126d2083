"""The whole loop through the real CLI: crawl → edit page → crawl → a change with a diff."""

import sqlite3

POLICY = """<!DOCTYPE html><html><head><title>Acme privacy</title></head><body>
<nav><a href="/">Home</a></nav>
<main>
<h1>Acme Privacy Policy</h1>
<p>Last updated: January 5, 2024</p>
<h2>Sharing</h2>
<p>We do not sell your personal data to anyone.</p>
<ul><li>We keep logs for 30 days.</li><li>We use <a href="/cookies?utm_source=x">cookies</a>.</li></ul>
</main>
<footer>© 2024 Acme</footer>
</body></html>"""


def rows(db_path, sql, params=()):
    with sqlite3.connect(db_path) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(row) for row in connection.execute(sql, params)]


def test_crawl_edit_crawl_records_a_classified_change(site, cli, db_path):
    url = site.html("/privacy", POLICY)
    cli("target", "add", url, "--company", "Acme", check=0)

    first = cli("crawl", "--json", check=0)
    assert [c["outcome"] for c in first.json()] == ["first-version"]

    site.html("/privacy", POLICY.replace(
        "We do not sell your personal data to anyone.",
        "We may share your personal data with advertising partners."))
    second = cli("crawl", "--all", "--json", check=0)
    [capture] = second.json()
    assert capture["outcome"] == "new-version"
    assert capture["change_id"] is not None

    [change] = rows(db_path, "SELECT * FROM changes")
    assert change["class"] == "material"
    assert change["severity"] >= 2
    assert "sharing" in change["topics"] or "sale" in change["topics"]
    assert change["direction"] == "expands"

    shown = cli("show", change["id"], check=0)
    assert "material" in shown.stdout
    assert "[-" in shown.stdout and "{+" in shown.stdout  # the word diff, with markers off a tty
    assert "advertising partners" in shown.stdout

    history = cli("history", "Acme", check=0)
    assert f"change {change['id']}" in history.stdout

    listed = cli("target", "list", "--json", check=0).json()
    assert listed[0]["versions"] == 2
    assert {"id", "company", "type", "url", "state", "last_success", "versions", "next_fetch_at"} <= set(listed[0])
    assert listed[0]["state"] == "ok"


def test_date_only_and_link_only_edits_record_no_version(site, cli, db_path):
    url = site.html("/privacy", POLICY)
    cli("target", "add", url, "--company", "Acme", check=0)
    cli("crawl", check=0)
    edited = POLICY.replace("January 5, 2024", "March 9, 2025").replace(
        "/cookies?utm_source=x", "/cookies?utm_source=y&cdn=123")
    site.html("/privacy", edited)
    result = cli("crawl", "--all", "--json", check=0)
    assert [c["outcome"] for c in result.json()] == ["unchanged"]
    assert rows(db_path, "SELECT count(*) AS n FROM versions")[0]["n"] == 1
    assert rows(db_path, "SELECT count(*) AS n FROM captures")[0]["n"] == 2


def test_conditional_get_sends_validators_and_records_not_modified(site, cli, db_path):
    url = site.html("/privacy", POLICY, ETag='"v1"')
    cli("target", "add", url, "--company", "Acme", check=0)
    cli("crawl", check=0)
    result = cli("crawl", "--all", "--json", check=0)
    assert [c["outcome"] for c in result.json()] == ["not-modified"]
    assert site.requests[-1]["headers"].get("If-None-Match") == '"v1"'
    [target] = rows(db_path, "SELECT * FROM targets")
    assert target["etag"] == '"v1"'


def test_schedule_skips_targets_not_due(site, cli):
    url = site.html("/privacy", POLICY)
    cli("target", "add", url, "--company", "Acme", "--every", "6h", check=0)
    cli("crawl", check=0)
    again = cli("crawl", "--json", check=0)
    assert again.json() == []
    assert "no targets are due" in again.stderr


def test_selectors_choose_the_policy_text(site, cli, db_path):
    url = site.html("/privacy", POLICY)
    cli("target", "add", url, "--company", "Acme", "--select", "main", "--remove", "ul", check=0)
    cli("crawl", check=0)
    [version] = rows(db_path, "SELECT text, extractor_version FROM versions")
    assert "# Acme Privacy Policy" in version["text"]
    assert "We do not sell" in version["text"]
    assert "30 days" not in version["text"]
    assert "Home" not in version["text"]
    assert version["extractor_version"]


def test_raw_bodies_are_stored_once_compressed_and_verifiable(site, cli, db_path):
    url = site.html("/privacy", POLICY)
    cli("target", "add", url, "--company", "Acme", check=0)
    cli("crawl", check=0)
    cli("crawl", "--all", check=0)
    snapshots = rows(db_path, "SELECT sha256, size, length(body_zlib) AS stored FROM snapshots")
    assert len(snapshots) == 1
    assert snapshots[0]["size"] == len(POLICY.encode())
    import hashlib
    assert snapshots[0]["sha256"] == hashlib.sha256(POLICY.encode()).hexdigest()
