"""Timestamps and schedule intervals.

Times are stored as ISO 8601 UTC strings with a ``Z`` suffix so they sort as text.
"""

import re
from datetime import UTC, datetime, timedelta

from monitor.errors import InputError

_INTERVAL = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """Format a datetime as the store's sortable UTC text form."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_iso() -> str:
    """The current time in the store's text form."""
    return iso(now())


def later_iso(seconds: float, start: datetime | None = None) -> str:
    """The store's text form of ``seconds`` after ``start`` (default: now)."""
    return iso((start or now()) + timedelta(seconds=seconds))


def parse_interval(text: str) -> int:
    """Parse ``30m``, ``6h``, ``1d`` or ``2w`` into seconds."""
    match = _INTERVAL.match(text or "")
    if not match:
        raise InputError(f"invalid interval {text!r}: use a number and a unit s/m/h/d/w, e.g. 6h or 1d")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds < 60:
        raise InputError(f"interval {text!r} is too short: the minimum is 1m")
    return seconds


def format_interval(seconds: int) -> str:
    """The shortest exact ``parse_interval`` form of ``seconds``."""
    for unit in ("w", "d", "h", "m"):
        if seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"
