"""``policywatch run``: the long-running daemon.

One process, one Scrapy start (the reactor never restarts): each tick claims due targets,
crawls them, records every capture (then, when a TSA is configured, timestamps the ledger
head), then sleeps until the next target is due (or the tick interval passes). The outbox is
sent by its own thread (``OutboxSender``), woken after each tick: a slow or dead channel never
holds up a capture. SIGTERM/SIGINT stop it cleanly: the current pass is stopped, claimed
targets that were not fetched are released (due again at once), sends in flight get a short
grace and are otherwise put back to `pending`. A lock file beside the database keeps a second
daemon off the same store.
"""

import asyncio
import logging
import signal
import threading
from datetime import datetime

from crawler.runner import run_crawl_script
from monitor.evidence import TsaSettings, timestamp_head_if_configured
from monitor.store import CLAIM_LEASE_SECONDS, DaemonLock, claim_due, next_due_at, open_claims, open_store, release
from monitor.timeutil import now
from notify.outbox import send_pending

log = logging.getLogger("policywatch.daemon")


_TIMESTAMPING = threading.Lock()  # the tick and the outbox thread both timestamp the head


def outbox_pass(db_path: str, stop: threading.Event | None = None):
    """One outbox pass on its own connection (this runs in a worker thread); its report."""
    store = open_store(db_path)
    try:
        report = send_pending(store, stop=stop)
        if report.sent or report.failed or report.dead or report.released:
            log.info("outbox: %s sent, %s failed, %s given up, %s put back by a stop", report.sent,
                     report.failed, report.dead, report.released)
        return report
    finally:
        store.close()


def _timestamp_head(db_path: str) -> None:
    """RFC 3161 timestamp of the ledger head when a TSA is configured (never raises)."""
    if not TsaSettings.from_env().url:
        return
    with _TIMESTAMPING:
        store = open_store(db_path)  # its own connection: this runs in a worker thread
        try:
            timestamp_head_if_configured(store)
        finally:
            store.close()


class OutboxSender(threading.Thread):
    """Sends the outbox whenever woken (after each tick) and at least every ``interval``
    seconds, apart from the crawl. ``stop()`` ends it within the outbox's stop grace."""

    def __init__(self, db_path: str, interval: float):
        super().__init__(name="outbox-sender", daemon=True)
        self.db_path, self.interval = db_path, max(0.1, interval)
        self.woken, self.stopping = threading.Event(), threading.Event()
        self.draining = False

    def wake(self) -> None:
        self.woken.set()

    def drain(self) -> None:
        """One more pass covering everything queued so far, then end (``--ticks`` runs)."""
        self.draining = True
        self.woken.set()
        self.join()

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        self.woken.set()
        self.join(timeout)

    def run(self) -> None:
        while not self.stopping.is_set():
            self.woken.wait(self.interval)
            self.woken.clear()
            if self.stopping.is_set():
                break
            try:
                report = outbox_pass(self.db_path, stop=self.stopping)
                if report.sent and not self.stopping.is_set():
                    _timestamp_head(self.db_path)  # the token covers these deliveries too
            except Exception as error:  # noqa: BLE001 - the store locked or full: next time
                log.error("outbox: %s (the deliveries stay in the outbox)", error)
            if self.draining and not self.woken.is_set():
                break


def seconds_until(stamp: str | None, cap: float) -> float:
    """Seconds from now until ISO time ``stamp`` (0 if past), at most ``cap`` (``cap`` if none)."""
    if not stamp:
        return cap
    due = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return max(0.0, min(cap, (due - now()).total_seconds()))


def run_daemon(db_path: str, *, tick_seconds: float = 60.0, batch: int = 500,
               lease_seconds: int = CLAIM_LEASE_SECONDS, notify: bool = True, max_ticks: int | None = None,
               overrides: dict | None = None) -> dict:
    """Run until SIGTERM/SIGINT (or ``max_ticks``); return counts of what it did."""
    lock = DaemonLock(db_path).acquire()
    counts = {"ticks": 0, "captures": 0, "released": 0}
    store = open_store(db_path)
    # Only one daemon runs per database (the lock), so claims left by a killed one are stale.
    counts["released"] += release(store, list(open_claims(store)))

    sender = OutboxSender(db_path, tick_seconds) if notify else None

    async def script(crawl_pass):
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        if sender is not None:
            sender.start()

        def request_stop(signum, frame):
            log.info("signal %s: stopping after the current pass", signum)
            if sender is not None:
                sender.stopping.set()  # no new send starts from now
            loop.call_soon_threadsafe(stopping.set)

        # Plain handlers, not loop.add_signal_handler: Twisted's SIGCHLD waker takes over the
        # wakeup fd that asyncio's handlers depend on, and the signal would be lost.
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, request_stop)
        while not stopping.is_set():
            claimed = claim_due(store, limit=batch, lease_seconds=lease_seconds)
            if claimed:
                log.info("tick %s: claimed %s due target(s)", counts["ticks"] + 1, len(claimed))
                crawling = asyncio.ensure_future(crawl_pass(claimed))
                stop_wait = asyncio.ensure_future(stopping.wait())
                await asyncio.wait({crawling, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
                if not crawling.done():
                    await crawl_pass.stop()
                stop_wait.cancel()
                items = await crawling
                counts["captures"] += len(items)
                fetched = {item.capture.target_id for item in items}
                counts["released"] += release(store, [t["id"] for t in claimed if t["id"] not in fetched])
            if sender is not None:
                sender.wake()
            if claimed:
                await asyncio.to_thread(_timestamp_head, db_path)
            counts["ticks"] += 1
            if max_ticks is not None and counts["ticks"] >= max_ticks:
                if sender is not None and not stopping.is_set():
                    await asyncio.to_thread(sender.drain)
                break
            try:
                await asyncio.wait_for(stopping.wait(), seconds_until(next_due_at(store), tick_seconds))
            except TimeoutError:
                pass
        return counts

    try:
        return run_crawl_script(store.path, script, overrides=overrides, install_signal_handlers=False)
    finally:
        if sender is not None and sender.is_alive():
            sender.stop()
        store.close()
        lock.release()
