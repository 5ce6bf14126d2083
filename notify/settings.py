"""The notifier's knobs: defaults, overridable by environment variables or by arguments.

Tests pass small delays as arguments; operators set ``POLICYWATCH_NOTIFY_*`` variables.
"""

from dataclasses import dataclass, fields, replace

from monitor.config import config


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
        """The ``POLICYWATCH_NOTIFY_*`` settings (``monitor.config``), then non-None ``overrides``."""
        current = config()
        values = {spec.name: getattr(current, f"notify_{spec.name}") for spec in fields(cls)
                  if spec.name not in ("base_url", "template_dir")}
        settings = cls(**values, base_url=current.base_url, template_dir=current.templates)
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})

    def backoff(self, attempts: int) -> float:
        """Delay before the next attempt after ``attempts`` failed ones (exponential, capped)."""
        return min(self.backoff_cap_seconds, self.backoff_seconds * 2 ** max(0, attempts - 1))
