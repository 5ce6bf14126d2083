"""Backfill from an Open Terms Archive versions repository, built here as a real git repository
in OTA's layout (``<Service>/<Terms type>.md``, one commit per version), through the real CLI."""

import os
import sqlite3
import subprocess

import pytest

DOC = """# Acme Privacy Policy

## Sharing

{sharing}

- We keep logs for 30 days.
- Write to privacy@acme.example to exercise your rights.
"""
CONTACT = "\n## Contact\n\nAcme Inc., 1 Main Street, Springfield.\n"
V1 = DOC.format(sharing="We do not sell your personal data to anyone.")
# OTA re-extracted the same snapshot with a better declaration: a section it had missed.
V1_UPGRADED = V1.replace("# Acme Privacy Policy", "Acme Privacy Policy\n===================") + CONTACT
V2 = DOC.format(sharing="We may share your personal data with advertising partners.") + CONTACT

HISTORY = [  # (file, text, date, subject)
    ("Acme/Privacy Policy.md", V1, "2019-03-04T05:06:07+02:00", "First record of Acme Privacy Policy"),
    ("Acme/Terms of Service.md", "# Terms\n\nBe nice.\n", "2019-03-05T00:00:00Z",
     "First record of Acme Terms of Service"),
    ("Acme/Privacy Policy.md", V1_UPGRADED, "2020-01-01T00:00:00Z",
     "Apply technical or declaration upgrade on Acme Privacy Policy"),
    ("Acme/Privacy Policy.md", V2, "2021-07-08T09:10:11Z", "Record new changes of Acme Privacy Policy"),
    ("Other/Privacy Policy.md", V1.replace("Acme", "Other"), "2022-01-01T00:00:00Z",
     "Start tracking Other Privacy Policy"),
    ("Acme/Privacy Policy.md", V1, "2022-02-02T00:00:00Z", "Record new changes of Acme Privacy Policy"),
]


def git(repo, *args, date=None):
    environment = {**os.environ, "GIT_AUTHOR_NAME": "OTA-Bot", "GIT_AUTHOR_EMAIL": "bot@ota.example",
                   "GIT_COMMITTER_NAME": "OTA-Bot", "GIT_COMMITTER_EMAIL": "bot@ota.example",
                   "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    if date:
        # OTA dates a version by its fetch; the commit itself is made later.
        environment.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE="2024-05-05T00:00:00Z")
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=environment)


@pytest.fixture
def versions_repo(tmp_path):
    repo = tmp_path / "demo-versions"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("# Demo versions\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "Initial commit", date="2019-01-01T00:00:00Z")
    for path, text, date, subject in HISTORY:
        (repo / path).parent.mkdir(exist_ok=True)
        (repo / path).write_text(text)
        git(repo, "add", path)
        git(repo, "commit", "-q", "-m", subject, date=date)
    return repo


def rows(db_path, sql, params=()):
    with sqlite3.connect(db_path) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(row) for row in connection.execute(sql, params)]


def commit_of(repo, subject):
    return subprocess.run(["git", "-C", str(repo), "log", "--format=%H", f"--grep={subject}", "-F"],
                          check=True, capture_output=True, text=True).stdout.split()


def test_ota_backfill_imports_versions_with_commit_dates_and_never_alerts(versions_repo, cli, db_path):
    cli("target", "add", "https://acme.example/privacy", "--company", "acme", check=0)
    cli("subscribe", "json://127.0.0.1:9/hook", "--class", "any", "--min-severity", "0", check=0)

    result = cli("backfill", "ota", versions_repo, "--service", "Acme", "--json", check=0)
    reports = result.json()
    # Terms of Service has no target: skipped with a warning that says how to add one.
    assert "Terms of Service: no target tracks it" in result.stderr
    [report] = [r for r in reports if r["target_id"]]
    assert [r["outcome"] for r in report["recorded"]] == [
        "first-version", "new-version", "new-version", "returned"]

    versions = rows(db_path, "SELECT * FROM versions ORDER BY id")
    assert [v["first_seen_at"] for v in versions] == [
        "2019-03-04T03:06:07.000000Z", "2020-01-01T00:00:00.000000Z", "2021-07-08T09:10:11.000000Z",
        "2022-02-02T00:00:00.000000Z"]
    assert {v["source"] for v in versions} == {"ota"}
    # The technical upgrade is a technical version: the next version is compared with it.
    assert [v["technical"] for v in versions] == [0, 1, 0, 0]
    captures = rows(db_path, "SELECT * FROM captures ORDER BY id")
    assert {c["source"] for c in captures} == {"ota"}
    assert [c["archive_ref"] for c in captures] == [
        *commit_of(versions_repo, "First record of Acme Privacy Policy"),
        *commit_of(versions_repo, "Apply technical or declaration upgrade"),
        *reversed(commit_of(versions_repo, "Record new changes of Acme Privacy Policy"))]

    changes = rows(db_path, "SELECT * FROM changes ORDER BY id")
    assert [c["detected_at"] for c in changes] == [v["first_seen_at"] for v in versions[1:]]
    assert [(c["class"], c["classifier"]) for c in changes] == [
        ("noise", "technical-upgrade"), ("material", "rules"), ("noise", "rules")]
    # Compared with the upgraded text, the new version only changed its sharing sentence.
    assert "Contact" not in changes[1]["evidence"]
    assert rows(db_path, "SELECT * FROM deliveries") == []
    assert cli("verify", check=0).returncode == 0

    # Twice adds nothing.
    again = cli("backfill", "ota", versions_repo, "--service", "acme", "--type", "Privacy Policy",
                "--json", check=0).json()
    assert again[0]["recorded"] == [] and again[0]["already_recorded"] == 4
    assert len(rows(db_path, "SELECT * FROM captures")) == 4


def test_ota_backfill_can_create_the_target_with_url(versions_repo, cli, db_path):
    result = cli("backfill", "ota", versions_repo, "--service", "Other", "--type", "Privacy Policy",
                 "--url", "https://other.example/privacy", "--json", check=0)
    [report] = result.json()
    assert [r["outcome"] for r in report["recorded"]] == ["first-version"]
    [target] = rows(db_path, "SELECT * FROM targets")
    assert (target["company"], target["doc_type"], target["url"]) == (
        "Other", "Privacy Policy", "https://other.example/privacy")
    [version] = rows(db_path, "SELECT * FROM versions")
    assert version["first_seen_at"] == "2022-01-01T00:00:00.000000Z" and version["source"] == "ota"


def test_ota_backfill_refuses_what_it_cannot_use(versions_repo, tmp_path, cli):
    not_a_repo = tmp_path / "plain"
    not_a_repo.mkdir()
    refused = cli("backfill", "ota", not_a_repo)
    assert refused.returncode == 1 and "not a git repository" in refused.stderr
    unknown = cli("backfill", "ota", versions_repo, "--service", "Nobody")
    assert unknown.returncode == 1 and "holds no <Service>/<Terms type>.md" in unknown.stderr
    url_alone = cli("backfill", "ota", versions_repo, "--url", "https://x.example/")
    assert url_alone.returncode == 1 and "--url needs --service and --type" in url_alone.stderr
