"""The two Redis lists of distributed crawling, and the JSON messages that travel on them.

``run --redis`` pushes one *target message* per claimed target to ``<prefix>:targets``;
workers pop them, fetch, and push one *capture message* per fetch attempt to
``<prefix>:captures``; the recorder inside ``run`` pops those and records them. Both sides
validate what they pop: a message that does not parse is rejected (counted in
``<prefix>:stats`` and kept in the capped ``<prefix>:rejected`` list for a look), never allowed
to break the batch it came with.

Every target message carries the claim token (the target's ``claimed_at`` stamp set by
``monitor.store.schedule.claim_due``) and its capture message echoes it: the recorder records a
capture only while its claim is still the target's current one, so a late answer to a claim
that lapsed and was re-queued is dropped instead of recorded twice.

Redis is only a transport: delivery is at-most-once (a killed worker loses what it popped), and
the database's leases re-queue whatever is not captured in time (docs/scale-out.md).
"""

import base64
import json
import zlib
from dataclasses import dataclass

from monitor.errors import InputError
from monitor.record import Capture, Confirmation

SCHEMA_VERSION = 1
DEFAULT_PREFIX = "policywatch"
# A target message is a URL, validators and selectors: anything bigger is not one of ours.
MAX_TARGET_MESSAGE_BYTES = 64 * 1024
# Bodies are bounded by DOWNLOAD_MAXSIZE on the worker; compressed and base64'd, plus headers.
MAX_CAPTURE_MESSAGE_BYTES = 32 * 1024 * 1024
# How many rejected messages are kept for an operator to inspect.
REJECTED_KEEP = 1000


class MessageError(InputError):
    """A message popped from Redis is not a valid policywatch message."""


@dataclass(frozen=True)
class Keys:
    """The Redis keys of one policywatch deployment (one store)."""

    prefix: str = DEFAULT_PREFIX

    @property
    def targets(self) -> str:
        return f"{self.prefix}:targets"

    @property
    def captures(self) -> str:
        return f"{self.prefix}:captures"

    @property
    def rejected(self) -> str:
        return f"{self.prefix}:rejected"

    @property
    def stats(self) -> str:
        return f"{self.prefix}:stats"


def connect(url: str):
    """A Redis client for ``url`` (``redis://host:port/db``); the ``redis`` extra must be installed."""
    try:
        import redis  # the redis extra: imported only where it is used
    except ImportError as error:  # pragma: no cover - depends on the installation
        raise InputError("distributed crawling needs the redis extra: pip install 'policywatch[redis]'") from error
    try:
        client = redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=10,
                                      health_check_interval=30)
        client.ping()
    except (ValueError, redis.RedisError) as error:
        raise InputError(f"cannot reach Redis at {url}: {error}") from error
    return client


# -- target messages (run → workers) ---------------------------------------------------------

def target_message(target: dict, compare_sha256: str | None = None) -> bytes:
    """The message for one claimed target (a row from ``claim_due``)."""
    return json.dumps({
        "v": SCHEMA_VERSION, "target_id": target["id"], "url": target["url"],
        "claim": target["claimed_at"], "etag": target.get("etag"),
        "last_modified": target.get("last_modified"), "select": target.get("select") or [],
        "remove": target.get("remove") or [], "render": target.get("render"),
        # Lets the worker tell a changed text and fetch it a second time (monitor.record.vetting).
        "compare_sha256": compare_sha256,
    }, separators=(",", ":")).encode()


def _json_object(data: bytes | str, limit: int) -> dict:
    if isinstance(data, str):
        data = data.encode("utf-8", "replace")
    if len(data) > limit:
        raise MessageError(f"message of {len(data)} bytes is larger than {limit}")
    try:
        message = json.loads(data)
    except (UnicodeDecodeError, ValueError) as error:
        raise MessageError(f"not JSON: {error}") from error
    if not isinstance(message, dict):
        raise MessageError("not a JSON object")
    if message.get("v") != SCHEMA_VERSION:
        raise MessageError(f"unknown schema version {message.get('v')!r} (expected {SCHEMA_VERSION})")
    return message


def _require(message: dict, key: str, kinds, *, optional: bool = False):
    value = message.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,)):
        raise MessageError(f"{key!r} must be {kinds}, not a boolean")
    if not isinstance(value, kinds):
        raise MessageError(f"{key!r} is missing or not {getattr(kinds, '__name__', kinds)}")
    return value


def _strings(message: dict, key: str) -> list[str]:
    value = message.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise MessageError(f"{key!r} must be a list of strings")
    return value


def parse_target_message(data: bytes | str) -> dict:
    """A validated target dict (as the spider expects it) or ``MessageError``."""
    message = _json_object(data, MAX_TARGET_MESSAGE_BYTES)
    target_id = _require(message, "target_id", int)
    if target_id <= 0:
        raise MessageError("'target_id' must be positive")
    url = _require(message, "url", str)
    if not url.lower().startswith(("http://", "https://")):
        raise MessageError(f"'url' must be http(s): {url[:100]!r}")
    render = _require(message, "render", str, optional=True)
    return {
        "id": target_id, "url": url, "claim": _require(message, "claim", str),
        "etag": _require(message, "etag", str, optional=True),
        "last_modified": _require(message, "last_modified", str, optional=True),
        "select": _strings(message, "select"), "remove": _strings(message, "remove"),
        "render": render, "compare_sha256": _require(message, "compare_sha256", str, optional=True),
    }


# -- capture messages (workers → run) --------------------------------------------------------

def _pack(body: bytes | None) -> str | None:
    # Policy pages are text: zlib makes Redis hold and ship a fraction of the bytes.
    return None if body is None else base64.b64encode(zlib.compress(body, 6)).decode("ascii")


def _unpack(message: dict, key: str) -> bytes | None:
    value = _require(message, key, str, optional=True)
    if value is None:
        return None
    try:
        return zlib.decompress(base64.b64decode(value, validate=True))
    except (ValueError, zlib.error) as error:
        raise MessageError(f"{key!r} is not zlib+base64: {error}") from error


def capture_message(capture: Capture, claim: str, worker: str = "") -> bytes:
    """The message for one fetch attempt (raw body, headers, status, or the error)."""
    return json.dumps({
        "v": SCHEMA_VERSION, "target_id": capture.target_id, "claim": claim, "worker": worker,
        "url": capture.url, "started_at": capture.started_at, "fetched_at": capture.fetched_at,
        "status": capture.status, "final_url": capture.final_url, "headers": capture.headers,
        "request_headers": capture.request_headers, "content_type": capture.content_type,
        "elapsed_ms": capture.elapsed_ms, "not_modified": capture.not_modified,
        "error_kind": capture.error_kind, "error": capture.error, "rendered": capture.rendered,
        "body": _pack(capture.body),
        # The body to confirm with, as before ``confirm_fetch`` carried the whole attempt: kept
        # so that a recorder of the same schema version but older code reads it.
        "confirm_body": _pack(capture.confirmation.usable_body if capture.confirmation else None),
        "confirm_fetch": _confirm_fetch_message(capture.confirmation),
    }, separators=(",", ":")).encode()


def _confirm_fetch_message(fetch: Confirmation | None) -> dict | None:
    """A confirmation re-fetch (``Capture.confirmation``), whole, for the recorder to archive and compare."""
    if fetch is None:
        return None
    return {"url": fetch.url, "fetched_at": fetch.fetched_at, "status": fetch.status, "headers": fetch.headers,
            "request_headers": fetch.request_headers, "error": fetch.error, "body": _pack(fetch.body)}


def _confirmation(message: dict, capture_url: str) -> Confirmation | None:
    value = message.get("confirm_fetch")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise MessageError("'confirm_fetch' must be an object")
    return Confirmation(url=_require(value, "url", str, optional=True) or capture_url,
                        fetched_at=_require(value, "fetched_at", str, optional=True) or "",
                        status=_require(value, "status", int, optional=True),
                        headers=_headers(value, "headers"), request_headers=_headers(value, "request_headers"),
                        error=_require(value, "error", str, optional=True), body=_unpack(value, "body"))


def _headers(message: dict, key: str) -> dict:
    value = message.get(key) or {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise MessageError(f"{key!r} must be an object of strings")
    return value


def parse_capture_message(data: bytes | str) -> tuple[Capture, str]:
    """A validated ``Capture`` and its claim token, or ``MessageError``."""
    message = _json_object(data, MAX_CAPTURE_MESSAGE_BYTES)
    target_id = _require(message, "target_id", int)
    status = _require(message, "status", int, optional=True)
    capture = Capture(
        target_id=target_id, url=_require(message, "url", str),
        started_at=_require(message, "started_at", str), fetched_at=_require(message, "fetched_at", str),
        status=status, final_url=_require(message, "final_url", str, optional=True),
        headers=_headers(message, "headers"), request_headers=_headers(message, "request_headers"),
        content_type=_require(message, "content_type", str, optional=True),
        elapsed_ms=_require(message, "elapsed_ms", int, optional=True),
        not_modified=bool(message.get("not_modified")),
        error_kind=_require(message, "error_kind", str, optional=True),
        error=_require(message, "error", str, optional=True),
        rendered=bool(message.get("rendered")),
        body=_unpack(message, "body"),
    )
    capture.confirmation = _confirmation(message, capture.final_url or capture.url)
    if capture.error_kind is None and capture.status is None:
        raise MessageError("a capture needs a status or an error kind")
    return capture, _require(message, "claim", str)


# -- bookkeeping shared by both sides --------------------------------------------------------

def reject(client, keys: Keys, data: bytes, reason: str, side: str) -> None:
    """Count a rejected message and keep it (capped) for an operator to inspect."""
    entry = json.dumps({"side": side, "reason": reason,
                        "message": data[:2000].decode("utf-8", "replace")})
    with client.pipeline() as pipe:
        pipe.hincrby(keys.stats, f"rejected/{side}", 1)
        pipe.lpush(keys.rejected, entry)
        pipe.ltrim(keys.rejected, 0, REJECTED_KEEP - 1)
        pipe.execute()
