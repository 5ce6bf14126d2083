"""Replay runs of real captures (tests/fixtures/snapshots, see its ATTRIBUTION.md).

Each run's files in one group must extract to the same compared text, groups must differ, and
our text must keep at least 80% of the words Open Terms Archive recorded from the same captures.
Both with the run's OTA declaration and with no selector at all (main-content detection).
"""

from functools import cache
from pathlib import Path

import pytest

from monitor.replay import MODES, replay_all

SNAPSHOTS = Path(__file__).resolve().parent / "fixtures" / "snapshots"
RUNS = sorted(p for p in SNAPSHOTS.iterdir() if (p / "expected.json").is_file())
MIN_COVERAGE = 0.8
# Share of groups that must hold, per mode (the targets).
MIN_HELD = {"declaration": 1.0, "fallback": 0.9}


@cache
def replayed(mode: str) -> dict:
    """Every run replayed in ``mode``, once per session (extraction is deterministic; read only)."""
    return {result.run: result for result in replay_all(SNAPSHOTS, mode)}


def test_the_corpus_is_here():
    assert len(RUNS) >= 9
    assert (SNAPSHOTS / "ATTRIBUTION.md").is_file()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("run", RUNS, ids=[r.name for r in RUNS])
def test_run_keeps_otas_words(run, mode):
    result = replayed(mode)[run.name]
    assert result.coverage >= MIN_COVERAGE, result


@pytest.mark.parametrize("mode", MODES)
def test_groups_hold(mode):
    results = list(replayed(mode).values())
    held, groups = sum(r.held for r in results), sum(r.groups for r in results)
    failures = {r.run: r.failures for r in results if r.failures}
    assert held >= MIN_HELD[mode] * groups, failures
