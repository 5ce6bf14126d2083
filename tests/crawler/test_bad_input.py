"""Bad input gets one clear line on stderr, a non-zero exit, a captures row, no partial version."""

import sqlite3

import pytest

from tests.sites import Page

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def count(db_path, table):
    with sqlite3.connect(db_path) as connection:
        return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def captures(db_path):
    with sqlite3.connect(db_path) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(r) for r in connection.execute("SELECT * FROM captures ORDER BY id")]


FAILURES = [
    # (page at /p, expected error kind)
    (None, "http-404"),
    (Page(b"oops", status=500), "http-500"),
    (Page(behaviour="reset"), "connection-reset"),
    (Page(behaviour="redirect-loop"), "redirect-loop"),
    (Page(b"<html><body>slow</body></html>", behaviour="slow", delay=4), "timeout"),
    (Page(PNG, headers={"Content-Type": "image/png"}), "extraction"),
    (Page(b"", headers={"Content-Type": "text/html"}), "extraction"),
    (Page(b"<html><body><main><p>x</p></main></body></html>"), None),  # control: succeeds
]


@pytest.fixture(scope="module")
def failed_fetches(tmp_path_factory):
    """One crawl of one target per failure in FAILURES (at /p0, /p1, …), built once: the tests only read it."""
    from tests.conftest import FixtureSite, run_cli
    db_path = tmp_path_factory.mktemp("bad-input") / "policywatch.db"
    env = {"POLICYWATCH_DB": str(db_path)}
    site = FixtureSite().start()
    try:
        for n, (page, _) in enumerate(FAILURES):
            if page is not None:
                site[f"/p{n}"] = page
            run_cli("target", "add", site.url(f"/p{n}"), "--company", f"Acme {n}", env=env, check=0)
        result = run_cli("crawl", "--timeout", "1", env=env)
        listed = run_cli("target", "list", "--json", env=env, check=0).json()
    finally:
        site.stop()
    return db_path, site, result, {target["url"]: target for target in listed}


def test_a_crawl_with_failed_fetches_exits_3(failed_fetches):
    _, _, result, _ = failed_fetches
    assert result.returncode == 3, result


@pytest.mark.parametrize("n,page,kind", [(n, *failure) for n, failure in enumerate(FAILURES) if failure[1]],
                         ids=[k for _, k in FAILURES if k])
def test_fetch_failures_are_recorded_without_versions(failed_fetches, n, page, kind):
    db_path, site, result, listed = failed_fetches
    url = site.url(f"/p{n}")
    [capture] = [c for c in captures(db_path) if c["url"] == url]
    assert capture["outcome"] == "error"
    assert capture["error_kind"] == kind
    with sqlite3.connect(db_path) as connection:
        assert connection.execute("SELECT count(*) FROM versions WHERE target_id = ?",
                                  [capture["target_id"]]).fetchone()[0] == 0
    error_lines = [line for line in result.stderr.splitlines() if url in line]
    assert len(error_lines) == 1 and kind in error_lines[0]
    assert listed[url]["state"] == "failing"
    assert kind in listed[url]["last_error"]


def test_a_fetch_that_works_is_a_first_version_and_exit_0(site, cli, db_path):
    """The control: the same crawl of a working page (on its own: failures would make the exit 3)."""
    [(page, _)] = [failure for failure in FAILURES if failure[1] is None]
    site["/p"] = page
    cli("target", "add", site.url("/p"), "--company", "Acme", check=0)
    result = cli("crawl", "--timeout", "1")
    assert result.returncode == 0, result
    [capture] = captures(db_path)
    assert capture["outcome"] == "first-version"
    assert count(db_path, "versions") == 1


def test_target_turns_broken_after_repeated_failures_and_recovers(site, cli):
    cli("target", "add", site.url("/p"), "--company", "Acme", check=0)
    for _ in range(3):
        cli("crawl", "--all")
    assert cli("target", "list", "--json").json()[0]["state"] == "broken"
    site.html("/p", "<html><body><main><p>Back.</p></main></body></html>")
    cli("crawl", "--all", check=0)
    assert cli("target", "list", "--json").json()[0]["state"] == "ok"


@pytest.mark.parametrize("args,message", [
    (("history", "Nobody"), "no targets for company 'Nobody'"),
    (("show", "99"), "no change with id 99"),
    (("target", "remove", "42"), "no target with id 42"),
    (("extract", "/nonexistent/file.html"), "no such file"),
    (("diff", "/nonexistent/a.md", "/nonexistent/b.md"), "no such file"),
    (("target", "add", "ftp://example.org/x", "--company", "A"), "must start with http"),
    (("target", "add", "http://example.org/x", "--company", "A", "--every", "soon"), "invalid interval"),
    (("crawl", "--company", "Nobody"), "no targets for company"),
])
def test_user_errors_are_one_line_and_non_zero(cli, args, message):
    cli("init", check=0)  # these are errors about what an existing database holds
    result = cli(*args)
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result
    assert "Traceback" not in result.stderr


def test_duplicate_target_is_refused(cli):
    cli("target", "add", "http://127.0.0.1:9/p", "--company", "Acme", check=0)
    result = cli("target", "add", "http://127.0.0.1:9/p", "--company", "Acme", check=1)
    assert "already tracked" in result.stderr


def test_corrupt_database_file(cli, tmp_path):
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not a database" * 100)
    result = cli("target", "list", db=corrupt, check=1)
    assert "corrupt" in result.stderr and str(corrupt) in result.stderr
    assert corrupt.read_bytes() == b"this is not a database" * 100  # nothing overwritten


def test_locked_database(cli, db_path):
    cli("init", check=0)
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = cli("target", "add", "http://127.0.0.1:9/p", "--company", "Acme",
                     env={"POLICYWATCH_BUSY_TIMEOUT_MS": "300"}, check=1)
        assert "locked" in result.stderr
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert cli("target", "list", "--json", check=0).json() == []


def test_init_is_idempotent_and_uses_wal(cli, db_path):
    cli("init", check=0)
    cli("init", check=0)
    with sqlite3.connect(db_path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"targets", "captures", "snapshots", "versions", "changes", "subscriptions", "deliveries"} <= tables


def test_db_path_from_option_overrides_environment(cli, tmp_path):
    other = tmp_path / "other.db"
    result = subprocess_cli_with_option(cli, other)
    assert result.returncode == 0, result
    assert other.exists()


def subprocess_cli_with_option(cli, path):
    # --db comes before the command, as documented; POLICYWATCH_DB (set by the fixture) loses.
    return cli("--db", str(path), "init")


def test_removed_target_keeps_its_history_and_can_be_resumed(site, cli, db_path):
    site.html("/p", "<html><body><main><p>We collect your email.</p></main></body></html>")
    added = cli("target", "add", site.url("/p"), "--company", "Acme", "--json", check=0).json()
    cli("crawl", check=0)
    cli("target", "remove", added["id"], check=0)
    assert cli("target", "list", "--json", check=0).json() == []
    assert cli("crawl", "--all", "--json", check=0).json() == []  # not crawled any more
    assert count(db_path, "versions") == 1
    assert cli("verify").returncode == 0  # the ledger still covers its history
    again = cli("target", "add", site.url("/p"), "--company", "Acme", "--json", check=0).json()
    assert again["id"] == added["id"]
    assert cli("target", "list", "--json", check=0).json()[0]["versions"] == 1
