"""The outbox: one ``deliveries`` row per change × matching subscription, sent through apprise.

Rows are written by the listeners (``notify.enqueue``, re-exported here) inside the transaction
that records the change (or the target's state change), so nothing is recorded without its
deliveries; the SQL is ``monitor.store.notifications``'. ``send_pending``
sends due rows, each as: claim (status ``sending`` + an open attempt row, committed), send,
then record the outcome (committed). Sends run in parallel threads, at most one per channel
and ``parallel_sends`` in all, each awaited for ``send_deadline_seconds`` at most: a slow or
dead channel delays neither the others nor the caller for longer than that. A permanent
refusal (most 4xx) is ``dead`` at once. A row left ``sending`` by a killed notifier is
re-sent once its lease expires, with the same idempotency key (docs/decisions/0004). Failures
are retried with capped exponential backoff, then marked ``dead``. Nothing here raises for a
failing channel: a crawl that sends its outbox is never aborted by one.
"""

import logging
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from monitor.errors import ChangeNotFound, InputError, PolicywatchError, TargetNotFound
from monitor.evidence import ledger
from monitor.store import Store, notifications
from monitor.timeutil import iso
from monitor.timeutil import now as utc_now
from notify import channels
from notify.compose import delivery_message
from notify.digests import compose_digests
from notify.enqueue import enqueue_for_change, enqueue_operator_event, idempotency_key, operator_key
from notify.messages import unsubscribe_url
from notify.render import TemplateProblem
from notify.secrets import SecretMissing
from notify.settings import NotifySettings
from notify.subscriptions import decode, forget_unsubscribed, reveal_url

__all__ = ["INTERRUPTED", "STOPPED", "SendReport", "enqueue_for_change", "enqueue_operator_event",
           "idempotency_key", "operator_key", "outbox_counts", "send_pending"]

log = logging.getLogger(__name__)

WAITING = ("pending", "failed", "sending", "digest")
INTERRUPTED = ("notifier stopped during this send; outcome unknown, re-sent with the same "
               "idempotency key")
STOPPED = ("notifier stopped before the channel answered; outcome unknown, back to pending, "
           "re-sent with the same idempotency key")


@dataclass
class SendReport:
    """What one ``send_pending`` pass did."""

    sent: int = 0
    failed: int = 0
    dead: int = 0
    digests: int = 0
    resumed: int = 0  # rows found `sending` after a notifier stopped mid-send
    released: int = 0  # sends cut short by a stop, back to `pending`

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _due(store: Store, now: datetime, settings: NotifySettings, limit: int,
         seen: set[int] = frozenset()) -> list[tuple[int, int]]:
    """``(delivery id, subscription id)`` of due rows not in ``seen``, oldest first."""
    stale = iso(now - timedelta(seconds=settings.lease_seconds))
    rows = notifications.due_deliveries(store.db, iso(now), stale)
    found = []
    for delivery_id, subscription_id in rows:
        if delivery_id not in seen:
            found.append((delivery_id, subscription_id))
            if len(found) >= limit:
                break
    return found


def _claim(store: Store, delivery: dict, now: datetime, settings: NotifySettings) -> int | None:
    """Mark a row `sending` and open an attempt, committed before the send; None if taken."""
    stale = iso(now - timedelta(seconds=settings.lease_seconds))
    with store.transaction():
        if not notifications.take_delivery(store.db, delivery["id"], iso(utc_now()), iso(now), stale):
            return None
        notifications.close_open_attempts(store.db, delivery["id"], INTERRUPTED, iso(utc_now()))
        return notifications.insert_attempt(store.db, {
            "delivery_id": delivery["id"], "attempted_at": iso(utc_now()), "ok": None, "error": None,
            "finished_at": None})


def _finish(store: Store, delivery: dict, attempt_id: int | None, attempts: int, error: str | None,
            settings: NotifySettings, now: datetime, *, permanent: bool = False,
            count_attempt: bool = True) -> str:
    """Record an outcome; return the delivery's new status. Backoff counts from the pass's
    ``now`` (the clock, or a later time a test passes)."""
    finished = iso(utc_now())
    if error is None:
        status, updates = "sent", {"status": "sent", "sent_at": finished, "last_error": None}
    else:
        dead = permanent or (count_attempt and attempts >= settings.max_attempts)
        status = "dead" if dead else "failed"
        delay = settings.backoff(max(1, attempts))
        updates = {"status": status, "last_error": error,
                   "next_attempt_at": iso(max(now, utc_now()) + timedelta(seconds=delay))}
    with store.transaction():
        if attempt_id is None:
            notifications.insert_attempt(store.db, {"delivery_id": delivery["id"], "attempted_at": finished,
                                                    "ok": 0, "error": error, "finished_at": finished})
        else:
            notifications.update_attempt(store.db, attempt_id, {"ok": int(error is None), "error": error,
                                                                "finished_at": finished})
        notifications.update_delivery(store.db, delivery["id"], updates)
        if status == "sent":
            # Proof of notice: the sent delivery joins the ledger in the same transaction.
            ledger.append_delivery(store.db, delivery["id"], finished)
    return status


@dataclass
class _Job:
    """A send in flight: its claimed delivery, the open attempt, its deadline."""

    delivery: dict
    subscription: dict
    url: str
    attempt_id: int
    deadline: float


# Sends abandoned past their deadline whose thread still runs, by subscription: a channel
# with one gets no new send until it ends, so a dead channel never piles up threads.
_ABANDONED: dict[int, Future] = {}
_ABANDONED_LOCK = threading.Lock()


def _channel_busy(subscription_id: int) -> bool:
    with _ABANDONED_LOCK:
        running = _ABANDONED.get(subscription_id)
        if running is not None and running.done():
            del _ABANDONED[subscription_id]
            return False
        return running is not None


class _Pass:
    """One ``send_pending`` pass: sends run in parallel (``parallel_sends``, one per channel at
    a time), each awaited for ``send_deadline_seconds``; the database is only touched from the
    calling thread (claims, outcomes), the channels only from the send threads."""

    def __init__(self, store: Store, settings: NotifySettings, now: datetime, report: SendReport,
                 stop: threading.Event | None):
        self.store, self.settings, self.now, self.report = store, settings, now, report
        self.stop = stop or threading.Event()
        self.in_flight: dict[Future, _Job] = {}
        self.slow: set[int] = set()  # channels that missed a deadline: they wait for the next pass
        self.urls: dict[int, str] = {}  # subscription id → its full URL, read once per pass

    def run(self, limit: int | None) -> None:
        seen: set[int] = set()
        queues: dict[int, deque[int]] = {}
        started = 0
        while not self.stop.is_set():
            if not any(queues.values()) and not self.in_flight:
                fresh = [(d, s) for d, s in _due(self.store, self.now, self.settings, 1000, seen)
                         if s not in self.slow]
                if not fresh:
                    break
                for delivery_id, subscription_id in fresh:
                    seen.add(delivery_id)
                    queues.setdefault(subscription_id, deque()).append(delivery_id)
            busy = {job.subscription["id"] for job in self.in_flight.values()}
            for subscription_id, queue in queues.items():
                if len(self.in_flight) >= self.settings.parallel_sends or self.stop.is_set():
                    break
                if limit is not None and started >= limit:
                    queue.clear()
                    continue
                if subscription_id in busy or not queue:
                    continue
                if subscription_id in self.slow or _channel_busy(subscription_id):
                    queue.clear()  # stays due; sent by a later pass
                    continue
                if self._start(queue.popleft()):
                    started += 1
                    busy.add(subscription_id)
            if not self.in_flight:
                if limit is not None and started >= limit:
                    break
                continue
            self._collect()
        self._stop_in_flight()

    def _start(self, delivery_id: int) -> bool:
        """Render, claim and start one send; False if it needed no send (or was taken)."""
        try:
            return self._prepare(delivery_id)
        except PolicywatchError:
            raise  # the store itself failed (locked, full): the caller reports it
        except Exception as error:  # a bug in one delivery must not stop the others, or a crawl
            log.error("delivery %s: unexpected %s; it stays in the outbox", delivery_id, type(error).__name__)
            self.report.failed += 1
            return False

    def _prepare(self, delivery_id: int) -> bool:
        store, settings, now, report = self.store, self.settings, self.now, self.report
        delivery = notifications.delivery(store.db, delivery_id)
        subscription = decode(notifications.subscription_row(store.db, delivery["subscription_id"]))
        try:
            url = self.urls.get(subscription["id"]) or reveal_url(store, subscription)
            self.urls[subscription["id"]] = url
        except SecretMissing as problem:
            # The operator's to fix (a moved secrets file, an unset variable): never dies.
            _finish(store, delivery, None, max(1, delivery["attempts"]), str(problem), settings, now,
                    count_attempt=False)
            log.warning("delivery %s: %s", delivery_id, problem)
            report.failed += 1
            return False
        plugin = channels.channel(url)
        if plugin is None:
            attempt = _claim(store, delivery, now, settings)
            if attempt is not None:
                _finish(store, delivery, attempt, delivery["attempts"] + 1,
                        f"apprise cannot use {channels.redact(url)} any more", settings, now, permanent=True)
                report.dead += 1
            return False
        title_limit, body_limit = channels.limits(plugin)
        body_limit = min(body_limit or settings.max_body_chars, settings.max_body_chars)
        unsubscribe = _unsubscribe_url(store, settings, subscription["id"], url)
        try:
            title, body = delivery_message(store, delivery, subscription, settings, body_limit, title_limit,
                                           unsubscribe)
        except (TemplateProblem, ChangeNotFound, TargetNotFound) as problem:
            # Not the channel's fault and not a reason to give up: keep it, retry after a fix.
            _finish(store, delivery, None, max(1, delivery["attempts"]), str(problem), settings, now,
                    count_attempt=False)
            log.warning("delivery %s: %s", delivery_id, problem)
            report.failed += 1
            return False
        resumed = delivery["status"] == "sending"
        attempt = _claim(store, delivery, now, settings)
        if attempt is None:
            return False  # another notifier took it
        report.resumed += int(resumed)
        future = channels.start_send(url, title, body, subscription["format"], delivery["idempotency_key"],
                                     channels.unsubscribe_headers(unsubscribe))
        self.in_flight[future] = _Job(delivery, subscription, url, attempt,
                                      time.monotonic() + settings.send_deadline_seconds)
        return True

    def _collect(self) -> None:
        """Wait for the first send to end or reach its deadline; record what ended."""
        soonest = min(job.deadline for job in self.in_flight.values())
        wait(list(self.in_flight), timeout=max(0.0, min(soonest - time.monotonic(), 0.5)),
             return_when=FIRST_COMPLETED)
        for future, job in list(self.in_flight.items()):
            if future.done():
                del self.in_flight[future]
                self._record(job, _outcome(future, job))
            elif time.monotonic() >= job.deadline:
                del self.in_flight[future]
                subscription_id = job.subscription["id"]
                with _ABANDONED_LOCK:
                    _ABANDONED[subscription_id] = future
                self.slow.add(subscription_id)
                seconds = f"{self.settings.send_deadline_seconds:g}"
                self._record(job, channels.Outcome(
                    f"no answer within {seconds} s (POLICYWATCH_NOTIFY_SEND_DEADLINE_SECONDS); outcome "
                    "unknown, re-sent later with the same idempotency key"))

    def _record(self, job: _Job, outcome: channels.Outcome) -> None:
        delivery, subscription = job.delivery, job.subscription
        error = None if outcome.ok else channels.scrub(outcome.error, job.url)
        status = _finish(self.store, delivery, job.attempt_id, delivery["attempts"] + 1, error,
                         self.settings, self.now, permanent=outcome.permanent)
        if status == "sent":
            self.report.sent += 1
            return
        log.warning("delivery %s to subscription %s (%s) failed (attempt %s, now %s): %s",
                    delivery["id"], subscription["id"], subscription["apprise_url"],
                    delivery["attempts"] + 1, status, error)
        if status == "dead":
            self.report.dead += 1
        else:
            self.report.failed += 1

    def _stop_in_flight(self) -> None:
        """Let sends in flight finish within the grace period; put the rest back to `pending`."""
        if not self.in_flight:
            return
        if self.stop.is_set():
            wait(list(self.in_flight), timeout=self.settings.stop_grace_seconds)
        else:  # the limit was reached: wait for them as usual
            while self.in_flight:
                self._collect()
            return
        for future, job in list(self.in_flight.items()):
            del self.in_flight[future]
            if future.done():
                self._record(job, _outcome(future, job))
            else:
                _release(self.store, job)
                self.report.released += 1


def _unsubscribe_url(store: Store, settings: NotifySettings, subscription_id: int, url: str) -> str:
    """An e-mail's one-click unsubscribe link when the web UI's base URL is set, else "".
    A key that cannot be made (an unwritable folder) costs the link, never the alert."""
    if not (settings.base_url and channels.is_email(url)):
        return ""
    try:
        return unsubscribe_url(settings.base_url, store.path, subscription_id)
    except InputError as problem:
        log.warning("subscription %s: no unsubscribe link: %s", subscription_id, problem)
        return ""


def _outcome(future: Future, job: _Job) -> channels.Outcome:
    try:
        return future.result()
    except Exception as error:  # noqa: BLE001 - a bug in the send thread: a failed attempt
        return channels.Outcome(f"{type(error).__name__}: {channels.scrub(str(error), job.url)}")


def _release(store: Store, job: _Job) -> None:
    """A send cut short by a stop: the delivery is `pending` again (due now, the attempt not
    counted), its attempt closed as interrupted."""
    finished = iso(utc_now())
    with store.transaction():
        notifications.release_delivery(store.db, job.delivery["id"], job.attempt_id, STOPPED, finished)


def send_pending(store: Store, limit: int | None = None, base_url: str | None = None,
                 template_dir: str | None = None, settings: NotifySettings | None = None,
                 now: datetime | None = None, flush_digests: bool = False,
                 stop: threading.Event | None = None) -> SendReport:
    """Compose due digests, then send every delivery that is due (at most ``limit`` sends; the
    rest stay in the outbox for the next pass); never raises for a channel.

    Sends run in parallel, one per channel at a time, each with a deadline: a slow or dead
    channel holds one slot for at most ``send_deadline_seconds`` and its other deliveries wait
    for the next pass. When ``stop`` is set, nothing new starts; sends in flight get
    ``stop_grace_seconds``, then go back to `pending`. ``now`` (default: the clock) decides
    what is due; tests pass a later time instead of waiting.
    """
    settings = settings or NotifySettings.from_env()
    overrides = {k: v for k, v in (("base_url", base_url), ("template_dir", template_dir)) if v is not None}
    if overrides:
        settings = replace(settings, **overrides)
    now = now or utc_now()
    forget_unsubscribed(store)
    report = SendReport(digests=compose_digests(store, now=now, force=flush_digests))
    _Pass(store, settings, now, report, stop).run(limit)
    return report


def outbox_counts(store: Store) -> dict:
    """How many deliveries are in each status."""
    return notifications.delivery_counts(store.db)
