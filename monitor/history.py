"""History-level judgment: the settings the recording path reads, and which of them are tuned.

The live crawl and every backfill record through ``record_capture`` and so read the same
settings (``current()``). ``using(overrides)`` changes them for one block (the history
evaluation replays histories under each setting of its tuning grid); nothing else overrides
them. ``TUNED`` names the settings chosen from data, with the grid ``policywatch eval --folds``
searches; a setting not in it is a fixed constant.
"""

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields, replace


@dataclass(frozen=True)
class HistorySettings:
    """Knobs of the history-level mechanisms (none yet)."""


DEFAULTS = HistorySettings()
# Setting name -> values ``eval --folds`` chooses from (the default first).
TUNED: dict[str, list] = {}

_current: contextvars.ContextVar[HistorySettings] = contextvars.ContextVar("history_settings",
                                                                          default=DEFAULTS)


def settings() -> HistorySettings:
    """The settings in force."""
    return _current.get()


def current(overrides: dict | None = None) -> dict:
    """The settings in force with ``overrides`` applied, as a dict."""
    return asdict(replace(settings(), **(overrides or {})))


@contextlib.contextmanager
def using(overrides: dict | None = None) -> Iterator[HistorySettings]:
    """Apply ``overrides`` (setting name -> value) inside the block."""
    known = {f.name for f in fields(HistorySettings)}
    unknown = set(overrides or {}) - known
    if unknown:
        raise ValueError(f"unknown history settings: {', '.join(sorted(unknown))}")
    token = _current.set(replace(settings(), **(overrides or {})))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def tuning_grid() -> list[dict]:
    """Every combination of the tuned settings' values (the defaults first)."""
    grid: list[dict] = [{}]
    for name, values in TUNED.items():
        grid = [{**setting, name: value} for setting in grid for value in values]
    return grid
