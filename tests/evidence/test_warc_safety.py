"""WARC files that survive crashes, full disks and concurrent writers (issue 17, items 1, 2, 9).

Every WARC file must pass ``warcio check`` (warcio's own CLI), parse to its very end (no NUL
holes, no torn member), and every capture row's pointer (file, offset, length) must hold its
request record and its record id — after SIGKILLs at any moment, a full disk, and two writers
(two ``crawl``s, or the daemon and a ``crawl``) on one database.
"""

import gzip
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from monitor.errors import StoreError
from monitor.evidence.warc import (
    LastCapture,
    WarcFiles,
    check_pointers,
    complete_length,
    read_records,
    tail_is_whole,
)
from tests.conftest import ROOT
from tests.sites import Page
from tests.store.test_storage_faults import fill, small_disk  # noqa: F401 (small_disk is a fixture)

SAMPLE = (ROOT / "monitor" / "samples" / "micromax-privacy-2012.html").read_text(encoding="utf-8")


# --- helpers ---------------------------------------------------------------------------------

def wait_for(condition, timeout=90.0, what="a condition"):
    """Poll ``condition`` until it holds (a condition, not a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)
    pytest.fail(f"timed out waiting for {what}")


def query(db_path, sql, params=()):
    connection = sqlite3.connect(db_path, timeout=30)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def warc_files(warc_dir) -> list[Path]:
    return sorted(Path(warc_dir).glob("*.warc.gz"))


def warc_bytes(warc_dir) -> int:
    total = 0
    for path in warc_files(warc_dir):
        try:
            total += path.stat().st_size
        except FileNotFoundError:
            pass
    return total


def warcio(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "warcio.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def assert_whole_warcs_and_true_pointers(db_path, warc_dir) -> int:
    """Every file passes ``warcio check`` and parses to its end; every pointer holds its record."""
    files = warc_files(warc_dir)
    assert files, "no WARC file"
    checked = warcio("check", "-v", *files)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for path in files:
        data = path.read_bytes()
        assert b"\0" * 512 not in data, f"{path.name} has a hole of NUL bytes"
        assert complete_length(path) == len(data), f"{path.name} does not parse to its end"
        index = warcio("index", "-f", "warc-type,offset,length", path)
        assert index.returncode == 0, index.stderr
        lines = [json.loads(line) for line in index.stdout.splitlines()]
        assert lines and lines[0]["warc-type"] == "warcinfo"
        last = lines[-1]
        assert int(last["offset"]) + int(last["length"]) == len(data), f"warcio index stops early in {path.name}"
        with gzip.open(path) as stream:
            assert stream.read(9) == b"WARC/1.1\r"
    connection = sqlite3.connect(db_path, timeout=30)
    try:
        problems, count = check_pointers(connection, warc_dir)
    finally:
        connection.close()
    assert problems == [], problems[:5]
    return count


def _pages(site, count, round_number, rng, size=60_000):
    """Pages whose text changes for about half of them each round and whose bytes always change
    (an HTML comment of fresh random hex: large bodies make a kill land mid-write more often)."""
    for n in range(count):
        extra = f"<p>We may share your data with partner {round_number}.</p>" if rng.random() < 0.5 else ""
        filler = "<!-- " + rng.randbytes(size // 2).hex() + " -->"
        site.html(f"/p{n}", SAMPLE.replace("</body>", f"{extra}{filler}</body>", 1))


def _add_targets(cli, site, count):
    for n in range(count):
        cli("target", "add", site.url(f"/p{n}"), "--company", f"Company {n}", check=0)


def _popen(db_path, *args, env=None):
    environment = {**os.environ, "POLICYWATCH_DB": str(db_path), **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "monitor.cli.main", *args], cwd=ROOT, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _group_gone(pgid: int) -> bool:
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return False
    return True


def _kill_group(process):
    """SIGKILL a ``policywatch`` process and its writer process; wait until both are gone."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.communicate(timeout=60)
    wait_for(lambda: _group_gone(process.pid), 30, "the killed processes to be gone")


def _torn_member(path: Path) -> bytes:
    """Half of a real gzip member: what a kill in the middle of a write leaves."""
    from monitor.evidence import build_capture
    built = build_capture(url="http://127.0.0.1/torn", fetched_at=None, request_headers={}, status=200,
                          response_headers={"content-type": "text/html"}, body=os.urandom(20_000).hex().encode())
    return built.data[: len(built.data) * 2 // 3]


# --- recovery, unit level --------------------------------------------------------------------

def _capture(files: WarcFiles, n: int, size: int = 3000):
    return files.write_capture(url=f"http://127.0.0.1/p{n}", fetched_at=None, request_headers={"User-Agent": "t"},
                               status=200, response_headers={"content-type": "text/html"},
                               body=(f"<p>{n}</p>" + "x" * size).encode())


def test_recovery_from_the_last_capture_cuts_the_torn_tail_and_never_extends(tmp_path):
    """The issue's bug: start hint + absolute end, and truncate() grew the file with NULs."""
    directory = tmp_path / "warc"
    files = WarcFiles(directory)
    refs = [_capture(files, n) for n in range(3)]
    files.close()
    path = directory / refs[-1].file
    good = path.stat().st_size
    last = LastCapture(refs[-1].offset, refs[-1].length, refs[-1].record_id)
    for attempt in range(5):  # each restart after a kill mid-write
        with open(path, "ab") as stream:
            stream.write(_torn_member(path))
        assert not tail_is_whole(path)
        reopened = WarcFiles(directory, last_capture=lambda name: last)
        assert reopened.current == path
        assert path.stat().st_size == good, f"attempt {attempt}: {path.stat().st_size} != {good}"
        reopened.close()
    # A wrong hint (its record is not there) is not trusted: the file is scanned from the start.
    with open(path, "ab") as stream:
        stream.write(_torn_member(path))
    wrong = LastCapture(refs[0].offset + 7, refs[0].length, refs[0].record_id)
    WarcFiles(directory, last_capture=lambda name: wrong).close()
    assert path.stat().st_size == good
    assert warcio("check", path).returncode == 0


def test_a_request_without_its_response_is_cut_too(tmp_path):
    directory = tmp_path / "warc"
    files = WarcFiles(directory)
    _capture(files, 0)
    path = files.current
    files.close()
    good = path.stat().st_size
    from monitor.evidence import build_capture
    built = build_capture(url="http://127.0.0.1/q", fetched_at=None, request_headers={}, status=200,
                          response_headers={}, body=b"<p>q</p>")
    request_only = built.data[: built.data.index(b"\x1f\x8b\x08\x00", 10)]
    with open(path, "ab") as stream:
        stream.write(request_only)
    assert not tail_is_whole(path)
    WarcFiles(directory).close()
    assert path.stat().st_size == good


def test_a_failed_write_is_cut_back_at_once_and_the_next_batch_appends_cleanly(tmp_path, monkeypatch):
    import errno

    import monitor.evidence.warc as warc
    directory = tmp_path / "warc"
    files = WarcFiles(directory)
    _capture(files, 0)
    path = files.current
    good = path.stat().st_size
    real = warc._pwrite_all

    def disk_full(descriptor, data, offset):
        os.pwrite(descriptor, data[: len(data) // 2], offset)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(warc, "_pwrite_all", disk_full)
    with pytest.raises(StoreError, match="No space left"):
        _capture(files, 1)
    assert path.stat().st_size == good  # the half-written capture is gone
    monkeypatch.setattr(warc, "_pwrite_all", real)
    ref = _capture(files, 2)
    files.close()
    assert read_records(directory / ref.file, ref.offset, ref.length)[1]["id"] == ref.record_id
    assert all(warcio("check", p).returncode == 0 for p in warc_files(directory))


def test_a_second_writer_never_touches_a_locked_file(tmp_path):
    directory = tmp_path / "warc"
    first = WarcFiles(directory)
    ref = _capture(first, 0)
    # The first writer is mid-write: a torn member at the end of its file, not yet cut back.
    with open(first.current, "ab") as stream:
        stream.write(_torn_member(first.current))
    size = first.current.stat().st_size
    second = WarcFiles(directory)
    assert second.current != first.current  # a file of its own
    assert first.current.stat().st_size == size  # not "repaired" under its writer's feet
    os.truncate(first.current, ref.offset + ref.length)  # (the first writer cuts its own tail)
    refs = []
    for n in range(1, 9):
        refs.append((directory, _capture(first if n % 2 else second, n)))
    first.close()
    second.close()
    for base, ref in refs:
        assert read_records(base / ref.file, ref.offset, ref.length)[1]["id"] == ref.record_id
    assert len({ref.file for _, ref in refs}) == 2


def test_an_unlocked_older_file_with_a_torn_tail_is_repaired_too(tmp_path):
    directory = tmp_path / "warc"
    old = WarcFiles(directory)
    _capture(old, 0)
    old_path = old.current
    old.close()
    good = old_path.stat().st_size
    with open(old_path, "ab") as stream:
        stream.write(_torn_member(old_path))
    holder = WarcFiles(directory, max_bytes=good + 10)  # too full to adopt: it starts a new file
    _capture(holder, 1)
    assert holder.current != old_path
    assert old_path.stat().st_size == good
    holder.close()


# --- WARC 1.1, revisits, 304s, confirmation fetches, bundles -----------------------------------

def _records(warc_dir):
    from warcio.archiveiterator import ArchiveIterator
    found = []
    for path in warc_files(warc_dir):
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream):
                found.append({"type": record.rec_type, "version": record.rec_headers.protocol,
                              **dict(record.rec_headers.headers)})
    return found


def test_304s_and_repeats_are_revisits_pointing_at_the_original_response(site, cli, db_path):
    page = SAMPLE
    url = site.html("/privacy", page, ETag='"v1"')
    cli("target", "add", url, "--company", "Acme", check=0)
    first = cli("crawl", "--json", "--no-notify", check=0).json()
    second = cli("crawl", "--all", "--json", "--no-notify", check=0).json()  # If-None-Match → 304
    site.html("/privacy", page, ETag='"v2"')  # new validator, same bytes: a 200 with a known body
    third = cli("crawl", "--all", "--json", "--no-notify", check=0).json()
    assert [c["outcome"] for c in first + second + third] == ["first-version", "not-modified", "unchanged"]
    warc_dir = db_path.parent / "warc"
    records = _records(warc_dir)
    assert {r["version"] for r in records} == {"WARC/1.1"}
    original = next(r for r in records if r["type"] == "response")
    revisits = [r for r in records if r["type"] == "revisit"]
    assert [r["WARC-Profile"] for r in revisits] == [
        "http://netpreserve.org/warc/1.1/revisit/server-not-modified",
        "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"]
    for revisit in revisits:
        assert revisit["WARC-Refers-To"] == original["WARC-Record-ID"]
        assert revisit["WARC-Refers-To-Target-URI"] == original["WARC-Target-URI"]
        assert revisit["WARC-Refers-To-Date"] == original["WARC-Date"]
    assert revisits[1]["WARC-Payload-Digest"] == original["WARC-Payload-Digest"]
    rows = query(db_path, "SELECT outcome, warc_record_id, warc_refers_to FROM captures ORDER BY id")
    assert [r[2] for r in rows] == [None, original["WARC-Record-ID"], original["WARC-Record-ID"]]
    assert_whole_warcs_and_true_pointers(db_path, warc_dir)
    assert "3 capture WARC pointer(s) hold their records" in cli("verify", check=0).stderr


def test_verify_names_a_capture_whose_pointer_is_wrong(site, cli, db_path):
    for n in range(2):
        site.html(f"/p{n}", SAMPLE.replace("Micromax", f"Company{n}"))
    _add_targets(cli, site, 2)
    cli("crawl", "--no-notify", check=0)
    assert cli("verify", check=0)
    [(offset,)] = query(db_path, "SELECT warc_offset FROM captures WHERE id = 1")
    [(other,)] = query(db_path, "SELECT warc_offset FROM captures WHERE id = 2")
    connection = sqlite3.connect(db_path)
    with connection:
        connection.execute("UPDATE captures SET warc_offset = ? WHERE id = 1", [other])
    connection.close()
    broken = cli("verify", check=1)
    assert "BROKEN: capture 1: WARC pointer" in broken.stderr, broken
    assert f"@{other}" in broken.stderr and str(offset) not in broken.stderr.split("capture 1")[1].split("\n")[0]


# --- real processes: SIGKILLs, a full disk, concurrent writers ---------------------------------

@pytest.mark.slow
def test_repeated_sigkills_during_crawl_and_record_leave_whole_warcs(site, cli, db_path):
    rng = random.Random(17)
    count, rounds = 16, 8
    _pages(site, count, 0, rng)
    _add_targets(cli, site, count)
    warc_dir = db_path.parent / "warc"
    genuine_tears = 0
    for round_number in range(rounds):
        _pages(site, count, round_number, rng)
        rows_before = query(db_path, "SELECT count(*) FROM captures")[0][0]
        bytes_before = warc_bytes(warc_dir)
        crawl = _popen(db_path, "crawl", "--all", "--no-notify", "--timeout", "10")
        # Kill at different stages, each a condition: the first bytes of a batch written (likely
        # mid-write or before its rows commit), a few rows committed, 300 kB archived.
        stage = round_number % 3
        if stage == 0:
            wait_for(lambda: warc_bytes(warc_dir) > bytes_before + 1000 or crawl.poll() is not None,
                     what="the WARC to grow")
        elif stage == 1:
            wait_for(lambda: query(db_path, "SELECT count(*) FROM captures")[0][0] >= rows_before + 3
                     or crawl.poll() is not None, what="three captures committed")
        else:
            wait_for(lambda: warc_bytes(warc_dir) > bytes_before + 300_000 or crawl.poll() is not None,
                     what="300 kB archived")
        assert crawl.poll() is None, f"round {round_number}: the crawl ended before the kill"
        _kill_group(crawl)
        # Committed rows never point at a torn or missing record, even before any repair.
        connection = sqlite3.connect(db_path, timeout=30)
        problems, _ = check_pointers(connection, warc_dir)
        connection.close()
        assert problems == [], (round_number, problems[:3])
        newest = warc_files(warc_dir)[-1]
        if tail_is_whole(newest):  # the kill fell between writes: make it one that tore a record
            with open(newest, "ab") as stream:
                stream.write(_torn_member(newest))
        else:
            genuine_tears += 1
    final = cli("crawl", "--all", "--no-notify", "--json", timeout=300)
    assert final.returncode in (0, 3), final
    assert len(final.json()) == count
    checked = assert_whole_warcs_and_true_pointers(db_path, warc_dir)
    assert checked == query(db_path, "SELECT count(*) FROM captures WHERE warc_file IS NOT NULL")[0][0]
    assert cli("verify").returncode == 0
    # No file grew by anything but records: the archive holds about what was fetched.
    fetched = query(db_path, "SELECT coalesce(sum(body_size), 0) FROM captures")[0][0]
    assert warc_bytes(warc_dir) < 3 * fetched + 10_000_000
    print(f"{rounds} kills, {genuine_tears} tore a record themselves; {checked} pointers verified")


@pytest.mark.slow
def test_a_full_disk_mid_batch_leaves_whole_warcs(site, cli, db_path, small_disk):  # noqa: F811 (the fixture)
    rng = random.Random(5)
    count = 8
    _pages(site, count, 0, rng, size=40_000)
    _add_targets(cli, site, count)
    env = {"POLICYWATCH_WARC_DIR": str(small_disk / "warc")}
    cli("crawl", "--no-notify", env=env, check=0)
    for round_number in range(1, 4):
        _pages(site, count, round_number, rng, size=40_000)
        filler = fill(small_disk, leave=90_000)  # room for a few captures: the disk fills mid-batch
        failed = cli("crawl", "--all", "--no-notify", env=env)
        assert failed.returncode != 0, failed
        assert "Traceback" not in failed.stderr, failed.stderr
        assert "cannot write WARC file" in failed.stderr, failed.stderr  # the WARC disk, not the database's
        print(round_number, [line for line in failed.stderr.splitlines() if "crawled" in line])
        # Right after the failure, before any repair: whole files, true pointers.
        assert_whole_warcs_and_true_pointers(db_path, small_disk / "warc")
        filler.unlink()
    again = cli("crawl", "--all", "--no-notify", "--json", env=env)
    assert again.returncode in (0, 3) and len(again.json()) == count, again
    assert_whole_warcs_and_true_pointers(db_path, small_disk / "warc")


class GatedPage(Page):
    """A page whose answer waits until ``gate`` is set: holds a crawl mid-pass, deterministically."""

    def __init__(self, body: bytes, gate):
        super().__init__(body, behaviour="slow")
        self.gate = gate

    @property
    def delay(self) -> float:
        self.gate.wait(120)
        return 0.0

    @delay.setter
    def delay(self, value) -> None:
        pass


def _gated_pages(site, count, seed):
    import threading
    gate = threading.Event()
    _pages(site, count, 0, random.Random(seed), size=20_000)
    for n in range(count):
        site[f"/p{n}"] = GatedPage(site.pages[f"/p{n}"].body, gate)
    return gate


@pytest.mark.slow
def test_two_concurrent_crawls_keep_every_pointer_right(site, cli, db_path):
    count = 16
    gate = _gated_pages(site, count, 2)
    _add_targets(cli, site, count)
    warc_dir = db_path.parent / "warc"
    crawls = [_popen(db_path, "crawl", "--all", "--no-notify") for _ in range(2)]
    try:
        # Both crawls are mid-pass (each holds a request) and both writers hold a file.
        wait_for(lambda: len(site.requests) >= 2 and len(warc_files(warc_dir)) == 2, what="two writers")
    finally:
        gate.set()
    outputs = [c.communicate(timeout=300) for c in crawls]
    for crawl, (_, stderr) in zip(crawls, outputs):
        assert crawl.returncode == 0, stderr[-3000:]
    assert query(db_path, "SELECT count(*) FROM captures")[0][0] == 2 * count
    assert len(query(db_path, "SELECT DISTINCT warc_file FROM captures")) == 2
    assert assert_whole_warcs_and_true_pointers(db_path, warc_dir) == 2 * count


@pytest.mark.slow
def test_the_daemon_and_a_crawl_keep_every_pointer_right(site, cli, db_path):
    count = 12
    gate = _gated_pages(site, count, 3)
    _add_targets(cli, site, count)
    warc_dir = db_path.parent / "warc"
    daemon = _popen(db_path, "run", "--tick", "0.5", "--no-notify")
    try:
        wait_for(lambda: len(site.requests) >= 1 and len(warc_files(warc_dir)) == 1, what="the daemon's writer")
        crawl = _popen(db_path, "crawl", "--all", "--no-notify")
        wait_for(lambda: len(site.requests) >= 2 and len(warc_files(warc_dir)) == 2, what="the crawl's writer")
        gate.set()
        _, stderr = crawl.communicate(timeout=300)
        assert crawl.returncode == 0, stderr[-3000:]
        wait_for(lambda: query(db_path, "SELECT count(*) FROM captures")[0][0] == 2 * count,
                 what="the daemon's pass to be recorded")
    finally:
        gate.set()
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, stderr[-3000:]
    assert len(query(db_path, "SELECT DISTINCT warc_file FROM captures")) == 2
    assert assert_whole_warcs_and_true_pointers(db_path, warc_dir) == 2 * count
