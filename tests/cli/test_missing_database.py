"""A missing database is an error, not a new empty one (issue 14, item 3).

A mistyped ``--db`` or ``POLICYWATCH_DB`` used to create an empty database and answer "no targets
yet": it looked like lost data. Only the commands that put something in a database may create
one. In-process through click's CliRunner: no process boundary matters here.
"""

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.store import open_store

SAMPLE = "<html><body><main><p>We keep your email.</p></main></body></html>"

# Every command that reads or changes what a database holds, with its required arguments.
NEEDS_A_DATABASE = [
    ("status",), ("status", "--json"), ("crawl",), ("crawl", "--all", "--json"), ("run", "--ticks", "1"),
    ("history", "Acme"), ("show", "1"), ("target", "list"), ("target", "remove", "1"),
    ("target", "edit", "1", "--every", "6h"), ("serve", "--port", "0"),
    ("site", "build", "{tmp}/site", "--base-url", "https://x.example/"), ("verify",),
    ("evidence", "export", "--company", "Acme", "--no-pdf", "{tmp}/bundle"), ("notify",),
    ("maintain",), ("reextract",), ("summaries", "rebuild"), ("ledger", "timestamps"), ("subscriptions",),
    ("unsubscribe", "1"),
]


def invoke(*args, env=None):
    """Run the CLI in-process; stderr is kept apart from stdout."""
    return CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)


def assert_one_line_naming(result, path):
    assert result.exit_code == 1, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"no database at {path}" in lines[0] and "policywatch init" in lines[0], lines[0]


@pytest.mark.parametrize("args", NEEDS_A_DATABASE, ids=" ".join)
def test_a_missing_database_is_one_line_and_non_zero(tmp_path, args):
    missing = tmp_path / "typo" / "policywatch.db"
    result = invoke("--db", missing, *(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert_one_line_naming(result, missing)
    assert not missing.parent.exists()  # not even its folder
    assert not (tmp_path / "site").exists() and not (tmp_path / "bundle").exists()


@pytest.mark.parametrize("args", [("status",), ("target", "list", "--json"), ("history", "Acme")], ids=" ".join)
def test_a_missing_database_from_the_environment_is_named_too(tmp_path, args):
    missing = tmp_path / "policywatch-typo.db"
    result = invoke(*args, env={"POLICYWATCH_DB": str(missing)})
    assert_one_line_naming(result, missing)
    assert result.stdout == ""  # no empty JSON list that a script would take for an answer
    assert not missing.exists()


def test_a_relative_path_is_named_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("--db", "data/polcywatch.db", "target", "list")
    assert_one_line_naming(result, tmp_path / "data" / "polcywatch.db")


def test_the_commands_that_fill_a_database_create_it(tmp_path):
    catalogue = tmp_path / "targets.yaml"
    catalogue.write_text("- {company: Beta, url: 'https://beta.example/privacy'}\n")
    creating = [
        ("init",),
        ("target", "add", "https://acme.example/privacy", "--company", "Acme"),
        ("target", "import", catalogue),
        ("subscribe", "json://127.0.0.1:9/hook"),
    ]
    for number, args in enumerate(creating):
        db = tmp_path / f"new-{number}" / "policywatch.db"
        result = invoke("--db", db, *args)
        assert result.exit_code == 0, (args, result.output)
        assert db.is_file(), args
        # ... and once it exists, the other commands work on it.
        assert invoke("--db", db, "status", "--json").exit_code == 0


def test_an_existing_database_opens_as_before(tmp_path):
    db = tmp_path / "policywatch.db"
    open_store(db).close()
    listed = invoke("--db", db, "target", "list", "--json")
    assert listed.exit_code == 0 and listed.stdout.strip() == "[]"


def test_commands_without_a_database_still_work_without_one(tmp_path):
    missing = tmp_path / "none.db"
    old, new = tmp_path / "old.html", tmp_path / "new.html"
    old.write_text(SAMPLE)
    new.write_text(SAMPLE.replace("email", "email and phone number"))
    for args in [("diff", old, new, "--json"), ("extract", old), ("--help",), ("status", "--help"),
                 ("target", "edit", "--help")]:
        result = invoke("--db", missing, *args)
        assert result.exit_code == 0, (args, result.output)
    assert not missing.exists()
