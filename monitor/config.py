"""Every ``POLICYWATCH_*`` setting in one place: one frozen dataclass, read from the environment.

``config()`` parses ``os.environ`` the first time it is called in a process and then returns
the same ``Config``; ``reload()`` parses again (the CLI does at each invocation, so an
in-process ``CliRunner`` call sees the environment it was given). An empty variable counts as
unset. A value that cannot be used raises ``ConfigError`` naming the variable, in one line.

Each field's ``metadata`` holds its variable's name and what it does; docs/configuration.md is
generated from them (tests/test_config.py checks the two agree).
"""

import os
from dataclasses import dataclass, field, fields

from monitor.errors import ConfigError

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _setting(env: str, default, doc: str, *, choices: tuple = (), minimum: float | None = None,
             aliases: tuple = ()):
    """A dataclass field read from ``env`` (then from ``aliases``, older names), documented by ``doc``."""
    return field(default=default, metadata={"env": env, "doc": doc, "choices": choices,
                                            "minimum": minimum, "aliases": aliases})


@dataclass(frozen=True)
class Config:
    """The operator's settings. Command-line options, where a command has one, win over these."""

    # The store and the process
    db: str = _setting("POLICYWATCH_DB", "data/policywatch.db",
                       "SQLite database path (the CLI's `--db`).")
    log_format: str = _setting("POLICYWATCH_LOG_FORMAT", "text",
                               "`text`, or `json` for one JSON object per log line (`--log-format`).",
                               choices=("text", "json"))
    busy_timeout_ms: int = _setting("POLICYWATCH_BUSY_TIMEOUT_MS", 10000,
                                    "How long a write waits for another writer's lock, in milliseconds.",
                                    minimum=0)
    warc_dir: str | None = _setting("POLICYWATCH_WARC_DIR", None,
                                    "Where WARC files go (unset: `warc/` beside the database).")
    secrets: str | None = _setting("POLICYWATCH_SECRETS", None,
                                   "The channel secrets file (unset: `<db>.secrets.json` beside "
                                   "the database).")
    # The crawler
    allow_private_targets: bool = _setting(
        "POLICYWATCH_ALLOW_PRIVATE_TARGETS", False,
        "`1` lets targets resolve to private, loopback or CGNAT addresses (refused by default).")
    contact: str | None = _setting("POLICYWATCH_CONTACT", None,
                                   "A URL or address put in the User-Agent, so sites can reach the operator.")
    robots: str = _setting("POLICYWATCH_ROBOTS", "ignore", "`ignore` or `obey` robots.txt.",
                           choices=("ignore", "obey"))
    record_in: str | None = _setting("POLICYWATCH_RECORD_IN", None,
                                     "Where captures are recorded: `process` (a writer process) or "
                                     "`thread` (unset: crawler/settings.py's, `process`).",
                                     choices=("process", "thread"))
    redis: str | None = _setting("POLICYWATCH_REDIS", None,
                                 "Redis URL of the distributed crawl (`run --redis`, `worker --redis`).")
    chromium: str = _setting("POLICYWATCH_CHROMIUM", "/usr/bin/chromium",
                             "The Chromium executable, for JS rendering and the evidence report's PDF.")
    # Evidence
    tsa_url: str | None = _setting("POLICYWATCH_TSA_URL", None,
                                   "RFC 3161 timestamp authority; when set, each pass timestamps the "
                                   "ledger's new head. `user:password@` is sent as basic auth.")
    tsa_ca: str | None = _setting("POLICYWATCH_TSA_CA", None,
                                  "PEM file of CA certificates to trust timestamp authorities from.")
    tsa_timeout: float = _setting("POLICYWATCH_TSA_TIMEOUT", 10.0,
                                  "Seconds to wait for the timestamp authority.", minimum=0)
    # Backfill (the `backfill wayback` options' defaults)
    wayback_url: str = _setting("POLICYWATCH_WAYBACK_URL", "https://web.archive.org",
                                "The Wayback Machine (`backfill wayback --base-url`).")
    wayback_delay: float = _setting("POLICYWATCH_WAYBACK_DELAY", 2.0,
                                    "Seconds between requests to the archive (`--delay`).", minimum=0)
    wayback_retries: int = _setting("POLICYWATCH_WAYBACK_RETRIES", 4,
                                    "Retries of a request the archive fails (`--retries`).", minimum=0)
    # The web UI (set by `serve --workers N` for its worker processes, not by operators)
    web_db: str | None = _setting("POLICYWATCH_WEB_DB", None,
                                  "Internal: the database `serve --workers` hands its workers.")
    web_base_url: str = _setting("POLICYWATCH_WEB_BASE_URL", "",
                                 "Internal: the base URL `serve --workers` hands its workers.")
    # The notifier
    base_url: str = _setting("POLICYWATCH_BASE_URL", "",
                             "Base URL of the web UI, for links in alerts (`notify --base-url`).",
                             aliases=("POLICYWATCH_NOTIFY_BASE_URL",))
    unsubscribe_key: str | None = _setting(
        "POLICYWATCH_UNSUBSCRIBE_KEY", None,
        "Secret (32+ characters) that signs one-click unsubscribe links (unset: a random key in "
        "`<db>.unsubscribe.key` beside the channel secrets, made on first use).")
    templates: str = _setting("POLICYWATCH_TEMPLATES", "",
                              "Directory of alert templates overriding the bundled ones.",
                              aliases=("POLICYWATCH_NOTIFY_TEMPLATE_DIR",))
    notify_max_attempts: int = _setting("POLICYWATCH_NOTIFY_MAX_ATTEMPTS", 8,
                                        "Attempts before a delivery is given up (`dead`).", minimum=1)
    notify_backoff_seconds: float = _setting("POLICYWATCH_NOTIFY_BACKOFF_SECONDS", 60.0,
                                             "First retry delay; doubles per failed attempt.", minimum=0)
    notify_backoff_cap_seconds: float = _setting("POLICYWATCH_NOTIFY_BACKOFF_CAP_SECONDS", 21600.0,
                                                 "Longest retry delay.", minimum=0)
    notify_lease_seconds: float = _setting("POLICYWATCH_NOTIFY_LEASE_SECONDS", 600.0,
                                           "A `sending` delivery older than this is taken as abandoned "
                                           "and re-sent.", minimum=0)
    notify_send_deadline_seconds: float = _setting("POLICYWATCH_NOTIFY_SEND_DEADLINE_SECONDS", 30.0,
                                                   "Longest wait for one send (then a failed attempt).",
                                                   minimum=0)
    notify_parallel_sends: int = _setting("POLICYWATCH_NOTIFY_PARALLEL_SENDS", 8,
                                          "Sends in flight at once (one per channel).", minimum=1)
    notify_stop_grace_seconds: float = _setting("POLICYWATCH_NOTIFY_STOP_GRACE_SECONDS", 2.0,
                                                "On SIGTERM, how long sends in flight may still finish.",
                                                minimum=0)
    notify_max_body_chars: int = _setting("POLICYWATCH_NOTIFY_MAX_BODY_CHARS", 20000,
                                          "Upper bound of a message body.", minimum=1)
    notify_max_items: int = _setting("POLICYWATCH_NOTIFY_MAX_ITEMS", 5,
                                     "Changes shown in one alert or digest before \"… and N more\".",
                                     minimum=1)

    @classmethod
    def from_environ(cls, environ=None) -> "Config":
        """Defaults, overridden by the non-empty ``POLICYWATCH_*`` variables of ``environ``."""
        environ = os.environ if environ is None else environ
        values = {}
        for spec in fields(cls):
            for name in (spec.metadata["env"], *spec.metadata["aliases"]):
                raw = environ.get(name, "").strip()
                if raw:
                    values[spec.name] = _parse(name, raw, spec)
                    break
        return cls(**values)


def _parse(name: str, raw: str, spec):
    """``raw`` (the value of variable ``name``) as field ``spec``'s type, else ``ConfigError``."""
    kind = type(spec.default) if spec.default is not None else str
    if kind is bool:
        if raw.lower() not in _TRUE + _FALSE:
            raise ConfigError(f"{name} must be 1 or 0 (true/false, yes/no), not {raw!r}")
        return raw.lower() in _TRUE
    if kind in (int, float):
        try:
            value = kind(raw)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise ConfigError(f"{name} must be {what}, not {raw!r}") from None
        minimum = spec.metadata["minimum"]
        if minimum is not None and value < minimum:
            raise ConfigError(f"{name} must be at least {minimum:g}, not {raw!r}")
        return value
    choices = spec.metadata["choices"]
    if choices:
        if raw.lower() not in choices:
            raise ConfigError(f"{name} must be {' or '.join(repr(c) for c in choices)}, not {raw!r}")
        return raw.lower()
    return raw


_current: Config | None = None


def config() -> Config:
    """The process's settings: parsed from ``os.environ`` on first use, then the same object."""
    global _current
    if _current is None:
        _current = Config.from_environ()
    return _current


def reload() -> Config:
    """Parse ``os.environ`` again and make the result current (each CLI invocation does)."""
    global _current
    _current = None
    return config()
