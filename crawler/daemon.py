"""``policywatch run``: the long-running daemon.

One process, one Scrapy start (the reactor never restarts): each tick claims due targets,
crawls them, records every capture, sends the outbox in a worker thread (then, when a TSA
is configured, timestamps the ledger head), then sleeps until the
next target is due (or the tick interval passes). SIGTERM/SIGINT stop it cleanly: the current
pass is stopped, claimed targets that were not fetched are released (due again at once). A lock
file beside the database keeps a second daemon off the same store.
"""

import asyncio
import logging
import signal
from datetime import datetime

from crawler.runner import run_crawl_script
from monitor.lock import DaemonLock
from monitor.schedule import CLAIM_LEASE_SECONDS, claim_due, next_due_at, release
from monitor.store import open_store
from monitor.timeutil import now

log = logging.getLogger("policywatch.daemon")


def _send_outbox(db_path: str) -> None:
    from notify.outbox import send_pending
    store = open_store(db_path)  # its own connection: this runs in a worker thread
    try:
        report = send_pending(store)
        if report.sent or report.failed or report.dead:
            log.info("outbox: %s sent, %s failed, %s given up", report.sent, report.failed, report.dead)
    finally:
        store.close()


def _timestamp_head(db_path: str) -> None:
    """RFC 3161 timestamp of the ledger head when a TSA is configured (never raises)."""
    from monitor.timestamps import TsaSettings, timestamp_head_if_configured
    if not TsaSettings.from_env().url:
        return
    store = open_store(db_path)  # its own connection: this runs in a worker thread
    try:
        timestamp_head_if_configured(store)
    finally:
        store.close()


def _seconds_until(stamp: str | None, cap: float) -> float:
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
    stale = [row[0] for row in store.db.execute("SELECT id FROM targets WHERE claimed_at IS NOT NULL")]
    counts["released"] += release(store, stale)

    async def script(crawl_pass):
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()

        def request_stop(signum, frame):
            log.info("signal %s: stopping after the current pass", signum)
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
            if notify:
                await asyncio.to_thread(_send_outbox, db_path)
            if claimed:  # after the outbox, so the token covers this tick's deliveries too
                await asyncio.to_thread(_timestamp_head, db_path)
            counts["ticks"] += 1
            if max_ticks is not None and counts["ticks"] >= max_ticks:
                break
            try:
                await asyncio.wait_for(stopping.wait(), _seconds_until(next_due_at(store), tick_seconds))
            except TimeoutError:
                pass
        return counts

    try:
        return run_crawl_script(store.path, script, overrides=overrides, install_signal_handlers=False)
    finally:
        store.close()
        lock.release()
