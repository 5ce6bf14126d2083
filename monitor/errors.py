"""One base exception, one subclass per failure mode.

Every message is meant to be shown to a user as a single readable line. Fetch errors carry a
short ``kind`` (stored on the ``captures`` row) and say whether they may be transient, the way
Open Terms Archive's fetcher errors do.
"""


def one_line(message: str) -> str:
    """``message`` as a single line: its non-empty lines joined with "; "."""
    return "; ".join(line.strip() for line in str(message).splitlines() if line.strip())


class PolicywatchError(Exception):
    """Base of every error policywatch reports to a user."""


class StoreError(PolicywatchError):
    """The database cannot be opened, is corrupt, locked or not writable."""


class DatabaseMissing(StoreError):
    """No database file at the given path, for a command that must not create one."""


class TargetNotFound(PolicywatchError):
    """No target matches the given id, URL or company."""


class ChangeNotFound(PolicywatchError):
    """No change has the given id."""


class InputError(PolicywatchError):
    """A file or argument given by the user cannot be used."""


class ConfigError(InputError):
    """A ``POLICYWATCH_*`` environment variable holds a value that cannot be used."""


class MissingExtraError(PolicywatchError):
    """A command needs an optional extra (``pip install 'policywatch[EXTRA]'``) that is not installed."""


class ExtractionError(PolicywatchError):
    """A body could not be turned into policy text (no match, empty, not a document)."""

    kind = "extraction"


class FetchError(PolicywatchError):
    """A fetch failed. ``kind`` is the short label stored on the capture row."""

    kind = "fetch"
    transient = True

    def __init__(self, message: str, *, kind: str | None = None, transient: bool | None = None):
        super().__init__(message)
        if kind is not None:
            self.kind = kind
        if transient is not None:
            self.transient = transient
