"""Output a person can read: tables and sentences, one-line errors, repeated options that combine
or are refused, literal printing of hostile names. In-process through click's CliRunner against
real SQLite files (the crawls, which start Scrapy's reactor, run the real CLI in a subprocess)."""

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from monitor.cli import cli as policywatch
from monitor.cli.options import RefusingRepeatsMixin
from monitor.store import open_store
from tests.receivers import BASE_POLICY, MATERIAL_POLICY, capture, material_change

HOSTILE_COMPANY = "A [bold]B"
HOSTILE_TITLE = "Page not found [/]"


def run(db_path: Path, *args, code: int | None = 0):
    """``policywatch --db DB ARGS`` in-process; assert the exit code (unless None)."""
    result = CliRunner().invoke(policywatch, ["--db", str(db_path), *map(str, args)], prog_name="policywatch",
                                catch_exceptions=False)
    if code is not None:
        assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    return result


def error_line(result) -> str:
    """The one line a failed command printed on stderr."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture
def store_with_changes(db_path):
    """A store with a material change for a hostile company name and a failing target whose
    error quotes a hostile page title."""
    store = open_store(db_path)
    material_change(store, HOSTILE_COMPANY)
    broken = store.add_target("https://gone.example/privacy", "[/]Gone")
    capture(store, broken, error=f"http-503: {HOSTILE_TITLE}")
    store.close()
    return db_path


def walk(command: click.Command, path=("policywatch",)):
    """Every command and group under ``command``, with its path."""
    yield path, command
    if isinstance(command, click.Group):  # its commands load lazily: ask for each by name
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            yield from walk(command.get_command(ctx, name), (*path, name))


# ---- repeated options -------------------------------------------------------------------------

def test_every_command_refuses_repeats_and_every_json_help_says_what_is_printed():
    for path, command in walk(policywatch):
        assert isinstance(command, RefusingRepeatsMixin), " ".join(path)
        for param in command.params:
            if "--json" in getattr(param, "opts", []):
                help_text = param.help or ""
                assert "JSON" in help_text and len(help_text) > 25, (" ".join(path), help_text)
                assert help_text not in ("Print a JSON list.", "Print the report as JSON."), path


@pytest.mark.parametrize("args,option", [
    (("crawl", "--timeout", "1", "--timeout", "2"), "--timeout"),
    (("evidence", "export", "--company", "A", "--company", "B", "out"), "--company"),
    (("target", "add", "https://a.example/", "--company", "A", "--company", "B"), "--company"),
    (("status", "--json", "--log-format", "json"), None),  # not repeated, for contrast
])
def test_a_repeated_single_value_option_is_refused_in_one_line(db_path, args, option):
    result = run(db_path, *args, code=None)
    if option is None:
        assert "more than once" not in result.stderr
        return
    assert result.exit_code == 2
    line = error_line(result)
    assert f"{option} was given more than once" in line and line.startswith("policywatch: error:")
    assert not db_path.exists()  # refused before anything ran


def test_a_repeated_global_option_is_refused_too(tmp_path):
    result = CliRunner().invoke(policywatch, ["--db", str(tmp_path / "a.db"), "--db", str(tmp_path / "b.db"),
                                              "init"])
    assert result.exit_code == 2
    assert "--db was given more than once" in error_line(result)
    assert not (tmp_path / "a.db").exists() and not (tmp_path / "b.db").exists()


def test_a_repeated_flag_and_counter_are_fine(store_with_changes):
    assert json.loads(run(store_with_changes, "status", "--json", "--json").stdout)["targets"]["total"] == 2
    result = CliRunner().invoke(policywatch, ["-v", "-v", "--db", str(store_with_changes), "status", "--json"])
    assert result.exit_code == 0, result.stderr


def test_usage_errors_are_one_line(db_path):
    line = error_line(run(db_path, "crawl", "--compnay", "A", code=2))
    assert "No such option" in line and "policywatch crawl --help" in line


def test_target_list_and_history_combine_companies(store_with_changes):
    listed = json.loads(run(store_with_changes, "target", "list", "--company", HOSTILE_COMPANY,
                            "--company", "[/]gone", "--json").stdout)
    assert [t["company"] for t in listed] == [HOSTILE_COMPANY, "[/]Gone"]
    history = json.loads(run(store_with_changes, "history", HOSTILE_COMPANY, "[/]Gone", "--json").stdout)
    assert [t["company"] for t in history] == [HOSTILE_COMPANY, "[/]Gone"]
    assert len(history[0]["changes"]) == 1
    unknown = run(store_with_changes, "target", "list", "--company", HOSTILE_COMPANY, "--company", "Nobody",
                  code=1)
    assert "no targets for company 'Nobody'" in error_line(unknown)


# ---- status, maintain, hostile names ----------------------------------------------------------

def test_status_prints_tables_not_dicts_and_json_is_unchanged(store_with_changes):
    report = json.loads(run(store_with_changes, "status", "--json").stdout)
    assert set(report) == {"database", "targets", "failing", "captures_last_24h", "outbox", "healthy"}
    assert report["targets"]["by_state"] == {"ok": 1, "failing": 1}

    human = run(store_with_changes, "status").stdout
    assert "{" not in human and "'" not in human.split("Failing targets")[0]  # no Python reprs
    assert "│ targets" in human and "2 (1 failing, 1 ok)" in human
    assert "captures, last 24 h" in human and "2 first-version" not in human
    assert "Failing targets" in human and "[/]Gone" in human and HOSTILE_TITLE in human
    assert human.rstrip().endswith("healthy")


def test_hostile_names_print_literally_everywhere(store_with_changes):
    listed = run(store_with_changes, "target", "list").stdout
    # (The state column wraps: "failing: http: http-503: Page" / "not found [/]".)
    assert HOSTILE_COMPANY in listed and "[/]Gone" in listed and "not found [/]" in listed
    history = run(store_with_changes, "history", HOSTILE_COMPANY).stdout
    assert f"{HOSTILE_COMPANY} — Privacy Policy" in history and "change 1" in history
    shown = run(store_with_changes, "show", "1").stdout
    assert f"Change 1: {HOSTILE_COMPANY} — Privacy Policy" in shown
    added = run(store_with_changes, "target", "add", "https://x.example/[/]", "--company", "[red]X[/]")
    assert "[red]X[/] — Privacy Policy (https://x.example/[/])" in added.stderr


def test_maintain_prints_one_sentence_per_action_and_json_only_when_asked(store_with_changes):
    store = open_store(store_with_changes)
    target = store.get_target(1)
    capture(store, target, MATERIAL_POLICY)  # unchanged, same bytes: no new snapshot
    with store.transaction():
        store.db.execute("UPDATE captures SET fetched_at = '2001-01-01T00:00:00.000000Z'")
    store.close()
    human = run(store_with_changes, "maintain", "--prune-unchanged-days", "30", "--vacuum")
    assert human.stdout == ""
    sentences = human.stderr.strip().splitlines()
    assert len(sentences) == 3, sentences
    assert sentences[0].startswith(("Deleted ", "No raw snapshot to delete"))
    assert sentences[1].startswith("Checkpointed the WAL and vacuumed the database:")
    assert sentences[2] == "The integrity check found no problem."
    result = json.loads(run(store_with_changes, "maintain", "--vacuum", "--json").stdout)
    assert result["integrity"] == "ok" and result["bytes_after"] > 0
    nothing = run(store_with_changes, "maintain").stderr
    assert nothing.startswith("Nothing to prune or vacuum")


# ---- one-line errors ----------------------------------------------------------------------------

def test_a_malformed_yaml_catalogue_is_one_line_naming_file_and_line(db_path, tmp_path):
    catalogue = tmp_path / "targets.yaml"
    catalogue.write_text("- company: Acme\n  url: https://acme.example/privacy\n"
                         "- {company: Beta, url: https://beta.example/privacy\n"
                         "- company: Gamma\n")
    line = error_line(run(db_path, "target", "import", catalogue, code=1))
    assert f"{catalogue}, line " in line and "not valid YAML" in line


@pytest.mark.parametrize("content", [
    {"name": "acme", "version": "1.0.0"},  # a package.json
    {"select": ".content"},  # no fetch: not a terms object
    {"combine": []},
    ["https://acme.example/privacy"],
])
def test_extract_with_something_that_is_not_a_declaration_is_an_error(db_path, tmp_path, content):
    page = tmp_path / "page.html"
    page.write_text("<html><body><main><p>We collect your email.</p></main></body></html>")
    declaration = tmp_path / "decl.json"
    declaration.write_text(json.dumps(content))
    result = run(db_path, "extract", page, "--declaration", declaration, code=1)
    assert "is not an Open Terms Archive declaration" in error_line(result)
    assert result.stdout == ""


def test_a_failed_evidence_export_leaves_no_half_written_bundle(store_with_changes, tmp_path):
    # The first version's capture says its WARC record is in a file that is gone.
    with sqlite3.connect(store_with_changes) as connection:
        connection.execute("UPDATE captures SET warc_file = 'gone.warc.gz', warc_offset = 0, "
                           "warc_length = 10 WHERE id = 2")
    exports = tmp_path / "exports"
    exports.mkdir()
    out = exports / "bundle"
    result = run(store_with_changes, "evidence", "export", "--company", HOSTILE_COMPANY, "--no-pdf", out,
                 code=1)
    assert "gone.warc.gz" in error_line(result)
    assert list(exports.iterdir()) == []  # neither the bundle nor its work directory
    # An existing empty OUT stays as it was, too.
    out.mkdir()
    run(store_with_changes, "evidence", "export", "--company", HOSTILE_COMPANY, "--no-pdf", out, code=1)
    assert list(exports.iterdir()) == [out] and list(out.iterdir()) == []


def test_a_good_evidence_export_lands_in_out_only(store_with_changes, tmp_path):
    out = tmp_path / "bundle"
    run(store_with_changes, "evidence", "export", "--company", HOSTILE_COMPANY, "--no-pdf", out)
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]
    assert (out / "manifest.json").exists()
    assert oct(out.stat().st_mode & 0o777) == oct(0o777 & ~_umask())
    assert json.loads((out / "manifest.json").read_text())["company"] == HOSTILE_COMPANY


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def test_backfill_that_imports_nothing_exits_non_zero_saying_why(db_path, tmp_path):
    repo = tmp_path / "versions"
    (repo / "Acme").mkdir(parents=True)
    (repo / "Acme" / "Privacy Policy.md").write_text("# Privacy\n\n" + BASE_POLICY)
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "First record of Acme Privacy Policy"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, env=env)
    # No target tracks Acme's document: a warning, and nothing imported.
    result = run(db_path, "backfill", "ota", repo, code=1)
    assert "no target tracks it" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == \
        "policywatch: error: nothing imported: no target tracks these documents (see the warnings above)"
    run(db_path, "target", "add", "https://acme.example/privacy", "--company", "Acme")
    assert "1 version(s) added" in run(db_path, "backfill", "ota", repo).stderr
    # A re-run finds everything already recorded: up to date, not a failure.
    again = run(db_path, "backfill", "ota", repo)
    assert "already recorded" in again.stderr and "error" not in again.stderr


# ---- crawl (a subprocess: Scrapy's reactor runs once per process) -------------------------------

def html(body: str, title: str = "Privacy") -> str:
    return f"<html><head><title>{title}</title></head><body><main><h1>Privacy</h1>{body}</main></body></html>"


def test_crawl_names_the_changed_targets_and_combines_companies(site, cli):
    for path, company in (("/a", HOSTILE_COMPANY), ("/b", "Beta"), ("/c", "Gamma")):
        site.html(path, html(BASE_POLICY, title=HOSTILE_TITLE.replace("not found", "policy")))
        cli("target", "add", site.url(path), "--company", company, check=0)
    first = cli("crawl", check=0)
    assert "changed" not in first.stderr  # first versions are not changes
    for path in ("/a", "/b", "/c"):
        site.html(path, html(MATERIAL_POLICY))
    result = cli("crawl", "--all", "--company", HOSTILE_COMPANY, "--company", "beta", "--json", check=0)
    captures = result.json()  # stdout stays one JSON document
    assert sorted(c["target_id"] for c in captures) == [1, 2]  # both companies, not only the last
    changes = {c["target_id"]: c["change_id"] for c in captures}
    assert "2 target(s) changed (2 material):" in result.stderr
    for target_id, company in ((1, HOSTILE_COMPANY), (2, "Beta")):
        [line] = [line for line in result.stderr.splitlines() if line.startswith(f"  {company} — ")]
        assert f"{company} — Privacy Policy: material · severity 3" in line
        assert f"(change {changes[target_id]}: policywatch show {changes[target_id]})" in line
    assert "Gamma" not in result.stderr


# ---- Chromium's launcher noise ----------------------------------------------------------------

NOISE = "[1201/101010.000000:ERROR:bus.cc(407)] Failed to connect to the bus: NOISE-FROM-LAUNCHER"
JS_PAGE = """<html><head><title>Acme</title></head><body><main><div id="app">Loading</div></main><script>
setTimeout(function () { var p = document.createElement("section"); p.id = "policy";
  p.innerHTML = "<h1>Acme Privacy Policy</h1><p>We keep your messages for 30 days.</p>";
  document.getElementById("app").replaceWith(p); }, 100);
</script></body></html>"""


def launcher(tmp_path: Path, name: str, then: str) -> Path:
    """A Chromium launcher as noisy as Debian's wrapper on a bad day, on stderr and stdout."""
    script = tmp_path / name
    script.write_text(f"#!/bin/sh\necho '{NOISE}' >&2\necho 'NOISE-ON-STDOUT'\n{then}\n")
    script.chmod(0o755)
    return script


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="no Chromium at /usr/bin/chromium")
def test_chromium_launcher_noise_never_reaches_the_terminal(site, cli, db_path, tmp_path):
    noisy = {"POLICYWATCH_CHROMIUM": str(launcher(tmp_path, "noisy", 'exec /usr/bin/chromium "$@"'))}
    broken = {"POLICYWATCH_CHROMIUM": str(launcher(tmp_path, "broken", "exit 1"))}
    catalogue = tmp_path / "targets.yaml"
    catalogue.write_text(f"- {{company: Acme, url: '{site.html('/privacy', JS_PAGE)}', select: '#policy', "
                         "render: js}\n")
    cli("target", "import", catalogue, check=0)

    rendered = cli("crawl", "--json", env=noisy, check=0)
    assert [c["outcome"] for c in rendered.json()] == ["first-version"]
    assert "NOISE" not in rendered.stderr + rendered.stdout

    # A browser that fails to start: its error (with the launcher's stderr) is one line.
    failed = cli("crawl", "--all", env=broken, check=3)
    assert "NOISE" not in failed.stderr + failed.stdout
    [line] = [line for line in failed.stderr.splitlines() if "/privacy" in line]
    assert "target 1" in line
    with sqlite3.connect(db_path) as connection:
        [(error,)] = connection.execute("SELECT error FROM captures WHERE outcome = 'error'").fetchall()
    assert "\n" not in error and "NOISE" not in error

    # The evidence report printed to PDF by the same browser.
    out = tmp_path / "bundle"
    exported = cli("evidence", "export", "--company", "Acme", out, env=noisy, check=0)
    assert "NOISE" not in exported.stderr + exported.stdout
    assert (out / "report.pdf").exists()
