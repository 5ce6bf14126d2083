"""How many snapshot groups hold, with each run's OTA selectors and with none (main-content fallback).

A third mode, ``landmarks``, is the baseline: no selector and no readability, only HTML landmarks.

Usage: python bench/bench_extraction.py [SNAPSHOTS_DIR] [--json]
(default SNAPSHOTS_DIR: tests/fixtures/snapshots). Prints one line per run and mode, then totals:
groups held, and the lowest share of OTA's recorded words our text keeps.
"""

import json
import sys
import time
from pathlib import Path

from monitor.replay import BASELINE_MODE, MODES, replay_all

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "tests" / "fixtures" / "snapshots"


def main(argv: list[str]) -> int:
    """Replay every run in both modes and print the figures."""
    as_json = "--json" in argv
    paths = [a for a in argv if not a.startswith("--")]
    root = Path(paths[0]) if paths else DEFAULT_DIR
    report = {}
    for mode in (*MODES, BASELINE_MODE):
        started = time.perf_counter()
        results = replay_all(root, mode)
        held = sum(r.held for r in results)
        groups = sum(r.groups for r in results)
        report[mode] = {
            "groups": groups, "held": held, "share": held / groups if groups else 0,
            "min_coverage": min((r.coverage for r in results), default=0),
            "seconds": round(time.perf_counter() - started, 2),
            "runs": [r.__dict__ for r in results]}
        if not as_json:
            for r in results:
                note = "; ".join(r.failures[:3])
                print(f"{mode:11} {r.run:12} {r.held}/{r.groups} groups ({r.strict_held} byte-identical)"
                      f"  coverage {r.coverage:.1%}  precision {r.precision:.1%}  {note}")
            print(f"{mode:11} TOTAL        {held}/{groups} groups held ({held / groups:.0%}), "
                  f"lowest OTA word coverage {report[mode]['min_coverage']:.1%}, "
                  f"{report[mode]['seconds']}s\n")
    if as_json:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
