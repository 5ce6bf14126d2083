"""The single-writer lock: one daemon (or maintenance run) per database."""

import fcntl
import os
from pathlib import Path

from monitor.errors import StoreError


class DaemonLock:
    """An exclusive ``flock`` on ``<database>.lock``; released when the process ends, even by kill."""

    def __init__(self, db_path: str):
        self.path = Path(f"{db_path}.lock")
        self.handle = None

    def acquire(self) -> "DaemonLock":
        self.handle = open(self.path, "a+")
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            self.handle.seek(0)
            holder = self.handle.read().strip() or "unknown"
            self.handle.close()
            raise StoreError(f"another policywatch daemon or maintenance run (pid {holder}) holds the "
                             f"lock on {self.path.with_suffix('')}; stop it first") from error
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(str(os.getpid()))
        self.handle.flush()
        return self

    def release(self) -> None:
        if self.handle:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
