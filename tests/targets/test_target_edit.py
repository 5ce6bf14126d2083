"""``policywatch target edit`` and selector checks at add/edit/import time (issue 14, item 4).

In-process through click's CliRunner against real SQLite files: no process boundary matters.
"""

import json
import sqlite3

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.record import Capture, record_capture
from monitor.store import open_store
from monitor.timeutil import now_iso

PAGE = b"""<html><body><main><h1>Privacy</h1><p>We keep logs for 30 days.</p>
<div class="promo">Try our app today!</div></main></body></html>"""
URL = "https://acme.example/privacy"


def invoke(db, *args):
    """Run the CLI in-process on ``db``; stderr is kept apart from stdout."""
    return CliRunner().invoke(cli, ["--db", str(db), *map(str, args)], catch_exceptions=False)


def query(db, sql, params=()):
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(row) for row in connection.execute(sql, params)]


def one_error_line(result, message):
    assert result.exit_code == 1, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.output


@pytest.fixture
def watched(tmp_path):
    """A database with one target that has one recorded version, and a subscription to every
    change of any class: anything that alerted would leave a row in ``deliveries``."""
    db = tmp_path / "policywatch.db"
    store = open_store(db)
    target = store.add_target(URL, "Acme", select=["main"])
    record_capture(store, Capture(target["id"], URL, now_iso(), status=200, body=PAGE,
                                  content_type="text/html", final_url=URL))
    store.close()
    assert invoke(db, "subscribe", "json://127.0.0.1:9/hook", "--class", "any", "--min-severity", "0").exit_code == 0
    return db, target["id"]


def test_a_selector_edit_re_derives_the_latest_version_without_an_alert(watched):
    db, target_id = watched
    result = invoke(db, "target", "edit", target_id, "--remove", ".promo", "--json")
    assert result.exit_code == 0, result.output
    edited = json.loads(result.stdout)
    assert edited["remove"] == [".promo"] and edited["select"] == ["main"]
    assert edited["reextract"]["outcome"] == "upgraded"
    assert "technical upgrade: no alert" in result.stderr

    versions = query(db, "SELECT * FROM versions ORDER BY id")
    assert [v["technical"] for v in versions] == [0, 1]
    assert "Try our app" in versions[0]["text"] and "Try our app" not in versions[1]["text"]
    assert versions[1]["snapshot_sha256"] == versions[0]["snapshot_sha256"]  # no fetch: the stored page
    [change] = query(db, "SELECT * FROM changes")
    assert (change["class"], change["classifier"]) == ("noise", "technical-upgrade")
    assert query(db, "SELECT * FROM deliveries") == []  # no outbox row: a technical upgrade never alerts
    assert invoke(db, "verify").exit_code == 0  # the ledger covers the new version

    # Clearing the list (--no-remove) goes back to the first text, again technically.
    cleared = invoke(db, "target", "edit", target_id, "--no-remove")
    assert cleared.exit_code == 0, cleared.output
    assert json.loads(query(db, "SELECT remove_css FROM targets")[0]["remove_css"]) == []
    texts = [v["text"] for v in query(db, "SELECT text FROM versions ORDER BY id")]
    assert len(texts) == 3 and texts[2] == texts[0]
    assert query(db, "SELECT * FROM deliveries") == []


def test_the_same_selectors_again_re_derive_nothing(watched):
    db, target_id = watched
    result = invoke(db, "target", "edit", target_id, "--select", "main")
    assert result.exit_code == 0 and "nothing changed" in result.stderr, result.output
    assert len(query(db, "SELECT id FROM versions")) == 1


def test_selectors_that_match_nothing_in_the_stored_page_are_kept_with_a_warning(watched):
    # The stored page may predate the redesign the new selector is for: the edit stands.
    db, target_id = watched
    result = invoke(db, "target", "edit", target_id, "--select", "article.policy")
    assert result.exit_code == 0, result.output
    assert "warning: the new selectors do not extract the latest stored page" in result.stderr
    assert json.loads(query(db, "SELECT select_css FROM targets")[0]["select_css"]) == ["article.policy"]
    assert len(query(db, "SELECT id FROM versions")) == 1


def test_schedule_company_type_and_render_edits(watched):
    db, target_id = watched
    before = query(db, "SELECT * FROM targets")[0]
    result = invoke(db, "target", "edit", target_id, "--every", "1h", "--company", "Acme [b]Corp",
                    "--type", "Privacy Notice", "--render", "js")
    assert result.exit_code == 0, result.output
    assert "Acme [b]Corp" in result.stderr  # user text printed as given, not as rich markup
    after = query(db, "SELECT * FROM targets")[0]
    assert (after["every_seconds"], after["company"], after["doc_type"], after["render"]) == \
        (3600, "Acme [b]Corp", "Privacy Notice", "js")
    assert after["next_fetch_at"] < before["next_fetch_at"]  # a day away before; within the hour now
    assert len(query(db, "SELECT id FROM versions")) == 1  # nothing to re-derive
    assert invoke(db, "target", "edit", target_id, "--render", "none").exit_code == 0
    assert query(db, "SELECT render FROM targets")[0]["render"] == "plain"


@pytest.mark.parametrize("args,message", [
    (("--select", "div["), "--select: invalid CSS selector 'div['"),
    (("--remove", "main >"), "--remove: invalid CSS selector 'main >'"),
    (("--select", "main", "--no-select"), "--select and --no-select contradict"),
    ((), "nothing to change"),
    (("--every", "soon"), "invalid interval"),
    (("--company", " "), "non-empty --company"),
])
def test_bad_edits_are_one_line_and_write_nothing(watched, args, message):
    db, target_id = watched
    before = query(db, "SELECT * FROM targets")
    one_error_line(invoke(db, "target", "edit", target_id, *args), message)
    assert query(db, "SELECT * FROM targets") == before
    assert len(query(db, "SELECT id FROM versions")) == 1


def test_edit_refuses_an_unknown_target_and_a_type_clash(watched):
    db, target_id = watched
    one_error_line(invoke(db, "target", "edit", 99, "--every", "1h"), "no target with id 99")
    assert invoke(db, "target", "add", URL, "--company", "Acme", "--type", "Terms").exit_code == 0
    one_error_line(invoke(db, "target", "edit", target_id, "--type", "Terms"), "already tracked as 'Terms'")


def test_invalid_css_is_refused_at_add_without_creating_a_database(tmp_path):
    db = tmp_path / "policywatch.db"
    one_error_line(invoke(db, "target", "add", URL, "--company", "Acme", "--select", "main", "--select", "##x"),
                   "--select: invalid CSS selector '##x'")
    assert not db.exists()
    assert invoke(db, "target", "add", URL, "--company", "Acme", "--select", "main:has(p)").exit_code == 0
    one_error_line(invoke(db, "target", "add", URL + "/2", "--company", "Acme", "--remove", "[x"),
                   "--remove: invalid CSS selector")
    assert len(query(db, "SELECT id FROM targets")) == 1


BAD_CATALOGUES = [
    ("select: 'div['", "select: invalid CSS selector 'div['"),
    ("remove: [.ad, 'p:::x']", "remove: invalid CSS selector 'p:::x'"),
    ("select: [{startBefore: '#a'}]", "malformed range selector"),
    ("select: [{startBefore: '#a', endBefore: '#b', endAfter: '#c'}]", "malformed range selector"),
    ("select: [{startBefore: '#a', endBefore: '#b', colour: red}]", "malformed range selector"),
    ("select: [{startBefore: '#a', endBefore: 'p['}]", "invalid CSS selector 'p['"),
]


@pytest.mark.parametrize("bad,message", BAD_CATALOGUES)
def test_an_invalid_selector_anywhere_in_a_catalogue_imports_nothing(tmp_path, bad, message):
    catalogue = tmp_path / "targets.yaml"
    catalogue.write_text("- {company: Good, url: 'https://good.example/privacy', select: main}\n"
                         f"- {{company: Bad, url: 'https://bad.example/privacy', {bad}}}\n")
    db = tmp_path / "policywatch.db"
    result = invoke(db, "target", "import", catalogue)
    one_error_line(result, message)
    assert "Bad / Privacy Policy" in result.stderr  # names the entry
    assert not db.exists()
    # Nor into an existing database: the good entry before the bad one is not added either.
    open_store(db).close()
    one_error_line(invoke(db, "target", "import", catalogue), message)
    assert query(db, "SELECT id FROM targets") == []


def test_a_bad_url_anywhere_in_a_catalogue_imports_nothing(tmp_path):
    catalogue = tmp_path / "targets.yaml"
    catalogue.write_text("- {company: Good, url: 'https://good.example/privacy'}\n"
                         "- {company: Bad, url: 'ftp://bad.example/privacy', every: 6h}\n")
    db = tmp_path / "policywatch.db"
    open_store(db).close()
    one_error_line(invoke(db, "target", "import", catalogue), "must start with http")
    assert query(db, "SELECT id FROM targets") == []
