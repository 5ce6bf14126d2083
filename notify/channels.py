"""Apprise, the only way out: validating, redacting and sending to apprise URLs.

Apprise URLs carry secrets (passwords, tokens in the host, path or query). Nothing here lets
one reach a log, an error message, the terminal or the database:

- ``redact(url)`` is the one way a channel URL is ever shown. It starts from apprise's own
  privacy URL (``plugin.url(privacy=True)``), then removes what apprise still shows (its
  ``1...4`` masks keep a token's first and last characters), the query, and every long or
  secret path part.
- ``scrub(text, url)`` hides every secret part of ``url`` in a text (an apprise log line, an
  exception) before it is stored or printed; ``secret_parts`` says what those parts are:
  the URL's user, password, path segments and query values, and the values of the apprise
  plugin's own ``private`` tokens (a Telegram bot token, a Slack token…), with apprise's
  masked forms of each.
- Apprise's logger (``apprise``) never propagates: its records are collected, per thread,
  while we call it, and forwarded scrubbed (DEBUG) to ``notify.apprise``. ``SecretsFilter`` is
  installed on the HTTP stack's loggers and on the root handlers and hides every channel
  secret this process has seen, whatever logs it.
"""

import contextvars
import logging
import re
import threading
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import apprise

from monitor.errors import InputError

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_ERROR_CHARS = 500
HIDDEN = "…"
_FORMATS = {"text": apprise.NotifyFormat.TEXT, "markdown": apprise.NotifyFormat.MARKDOWN,
            "html": apprise.NotifyFormat.HTML}
# A path segment this long is taken for a token; shorter ones ("hooks", a chat id) are shown.
_SHOWN_SEGMENT_CHARS = 8
# apprise's privacy masks: "****", "1...4" (first and last character), "...abcd" (the tail).
_APPRISE_MASK = re.compile(r"\*{4}|[^/:@?#&=\s]?\.\.\.[^/:@?#&=\s]{0,4}")
# HTTP statuses that will never succeed on a retry (a 408 timeout or a 429 rate limit may).
_RETRYABLE_4XX = {408, 409, 423, 425, 429}
_HTTP_ERROR = re.compile(r"\berror=(\d{3})\b|\b(\d{3}) (?:Client Error|Bad Request|Unauthorized|"
                         r"Forbidden|Not Found)\b")

# Loggers under apprise that see secrets: the HTTP stack logs request lines and paths.
_HTTP_LOGGERS = ("urllib3", "urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry",
                 "urllib3.response", "requests", "requests.packages.urllib3")
forwarded = logging.getLogger("notify.apprise")


# -- what is secret in a URL --------------------------------------------------------------
def _private_values(plugin) -> set[str]:
    """The values of an apprise plugin's tokens and arguments marked ``private``."""
    values: set[str] = set()
    for table in ("template_tokens", "template_args"):
        for key, spec in (getattr(plugin, table, None) or {}).items():
            if not isinstance(spec, dict) or not spec.get("private"):
                continue
            value = getattr(plugin, spec.get("map_to") or key, None)
            for item in value if isinstance(value, (list, tuple, set)) else (value,):
                if isinstance(item, (str, int)) and not isinstance(item, bool):
                    values.add(str(item))
    return values


def _instantiate(apprise_url: str):
    with capture_apprise_log():
        try:
            return apprise.Apprise.instantiate(apprise_url)
        except Exception:  # noqa: BLE001 - a plugin bug on a strange URL: treat as unusable
            return None


def _url_parts(apprise_url: str) -> set[str]:
    parts: set[str] = set()
    try:
        split = urlsplit(apprise_url)
    except ValueError:
        return parts
    for userinfo in (split.username, split.password):
        if userinfo:
            parts.update({userinfo, unquote(userinfo)})
    netloc = split.netloc.rpartition("@")[2]
    if ":" in netloc and not netloc.rpartition(":")[2].isdigit():
        parts.add(netloc)  # host:word is a token (tgram://123456:ABC…), not host:port
    for segment in split.path.split("/"):
        if len(segment) >= 4:
            parts.update({segment, unquote(segment)})
    for _, value in parse_qsl(split.query):
        if len(value) >= 4:
            parts.add(value)
    if split.fragment:
        parts.add(split.fragment)
    return parts


def _masked_forms(secret: str) -> set[str]:
    """How apprise's ``pprint`` shows a secret (first…last, tail), never to be shown either."""
    return {f"{secret[:1]}...{secret[-1:]}", f"...{secret[-4:]}"} if len(secret) >= 6 else set()


def secret_parts(apprise_url: str, whole: bool = True) -> list[str]:
    """The substrings of an apprise URL that must never be shown (and the URL itself if
    ``whole``), longest first."""
    parts = _url_parts(apprise_url)
    plugin = _instantiate(apprise_url) if "://" in apprise_url else None
    if plugin is not None:
        parts |= _private_values(plugin)
    for part in list(parts):
        parts |= _masked_forms(part)
        parts.add(quote(part, safe=""))
    if whole:
        parts |= {apprise_url, unquote(apprise_url)}
    return sorted((p for p in parts if p and len(p) >= 3), key=len, reverse=True)


def _strong(part: str) -> bool:
    """A part worth hiding in every log line: long, not an address or a host name."""
    if len(part) < 8 or "@" in part or part.startswith(("/", "...")) or "..." in part:
        return False
    return not re.fullmatch(r"[0-9.]+|[a-z0-9-]+(\.[a-z0-9-]+)+|[a-z]+", part)


def scrub(text: str, apprise_url: str | Iterable[str], whole: bool = True) -> str:
    """``text`` with every secret part of ``apprise_url`` (or of each of several URLs) hidden."""
    urls = [apprise_url] if isinstance(apprise_url, str) else list(apprise_url)
    parts = sorted({p for url in urls if url for p in secret_parts(url, whole)}, key=len, reverse=True)
    for part in parts:
        text = text.replace(part, HIDDEN)
    return _SECRETS.scrub(text)


def redact(apprise_url: str) -> str:
    """The one way to show a channel URL: apprise's privacy URL with every secret part, every
    apprise mask, long path segments and the query removed. ``scheme://…`` if apprise cannot
    read it. Idempotent (a redacted URL stays as it is)."""
    scheme = apprise_url.split("://", 1)[0] if "://" in apprise_url else ""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        return HIDDEN
    if HIDDEN in apprise_url and apprise_url == _shape(apprise_url, set()):
        return apprise_url  # already redacted (a stored display form)
    plugin = _instantiate(apprise_url)
    if plugin is None:
        return f"{scheme}://{HIDDEN}"
    try:
        with capture_apprise_log():
            shown = plugin.url(privacy=True)
    except Exception:  # noqa: BLE001 - a plugin that cannot print itself
        return f"{scheme}://{HIDDEN}"
    return _shape(shown, set(secret_parts(apprise_url, whole=False)))


def _shape(shown: str, secrets: set[str]) -> str:
    shown = shown.split("?", 1)[0].split("#", 1)[0]
    scheme, _, rest = shown.partition("://")
    netloc, slash, path = rest.partition("/")
    userinfo, at, host = netloc.rpartition("@")
    if at:
        userinfo = HIDDEN  # user and password: credentials, never shown
    host_shown = HIDDEN if _APPRISE_MASK.search(host) or host in secrets or ":" in host and not \
        host.rpartition(":")[2].isdigit() else host
    segments = []
    for segment in path.split("/") if slash else ():
        plain = unquote(segment)
        hidden = (_APPRISE_MASK.search(segment) or segment in secrets or plain in secrets
                  or len(plain) >= _SHOWN_SEGMENT_CHARS or any(s in plain for s in secrets if len(s) >= 4))
        segments.append(HIDDEN if hidden and segment else segment)
    path_shown = re.sub(f"({HIDDEN}/)+{HIDDEN}", HIDDEN, "/".join(segments))
    path_shown = re.sub("/{2,}", "/", path_shown)
    return f"{scheme}://{userinfo}{at}{host_shown}{slash}{path_shown}"


# -- every channel secret this process has seen, hidden from every log line ---------------
class _SecretRegistry:
    def __init__(self):
        self._lock = threading.Lock()
        self._parts: tuple[str, ...] = ()

    def remember(self, apprise_url: str) -> None:
        strong = {p for p in secret_parts(apprise_url, whole=True) if _strong(p)}
        with self._lock:
            if strong - set(self._parts):
                self._parts = tuple(sorted(set(self._parts) | strong, key=len, reverse=True))

    def scrub(self, text: str) -> str:
        for part in self._parts:
            if part in text:
                text = text.replace(part, HIDDEN)
        return text


_SECRETS = _SecretRegistry()


def remember(apprise_url: str) -> None:
    """Hide this URL's secrets from every log line from now on (done for every URL we read)."""
    _SECRETS.remember(apprise_url)


class SecretsFilter(logging.Filter):
    """Rewrites a log record so that no channel secret seen by this process survives in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record: let logging report it
            return True
        clean = _SECRETS.scrub(message)
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            clean_text = _SECRETS.scrub(text)
            if clean_text != text:
                clean, record.exc_info, record.exc_text = f"{clean}\n{clean_text}", None, None
        if clean != message:
            record.msg, record.args = clean, ()
        return True


_FILTER = SecretsFilter()


def install_log_filters() -> None:
    """Put ``SecretsFilter`` on the HTTP stack's loggers and on every root handler (idempotent)."""
    for name in _HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    for handler in logging.getLogger().handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)


# -- apprise's log: captured per call, never propagated ----------------------------------
# A context variable, not a thread-local: apprise runs a service's send in its own worker
# threads with a copy of the caller's context, so their records still find the capture.
_capture: contextvars.ContextVar[list | None] = contextvars.ContextVar("policywatch_apprise_log", default=None)


class _CaptureHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        lines = _capture.get()
        try:
            line = (record.levelname, record.getMessage())
        except Exception:  # noqa: BLE001
            return
        if lines is not None:
            lines.append(line)
        else:  # apprise logging outside our calls (loading plugins): pass it on, scrubbed
            forwarded.debug("%s", _APPRISE_MASK.sub(HIDDEN, _SECRETS.scrub(line[1])))


class capture_apprise_log:
    """Collect the apprise log records of this call (a list of ``(level, message)``)."""

    def __enter__(self) -> list[tuple[str, str]]:
        self.lines: list[tuple[str, str]] = []
        self.token = _capture.set(self.lines)
        return self.lines

    def __exit__(self, *exc) -> None:
        _capture.reset(self.token)


def _install_apprise_logger() -> None:
    logger = logging.getLogger("apprise")
    if not any(isinstance(h, _CaptureHandler) for h in logger.handlers):
        logger.addHandler(_CaptureHandler(logging.DEBUG))
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    install_log_filters()


_install_apprise_logger()


def _forward(lines: list[tuple[str, str]], apprise_url: str) -> None:
    if forwarded.isEnabledFor(logging.DEBUG):
        for level, message in lines:
            forwarded.debug("%s %s", level, _APPRISE_MASK.sub(HIDDEN, scrub(message, apprise_url)))


# -- validating ---------------------------------------------------------------------------
def _known_schemes() -> set[str]:
    with capture_apprise_log():
        details = apprise.Apprise().details()
    return {s.lower() for plugin in details["schemas"]
            for key in ("protocols", "secure_protocols") for s in (plugin.get(key) or ())}


def channel(apprise_url: str):
    """The apprise plugin for a URL, or None if apprise cannot use it."""
    remember(apprise_url)
    return _instantiate(apprise_url)


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
    _forward(log, apprise_url)
    if instance is not None:
        return
    if scheme not in _known_schemes():
        raise InputError(f"apprise does not know the scheme {scheme!r} "
                         "(see https://github.com/caronc/apprise/wiki for the supported services)")
    reasons = [message for level, message in log if level in ("WARNING", "ERROR")]
    reason = f": {_APPRISE_MASK.sub(HIDDEN, scrub(reasons[-1], apprise_url))[:200]}" if reasons else ""
    raise InputError(f"apprise cannot use this {scheme}:// URL (a required part is missing or "
                     f"malformed){reason}")


def limits(plugin) -> tuple[int, int]:
    """``(title_maxlen, body_maxlen)`` of a channel; 0 means unlimited."""
    return max(0, int(getattr(plugin, "title_maxlen", 0) or 0)), max(0, int(getattr(plugin, "body_maxlen", 0) or 0))


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


def send(apprise_url: str, title: str, body: str, fmt: str, idempotency_key: str) -> Outcome:
    """Send one message; say how it went (errors scrubbed of the URL's secrets).

    Channels that take HTTP headers (json://, form://, xml://, mailto://…) carry the delivery's
    idempotency key as ``Idempotency-Key`` so a receiver can drop a re-send (decision 0004).
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
                plugin.headers[IDEMPOTENCY_HEADER] = idempotency_key
            notifier = apprise.Apprise(asset=asset)
            notifier.add(plugin)
            ok = notifier.notify(title=title, body=body, body_format=_FORMATS[fmt])
        except Exception as error:  # noqa: BLE001 - a plugin bug must not stop the outbox
            outcome = Outcome(f"{type(error).__name__}: {error}")
        else:
            outcome = Outcome() if ok else _failure(log)
    _forward(log, apprise_url)
    if outcome.error is not None:
        outcome.error = _APPRISE_MASK.sub(HIDDEN, scrub(outcome.error, apprise_url))[:MAX_ERROR_CHARS]
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
