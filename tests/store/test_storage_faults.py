"""A full or read-only disk, for real: a clear error, a non-zero exit, and no partial rows.

The database and the WARC directory are put on a 2 MB tmpfs mounted for the test (this needs
root, or CAP_SYS_ADMIN; the tests skip with the reason otherwise). The disk is then filled with
a filler file, or remounted read-only, and ``policywatch crawl`` runs against a changed fixture
page. Afterwards (filler removed, disk writable again) the store must be intact: integrity
check ok, every version with its capture, every capture's WARC records readable, nothing
recorded by the failed run, and the next crawl records the change.
"""

import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from monitor.evidence.warc import check_pointers, complete_length, read_records

ROOT = Path(__file__).resolve().parents[2]
POLICY = (ROOT / "monitor" / "samples" / "micromax-privacy-2012.html").read_text(encoding="utf-8")
CHANGED = POLICY.replace("Micromax respects your privacy",
                         "Micromax may sell your personal information to data brokers and respects your privacy", 1)
# What the one error line must say: the disk is full, or it cannot be written.
PROBLEM = re.compile(r"disk is full|no space left|read-only|readonly|cannot be written", re.I)


def _run(*command):
    return subprocess.run(command, capture_output=True, text=True)


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB tmpfs mounted under tmp_path (unmounted afterwards)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount(8) on this system")
    mounted = _run("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point))
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root or CAP_SYS_ADMIN): {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        _run("mount", "-o", "remount,rw", str(mount_point))
        if _run("umount", str(mount_point)).returncode != 0:
            _run("umount", "-l", str(mount_point))


def fill(directory: Path, leave: int = 0) -> Path:
    """Write a filler file until the disk is full (then free ``leave`` bytes); return it."""
    filler = directory / f"filler-{uuid.uuid4().hex}"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for chunk in (65536, 4096, 512, 1):
            try:
                while os.write(descriptor, b"\0" * chunk):
                    pass
            except OSError:  # ENOSPC: go on with smaller pieces
                continue
    finally:
        os.close(descriptor)
    if leave:
        os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


def query(db_path, sql, params=()):
    # Closed at once: an open file would keep the disk from being remounted read-only.
    with contextlib.closing(sqlite3.connect(db_path, timeout=30)) as connection:
        return connection.execute(sql, params).fetchall()


def counts(db_path) -> dict:
    return {table: query(db_path, f"SELECT count(*) FROM {table}")[0][0]
            for table in ("captures", "versions", "changes", "snapshots", "deliveries", "ledger")}


def assert_intact(db_path, warc_dir):
    assert query(db_path, "PRAGMA integrity_check") == [("ok",)]
    assert query(db_path, "PRAGMA foreign_key_check") == []
    # No version without its capture, no version-making capture without its version.
    assert query(db_path, "SELECT v.id FROM versions v LEFT JOIN captures c ON c.id = v.capture_id "
                          "WHERE c.id IS NULL") == []
    assert query(db_path, "SELECT id FROM captures WHERE outcome IN ('first-version', 'new-version', "
                          "'returned') AND version_id IS NULL") == []
    assert query(db_path, "SELECT v.id FROM versions v LEFT JOIN snapshots s ON s.sha256 = v.snapshot_sha256 "
                          "WHERE s.sha256 IS NULL") == []
    for name, offset, length in query(db_path, "SELECT warc_file, warc_offset, warc_length FROM captures "
                                               "WHERE warc_file IS NOT NULL"):
        records = read_records(Path(warc_dir) / name, offset, length)
        assert [r["type"] for r in records] == ["request", "response"]
    # Every WARC file is whole (warcio's own checker) and every pointer holds its record id.
    files = sorted(Path(warc_dir).glob("*.warc.gz"))
    checked = subprocess.run([sys.executable, "-m", "warcio.cli", "check", *map(str, files)],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for path in files:
        assert complete_length(path) == path.stat().st_size, f"{path.name} does not parse to its end"
    with contextlib.closing(sqlite3.connect(db_path, timeout=30)) as connection:
        assert check_pointers(connection, warc_dir)[0] == []


def one_problem_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if PROBLEM.search(line)]
    assert lines, f"no line names the problem:\n{stderr}"
    assert "Traceback" not in stderr, stderr
    return lines[0]


@pytest.fixture
def watched(site, cli, small_disk, tmp_path):
    """A target with one recorded version; its page has since changed. Returns (env, paths)."""
    def setup(warc_on_small_disk: bool):
        db = small_disk / "policywatch.db"
        warc_dir = small_disk / "warc" if warc_on_small_disk else tmp_path / "warc"
        env = {"POLICYWATCH_WARC_DIR": str(warc_dir)}
        site.html("/privacy", POLICY)
        cli("target", "add", site.url("/privacy"), "--company", "Micromax", db=db, env=env, check=0)
        cli("crawl", "--no-notify", db=db, env=env, check=0)
        site.html("/privacy", CHANGED)
        return db, warc_dir, env
    return setup


@pytest.mark.parametrize("warc_on_small_disk", [True, False], ids=["db-and-warc-full", "db-full"])
@pytest.mark.parametrize("leave", [0, 48 * 1024], ids=["full", "nearly-full"])
def test_a_full_disk_gives_a_clear_error_and_no_partial_rows(watched, cli, small_disk, warc_on_small_disk, leave):
    db, warc_dir, env = watched(warc_on_small_disk)
    before = counts(db)
    filler = fill(small_disk, leave)

    failed = cli("crawl", "--all", "--no-notify", db=db, env=env)
    assert failed.returncode != 0, failed
    line = one_problem_line(failed.stderr)
    assert len(line) < 400, line
    print(line)

    filler.unlink()
    assert_intact(db, warc_dir)
    after = counts(db)
    assert after["versions"] == before["versions"] and after["changes"] == before["changes"], (before, after)
    # The next crawl, with space again, records the change.
    again = cli("crawl", "--all", "--no-notify", "--json", db=db, env=env, check=0)
    assert [c["outcome"] for c in again.json()] == ["new-version"]
    assert_intact(db, warc_dir)


def test_a_read_only_disk_gives_a_clear_error_and_no_partial_rows(watched, cli, small_disk):
    db, warc_dir, env = watched(True)
    before = counts(db)
    remounted = _run("mount", "-o", "remount,ro", str(small_disk))
    if remounted.returncode != 0:
        pytest.skip(f"cannot remount read-only here: {remounted.stderr.strip()}")

    failed = cli("crawl", "--all", "--no-notify", db=db, env=env)
    assert failed.returncode != 0, failed
    assert "read-only" in one_problem_line(failed.stderr)

    assert _run("mount", "-o", "remount,rw", str(small_disk)).returncode == 0
    assert counts(db) == before
    assert_intact(db, warc_dir)
    again = cli("crawl", "--all", "--no-notify", "--json", db=db, env=env, check=0)
    assert [c["outcome"] for c in again.json()] == ["new-version"]
    assert_intact(db, warc_dir)


def test_a_full_disk_under_any_command_is_one_line(tmp_path):
    """ENOSPC from any writer (here stdout on /dev/full) ends in one line and exit 1, never a
    traceback."""
    import subprocess
    import sys
    samples = ROOT / "monitor" / "samples"
    with open("/dev/full", "w") as full:
        completed = subprocess.run(
            [sys.executable, "-m", "monitor.cli.main", "diff", str(samples / "micromart-privacy.md"),
             str(samples / "micromax-privacy-2012.md"), "--json"],
            stdout=full, stderr=subprocess.PIPE, text=True, cwd=tmp_path, timeout=120)
    assert completed.returncode == 1
    assert completed.stderr.strip().splitlines() == ["policywatch: error: No space left on device"]
