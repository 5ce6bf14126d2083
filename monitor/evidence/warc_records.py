"""WARC records: building a capture's records (``build_capture``), reading them back
(``read_records``) and checking where whole gzip members end (``complete_length``). Pure
functions of bytes and files; writing them, one writer per file, is ``monitor.evidence.warc``'s.
"""

import base64
import hashlib
import io
import json
import os
import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from monitor import __version__

WARC_VERSION = "1.1"
PROFILE_IDENTICAL_PAYLOAD = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
PROFILE_SERVER_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
_HOP_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}
_GZIP_MAGIC = b"\x1f\x8b\x08\x00"  # warcio's members: deflate, no optional header fields
_TAIL_WINDOWS = (64 * 1024, 1024 * 1024)  # how far back the quick whole-tail check looks


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


@dataclass
class LastCapture:
    """The records of the last capture row pointing into a file: a known-good place to scan from."""

    offset: int
    length: int
    record_id: str


def payload_digest(body: bytes) -> str:
    """A payload's ``WARC-Payload-Digest`` as warcio writes it (``sha1:`` + base32)."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


def warc_date(iso_stamp: str | None) -> str:
    moment = datetime.fromisoformat(iso_stamp.replace("Z", "+00:00")) if iso_stamp else datetime.now(UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _writer(buffer=None) -> WARCWriter:
    return WARCWriter(buffer if buffer is not None else io.BytesIO(), gzip=True, warc_version=WARC_VERSION)


def _member(record) -> bytes:
    buffer = io.BytesIO()
    _writer(buffer).write_record(record)
    return buffer.getvalue()


def warcinfo_member(filename: str, description: str) -> bytes:
    """A gzipped ``warcinfo`` record (ISO 28500 §6.2) naming policywatch as the software."""
    writer = _writer()
    info = writer.create_warcinfo_record(filename, {
        "software": f"policywatch/{__version__} (warcio)",
        "format": "WARC File Format 1.1",
        "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
        "description": description})
    return _member(info)


# --- Reading back: where the whole records of a file end ------------------------------------

class _From:
    """A read-only view of a file from ``start``, whose ``tell()`` counts from there."""

    def __init__(self, stream, start: int):
        stream.seek(start)
        self.stream, self.position = stream, 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.position += len(data)
        return data

    def tell(self) -> int:
        return self.position


def _whole_member(data: bytes) -> bool:
    """True if ``data`` is exactly one complete gzip member (its trailer included)."""
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        decompressor.decompress(data)
    except zlib.error:
        return False
    return decompressor.eof and not decompressor.unused_data


def complete_length(path: str | os.PathLike, start: int = 0) -> int:
    """The byte length of the readable prefix of a WARC file: whole captures only.

    Records are read with warcio from ``start`` (an offset known to end a whole capture, or 0);
    a record counts only if its gzip member is complete and its block digest matches. A capture
    is a request record and the record after it: a request left without its response (the
    writer was killed between the two) is cut off too. Never more than the file's size.
    """
    good = start
    dangling_request_at = None
    with open(path, "rb") as stream, open(path, "rb") as members:
        size = os.fstat(stream.fileno()).st_size
        if start >= size:
            return size
        iterator = ArchiveIterator(_From(stream, start), check_digests=True)
        try:
            for record in iterator:
                record.content_stream().read()
                iterator.read_to_end(record)
                offset = start + iterator.get_record_offset()
                length = iterator.get_record_length()
                if record.digest_checker.passed is False or offset + length > size:
                    break
                members.seek(offset)
                if not _whole_member(members.read(length)):
                    break
                good = offset + length
                dangling_request_at = offset if record.rec_type == "request" else None
        except Exception:  # a torn gzip member or header, or bytes that are no WARC: stop there
            pass
    return min(size, dangling_request_at if dangling_request_at is not None else good)


def tail_is_whole(path: str | os.PathLike) -> bool:
    """A quick check that a file ends with a whole gzip member holding a non-request record.

    Reads at most the last MiB. ``False`` means "not shown whole" (a torn tail, a dangling
    request, or a last member too large to check this way): the caller then scans properly."""
    with open(path, "rb") as stream:
        size = os.fstat(stream.fileno()).st_size
        if size == 0:
            return True
        for window in _TAIL_WINDOWS:
            begin = max(0, size - window)
            stream.seek(begin)
            data = stream.read()
            position = len(data)
            while (position := data.rfind(_GZIP_MAGIC, 0, position)) >= 0:
                decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
                try:
                    head = decompressor.decompress(data[position:])
                except zlib.error:
                    continue  # the magic bytes occurred inside compressed data
                if not decompressor.eof or decompressor.unused_data or not head.startswith(b"WARC/"):
                    return False
                kind = re.search(rb"\r\nWARC-Type: *([a-z]+)", head[:head.find(b"\r\n\r\n") + 2])
                return bool(kind) and kind.group(1) != b"request"
            if begin == 0:
                return False
    return False


def record_at(path: str | os.PathLike, offset: int, length: int, record_id: str) -> bool:
    """True if ``path[offset:offset+length]`` parses (digests checked) and holds ``record_id``."""
    try:
        if offset < 0 or length <= 0 or offset + length > os.path.getsize(path):
            return False
        return any(record["id"] == record_id for record in read_records(path, offset, length))
    except (OSError, ValueError):
        return False


@dataclass
class BuiltCapture:
    """One capture's WARC records, serialised and gzipped, not yet written.

    ``data`` is what the capture row points at (request + response/revisit/metadata);
    ``extra`` (its confirmation re-fetch's records, if any) is written right after it, in the
    same write, and is not part of the capture's span."""

    data: bytes
    record_id: str
    request_id: str
    refers_to: str | None = None
    extra: bytes = b""


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} -"


def build_capture(*, url: str, fetched_at: str | None, request_headers: dict, status: int | None,
                  response_headers: dict, body: bytes | None, error: str | None = None,
                  revisit_of: Original | None = None, not_modified: bool = False,
                  confirmation: dict | None = None) -> BuiltCapture:
    """Serialise one capture's ``request`` and ``response`` (or ``metadata``, or ``revisit``) records.

    With ``revisit_of`` (an earlier response with the very same body), the response is a
    ``revisit`` record (WARC 1.1 §6.7.2, identical-payload-digest profile): the headers of this
    response, no body, the payload's digest, and ``WARC-Refers-To`` / ``-Target-URI`` / ``-Date``
    naming the response record that holds it. Replay tools resolve it; an unchanged page fetched
    daily then costs a few hundred bytes, not another copy.

    With ``not_modified`` (the server answered ``304`` to a conditional request), the response
    is a ``revisit`` record with the server-not-modified profile (§6.7.3): the 304's headers and,
    when known (``revisit_of``), a pointer to the response record holding the payload the
    server said is unchanged.

    ``confirmation`` (the keyword arguments of a second ``build_capture``: the confirmation
    re-fetch) is archived as its own request/response pair in ``extra``."""
    writer = _writer()
    date = warc_date(fetched_at)
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
        payload = b"" if not_modified else (body or b"")
        if not not_modified:
            headers.append(("Content-Length", str(len(payload))))
        http_headers = StatusAndHeaders(_status_line(status), headers, protocol="HTTP/1.1")
    refers_to = None
    if status is not None and not_modified:
        warc_headers = {"WARC-Date": date, "WARC-Concurrent-To": request_id,
                        "WARC-Profile": PROFILE_SERVER_NOT_MODIFIED}
        if revisit_of is not None:
            refers_to = revisit_of.record_id
            warc_headers.update({"WARC-Refers-To": revisit_of.record_id,
                                 "WARC-Refers-To-Target-URI": revisit_of.uri,
                                 "WARC-Refers-To-Date": warc_date(revisit_of.fetched_at)})
        main = writer.create_warc_record(url, "revisit", http_headers=http_headers,
                                         warc_headers_dict=warc_headers)
    elif status is not None and revisit_of is not None and payload:
        refers_to = revisit_of.record_id
        main = writer.create_revisit_record(
            url, payload_digest(payload), revisit_of.uri, warc_date(revisit_of.fetched_at),
            http_headers=http_headers,
            warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": request_id,
                               "WARC-Refers-To": revisit_of.record_id})
    elif status is not None:
        main = writer.create_warc_record(
            url, "response", payload=io.BytesIO(payload), length=len(payload),
            warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": request_id},
            http_headers=http_headers)
    else:
        detail = json.dumps({"error": error or "no response"}).encode()
        main = writer.create_warc_record(
            url, "metadata", payload=io.BytesIO(detail), length=len(detail),
            warc_content_type="application/json",
            warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": request_id})
    extra = build_capture(**confirmation).data if confirmation else b""
    return BuiltCapture(_member(request) + _member(main), main.rec_headers.get_header("WARC-Record-ID"),
                        request_id, refers_to, extra)


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
                "status": int(record.http_headers.get_statuscode())
                if record.http_headers and record.rec_type == "response" else None,
                "headers": dict(record.http_headers.headers) if record.http_headers else {},
                "warc_headers": dict(record.rec_headers.headers),
                "body": body,
            })
    except ValueError:
        raise
    except Exception as error:
        raise ValueError(f"WARC bytes do not parse: {type(error).__name__}: {error}") from error
    return records
