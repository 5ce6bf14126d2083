"""WARC (ISO 28500) copies of every capture, written with warcio.

Each capture becomes a ``request`` record and a ``response`` record (or a ``metadata``
record describing the failure when no response came; or a ``revisit`` record when the body is
byte for byte one already archived for the target and the capture shows no change), each one
gzip member appended with a single write and fsynced before the capture row that points at it
is committed (one fsync per batch of captures, ``WarcFiles.write_built``). Files rotate
by size. A process killed mid-write can leave a torn member at the end of the current file;
``WarcFiles`` cuts such a tail off before appending again, so no index ever points into it.

The response body is the one the crawler recorded: transfer and content encodings already
removed. The original ``Content-Encoding`` and ``Transfer-Encoding`` headers are kept as
``X-Archive-Orig-…`` so replay tools serve the body as it is stored.
"""

import base64
import hashlib
import io
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from .errors import StoreError

DEFAULT_MAX_BYTES = 100 * 1024 * 1024
_HOP_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}


@dataclass
class WarcRef:
    """Where a capture's records are: file name (relative to the WARC directory) and span."""

    file: str
    offset: int
    length: int
    record_id: str
    request_id: str | None
    refers_to: str | None = None  # a revisit record: the response record holding the payload


@dataclass
class Original:
    """The earlier response record a ``revisit`` points at (the same payload, stored once)."""

    record_id: str
    uri: str
    fetched_at: str


def payload_digest(body: bytes) -> str:
    """A payload's ``WARC-Payload-Digest`` as warcio writes it (``sha1:`` + base32)."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


def _warc_date(iso_stamp: str | None) -> str:
    moment = datetime.fromisoformat(iso_stamp.replace("Z", "+00:00")) if iso_stamp else datetime.now(UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _member(record) -> bytes:
    buffer = io.BytesIO()
    WARCWriter(buffer, gzip=True).write_record(record)
    return buffer.getvalue()


def complete_length(path: Path, start: int = 0) -> int:
    """The byte length of the readable prefix of a WARC file: whole captures only.

    A capture is a request record and the record after it; a request left without its
    response (the writer was killed between the two) is cut off too. ``start`` is an offset
    known to end a whole capture (where a committed capture row ends): only the bytes after it
    are read, so reopening a 100 MB file does not parse all of it.
    """
    good = start
    dangling_request_at = None
    try:
        with open(path, "rb") as stream:
            stream.seek(start)
            iterator = ArchiveIterator(stream, no_record_parse=False)
            for record in iterator:
                record.content_stream().read()
                iterator.read_to_end(record)
                offset = start + iterator.get_record_offset()
                good = offset + iterator.get_record_length()
                dangling_request_at = offset if record.rec_type == "request" else None
    except Exception:  # a torn gzip member or header: everything before it is good
        pass
    return dangling_request_at if dangling_request_at is not None else good


class WarcFiles:
    """Appends capture records to size-rotated ``.warc.gz`` files in one directory."""

    def __init__(self, directory: str | os.PathLike, max_bytes: int = DEFAULT_MAX_BYTES,
                 complete_up_to: Callable[[str], int | None] | None = None):
        """``complete_up_to(file_name)``, when given, returns an offset in that file known to
        end a whole capture (e.g. from the capture rows): the torn-tail check starts there."""
        self.directory = Path(directory)
        self._complete_up_to = complete_up_to
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"cannot create WARC directory {self.directory}: {error.strerror}") from error
        self._current = self._open_latest()
        self._stream = None  # kept open between records; each write is still fsynced
        self._unsynced = False
        self._size: int | None = None

    def _close_stream(self) -> None:
        if self._stream is not None:
            self._sync()
            self._stream.close()
            self._stream = None

    def _sync(self) -> None:
        if self._stream is not None and self._unsynced:
            self._stream.flush()
            os.fsync(self._stream.fileno())  # complete on disk before a capture row points at it
            self._unsynced = False

    def close(self) -> None:
        """Close the current file (records are on disk already)."""
        with self._lock:
            self._close_stream()

    def _open_latest(self) -> Path:
        existing = sorted(self.directory.glob("policywatch-*.warc.gz"))
        if not existing:
            return self._new_path()
        latest = existing[-1]
        hint = self._complete_up_to(latest.name) if self._complete_up_to else None
        size = latest.stat().st_size
        good = complete_length(latest, hint if hint is not None and 0 < hint <= size else 0)
        if good != latest.stat().st_size:
            with open(latest, "r+b") as stream:
                stream.truncate(good)  # drop a torn record left by a killed process
        return latest

    def _new_path(self) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
        return self.directory / f"policywatch-{stamp}-{os.getpid()}.warc.gz"

    def _append(self, data: bytes, sync: bool = True) -> tuple[str, int]:
        capture_length = len(data)
        if self._size is None:
            self._size = self._current.stat().st_size if self._current.exists() else 0
        if self._size > 0 and self._size + len(data) > self.max_bytes:
            self._close_stream()
            self._current, self._size = self._new_path(), 0
        if self._size == 0:
            data = self._warcinfo() + data
        if self._stream is None:
            self._stream = open(self._current, "ab")
        offset = self._size + (len(data) - capture_length)
        self._stream.write(data)
        self._unsynced = True
        self._size += len(data)
        if sync:
            self._sync()
        return self._current.name, offset

    def _warcinfo(self) -> bytes:
        """The ``warcinfo`` record that opens each file (ISO 28500 §6.2)."""
        from . import __version__
        writer = WARCWriter(io.BytesIO(), gzip=True)
        info = writer.create_warcinfo_record(self._current.name, {
            "software": f"policywatch/{__version__} (warcio)",
            "format": "WARC File Format 1.1",
            "description": "policywatch captures of watched legal documents"})
        return _member(info)

    def write_capture(self, *, url: str, fetched_at: str | None, request_headers: dict,
                      status: int | None, response_headers: dict, body: bytes | None,
                      error: str | None = None) -> WarcRef:
        """Write one capture's records; return where they are."""
        return self.write_built([build_capture(url=url, fetched_at=fetched_at, request_headers=request_headers,
                                               status=status, response_headers=response_headers,
                                               body=body, error=error)])[0]

    def write_built(self, captures: list["BuiltCapture"]) -> list[WarcRef]:
        """Append built captures with one write each and one fsync for all; return where they
        are. A batch shares one fsync instead of paying one per capture (group commit): the
        rows that point at these records are committed only after this returns."""
        refs = []
        with self._lock:
            try:
                for built in captures:
                    name, offset = self._append(built.data, sync=False)
                    refs.append(WarcRef(name, offset, len(built.data), built.record_id, built.request_id,
                                        built.refers_to))
                self._sync()
            except OSError as error:
                raise StoreError(f"cannot write WARC file in {self.directory}: {error.strerror}") from error
        return refs


@dataclass
class BuiltCapture:
    """One capture's WARC records, serialised and gzipped, not yet written."""

    data: bytes
    record_id: str
    request_id: str
    refers_to: str | None = None


def build_capture(*, url: str, fetched_at: str | None, request_headers: dict, status: int | None,
                  response_headers: dict, body: bytes | None, error: str | None = None,
                  revisit_of: Original | None = None) -> BuiltCapture:
    """Serialise one capture's ``request`` and ``response`` (or ``metadata``) records.

    With ``revisit_of`` (an earlier response with the very same body), the response is a
    ``revisit`` record (WARC 1.1 §6.7.2, identical-payload-digest profile): the headers of this
    response, no body, and a pointer to the record that holds it. Replay tools resolve it; an
    unchanged page fetched daily then costs a few hundred bytes, not another copy."""
    writer = WARCWriter(io.BytesIO(), gzip=True)
    date = _warc_date(fetched_at)
    path = url.split("://", 1)[-1].split("/", 1)
    request_line = "/" + (path[1] if len(path) > 1 else "")
    request = writer.create_warc_record(
        url, "request", payload=io.BytesIO(b""), length=0,
        warc_headers_dict={"WARC-Date": date},
        http_headers=StatusAndHeaders(f"GET {request_line} HTTP/1.1",
                                      list(request_headers.items()), is_http_request=True))
    request_id = request.rec_headers.get_header("WARC-Record-ID")
    if status is not None:
        headers = [(k, v) for k, v in response_headers.items() if k.lower() not in _HOP_HEADERS]
        headers += [(f"X-Archive-Orig-{k}", v) for k, v in response_headers.items()
                    if k.lower() in ("content-encoding", "transfer-encoding")]
        payload = body or b""
        headers.append(("Content-Length", str(len(payload))))
    if status is not None and revisit_of is not None and payload:
        main = writer.create_revisit_record(
            url, payload_digest(payload), revisit_of.uri, _warc_date(revisit_of.fetched_at),
            http_headers=StatusAndHeaders(f"{status} -", headers, protocol="HTTP/1.1"),
            warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": request_id,
                               "WARC-Refers-To": revisit_of.record_id})
    elif status is not None:
        main = writer.create_warc_record(
            url, "response", payload=io.BytesIO(payload), length=len(payload),
            warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": request_id},
            http_headers=StatusAndHeaders(f"{status} -", headers, protocol="HTTP/1.1"))
    else:
        detail = json.dumps({"error": error or "no response"}).encode()
        main = writer.create_warc_record(
            url, "metadata", payload=io.BytesIO(detail), length=len(detail),
            warc_content_type="application/json",
            warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": request_id})
    return BuiltCapture(_member(request) + _member(main), main.rec_headers.get_header("WARC-Record-ID"),
                        request_id, revisit_of.record_id if main.rec_type == "revisit" else None)


def read_records(path: str | os.PathLike, offset: int, length: int) -> list[dict]:
    """Parse the records in ``path[offset:offset+length]``; checks warcio's digests.

    Returns dicts with ``type``, ``id``, ``uri``, ``status``, ``headers``, ``body``. Raises
    ``ValueError`` naming the record if a digest does not match or the bytes do not parse.
    """
    with open(path, "rb") as stream:
        stream.seek(offset)
        data = stream.read(length)
    return parse_records(data)


def parse_records(data: bytes) -> list[dict]:
    """Parse WARC bytes (see ``read_records``)."""
    records = []
    try:
        for record in ArchiveIterator(io.BytesIO(data), check_digests=True):
            body = record.content_stream().read()
            record_id = record.rec_headers.get_header("WARC-Record-ID")
            if record.digest_checker.problems:
                raise ValueError(f"WARC record {record_id}: {'; '.join(map(str, record.digest_checker.problems))}")
            records.append({
                "type": record.rec_type, "id": record_id,
                "uri": record.rec_headers.get_header("WARC-Target-URI"),
                "status": int(record.http_headers.get_statuscode()) if record.http_headers and record.rec_type == "response" else None,
                "headers": dict(record.http_headers.headers) if record.http_headers else {},
                "body": body,
            })
    except ValueError:
        raise
    except Exception as error:
        raise ValueError(f"WARC bytes do not parse: {type(error).__name__}: {error}") from error
    return records
