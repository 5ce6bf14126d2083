"""The one URL redactor: how a URL that may carry secrets is shown, logged or stored.

URLs policywatch is given carry credentials: apprise channel URLs (a password, a token in the
host, the path or the query) and the timestamp authority's URL (``user:password@``, an API key
in the query). ``redact_url`` is the only way either is shown. Stdlib only, so any layer may
use it; the notifier adds apprise's own view of a channel URL through ``view`` and the
plugin's private tokens through ``secrets`` (``notify.privacy.redact``).

Two forms, because both are stored and looked up as they are:

- the short form (the default): user info, the query and the fragment dropped, and every
  host or path part that is, or may be, a secret (a ``host:token``, an apprise mask, a known
  secret part, a path segment of ``SHOWN_SEGMENT_CHARS`` or more) shown as ``HIDDEN``.
  Idempotent: a URL already in this form is returned as it is.
- ``keep_address``, for a service's address (the TSA): host, port, path and query names kept
  (timestamp rows are looked up by this form), user info and every query value ``***``; an
  address that cannot be parsed (a ``host:token``, a broken IPv6 literal) shows nothing past
  its scheme.
"""

import re
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

__all__ = ["HIDDEN", "MASKS", "SHOWN_SEGMENT_CHARS", "STARS", "redact_url", "url_parts"]

HIDDEN = "…"
STARS = "***"
# A path segment this long is taken for a token; shorter ones ("hooks", a chat id) are shown.
SHOWN_SEGMENT_CHARS = 8
# apprise's privacy masks: "****", "1...4" (first and last character), "...abcd" (the tail).
MASKS = re.compile(r"\*{4}|[^/:@?#&=\s]?\.\.\.[^/:@?#&=\s]{0,4}")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")


def url_parts(url: str) -> set[str]:
    """The parts of ``url`` that may be secret: user and password, a ``host:token``, path
    segments and query values of 4 characters or more, the fragment (each as written and
    percent-decoded)."""
    parts: set[str] = set()
    try:
        split = urlsplit(url)
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


def redact_url(url: str, *, view: Callable[[str], str | None] | None = None,
               secrets: Callable[[str], Iterable[str]] = url_parts, keep_address: bool = False) -> str:
    """``url`` as it may be shown: the short form, or with ``keep_address`` the service form
    (see the module's docstring).

    For the short form, ``view(url)`` may give a better starting point (apprise's privacy URL;
    None: nothing of the URL can be shown past its scheme), and ``secrets(url)`` the parts to
    hide wherever they appear (default: ``url_parts``). ``HIDDEN`` if the scheme is malformed.
    """
    if keep_address:
        return _address(url)
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if not _SCHEME.fullmatch(scheme):
        return HIDDEN
    if HIDDEN in url and url == _shape(url, set()):
        return url  # already redacted (a stored display form)
    shown = view(url) if view is not None else url
    if shown is None:
        return f"{scheme}://{HIDDEN}"
    return _shape(shown, set(secrets(url)))


def _shape(shown: str, secrets: set[str]) -> str:
    shown = shown.split("?", 1)[0].split("#", 1)[0]
    scheme, _, rest = shown.partition("://")
    netloc, slash, path = rest.partition("/")
    userinfo, at, host = netloc.rpartition("@")
    if at:
        userinfo = HIDDEN  # user and password: credentials, never shown
    host_shown = HIDDEN if MASKS.search(host) or host in secrets or ":" in host and not \
        host.rpartition(":")[2].isdigit() else host
    segments = []
    for segment in path.split("/") if slash else ():
        plain = unquote(segment)
        hidden = (MASKS.search(segment) or segment in secrets or plain in secrets
                  or len(plain) >= SHOWN_SEGMENT_CHARS or any(s in plain for s in secrets if len(s) >= 4))
        segments.append(HIDDEN if hidden and segment else segment)
    path_shown = re.sub(f"({HIDDEN}/)+{HIDDEN}", HIDDEN, "/".join(segments))
    path_shown = re.sub("/{2,}", "/", path_shown)
    return f"{scheme}://{userinfo}{at}{host_shown}{slash}{path_shown}"


def _address(url: str) -> str:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a host:token, not host:port, or a broken IPv6 literal: show nothing of it
        scheme = url.split("://", 1)[0] if "://" in url else ""
        return f"{scheme}://{STARS}" if _SCHEME.fullmatch(scheme) else STARS
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = (f"{STARS}@" if parts.username or parts.password else "") + host + (f":{port}" if port else "")
    query = urlencode([(key, STARS) for key, _ in parse_qsl(parts.query, keep_blank_values=True)], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
