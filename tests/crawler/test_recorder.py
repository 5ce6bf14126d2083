"""The crawler's recorder (crawler/recorder.py): captures archived and recorded in batches by a
writer process (or thread), which dies with its parent and is replaced if it dies alone."""

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from crawler.recorder import CaptureRecorder
from monitor.record import Capture
from monitor.store import open_store
from monitor.timeutil import now_iso

PAGE = "<html><body><main><h1>Policy {n}</h1><p>We collect your email address, number {n}.</p></main></body></html>"


@pytest.fixture
def store_with_targets(tmp_path):
    store = open_store(tmp_path / "db.sqlite")
    targets = [store.add_target(f"http://127.0.0.1:9/p{n}", f"Company {n}") for n in range(30)]
    store.close()
    return tmp_path / "db.sqlite", targets


def capture(target: dict, n: int) -> Capture:
    return Capture(target_id=target["id"], url=target["url"], started_at=now_iso(), status=200,
                   final_url=target["url"], headers={"content-type": "text/html"}, content_type="text/html",
                   body=PAGE.format(n=n).encode(), request_headers={"User-Agent": "test"})


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is dead too
        return stat.read().split(")")[-1].split()[0] != "Z"


@pytest.mark.parametrize("mode", ["process", "thread"])
def test_a_burst_is_recorded_in_few_batches(store_with_targets, tmp_path, mode):
    db, targets = store_with_targets
    recorder = CaptureRecorder(str(db), str(tmp_path / "warc"), 10 << 20, mode)

    async def burst():
        return await asyncio.gather(*(recorder.record(capture(t, n)) for n, t in enumerate(targets)))

    try:
        outcomes = asyncio.run(burst())
    finally:
        recorder.close()
    assert [o.recorded.outcome for o in outcomes] == ["first-version"] * len(targets)
    assert recorder.captures == len(targets) and recorder.batches < len(targets)  # group commit
    store = open_store(db)
    rows = list(store.db.query("SELECT warc_file, warc_record_id FROM captures"))
    assert len(rows) == len(targets) and all(r["warc_record_id"] for r in rows)
    store.close()


@pytest.mark.slow
def test_the_writer_process_dies_with_its_parent(store_with_targets, tmp_path):
    db, _ = store_with_targets
    script = textwrap.dedent(f"""
        import sys, time
        from crawler.recorder import CaptureRecorder
        recorder = CaptureRecorder({str(db)!r}, {str(tmp_path / 'warc')!r}, 10 << 20, "process")
        deadline = time.time() + 30
        while not recorder.writer_pids() and time.time() < deadline:
            time.sleep(0.05)
        print(recorder.writer_pids()[0], flush=True)
        time.sleep(60)
    """)
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__)))) as parent:
        writer = int(parent.stdout.readline())
        assert _alive(writer)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
    deadline = time.time() + 30
    while _alive(writer) and time.time() < deadline:
        time.sleep(0.05)
    assert not _alive(writer), "the writer outlived its killed parent"


@pytest.mark.slow
def test_a_killed_writer_loses_its_batch_cleanly_and_is_replaced(store_with_targets, tmp_path):
    db, targets = store_with_targets
    recorder = CaptureRecorder(str(db), str(tmp_path / "warc"), 10 << 20, "process")

    async def scenario():
        first = await recorder.record(capture(targets[0], 0))
        [writer] = recorder.writer_pids()
        os.kill(writer, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while _alive(writer) and time.monotonic() < deadline:  # killed: the next batch is lost
            await asyncio.sleep(0.01)
        lost = await recorder.record(capture(targets[1], 1))
        after = await recorder.record(capture(targets[2], 2))
        return first, lost, after

    try:
        first, lost, after = asyncio.run(scenario())
    finally:
        recorder.close()
    assert first.recorded.outcome == "first-version"
    assert lost.recorded is None and "not recorded: the recorder failed" in lost.dropped
    assert after.recorded.outcome == "first-version"  # a new writer took over
    store = open_store(db)
    assert [r["target_id"] for r in store.db.query("SELECT target_id FROM captures ORDER BY id")] == \
        [targets[0]["id"], targets[2]["id"]]
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store.close()


def test_an_unknown_mode_is_one_clear_error(store_with_targets, tmp_path):
    from monitor.errors import InputError
    db, _ = store_with_targets
    with pytest.raises(InputError, match="POLICYWATCH_RECORD_IN must be one of process, thread"):
        CaptureRecorder(str(db), str(tmp_path / "warc"), 10 << 20, "fork")


@pytest.mark.parametrize("mode", ["process", "thread"])
def test_a_writer_that_cannot_open_its_files_says_why_and_tries_again(store_with_targets, tmp_path, mode):
    db, targets = store_with_targets
    blocker = tmp_path / "warc"
    blocker.write_text("a file where the WARC directory should be")
    recorder = CaptureRecorder(str(db), str(blocker), 10 << 20, mode)

    async def scenario():
        refused = await recorder.record(capture(targets[0], 0))
        blocker.unlink()  # the operator fixes it; the next batch opens the files
        return refused, await recorder.record(capture(targets[1], 1))

    try:
        refused, recorded = asyncio.run(scenario())
    finally:
        recorder.close()
    assert refused.recorded is None and "cannot create WARC directory" in refused.dropped
    assert recorded.recorded.outcome == "first-version"
