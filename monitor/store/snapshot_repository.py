"""The snapshots table: every raw body fetched, once, keyed by its sha256, zlib-compressed."""

import hashlib
import zlib

from monitor.errors import StoreError
from monitor.store.base import StoreBase
from monitor.timeutil import now_iso


def sha256_hex(data: bytes | str) -> str:
    """Hex sha256 of bytes, or of a string encoded as UTF-8."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


class SnapshotRepository(StoreBase):
    """Reads and writes of ``snapshots``."""

    def put_snapshot(self, body: bytes, content_type: str | None) -> str:
        """Store a raw body once, keyed by its sha256, zlib-compressed; return the key."""
        digest = sha256_hex(body)
        if self.db.execute("SELECT 1 FROM snapshots WHERE sha256 = ?", [digest]).fetchone():
            return digest  # stored before: skip compressing it again
        with self.transaction():
            self.db.execute(
                "INSERT OR IGNORE INTO snapshots (sha256, content_type, size, body_zlib, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [digest, content_type, len(body), zlib.compress(body, 6), now_iso()])
        return digest

    def get_snapshot(self, digest: str) -> bytes:
        """A raw body by its sha256, verified against the key."""
        row = self.db.execute("SELECT body_zlib FROM snapshots WHERE sha256 = ?", [digest]).fetchone()
        if row is None:
            raise StoreError(f"snapshot {digest} is missing from {self.path}")
        body = zlib.decompress(row[0])
        if sha256_hex(body) != digest:
            raise StoreError(f"snapshot {digest} in {self.path} does not match its hash")
        return body

    def snapshot_content_type(self, digest: str) -> str | None:
        """The content type a snapshot was stored with (None if unknown or no such snapshot)."""
        row = self.db.execute("SELECT content_type FROM snapshots WHERE sha256 = ?", [digest]).fetchone()
        return row[0] if row else None
