"""Distributed crawling over Redis: the run side (tick + recorder) and the worker runner.

``run_distributed`` is ``policywatch run --redis URL``: one process per store (the daemon lock)
that loops over

1. **tick**: claim due targets (``monitor.store.schedule.claim_due``, which moves each one's
   ``next_fetch_at`` a lease ahead) while fewer than ``batch`` claims are outstanding, and push
   one target message per claim to ``<prefix>:targets``;
2. **re-queue**: an outstanding claim whose lease expired (its message or its worker was lost:
   scrapy-redis delivery is at-most-once) is claimed again with a new token and pushed again;
3. **record**: pop capture messages from ``<prefix>:captures``; one whose claim token is still
   the target's current claim is archived to WARC and recorded (``record_capture``), exactly as
   a local crawl does; a stale one (its claim was re-queued, or already answered) is dropped.

So each claim is recorded at most once, and every claim is eventually recorded. SIGTERM/SIGINT
stop it: target messages not yet popped are taken back, in-flight captures get a short grace,
and claims still open are released (due again at once). ``run_worker`` is ``policywatch
worker``: a Scrapy process running ``RedisWorkerSpider`` until SIGTERM.
"""

import logging
import signal
import threading
import time

from scrapy.crawler import AsyncCrawlerProcess

from crawler import render as rendering
from crawler.daemon import outbox_pass, seconds_until
from crawler.redis import queue as redis_queue
from crawler.runner import crawler_settings
from monitor.record import BatchWriter
from monitor.store import (
    CLAIM_LEASE_SECONDS,
    DaemonLock,
    claim_due,
    claim_of,
    next_due_at,
    open_claims,
    open_store,
    release,
)

log = logging.getLogger("policywatch.distributed")
# Longest blocking pop on the captures list: how quickly a stop request is noticed.
POP_SECONDS = 1.0
# Captures popped per round trip once one has arrived.
DRAIN_BATCH = 100
# How often outstanding claims are checked for an expired lease.
REQUEUE_CHECK_SECONDS = 1.0
# After a full claim, wait this long before claiming more (workers are busy anyway).
REFILL_SECONDS = 0.5
REDIS_RETRY_SECONDS = 2.0


class Recorder:
    """The run side's state: the store, the Redis keys and the claims this process pushed."""

    def __init__(self, db_path: str, client, keys: redis_queue.Keys, lease_seconds: int):
        self.db_path, self.client, self.keys, self.lease_seconds = db_path, client, keys, lease_seconds
        self.store = open_store(db_path)
        settings = crawler_settings(self.store.path)
        # What a local crawl's writer does: WARC first (one fsync per batch), then each
        # capture's one-transaction record.
        self.writer = BatchWriter(self.store.path, settings.get("POLICYWATCH_WARC_DIR"),
                                  settings.getint("POLICYWATCH_WARC_MAX_BYTES"))
        self.outstanding: dict[int, str] = {}  # target id → claim token of the message pushed
        self.counts = {"ticks": 0, "pushed": 0, "captures": 0, "requeued": 0, "stale": 0,
                       "rejected": 0, "unrecorded": 0, "released": 0}

    # -- claims out ---------------------------------------------------------------------------
    def push(self, claimed: list[dict]) -> None:
        if not claimed:
            return
        messages = []
        for target in claimed:
            if target["id"] in self.outstanding:
                self.counts["requeued"] += 1
            self.outstanding[target["id"]] = target["claimed_at"]
            latest = self.store.latest_version(target["id"])
            messages.append(redis_queue.target_message(target, latest and latest["compare_sha256"]))
        self.client.rpush(self.keys.targets, *messages)
        self.counts["pushed"] += len(messages)

    def tick(self, batch: int) -> int:
        room = batch - len(self.outstanding)
        claimed = claim_due(self.store, limit=room, lease_seconds=self.lease_seconds) if room > 0 else []
        self.push(claimed)
        self.counts["ticks"] += 1
        if claimed:
            log.info("tick %s: pushed %s claim(s)", self.counts["ticks"], len(claimed))
        return len(claimed)

    def requeue_expired(self) -> None:
        """Claim again (new token) the outstanding targets whose lease ran out, and push them."""
        if self.outstanding:
            ids = list(self.outstanding)
            claimed = claim_due(self.store, limit=len(ids), lease_seconds=self.lease_seconds, ids=ids)
            if claimed:
                log.info("re-queued %s claim(s) whose lease expired", len(claimed))
            self.push(claimed)

    # -- captures in --------------------------------------------------------------------------
    def pop(self, timeout: float) -> int:
        """Record what arrives within ``timeout`` seconds (then whatever else is waiting)."""
        first = self.client.blpop([self.keys.captures], timeout=max(0.01, timeout))
        if first is None:
            return 0
        messages = [first[1]] + (self.client.lpop(self.keys.captures, DRAIN_BATCH) or [])
        self.record_messages(messages)
        return len(messages)

    def record_messages(self, messages: list[bytes]) -> None:
        """Validate capture messages, then archive and record the current ones as one batch."""
        captures, claimed = [], set()
        for data in messages:
            capture = self._current_capture(data)
            if capture is None:
                continue
            if capture.target_id in claimed:  # the same claim answered twice in one batch
                self.counts["stale"] += 1
                continue
            claimed.add(capture.target_id)
            captures.append(capture)
        for capture, outcome in zip(captures, self.writer.record(captures) if captures else []):
            if outcome.dropped:
                # Nothing was committed; the claim stays open and its lease re-queues the target.
                self.counts["unrecorded"] += 1
                log.warning("%s", outcome.dropped)
                continue
            self.outstanding.pop(capture.target_id, None)
            self.counts["captures"] += 1

    def _current_capture(self, data: bytes):
        """The capture in a message if it is well formed and answers the target's open claim."""
        try:
            capture, claim = redis_queue.parse_capture_message(data)
        except redis_queue.MessageError as error:
            self.counts["rejected"] += 1
            log.warning("rejected a capture message: %s", error)
            redis_queue.reject(self.client, self.keys, data, str(error), "recorder")
            return None
        if claim_of(self.store, capture.target_id) != claim:
            # Answered already, re-queued with a new token, released, or the target was removed.
            self.counts["stale"] += 1
            log.info("target %s: dropped a capture for a stale claim %s", capture.target_id, claim)
            return None
        return capture

    # -- stopping -----------------------------------------------------------------------------
    def take_back_queue(self) -> None:
        """Remove target messages no worker has popped yet; release their claims."""
        with self.client.pipeline() as pipe:
            pipe.lrange(self.keys.targets, 0, -1)
            pipe.delete(self.keys.targets)
            pending, _ = pipe.execute()
        ids = []
        for data in pending:
            try:
                ids.append(redis_queue.parse_target_message(data)["id"])
            except redis_queue.MessageError:
                continue
        for target_id in ids:
            self.outstanding.pop(target_id, None)
        self.counts["released"] += release(self.store, ids)

    def release_open_claims(self) -> None:
        self.counts["released"] += release(self.store, list(self.outstanding))
        self.outstanding.clear()

    def close(self) -> None:
        self.writer.close()
        self.store.close()


def _seconds_until_due(store, cap: float) -> float:
    return seconds_until(next_due_at(store), cap)


class _Outbox:
    """The notifier's outbox, sent on its own connection in a background thread, one send at
    a time (``crawler.daemon``'s sender)."""

    def __init__(self, db_path: str, enabled: bool):
        self.db_path, self.enabled = db_path, enabled
        self.thread: threading.Thread | None = None

    def send(self, wait: bool = False) -> None:
        """Start a send unless one is running (or notifying is off); with ``wait``, finish it."""
        if not self.enabled or (self.thread is not None and self.thread.is_alive()):
            return
        self.thread = threading.Thread(target=outbox_pass, args=(self.db_path,), daemon=True)
        self.thread.start()
        if wait:
            self.thread.join()

    def join(self) -> None:
        """Wait for the send in progress, if any."""
        if self.thread is not None:
            self.thread.join()


class _Rounds:
    """The main loop's rounds and their clocks: when to re-queue, tick and send the outbox next."""

    def __init__(self, recorder: Recorder, outbox: _Outbox, *, batch: int, tick_seconds: float,
                 max_ticks: int | None):
        self.recorder, self.outbox = recorder, outbox
        self.batch, self.tick_seconds, self.max_ticks = batch, tick_seconds, max_ticks
        started = time.monotonic()
        self.next_tick = self.next_requeue = started
        self.sent_captures, self.sent_at = 0, started  # what the last outbox send had seen

    def step(self) -> bool:
        """One round: re-queue, tick, outbox, record; False when the ticks are all answered."""
        recorder, moment = self.recorder, time.monotonic()
        if moment >= self.next_requeue:
            recorder.requeue_expired()
            self.next_requeue = moment + REQUEUE_CHECK_SECONDS
        ticking = self.max_ticks is None or recorder.counts["ticks"] < self.max_ticks
        if ticking and moment >= self.next_tick and len(recorder.outstanding) < self.batch:
            self._tick(moment)
        elif not ticking and not recorder.outstanding:
            return False
        if recorder.counts["captures"] > self.sent_captures and \
                time.monotonic() - self.sent_at >= self.tick_seconds:
            self.sent_captures, self.sent_at = recorder.counts["captures"], time.monotonic()
            self.outbox.send()
        recorder.pop(max(0.0, min(POP_SECONDS, self.next_tick - time.monotonic(),
                                  self.next_requeue - time.monotonic())))
        return True

    def _tick(self, moment: float) -> None:
        """Claim and push; the next tick comes soon after a full claim, else when one is due."""
        room = self.batch - len(self.recorder.outstanding)
        full = self.recorder.tick(self.batch) == room
        self.next_tick = moment + (min(REFILL_SECONDS, self.tick_seconds) if full
                                   else _seconds_until_due(self.recorder.store, self.tick_seconds))

    def run(self, stopping: threading.Event, connection_error: type[Exception]) -> None:
        """Rounds until a stop is requested or the ticks are all answered; Redis being
        unreachable (``connection_error``) only pauses them."""
        while not stopping.is_set():
            try:
                if not self.step():
                    break
            except connection_error as error:
                # Claims stay in the store; their leases re-queue whatever Redis lost meanwhile.
                log.warning("Redis unreachable (%s); retrying in %s s", error, REDIS_RETRY_SECONDS)
                stopping.wait(REDIS_RETRY_SECONDS)


def _take_over(recorder: Recorder) -> None:
    """Settle what a previous run left: captures answering its claims are still good, so
    record them; then release what is left (only one run per store: those claims are
    nobody's) and drop its unpopped messages (their claims are released, so they would be stale)."""
    recorder.outstanding = open_claims(recorder.store)
    while recorder.pop(0.01):
        pass
    recorder.take_back_queue()
    recorder.release_open_claims()


def _wind_down(recorder: Recorder, grace_seconds: float) -> None:
    """On a stop: take back unpopped messages, give in-flight captures ``grace_seconds``, then
    release the claims still open (due again at once)."""
    recorder.take_back_queue()
    deadline = time.monotonic() + grace_seconds
    while recorder.outstanding and time.monotonic() < deadline:
        recorder.pop(min(POP_SECONDS, max(0.0, deadline - time.monotonic())))
    recorder.release_open_claims()


def run_distributed(db_path: str, redis_url: str, *, prefix: str = redis_queue.DEFAULT_PREFIX,
                    tick_seconds: float = 60.0, batch: int = 500, lease_seconds: int = CLAIM_LEASE_SECONDS,
                    notify: bool = True, max_ticks: int | None = None, grace_seconds: float = 5.0) -> dict:
    """Claim, push, re-queue and record until SIGTERM/SIGINT (or ``max_ticks`` ticks are done
    and answered); return counts of what it did."""
    client = redis_queue.connect(redis_url)
    import redis  # the optional redis extra: connect() has just said in one line if it is missing
    lock = DaemonLock(db_path).acquire()
    recorder = Recorder(db_path, client, redis_queue.Keys(prefix), lease_seconds)
    stopping = threading.Event()
    outbox = _Outbox(recorder.store.path, notify)

    def request_stop(signum, frame):
        log.info("signal %s: stopping", signum)
        stopping.set()

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        _take_over(recorder)
        rounds = _Rounds(recorder, outbox, batch=batch, tick_seconds=tick_seconds, max_ticks=max_ticks)
        rounds.run(stopping, redis.ConnectionError)
        if stopping.is_set():
            _wind_down(recorder, grace_seconds)
        outbox.join()
        if recorder.counts["captures"] > rounds.sent_captures:
            outbox.send(wait=True)
        return recorder.counts
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        recorder.close()
        client.close()
        lock.release()


def worker_settings(redis_url: str, prefix: str = redis_queue.DEFAULT_PREFIX, *, render: bool = False,
                    overrides: dict | None = None):
    """Project settings for a worker: no store, targets from Redis, captures back to Redis."""
    # crawler_settings wants a database path for the local pipelines; a worker has none.
    settings = crawler_settings("worker-has-no-store")
    settings.set("POLICYWATCH_DB", None, priority="cmdline")
    settings.set("POLICYWATCH_WARC_DIR", None, priority="cmdline")
    values = {
        "REDIS_URL": redis_url, "POLICYWATCH_REDIS_PREFIX": prefix,
        "REDIS_START_URLS_KEY": redis_queue.Keys(prefix).targets,
        # Never a shared fingerprint set: tomorrow's recrawl of today's URL must not be a "dupe".
        "DUPEFILTER_CLASS": "scrapy.dupefilters.BaseDupeFilter",
        "ITEM_PIPELINES": {
            # 100: bound the capture exactly as a local crawl does.
            "crawler.pipelines.BoundCapturePipeline": 100,
            # 300: push it, with its claim token, to the recorder.
            "crawler.redis.pipelines.RedisCapturePipeline": 300,
        },
        "LOG_INSTALL_ROOT_HANDLER": False,  # the CLI owns logging
        **(rendering.settings() if render else {}),
        **(overrides or {}),
    }
    for key, value in values.items():
        settings.set(key, value, priority="cmdline")
    return settings


def run_worker(redis_url: str, prefix: str = redis_queue.DEFAULT_PREFIX, *, render: bool = False,
               overrides: dict | None = None) -> dict:
    """Fetch target messages from Redis until SIGTERM/SIGINT; return the ``policywatch/`` stats."""
    # scrapy-redis (the optional redis extra) is imported only by the process that runs a worker.
    from crawler.redis.worker_spider import RedisWorkerSpider
    redis_queue.connect(redis_url).close()  # fail fast, with a readable error, on a bad URL
    process = AsyncCrawlerProcess(worker_settings(redis_url, prefix, render=render, overrides=overrides))
    crawler = process.create_crawler(RedisWorkerSpider)
    process.crawl(crawler)
    process.start()
    return {key: value for key, value in sorted(crawler.stats.get_stats().items())
            if key.startswith("policywatch/")}
