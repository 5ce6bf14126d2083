"""The crawler's recorder: captures are archived and recorded off the reactor, in batches.

The reactor thread downloads; a writer — a process by default, so it has a core of its own, or a
thread — runs ``monitor.record.batch.BatchWriter``: WARC records, one fsync, then each capture's
transaction. Batching is group commit: while one batch is being written, new captures queue;
when it is done, everything queued goes as the next batch (at most ``MAX_BATCH``). An idle
writer takes a capture at once, so a lone capture never waits for a timer.

A writer process starts with ``spawn`` (forking a process that runs a reactor and threads is
unsafe), ignores SIGINT/SIGTERM (its parent decides when to stop, and drains it first) and is
killed by the kernel if its parent dies, so a killed daemon never leaves a writer behind.
See docs/decisions/0010-recording-off-the-reactor.md.
"""

import asyncio
import ctypes
import logging
import multiprocessing
import os
import signal
import threading
from concurrent.futures import BrokenExecutor, Executor, ProcessPoolExecutor, ThreadPoolExecutor

from monitor import events
from monitor.errors import InputError, PolicywatchError
from monitor.record import BatchOutcome, BatchWriter, Capture, Prepared

log = logging.getLogger(__name__)

MODES = ("process", "thread")
# Largest batch: bounds the bodies held in memory and the time one batch keeps the writer busy.
MAX_BATCH = 100
_PR_SET_PDEATHSIG = 1

# The writer of this process (writer process) or of this thread (writer thread).
_local = threading.local()


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies (elsewhere: best effort)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def _start_writer(db_path: str, warc_dir: str, warc_max_bytes: int,
                  listeners: list[tuple[str, str]], parent_pid: int | None) -> None:
    if parent_pid is not None:  # a writer process
        _die_with_parent(parent_pid)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        events.restore(listeners)  # e.g. the outbox: deliveries commit with their change
    _local.opening = (db_path, warc_dir, warc_max_bytes)
    _local.writer = None
    _open_writer()


def _open_writer() -> str | None:
    """Open this writer's store and WARC files; the reason when they cannot be opened.

    Never raises: an initializer that raises breaks the whole pool with a vague error, where
    each capture should say what is wrong (a read-only or full disk) and a later batch should
    try again (the disk may have been fixed)."""
    if _local.writer is None:
        try:
            _local.writer = BatchWriter(*_local.opening)
        except PolicywatchError as error:
            return str(error)
    return None


def _ready() -> str | None:
    return None


def _record_batch(captures: list[Capture], prepared: list[Prepared | None]) -> list[BatchOutcome]:
    error = _open_writer()
    if error is not None:
        return [BatchOutcome(dropped=f"target {c.target_id}: not recorded: {error}") for c in captures]
    return _local.writer.record(captures, prepared)


def _close_writer() -> None:
    writer = getattr(_local, "writer", None)
    if writer is not None:
        writer.close()
        _local.writer = None


class CaptureRecorder:
    """Archives and records captures for the reactor (see module docstring)."""

    def __init__(self, db_path: str, warc_dir: str, warc_max_bytes: int, mode: str = "process",
                 max_batch: int = MAX_BATCH):
        if mode not in MODES:
            raise InputError(f"POLICYWATCH_RECORD_IN must be one of {', '.join(MODES)}, not {mode!r}")
        self.db_path, self.warc_dir, self.warc_max_bytes = db_path, warc_dir, warc_max_bytes
        self.mode, self.max_batch = mode, max_batch
        self._pending: list[tuple[Capture, Prepared | None, asyncio.Future]] = []
        self._busy = False
        self.batches = 0  # batches written, and the captures in them: group commit at work
        self.captures = 0
        self._closed = False
        self._executor = self._new_executor()

    def _new_executor(self) -> Executor:
        if self.mode == "process":
            executor = ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context("spawn"), initializer=_start_writer,
                initargs=(self.db_path, self.warc_dir, self.warc_max_bytes, events.registered(), os.getpid()))
        else:
            executor = ThreadPoolExecutor(
                1, thread_name_prefix="policywatch-recorder", initializer=_start_writer,
                initargs=(self.db_path, self.warc_dir, self.warc_max_bytes, [], None))
        executor.submit(_ready)  # start the writer now: it opens the store while Scrapy starts
        return executor

    async def record(self, capture: Capture, prepared: Prepared | None = None) -> BatchOutcome:
        """Archive and record one capture (with what was ``prepared`` about its body); resolves
        when its batch is committed."""
        if self._closed:
            return BatchOutcome(dropped=f"target {capture.target_id}: not recorded: the recorder is closed")
        future = asyncio.get_running_loop().create_future()
        self._pending.append((capture, prepared, future))
        self._submit_next()
        return await future

    def _submit_next(self) -> None:
        if self._busy or not self._pending:
            return
        batch, self._pending = self._pending[:self.max_batch], self._pending[self.max_batch:]
        self._busy = True
        try:
            done = asyncio.wrap_future(self._executor.submit(_record_batch, [c for c, _, _ in batch],
                                                           [p for _, p, _ in batch]))
        except (BrokenExecutor, RuntimeError) as error:
            self._fail(batch, error)
            return
        done.add_done_callback(lambda finished: self._finish(batch, finished))

    def _finish(self, batch: list, finished: asyncio.Future) -> None:
        error = finished.exception()
        if error is not None:
            self._fail(batch, error)
            return
        for (_, _, future), outcome in zip(batch, finished.result()):
            if not future.done():
                future.set_result(outcome)
        self.batches, self.captures = self.batches + 1, self.captures + len(batch)
        self._busy = False
        self._submit_next()

    def _fail(self, batch: list, error: BaseException) -> None:
        """The writer died or refused the batch: its captures are reported unrecorded (their
        claims lapse, so the targets are fetched again) and a new writer takes over."""
        log.error("the capture recorder failed: %s: %s", type(error).__name__, error)
        for capture, _, future in batch:
            if not future.done():
                future.set_result(BatchOutcome(dropped=f"target {capture.target_id}: not recorded: "
                                                       f"the recorder failed ({type(error).__name__})"))
        if isinstance(error, BrokenExecutor) and not self._closed:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = self._new_executor()
        self._busy = False
        self._submit_next()

    def writer_pids(self) -> list[int]:
        """The writer process's id (empty for a writer thread): for status lines and tests."""
        processes = getattr(self._executor, "_processes", None) or {}
        return list(processes)

    def close(self) -> None:
        """Wait for the writer to finish what it was given, close its files, stop it."""
        if self._closed:
            return
        self._closed = True
        try:
            self._executor.submit(_close_writer).result()
        except (BrokenExecutor, RuntimeError) as error:
            log.warning("the capture recorder did not close cleanly: %s", error)
        self._executor.shutdown(wait=True)


# Recorders shared by the crawls of one run (``crawler.runner``), by key: Scrapy copies its
# settings deeply, so the settings carry the key, not the recorder.
_shared: dict[str, CaptureRecorder] = {}


def share(recorder: CaptureRecorder) -> str:
    """Register a recorder for the crawls of a run; returns the key for the settings."""
    key = f"{os.getpid()}-{id(recorder)}"
    _shared[key] = recorder
    return key


def shared(key: str | None) -> CaptureRecorder | None:
    """The recorder registered under ``key``, if any."""
    return _shared.get(key) if key else None


def unshare(key: str) -> None:
    """Forget a recorder once its run is over."""
    _shared.pop(key, None)
