"""Trusted timestamps of the ledger's head from an RFC 3161 timestamp authority (TSA).

Off unless configured, because it needs the network:

- ``POLICYWATCH_TSA_URL`` — the TSA's http(s) URL. ``user:password@`` in it is sent as HTTP
  basic authentication; neither it nor any query value is ever printed or stored (the stored
  and shown form is ``redact_url``'s).
- ``POLICYWATCH_TSA_CA`` — a PEM file of CA certificates to trust TSA certificates from.
  Replies are checked against it before they are stored, and ``verify`` uses it.
- ``POLICYWATCH_TSA_TIMEOUT`` — seconds to wait for the TSA (10).

One token over the head vouches for every entry before it, since each entry's hash covers the
previous one. A token is stored only once it has been checked (``monitor.evidence.tsp.check_token``);
a failed request stores nothing but a ``timestamp_failures`` row.
"""

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

from monitor import redaction
from monitor.config import config
from monitor.errors import InputError, PolicywatchError, StoreError
from monitor.evidence import ledger, tsp
from monitor.store import ledger as ledger_rows
from monitor.store import timestamps as timestamp_rows
from monitor.timeutil import now_iso

log = logging.getLogger("policywatch.timestamps")

DEFAULT_TIMEOUT = 10.0
MAX_REPLY_BYTES = 1 << 20  # real replies are a few KiB; a bigger one is not a TSA's
CONTENT_TYPE = "application/timestamp-query"


class TimestampError(PolicywatchError):
    """The TSA gave no usable token (unreachable, refused, or a reply that does not verify)."""


@dataclass(frozen=True)
class TsaSettings:
    """Where to ask for timestamps and whom to trust; ``url`` None means timestamps are off."""

    url: str | None = None
    ca_file: str | None = None
    timeout: float = DEFAULT_TIMEOUT

    @classmethod
    def from_env(cls, *, url: str | None = None, ca_file: str | None = None,
                 timeout: float | None = None) -> "TsaSettings":
        """Arguments first, then ``POLICYWATCH_TSA_URL|CA|TIMEOUT``."""
        settings = config()
        return cls(url=url or settings.tsa_url, ca_file=ca_file or settings.tsa_ca,
                   timeout=float(timeout) if timeout is not None else settings.tsa_timeout)

    def trusted(self) -> list | None:
        """The CA certificates to check TSA certificates against, or None when none is configured."""
        return tsp.load_trusted(self.ca_file) if self.ca_file else None


def redact_url(url: str) -> str:
    """``url`` without its secrets: user info becomes ``***``, and so does every query value
    (``monitor.redaction``'s service form: timestamp rows are looked up by it)."""
    return redaction.redact_url(url, keep_address=True)


def _split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"the timestamp authority must be an http(s) URL, not {redact_url(url)!r}")
    auth = (unquote(parts.username or ""), unquote(parts.password or "")) if parts.username else None
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")), auth


def _network_reason(error: Exception) -> str:
    """A short cause from a requests error, without its text (which may quote the URL)."""
    import requests  # 0.3 s to import; only a configured TSA needs it
    if isinstance(error, requests.Timeout):
        return "did not answer in time"
    if isinstance(error, requests.exceptions.SSLError):
        return "TLS failed (certificate not trusted, or not a TLS server)"
    cause = error
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return f"cannot be reached ({cause.strerror.lower()})"
        nested = [getattr(cause, "reason", None), *(cause.args or ())]
        cause = cause.__cause__ or cause.__context__ or next((n for n in nested if isinstance(n, Exception)), None)
    return "cannot be reached"


def request_token(url: str, line: bytes, entry_hash: str, *, timeout: float = DEFAULT_TIMEOUT,
                  trusted: list | None = None) -> tuple[bytes, tsp.TokenInfo]:
    """Ask the TSA at ``url`` for a token over ``line``; return it (DER) once checked.

    Raises ``TimestampError`` with one readable line naming the TSA by its redacted URL.
    """
    import requests  # 0.3 s to import; only a configured TSA needs it
    shown = redact_url(url)
    target, auth = _split_credentials(url)
    request = tsp.build_request(line)
    try:
        # No redirects: a POST would be replayed as a GET, and a moved TSA should be reconfigured.
        with requests.post(target, data=request.as_bytes(), auth=auth, timeout=timeout, stream=True,
                           allow_redirects=False,
                           headers={"Content-Type": CONTENT_TYPE, "Accept": "application/timestamp-reply",
                                    "User-Agent": "policywatch (RFC 3161 client)"}) as reply:
            if reply.status_code != 200:
                hint = " (check the credentials in the URL)" if reply.status_code in (401, 403) else ""
                raise TimestampError(f"timestamp authority {shown} answered HTTP {reply.status_code}{hint}")
            body = reply.raw.read(MAX_REPLY_BYTES + 1, decode_content=True)
    except requests.RequestException as error:
        raise TimestampError(f"timestamp authority {shown} {_network_reason(error)}") from error
    if len(body) > MAX_REPLY_BYTES:
        raise TimestampError(f"timestamp authority {shown} sent more than {MAX_REPLY_BYTES} bytes: "
                             "not a timestamp reply")
    try:
        info = tsp.check_token(body, entry_hash, trusted, nonce=request.nonce)
    except tsp.TokenRefused as refused:
        raise TimestampError(f"timestamp authority {shown} refused the request ({refused.detail})") from refused
    except tsp.TokenInvalid as invalid:
        raise TimestampError(f"timestamp authority {shown} sent an unusable reply: {invalid}") from invalid
    return body, info


def _record_failure(store, seq: int | None, shown_url: str, message: str) -> None:
    try:
        with store.transaction() as db:
            timestamp_rows.insert_failure(db, {"attempted_at": now_iso(), "seq": seq, "tsa_url": shown_url,
                                               "error": message})
    except StoreError as error:  # the failure is still reported; losing its row loses no evidence
        log.warning("could not record the timestamp failure: %s", error)


def timestamp_head(store, settings: TsaSettings, *, force: bool = False) -> dict:
    """Timestamp the ledger's head; return the stored row (without the DER), ``skipped`` if it had one.

    Raises ``InputError`` (nothing to do, bad settings) or ``TimestampError`` (recorded in
    ``timestamp_failures``; no token row is written).
    """
    if not settings.url:
        raise InputError("no timestamp authority: pass --tsa URL or set POLICYWATCH_TSA_URL")
    shown = redact_url(settings.url)
    trusted = settings.trusted()
    head = ledger_rows.head(store.db)
    if head is None:
        raise InputError("the ledger is empty: nothing to timestamp yet")
    existing = timestamp_rows.tokens_of_entry(store.db, head["seq"], shown)
    if existing and not force:
        return {**_public(existing[0]), "skipped": True}
    line = ledger.line_of(head)
    try:
        if hashlib.sha256(line).hexdigest() != head["entry_hash"]:
            raise TimestampError(f"ledger entry {head['seq']} does not match its hash: "
                                 "run `policywatch verify` before timestamping")
        der, info = request_token(settings.url, line, head["entry_hash"], timeout=settings.timeout,
                                  trusted=trusted)
    except TimestampError as error:
        _record_failure(store, head["seq"], shown, str(error))
        raise
    row = {"seq": head["seq"], "entry_hash": head["entry_hash"], "tsa_url": shown,
           "gen_time": info.gen_time, "serial": info.serial, "policy": info.policy,
           "tsa_name": info.tsa_name, "token_der": der, "token_sha256": hashlib.sha256(der).hexdigest(),
           "requested_at": now_iso()}
    with store.transaction() as db:
        row["id"] = timestamp_rows.insert_token(db, row)
    return {**_public(row), "skipped": False, "trusted": info.trusted}


def timestamp_head_if_configured(store, *, warn: Callable[[str], None] | None = None) -> dict | None:
    """The crawl's and daemon's hook: timestamp a new head when ``POLICYWATCH_TSA_URL`` is set.

    Never raises: the captures are committed before this runs, so a TSA failure is one warning
    line (and a ``timestamp_failures`` row) and the pass goes on. Returns the new row, or None.
    """
    warn = warn or log.warning
    try:
        settings = TsaSettings.from_env()
        if not settings.url or ledger_rows.head(store.db) is None:
            return None
        stamped = timestamp_head(store, settings)
        return None if stamped["skipped"] else stamped
    except PolicywatchError as error:
        warn(f"ledger timestamp skipped: {error}")
    except Exception as error:  # a bug here must not cost a crawl its outbox or exit status
        log.exception("ledger timestamp failed")
        warn(f"ledger timestamp skipped: unexpected {type(error).__name__} (see the log with -v)")
    return None


def _public(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "token_der"}


def stored_timestamps(db, *, first_seq: int = 0, last_seq: int | None = None) -> list[dict]:
    """Stored tokens (with their DER) covering entries ``first_seq``..``last_seq``, oldest first."""
    return timestamp_rows.tokens(db, first_seq=first_seq, last_seq=last_seq)


def last_failure(db) -> dict | None:
    """The most recent failed request, if any."""
    return timestamp_rows.last_failure(db)


def verify_timestamps(db, trusted: list | None) -> tuple[list[str], int]:
    """Check every stored token against the ledger; return (problems, tokens checked)."""
    problems = []
    rows = stored_timestamps(db)
    for row in rows:
        label = f"timestamp {row['id']} (ledger entry {row['seq']}, {row['tsa_url']})"
        found = ledger_rows.entry_hash(db, row["seq"])
        if found is None:
            problems.append(f"{label}: its ledger entry is missing (deleted)")
            continue
        if found != row["entry_hash"]:
            problems.append(f"{label}: the ledger entry's hash is not the one timestamped (the entry was edited)")
            continue
        try:
            info = tsp.check_token(row["token_der"], found, trusted)
        except tsp.TokenInvalid as invalid:
            problems.append(f"{label}: {invalid}")
            continue
        if hashlib.sha256(row["token_der"]).hexdigest() != row["token_sha256"]:
            problems.append(f"{label}: the stored token was altered (its sha256 changed)")
        elif info.gen_time != row["gen_time"]:
            problems.append(f"{label}: its gen_time is not the token's (the row was edited)")
    return problems, len(rows)
