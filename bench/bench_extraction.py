"""Snapshot replay figures: per run and mode, how many groups are stable and complete.

    .venv/bin/python bench/bench_extraction.py [SNAPSHOTS_DIR] [--json] [--folds] [--quick]

SNAPSHOTS_DIR defaults to tests/fixtures/snapshots; the developers' full set is
../shared/corpus/snapshots. Modes (``monitor.evaluation.snapshots``):

- ``declaration``: each run's Open Terms Archive selectors;
- ``fallback``: no selector, the default main-content detector (``blocks``);
- ``readability``: no selector, readability-lxml (the default until pw-extract/3) — a baseline;
- ``landmarks``: no selector, HTML landmarks only (close to "body text") — a baseline.

A group is *stable and complete* when its files extract to byte-identical text that differs from
the other groups' (unless they differ only in links/format) and keeps ≥ 80% of OTA's words.
``--folds`` (``--only-folds``: nothing else) adds a leave-one-run-out view of the ``blocks``
thresholds: for each run, the thresholds that score best on the other runs, and how the
held-out run does with them.
Also printed: median extraction time per page, per detector (``--quick`` skips the baselines).
"""

import json
import statistics
import sys
import time
from pathlib import Path

from monitor.evaluation import BASELINE_MODE, replay_run, runs
from monitor.extract import blocks

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "tests" / "fixtures" / "snapshots"
# name: (replay mode, detector)
MODES = {"declaration": ("declaration", None), "fallback": ("fallback", "blocks"),
         "readability": ("fallback", "readability"), "landmarks": (BASELINE_MODE, None)}
# The thresholds --folds varies (monitor/extract/blocks.py), one at a time (the others at their shipped
# value), and the values tried.
GRID = {"DOMINANCE": (0.6, 0.75, 0.85, 0.9, 0.95, 1.0), "PROSE_CHARS": (30, 60, 120, 240)}


def _mode_report(run_dirs: list[Path], name: str) -> dict:
    mode, detector = MODES[name]
    started = time.perf_counter()
    results = [replay_run(run, mode, detector) for run in run_dirs]
    groups = sum(r.groups for r in results)
    return {"groups": groups, "complete": sum(r.complete for r in results),
            "held": sum(r.held for r in results),
            "min_coverage": min((r.coverage for r in results), default=0),
            "seconds": round(time.perf_counter() - started, 2),
            "runs": [r.__dict__ for r in results]}


def page_times(run_dirs: list[Path], detectors: list[str], repeat: int = 2) -> dict:
    """Median seconds to extract one page without a selector, per detector."""
    from monitor.extract import extract
    pages = [path.read_bytes() for run in run_dirs for path in sorted(run.glob("*.html"))]
    times = {}
    for detector in detectors:
        samples = []
        for body in pages:
            best = min(_timed(extract, body, detector) for _ in range(repeat))
            samples.append(best)
        times[detector] = statistics.median(samples)
    return times


def _timed(extract, body: bytes, detector: str) -> float:
    started = time.perf_counter()
    extract(body, "text/html", detector=detector)
    return time.perf_counter() - started


def _with(settings: dict):
    saved = {key: getattr(blocks, key) for key in settings}
    for key, value in settings.items():
        setattr(blocks, key, value)
    return saved


def folds(run_dirs: list[Path]) -> dict:
    """Leave-one-run-out: tune GRID on the other runs (most groups complete; ties go to the
    shipped values), score the held-out run with the chosen values."""
    keys = list(GRID)
    shipped = tuple(getattr(blocks, key) for key in keys)
    table = {}  # settings -> {run: complete}
    settings = {shipped} | {shipped[:i] + (value,) + shipped[i + 1:]
                            for i, key in enumerate(keys) for value in GRID[key]}
    for values in sorted(settings):
        saved = _with(dict(zip(keys, values)))
        try:
            table[values] = {run.name: replay_run(run, "fallback", "blocks").complete for run in run_dirs}
        finally:
            _with(saved)
    out = {"grid": {", ".join(f"{k}={v}" for k, v in zip(keys, values)): sum(scores.values())
                    for values, scores in table.items()}, "folds": []}
    held_out_total = 0
    for run in run_dirs:
        def trained(values, run=run):
            return (sum(s for name, s in table[values].items() if name != run.name), values == shipped)
        best = max(table, key=trained)
        held_out_total += table[best][run.name]
        out["folds"].append({"run": run.name, "chosen": dict(zip(keys, best)),
                             "held_out_complete": table[best][run.name]})
    out["held_out_complete"] = held_out_total
    return out


def main(argv: list[str]) -> int:
    """Replay every run in every mode and print the figures."""
    as_json, quick = "--json" in argv, "--quick" in argv
    paths = [a for a in argv if not a.startswith("--")]
    run_dirs = runs(Path(paths[0]) if paths else DEFAULT_DIR)
    only_folds = "--only-folds" in argv
    names = [] if only_folds else ["declaration", "fallback"] if quick else list(MODES)
    report = {name: _mode_report(run_dirs, name) for name in names}
    if not only_folds:
        report["page_seconds"] = page_times(run_dirs, ["blocks"] if quick else ["blocks", "readability"])
    if "--folds" in argv or only_folds:
        report["folds"] = folds(run_dirs)
    if as_json:
        print(json.dumps(report, indent=2))
        return 0
    width = max(len(run.name) for run in run_dirs)
    for name in names:
        figures = report[name]
        for r in figures["runs"]:
            note = "; ".join(r["failures"][:3])
            print(f"{name:11} {r['run']:{width}} {r['complete']}/{r['groups']} stable+complete  "
                  f"coverage {r['coverage']:.1%}  precision {r['precision']:.1%}  {note}")
        print(f"{name:11} {'TOTAL':{width}} {figures['complete']}/{figures['groups']} groups stable and "
              f"complete ({figures['held']} hold on compared text), lowest OTA word coverage "
              f"{figures['min_coverage']:.1%}, {figures['seconds']}s\n")
    times = report.get("page_seconds", {})
    if times:
        print("median extraction per page: " + ", ".join(f"{d} {s * 1000:.1f} ms" for d, s in times.items()))
    if "readability" in times:
        print(f"blocks / readability median ratio: {times['blocks'] / times['readability']:.2f}")
    if "folds" in report:
        f = report["folds"]
        print("\nthreshold grid (groups stable and complete, all runs):")
        for settings, score in f["grid"].items():
            print(f"  {settings:35} {score}")
        print("leave-one-run-out:")
        for fold in f["folds"]:
            print(f"  {fold['run']:{width}} chosen {fold['chosen']}  held-out {fold['held_out_complete']}")
        groups = sum(len(json.loads((d / "expected.json").read_text())["same_text_groups"]) for d in run_dirs)
        print(f"held-out total: {f['held_out_complete']}/{groups}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
