"""Channel credentials, kept out of the shared database (docs/decisions/0013).

The database is the file journalists open with Datasette; a subscription row there holds only
the redacted URL (``apprise_url``, for display) and a reference (``secret_ref``) to the full
URL, which lives in one of two places:

- ``file:<id>``: a JSON secrets file, owner-only (0600), at ``POLICYWATCH_SECRETS`` or beside
  the database (``policywatch.db`` → ``policywatch.secrets.json``). Written atomically (a
  0600 temporary file renamed over it) under an exclusive lock; one with group or other
  permissions is refused, not read.
- ``env:<NAME>``: the environment variable NAME, read at send time (``policywatch subscribe
  env:NAME``): for deployments that inject secrets as environment variables.

``move_urls_out`` is the migration of existing databases: every full URL still in
``subscriptions.apprise_url`` moves to the secrets file, and the row keeps its redacted form.
"""

import contextlib
import fcntl
import json
import os
import secrets as random_tokens
import stat
from collections.abc import Iterator
from pathlib import Path

from monitor.config import config
from monitor.errors import InputError
from monitor.store import channel_secrets
from notify.privacy import redact, scrub

SECRETS_ENV = "POLICYWATCH_SECRETS"
_FORMAT = "policywatch channel secrets"
_ENV_NAME_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


class SecretMissing(InputError):
    """A subscription's credentials cannot be found (secrets file or environment)."""


def secrets_path(db_path: str | os.PathLike) -> Path:
    """Where the secrets file of the database at ``db_path`` is."""
    configured = config().secrets
    if configured:
        return Path(configured)
    db = Path(db_path)
    return db.with_name(f"{db.stem}.secrets.json")


def env_reference(apprise_url: str) -> str | None:
    """``NAME`` if ``apprise_url`` is ``env:NAME`` (a URL to read from the environment)."""
    if not apprise_url.startswith("env:"):
        return None
    name = apprise_url[4:]
    if not name or not set(name) <= _ENV_NAME_CHARS or name[0].isdigit():
        raise InputError("env:NAME takes the name of an environment variable (letters, digits, _)")
    return name


def from_environment(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise SecretMissing(f"the environment variable {name} (the channel's URL) is not set")
    return value


class SecretsFile:
    """The owner-only JSON file of channel URLs, ``{"channels": {id: url}}``."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            raise InputError(f"cannot lock the secrets file {self.path}: {error.strerror}") from error
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _read(self) -> dict[str, str]:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return {}
        except OSError as error:
            raise InputError(f"cannot read the secrets file {self.path}: {error.strerror}") from error
        with os.fdopen(fd, "rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            if mode & 0o077:
                raise InputError(f"the secrets file {self.path} is open to other users (mode "
                                 f"{stat.filemode(mode)}); run: chmod 600 {self.path}")
            try:
                data = json.loads(handle.read() or b"{}")
            except ValueError as error:
                raise InputError(f"the secrets file {self.path} is not valid JSON") from error
        channels = data.get("channels", {}) if isinstance(data, dict) else {}
        return {str(k): v for k, v in channels.items() if isinstance(v, str)}

    def _write(self, channels: dict[str, str]) -> None:
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        payload = json.dumps({"format": _FORMAT, "channels": channels}, indent=2).encode()
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.fchmod(fd, 0o600)
                os.write(fd, payload)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temporary, self.path)
            directory = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        except OSError as error:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise InputError(f"cannot write the secrets file {self.path}: {error.strerror}") from error

    def get(self, ref: str) -> str | None:
        return self._read().get(ref)

    def put_many(self, urls: list[str]) -> list[str]:
        """Store URLs; return their new ids (in order)."""
        with self._locked():
            channels = self._read()
            refs = []
            for url in urls:
                ref = random_tokens.token_hex(8)
                channels[ref] = url
                refs.append(ref)
            self._write(channels)
        return refs

    def put(self, url: str) -> str:
        return self.put_many([url])[0]

    def delete(self, ref: str) -> None:
        with self._locked():
            channels = self._read()
            if channels.pop(ref, None) is not None:
                self._write(channels)


def keep(db_path: str | os.PathLike, apprise_url: str) -> str:
    """Put a channel URL where it belongs (the secrets file, unless it is ``env:NAME``);
    return the reference the database keeps."""
    name = env_reference(apprise_url)
    if name:
        return f"env:{name}"
    return "file:" + SecretsFile(secrets_path(db_path)).put(apprise_url)


def reveal(db_path: str | os.PathLike, ref: str | None) -> str:
    """The full URL a reference stands for; ``SecretMissing`` saying where it was looked for."""
    kind, _, key = (ref or "").partition(":")
    if kind == "env":
        return from_environment(key)
    if kind == "file":
        path = secrets_path(db_path)
        url = SecretsFile(path).get(key)
        if url:
            return url
        raise SecretMissing(f"the channel's URL (secret {key}) is not in the secrets file {path} "
                            f"(set {SECRETS_ENV} if it lives elsewhere)")
    raise SecretMissing("this subscription has no stored channel URL; subscribe it again")


def forget(db_path: str | os.PathLike, ref: str | None) -> None:
    """Delete a file secret (an unsubscribed channel's URL is never needed again)."""
    kind, _, key = (ref or "").partition(":")
    if kind == "file":
        SecretsFile(secrets_path(db_path)).delete(key)


def move_urls_out(db) -> int:
    """Migration: move full URLs still in ``subscriptions.apprise_url`` to the secrets file,
    leaving the redacted form and a reference; scrub stored errors too. Returns how many moved.

    Runs inside the migration's transaction: the secrets file is written (and synced) first,
    so a failure leaves at worst unused entries in it, never a URL lost.
    """
    rows = channel_secrets.urls_in_database(db)
    if not rows:
        return 0
    path = channel_secrets.database_file(db)
    if not path and not config().secrets:
        raise InputError(f"cannot move channel URLs out of an in-memory database: set {SECRETS_ENV}")
    channel_secrets.secure_delete(db)
    refs = SecretsFile(secrets_path(path)).put_many([url for _, url in rows])
    for (subscription_id, url), ref in zip(rows, refs, strict=True):
        channel_secrets.set_reference(db, subscription_id, redact(url), f"file:{ref}")
        for table, row_id, text in channel_secrets.stored_errors(db, subscription_id):
            clean = scrub(text, url)
            if clean != text:
                channel_secrets.replace_error(db, table, row_id, clean)
    return len(rows)
