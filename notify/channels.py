"""Apprise, the only way out: validating and sending to apprise URLs.

What is secret in a channel URL, and how it is kept out of logs, errors and the database
(``redact``, ``scrub``, ``remember``, apprise's captured log), is ``notify.privacy``'s; the
names are re-exported here for the callers that redact what they validate or send.
"""

import re
import threading
from concurrent.futures import Future
from dataclasses import dataclass

import apprise

from monitor.errors import InputError
from monitor.redaction import HIDDEN, MASKS
from notify.privacy import (
    SecretsFilter,
    capture_apprise_log,
    forward,
    install_log_filters,
    instantiate,
    redact,
    remember,
    scrub,
    secret_parts,
)

__all__ = ["HIDDEN", "IDEMPOTENCY_HEADER", "MAX_ERROR_CHARS", "Outcome", "SecretsFilter",
           "capture_apprise_log", "channel", "install_log_filters", "is_email", "limits", "redact", "remember",
           "scrub", "secret_parts", "send", "start_send", "unsubscribe_headers", "validate"]

IDEMPOTENCY_HEADER = "Idempotency-Key"
EMAIL_SCHEMES = ("mailto", "mailtos")
MAX_ERROR_CHARS = 500
_FORMATS = {"text": apprise.NotifyFormat.TEXT, "markdown": apprise.NotifyFormat.MARKDOWN,
            "html": apprise.NotifyFormat.HTML}
# HTTP statuses that will never succeed on a retry (a 408 timeout or a 429 rate limit may).
_RETRYABLE_4XX = {408, 409, 423, 425, 429}
_HTTP_ERROR = re.compile(r"\berror=(\d{3})\b|\b(\d{3}) (?:Client Error|Bad Request|Unauthorized|"
                         r"Forbidden|Not Found)\b")


# -- validating ---------------------------------------------------------------------------
def _known_schemes() -> set[str]:
    with capture_apprise_log():
        details = apprise.Apprise().details()
    return {s.lower() for plugin in details["schemas"]
            for key in ("protocols", "secure_protocols") for s in (plugin.get(key) or ())}


def channel(apprise_url: str):
    """The apprise plugin for a URL, or None if apprise cannot use it."""
    remember(apprise_url)
    return instantiate(apprise_url)


def validate(apprise_url: str) -> None:
    """Raise ``InputError`` saying what is wrong if apprise cannot use the URL (never echoing it)."""
    if not apprise_url or "://" not in apprise_url:
        raise InputError("not an apprise URL: expected SCHEME://…, e.g. mailto://user:pass@host "
                         "or json://host/path (see https://github.com/caronc/apprise/wiki)")
    remember(apprise_url)
    if any(ch.isspace() for ch in apprise_url):
        raise InputError("an apprise URL cannot contain spaces or line breaks (percent-encode them)")
    scheme = apprise_url.split("://", 1)[0].lower()
    if not re.fullmatch(r"[a-z][a-z0-9+.-]*", scheme):
        raise InputError("the apprise URL's scheme is malformed (letters, digits, + . - only)")
    with capture_apprise_log() as log:
        try:
            instance = apprise.Apprise.instantiate(apprise_url)
        except Exception:  # noqa: BLE001
            instance = None
    forward(log, apprise_url)
    if instance is not None:
        return
    if scheme not in _known_schemes():
        raise InputError(f"apprise does not know the scheme {scheme!r} "
                         "(see https://github.com/caronc/apprise/wiki for the supported services)")
    reasons = [message for level, message in log if level in ("WARNING", "ERROR")]
    reason = f": {MASKS.sub(HIDDEN, scrub(reasons[-1], apprise_url))[:200]}" if reasons else ""
    raise InputError(f"apprise cannot use this {scheme}:// URL (a required part is missing or "
                     f"malformed){reason}")


def limits(plugin) -> tuple[int, int]:
    """``(title_maxlen, body_maxlen)`` of a channel; 0 means unlimited."""
    return (max(0, int(getattr(plugin, "title_maxlen", 0) or 0)),
            max(0, int(getattr(plugin, "body_maxlen", 0) or 0)))


def is_email(apprise_url: str) -> bool:
    """Whether a channel is e-mail over SMTP (apprise's ``mailto://`` and ``mailtos://``)."""
    return apprise_url.split("://", 1)[0].lower() in EMAIL_SCHEMES


def unsubscribe_headers(unsubscribe_url: str) -> dict[str, str]:
    """RFC 2369 ``List-Unsubscribe`` and RFC 8058 ``List-Unsubscribe-Post`` (one click: the
    mail client POSTs ``List-Unsubscribe=One-Click`` to the URL) for a link; none without one."""
    if not unsubscribe_url:
        return {}
    return {"List-Unsubscribe": f"<{unsubscribe_url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


# -- sending ------------------------------------------------------------------------------
@dataclass
class Outcome:
    """What one send came to: ``error`` None on success; ``permanent`` if a retry cannot help."""

    error: str | None = None
    permanent: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


def _failure(lines: list[tuple[str, str]]) -> Outcome:
    chosen = [message for level, message in lines if level in ("WARNING", "ERROR")]
    cause = [message.split("Socket Exception:", 1)[1].strip() for _, message in lines
             if "Socket Exception:" in message]
    detail = "; ".join(chosen[-2:]) or "the channel refused the message"
    if cause:
        detail += f" ({cause[-1]})"
    statuses = [int(a or b) for _, message in lines for a, b in _HTTP_ERROR.findall(message)]
    permanent = bool(statuses) and 400 <= statuses[-1] < 500 and statuses[-1] not in _RETRYABLE_4XX
    if permanent:
        detail = f"HTTP {statuses[-1]}, a permanent refusal (not retried): {detail}"
    return Outcome(detail, permanent)


def _send_asset():
    """Apprise settings for our sends: in the calling thread, with no deadline of apprise's.

    We run every send in a daemon thread of ours, with our deadline. Apprise's own (its
    ``service_timeout``, 60 s) would move the send into apprise's thread pool, whose workers
    are joined at exit: one stuck on a trickling channel would hold the process up.
    """
    try:
        return apprise.AppriseAsset(async_mode=False, service_timeout=0)
    except TypeError:  # apprise 1.x: no service_timeout, sends run in the caller's thread
        return apprise.AppriseAsset(async_mode=False)


def send(apprise_url: str, title: str, body: str, fmt: str, idempotency_key: str,
         headers: dict[str, str] | None = None) -> Outcome:
    """Send one message; say how it went (errors scrubbed of the URL's secrets).

    Channels that take headers (json://, form://, xml://, mailto://…) carry the delivery's
    idempotency key as ``Idempotency-Key`` so a receiver can drop a re-send (decision 0004),
    and ``headers`` (an e-mail's ``List-Unsubscribe``). An HTML e-mail goes out as apprise
    builds it: multipart/alternative, the HTML and a text part made from it.
    A 4xx other than 408/409/423/425/429 is ``permanent``.
    """
    remember(apprise_url)
    asset = _send_asset()
    with capture_apprise_log() as log:
        try:
            plugin = apprise.Apprise.instantiate(apprise_url, asset=asset)
            if plugin is None:
                return Outcome(f"apprise cannot use {redact(apprise_url)}", permanent=True)
            if isinstance(getattr(plugin, "headers", None), dict):
                plugin.headers.update({**(headers or {}), IDEMPOTENCY_HEADER: idempotency_key})
            notifier = apprise.Apprise(asset=asset)
            notifier.add(plugin)
            ok = notifier.notify(title=title, body=body, body_format=_FORMATS[fmt])
        except Exception as error:  # noqa: BLE001 - a plugin bug must not stop the outbox
            outcome = Outcome(f"{type(error).__name__}: {error}")
        else:
            outcome = Outcome() if ok else _failure(log)
    forward(log, apprise_url)
    if outcome.error is not None:
        outcome.error = MASKS.sub(HIDDEN, scrub(outcome.error, apprise_url))[:MAX_ERROR_CHARS]
    return outcome


def start_send(*args) -> Future:
    """Run ``send(*args)`` in a daemon thread; its outcome arrives through the future.

    A thread cannot be killed: a send the caller stops waiting for (past its deadline) runs on
    until apprise gives up, but a daemon thread never holds up the process's exit.
    """
    future: Future = Future()

    def run():
        try:
            future.set_result(send(*args))
        except BaseException as error:  # noqa: BLE001 - reported through the future
            future.set_exception(error)

    threading.Thread(target=run, name="notify-send", daemon=True).start()
    return future
