"""The notifier's knobs: defaults, overridable by environment variables or by arguments.

Tests pass small delays as arguments; operators set ``POLICYWATCH_NOTIFY_*`` variables.
"""

import os
from dataclasses import dataclass, fields, replace

from monitor.errors import InputError

_ENV_PREFIX = "POLICYWATCH_NOTIFY_"


@dataclass(frozen=True)
class NotifySettings:
    """How the outbox retries, leases and bounds its messages."""

    # Attempts before a delivery is marked `dead` (a permanent failure).
    max_attempts: int = 8
    # First retry delay; doubles per failed attempt, capped.
    backoff_seconds: float = 60.0
    backoff_cap_seconds: float = 6 * 3600.0
    # A `sending` row older than this is taken as abandoned by a killed notifier and re-sent.
    # It must exceed the longest send (apprise's own timeouts are seconds).
    lease_seconds: float = 600.0
    # The longest we wait for one send; past it the send counts as a failed attempt (outcome
    # unknown, re-sent later with the same idempotency key) and its channel waits for the
    # next pass. Must stay well under lease_seconds.
    send_deadline_seconds: float = 30.0
    # Sends in flight at once (each channel has at most one).
    parallel_sends: int = 8
    # On a stop (SIGTERM), how long sends in flight may still finish; the rest go back to
    # `pending`, to be re-sent with the same idempotency key.
    stop_grace_seconds: float = 2.0
    # Upper bound of a message body, whatever the channel allows.
    max_body_chars: int = 20_000
    # Edits and changes shown in one alert or digest before "… and N more".
    max_items: int = 5
    # Base URL of the web UI, for links to the diff page ("" = no link).
    base_url: str = ""
    # An operator's template directory, searched before the bundled templates.
    template_dir: str = ""

    @classmethod
    def from_env(cls, **overrides) -> "NotifySettings":
        """Defaults, then ``POLICYWATCH_NOTIFY_<FIELD>`` variables, then non-None ``overrides``."""
        values = {}
        for spec in fields(cls):
            raw = os.environ.get(_ENV_PREFIX + spec.name.upper())
            if spec.name == "base_url":
                raw = os.environ.get("POLICYWATCH_BASE_URL", raw)
            if spec.name == "template_dir":
                raw = os.environ.get("POLICYWATCH_TEMPLATES", raw)
            if raw is None or raw == "":
                continue
            kind = type(getattr(cls, spec.name))
            try:
                values[spec.name] = kind(raw)
            except ValueError as error:
                raise InputError(f"{_ENV_PREFIX}{spec.name.upper()}={raw!r} is not a {kind.__name__}") from error
        settings = cls(**values)
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})

    def backoff(self, attempts: int) -> float:
        """Delay before the next attempt after ``attempts`` failed ones (exponential, capped)."""
        return min(self.backoff_cap_seconds, self.backoff_seconds * 2 ** max(0, attempts - 1))
