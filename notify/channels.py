"""Apprise, the only way out: validating, redacting and sending to apprise URLs.

Apprise URLs carry secrets (passwords, tokens in paths or queries). Nothing here lets one
reach a log, an error message or the terminal: apprise's own log records are captured (not
propagated) while we call it, and every text we pass on is scrubbed of the URL's secret parts.
"""

import contextlib
import io
import logging
import re
from collections.abc import Iterator
from urllib.parse import parse_qsl, unquote, urlsplit

import apprise

from monitor.errors import InputError

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_ERROR_CHARS = 500
_LONG_SEGMENT = re.compile(r"(?<=/)([^/@:?#]{3})[^/@:?#]{5,}")
_HIDDEN = "…"
_FORMATS = {"text": apprise.NotifyFormat.TEXT, "markdown": apprise.NotifyFormat.MARKDOWN,
            "html": apprise.NotifyFormat.HTML}


# Loggers that see apprise URLs' secret parts (apprise's own, and the HTTP stack under it,
# which logs request paths at DEBUG).
_SECRET_SEEING_LOGGERS = ("apprise", "urllib3", "requests")


@contextlib.contextmanager
def quiet_apprise() -> Iterator[io.StringIO]:
    """Collect apprise's (and urllib3's) log records instead of letting them reach our handlers."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    saved = []
    for name in _SECRET_SEEING_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate))
        logger.setLevel(logging.DEBUG if name == "apprise" else logging.WARNING)
        logger.propagate = False
        logger.addHandler(handler)
    try:
        yield buffer
    finally:
        for logger, level, propagate in saved:
            logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate


def secret_parts(apprise_url: str, whole: bool = True) -> list[str]:
    """The substrings of an apprise URL that must never be shown (and the URL itself if
    ``whole``), longest first."""
    parts = {apprise_url, unquote(apprise_url)} if whole else set()
    try:
        split = urlsplit(apprise_url)
        parts.update(p for p in (split.password, split.username) if p)
        parts.update(unquote(s) for s in split.path.split("/") if len(s) >= 4)
        parts.update(s for s in split.path.split("/") if len(s) >= 4)
        parts.update(v for _, v in parse_qsl(split.query) if len(v) >= 4)
        if split.fragment:
            parts.add(split.fragment)
    except ValueError:
        pass
    return sorted((p for p in parts if p and len(p) >= 3), key=len, reverse=True)


def scrub(text: str, apprise_url: str, whole: bool = True) -> str:
    """``text`` with every secret part of ``apprise_url`` hidden."""
    for part in secret_parts(apprise_url, whole):
        text = text.replace(part, _HIDDEN)
    return text


def redact(apprise_url: str) -> str:
    """A form of an apprise URL safe to print: no password, no query, long path parts cut."""
    with quiet_apprise():
        instance = apprise.Apprise.instantiate(apprise_url)
        shown = instance.url(privacy=True) if instance else apprise_url.split("://", 1)[0] + "://" + _HIDDEN
    shown = shown.split("?", 1)[0]
    scheme, _, rest = shown.partition("://")
    shown = scheme + "://" + _LONG_SEGMENT.sub("\\1" + _HIDDEN, rest)
    return scrub(shown, apprise_url, whole=False) if instance else shown


def _known_schemes() -> set[str]:
    with quiet_apprise():
        details = apprise.Apprise().details()
    return {s.lower() for plugin in details["schemas"]
            for key in ("protocols", "secure_protocols") for s in (plugin.get(key) or ())}


def channel(apprise_url: str):
    """The apprise plugin for a URL, or None if apprise cannot use it."""
    with quiet_apprise():
        return apprise.Apprise.instantiate(apprise_url)


def validate(apprise_url: str) -> None:
    """Raise ``InputError`` saying what is wrong if apprise cannot use the URL (never echoing it)."""
    if not apprise_url or "://" not in apprise_url:
        raise InputError("not an apprise URL: expected SCHEME://…, e.g. mailto://user:pass@host "
                         "or json://host/path (see https://github.com/caronc/apprise/wiki)")
    if any(ch.isspace() for ch in apprise_url):
        raise InputError("an apprise URL cannot contain spaces or line breaks (percent-encode them)")
    scheme = apprise_url.split("://", 1)[0].lower()
    if not re.fullmatch(r"[a-z][a-z0-9+.-]*", scheme):
        raise InputError("the apprise URL's scheme is malformed (letters, digits, + . - only)")
    with quiet_apprise() as log:
        instance = apprise.Apprise.instantiate(apprise_url)
    if instance is not None:
        return
    if scheme not in _known_schemes():
        raise InputError(f"apprise does not know the scheme {scheme!r} "
                         "(see https://github.com/caronc/apprise/wiki for the supported services)")
    reasons = [line.split(" ", 1)[1] for line in log.getvalue().splitlines()
               if line.startswith(("WARNING", "ERROR")) and " " in line]
    reason = f": {scrub(reasons[-1], apprise_url)[:200]}" if reasons else ""
    raise InputError(f"apprise cannot use this {scheme}:// URL (a required part is missing or "
                     f"malformed){reason}")


def limits(plugin) -> tuple[int, int]:
    """``(title_maxlen, body_maxlen)`` of a channel; 0 means unlimited."""
    return max(0, int(getattr(plugin, "title_maxlen", 0) or 0)), max(0, int(getattr(plugin, "body_maxlen", 0) or 0))


def _failure_detail(log_text: str) -> str:
    lines = [line for line in log_text.splitlines() if line.strip()]
    chosen = [line.split(" ", 1)[1] for line in lines if line.startswith(("WARNING", "ERROR")) and " " in line]
    cause = [line.split("Socket Exception:", 1)[1].strip() for line in lines if "Socket Exception:" in line]
    detail = "; ".join(chosen[-2:]) or "the channel refused the message"
    if cause:
        detail += f" ({cause[-1]})"
    return detail


def send(apprise_url: str, title: str, body: str, fmt: str, idempotency_key: str) -> str | None:
    """Send one message; return None on success or the reason it failed (secrets scrubbed).

    Channels that take HTTP headers (json://, form://, xml://, mailto://…) carry the delivery's
    idempotency key as ``Idempotency-Key`` so a receiver can drop a re-send (decision 0004).
    """
    with quiet_apprise() as log:
        plugin = apprise.Apprise.instantiate(apprise_url)
        if plugin is None:
            return f"apprise cannot use {redact(apprise_url)}"
        if isinstance(getattr(plugin, "headers", None), dict):
            plugin.headers[IDEMPOTENCY_HEADER] = idempotency_key
        notifier = apprise.Apprise()
        notifier.add(plugin)
        try:
            ok = notifier.notify(title=title, body=body, body_format=_FORMATS[fmt])
        except Exception as error:  # a plugin bug must not stop the outbox
            ok, detail = False, f"{type(error).__name__}: {error}"
        else:
            detail = "" if ok else _failure_detail(log.getvalue())
    if ok:
        return None
    return scrub(detail, apprise_url)[:MAX_ERROR_CHARS]
