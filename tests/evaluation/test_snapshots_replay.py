"""Replay runs of real captures (tests/fixtures/snapshots, see its ATTRIBUTION.md).

Each run's files in one group must extract to the same text (byte-identical, the issue's "stable"),
groups must differ, and our text must keep at least 80% of the words Open Terms Archive recorded
from the same captures ("complete"). Both with the run's OTA declaration and with no selector at
all (main-content detection).
"""

from functools import cache
from pathlib import Path

import pytest

from monitor.evaluation.snapshots import MODES, replay_run

SNAPSHOTS = Path(__file__).resolve().parents[1] / "fixtures" / "snapshots"
RUNS = sorted(p for p in SNAPSHOTS.iterdir() if (p / "expected.json").is_file())
MIN_COVERAGE = 0.8
# Share of groups that must be stable and complete, per mode.
MIN_COMPLETE = {"declaration": 1.0, "fallback": 1.0}


@cache
def replayed(run: Path, mode: str):
    """Each run is replayed once per mode for the whole module (extraction is the slow part)."""
    return replay_run(run, mode)


def test_the_corpus_is_here():
    assert len(RUNS) >= 12
    assert (SNAPSHOTS / "ATTRIBUTION.md").is_file()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("run", RUNS, ids=[r.name for r in RUNS])
def test_run_keeps_otas_words(run, mode):
    result = replayed(run, mode)
    assert result.coverage >= MIN_COVERAGE, result


@pytest.mark.parametrize("mode", MODES)
def test_groups_are_stable_and_complete(mode):
    results = [replayed(run, mode) for run in RUNS]
    complete, groups = sum(r.complete for r in results), sum(r.groups for r in results)
    failures = {r.run: r.failures for r in results if r.failures}
    assert complete >= MIN_COMPLETE[mode] * groups, failures
