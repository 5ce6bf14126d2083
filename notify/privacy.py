"""What is secret in an apprise URL, and how it is kept out of every log line and message.

Apprise URLs carry secrets (passwords, tokens in the host, path or query). Nothing here lets
one reach a log, an error message, the terminal or the database:

- ``redact(url)`` is the one way a channel URL is ever shown: ``monitor.redaction.redact_url``
  started from apprise's own privacy URL (``plugin.url(privacy=True)``), then removing what
  apprise still shows (its ``1...4`` masks keep a token's first and last characters), the
  query, and every long or secret path part.
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
from urllib.parse import quote, unquote

import apprise

from monitor.redaction import HIDDEN, MASKS, redact_url, url_parts

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


def instantiate(apprise_url: str):
    """The apprise plugin for a URL (its log captured), or None if apprise cannot use it."""
    with capture_apprise_log():
        try:
            return apprise.Apprise.instantiate(apprise_url)
        except Exception:  # noqa: BLE001 - a plugin bug on a strange URL: treat as unusable
            return None




def _masked_forms(secret: str) -> set[str]:
    """How apprise's ``pprint`` shows a secret (first…last, tail), never to be shown either."""
    return {f"{secret[:1]}...{secret[-1:]}", f"...{secret[-4:]}"} if len(secret) >= 6 else set()


def secret_parts(apprise_url: str, whole: bool = True) -> list[str]:
    """The substrings of an apprise URL that must never be shown (and the URL itself if
    ``whole``), longest first."""
    parts = url_parts(apprise_url)
    plugin = instantiate(apprise_url) if "://" in apprise_url else None
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



def _privacy_view(apprise_url: str) -> str | None:
    """Apprise's privacy URL of a channel URL, or None if apprise cannot read or print it."""
    plugin = instantiate(apprise_url)
    if plugin is None:
        return None
    try:
        with capture_apprise_log():
            return plugin.url(privacy=True)
    except Exception:  # noqa: BLE001 - a plugin that cannot print itself
        return None


def redact(apprise_url: str) -> str:
    """The one way to show a channel URL: apprise's privacy URL with every secret part, every
    apprise mask, long path segments and the query removed. ``scheme://…`` if apprise cannot
    read it. Idempotent (a redacted URL stays as it is)."""
    return redact_url(apprise_url, view=_privacy_view, secrets=lambda url: secret_parts(url, whole=False))


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
_capture: contextvars.ContextVar[list | None] = contextvars.ContextVar("policywatch_apprise_log",
                                                                       default=None)


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
            forwarded.debug("%s", MASKS.sub(HIDDEN, _SECRETS.scrub(line[1])))


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


def forward(lines: list[tuple[str, str]], apprise_url: str) -> None:
    """Pass captured apprise log lines on to ``notify.apprise`` (DEBUG), scrubbed of the URL's secrets."""
    if forwarded.isEnabledFor(logging.DEBUG):
        for level, message in lines:
            forwarded.debug("%s %s", level, MASKS.sub(HIDDEN, scrub(message, apprise_url)))

