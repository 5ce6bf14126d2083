"""WARC (ISO 28500, WARC/1.1) copies of every capture, written with warcio.

Each capture becomes a ``request`` record and a ``response`` record (or a ``metadata``
record describing the failure when no response came; or a ``revisit`` record: the body is
byte for byte one already archived for the target and the capture shows no change, or the
server answered ``304 Not Modified``), each one gzip member. A confirmation re-fetch (a changed
page fetched a second time, ``crawler.confirm``) is archived as a request/response pair right
after its capture's records, in the same write.

**One writer per file.** A ``WarcFiles`` holds an exclusive ``flock`` on the file it appends to
for as long as it has it open; a file locked by another live writer is never written, truncated
or adopted — that writer's process gets a file of its own (names carry the time, the pid and a
random part). Offsets come from the file itself (``fstat`` under the lock at each batch), never
from a size tracked elsewhere. See docs/decisions/0012-one-writer-per-warc-file.md.

**Crash recovery.** Records are written with ``pwrite`` at the file's end and fsynced once per
batch before any capture row pointing at them is committed (``WarcFiles.write_built``). A
process killed mid-write (or a full disk) can leave a torn member at the end of a file: when a
writer opens the directory it checks every file nobody holds, and cuts each one back to the end
of its last whole capture — found by reading with warcio from the last capture row's records
(verified: their record id is at that offset), never beyond the file's current size — then
fsyncs it. A failed write is cut back at once by the writer that made it.

The response body is the one the crawler recorded: transfer and content encodings already
removed. The original ``Content-Encoding`` and ``Transfer-Encoding`` headers are kept as
``X-Archive-Orig-…`` so replay tools serve the body as it is stored.

Building, parsing and measuring the records is ``monitor.evidence.warc_records``; this module
writes them (``WarcFiles``, ``recover``) and checks the store's pointers into them.
"""

import errno
import fcntl
import logging
import os
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from monitor.errors import StoreError
from monitor.evidence.warc_records import (
    PROFILE_IDENTICAL_PAYLOAD,
    PROFILE_SERVER_NOT_MODIFIED,
    WARC_VERSION,
    BuiltCapture,
    LastCapture,
    Original,
    WarcRef,
    build_capture,
    complete_length,
    parse_records,
    payload_digest,
    read_records,
    record_at,
    tail_is_whole,
    warcinfo_member,
)
from monitor.store import evidence_rows

# The records themselves live in warc_records; these names stay importable from here.
__all__ = ["DEFAULT_MAX_BYTES", "FILE_GLOB", "PROFILE_IDENTICAL_PAYLOAD", "PROFILE_SERVER_NOT_MODIFIED",
           "WARC_VERSION", "BuiltCapture", "LastCapture", "Original", "WarcFiles", "WarcRef", "build_capture",
           "check_pointers", "complete_length", "parse_records", "payload_digest", "read_records", "record_at",
           "recover", "tail_is_whole", "warcinfo_member"]

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 100 * 1024 * 1024
FILE_GLOB = "policywatch-*.warc.gz"


def recover(path: str | os.PathLike, descriptor: int,
            last_capture: Callable[[], LastCapture | None] | None = None) -> int:
    """Cut a file back to the end of its last whole capture; return its size afterwards.

    The caller holds the file's lock (``descriptor``). Only when the quick check does not show
    a whole tail is ``last_capture`` asked for the last capture row's records: the scan starts
    after them when they really are there, else at the start."""
    size = os.fstat(descriptor).st_size
    if tail_is_whole(path):
        return size
    last = last_capture() if last_capture else None
    start = 0
    if last is not None and record_at(path, last.offset, last.length, last.record_id):
        start = last.offset + last.length
    good = complete_length(path, start)
    if good < size:
        os.ftruncate(descriptor, good)  # only ever shorter: good <= size
        os.fsync(descriptor)
        log.warning("WARC file %s: cut a torn tail of %d bytes left by an interrupted write",
                    Path(path).name, size - good)
    return min(good, size)


# --- Writing ------------------------------------------------------------------------------

def _lock(descriptor: int) -> bool:
    """Take the exclusive lock of a file without waiting; False if another writer holds it."""
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _pwrite_all(descriptor: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(descriptor, view, offset)
        view, offset = view[written:], offset + written


class WarcFiles:
    """Appends capture records to size-rotated ``.warc.gz`` files in one directory, as the only
    writer of each file it appends to (see the module docstring)."""

    def __init__(self, directory: str | os.PathLike, max_bytes: int = DEFAULT_MAX_BYTES,
                 last_capture: Callable[[str], LastCapture | None] | None = None):
        """``last_capture(file_name)``, when given, returns the records of the last capture row
        pointing into that file: the torn-tail scan starts after them (once verified)."""
        self.directory = Path(directory)
        self._last_capture = last_capture
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._descriptor: int | None = None
        self._current: Path | None = None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"cannot create WARC directory {self.directory}: {error.strerror}") from error
        with self._lock:
            self._open()

    @property
    def current(self) -> Path | None:
        """The file this writer appends to (locked by it), if one is open."""
        return self._current

    def close(self) -> None:
        """Close the current file and release its lock (records are on disk already)."""
        with self._lock:
            self._release()

    def _release(self) -> None:
        if self._descriptor is not None:
            try:
                os.close(self._descriptor)  # releases the flock
            finally:
                self._descriptor, self._current = None, None

    def _open(self) -> None:
        """Lock a file to append to: recover every file no live writer holds, adopt the newest
        of them with room, else start a new file."""
        try:
            chosen = None
            for path in sorted(self.directory.glob(FILE_GLOB), reverse=True):
                try:
                    descriptor = os.open(path, os.O_RDWR | os.O_CLOEXEC)
                except FileNotFoundError:
                    continue
                try:
                    if not _lock(descriptor):
                        os.close(descriptor)  # another writer's file: leave it alone
                        continue
                    size = recover(path, descriptor, self._last_capture and (
                        lambda name=path.name: self._last_capture(name)))
                except BaseException:
                    os.close(descriptor)
                    raise
                if chosen is None and size < self.max_bytes:
                    chosen = (path, descriptor)
                else:
                    os.close(descriptor)
            if chosen is None:
                chosen = self._new_file()
            self._current, self._descriptor = chosen
        except OSError as error:
            raise StoreError(f"cannot open a WARC file in {self.directory}: {error.strerror}") from error

    def _new_file(self) -> tuple[Path, int]:
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
        path = self.directory / f"policywatch-{stamp}-{os.getpid()}-{uuid.uuid4().hex[:8]}.warc.gz"
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        if not _lock(descriptor):  # nobody else can know the name yet
            os.close(descriptor)
            raise OSError(errno.EWOULDBLOCK, f"{path.name} is locked")
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)  # the new name survives a crash too
        finally:
            os.close(directory)
        return path, descriptor

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
        rows that point at these records are committed only after this returns.

        If anything fails, what this batch wrote to the current file is cut off again, the file
        is released, and ``StoreError`` is raised: none of the batch may be referenced."""
        refs = []
        with self._lock:
            if self._descriptor is None:
                self._open()
            batch_start = None
            try:
                size = batch_start = os.fstat(self._descriptor).st_size  # the file's own end, under its lock
                for built in captures:
                    data = built.data + built.extra
                    if size > 0 and size + len(data) > self.max_bytes:
                        os.fsync(self._descriptor)  # the full file's records are complete
                        self._release()
                        self._current, self._descriptor = self._new_file()
                        size = batch_start = 0
                    prefix = warcinfo_member(self._current.name, "policywatch captures of watched legal "
                                             "documents") if size == 0 else b""
                    _pwrite_all(self._descriptor, prefix + data, size)
                    refs.append(WarcRef(self._current.name, size + len(prefix), len(built.data),
                                        built.record_id, built.request_id, built.refers_to))
                    size += len(prefix) + len(data)
                os.fsync(self._descriptor)  # complete on disk before a capture row points at it
            except OSError as error:
                self._undo(batch_start)
                raise StoreError(f"cannot write WARC file in {self.directory}: {error.strerror}") from error
        return refs

    def _undo(self, batch_start: int | None) -> None:
        """After a failed write: cut the current file back to where the batch began, release it.
        If even that fails, the next writer to open the file repairs it (``recover``)."""
        if self._descriptor is None:
            return
        try:
            if batch_start is not None:
                os.ftruncate(self._descriptor, batch_start)
                os.fsync(self._descriptor)
        except OSError as error:
            log.warning("WARC file %s: cannot cut back a failed write (%s); it is repaired when next opened",
                        self._current.name, error.strerror)
        finally:
            self._release()


def check_pointers(db, warc_dir: str | os.PathLike) -> tuple[list[str], int]:
    """Check every capture row's WARC pointer: at its file and offset, within its length, are
    its request record and then its record (``warc_record_id``), whole, with digests that match.

    Returns the problems (one sentence per bad row, in capture order) and how many pointers
    were checked. Reads every archived record once."""
    problems, checked = [], 0
    directory = Path(warc_dir)
    sizes: dict[str, int | None] = {}
    rows = evidence_rows.warc_pointers(db)
    for capture_id, name, offset, length, record_id, request_id in rows:
        checked += 1
        label = f"capture {capture_id}: WARC pointer {name}@{offset}"
        if name not in sizes:
            try:
                sizes[name] = (directory / name).stat().st_size
            except OSError:
                sizes[name] = None
        if sizes[name] is None:
            problems.append(f"{label}: the file is missing from {directory}")
            continue
        if offset is None or length is None or offset < 0 or length <= 0 or offset + length > sizes[name]:
            problems.append(f"{label}: the span ({length} bytes) is not inside the file ({sizes[name]} bytes)")
            continue
        try:
            records = read_records(directory / name, offset, length)
        except (OSError, ValueError) as error:
            problems.append(f"{label}: the bytes there are not whole WARC records ({error})")
            continue
        ids = [record["id"] for record in records]
        if len(records) != 2 or ids[1] != record_id or (request_id and ids[0] != request_id):
            problems.append(f"{label}: holds {', '.join(ids) or 'no record'}, not {request_id} and {record_id}")
    return problems, checked
