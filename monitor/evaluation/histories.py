"""Measure what a subscriber experiences: replay real version histories and score the alerts.

A history set is a folder holding ``histories.bundle`` (a git bundle of an Open Terms Archive
``*-versions`` repository: one commit per recorded version, the original sha in an
``X-ota-commit:`` trailer) and ``judgments.jsonl`` (a reviewer's class for every consecutive
non-technical pair, keyed by the original ``old_commit``/``new_commit``). See
``../shared/corpus/histories/README.md``.

Each bundle is cloned and replayed through the real recording pipeline — ``backfill_ota``, which
goes through ``record_capture`` like a live fetch — into a temporary store. Then every judged
pair is matched with what the pipeline recorded *for its new commit*:

- the new commit became a version and its change is ``material``: an alert;
- anything else (a non-material change, an unchanged text, a copy held back by a guard): none.

The change the pipeline recorded compares the new text with the pipeline's own baseline, which
is not always the reviewer's ``old_commit``: a copy held back by a guard is skipped, and a
technical upgrade (OTA's "Apply technical or declaration upgrade", "Refilter") between the two
versions is not a version of the document. The reviewer judged such a pair against the text
just before ``new_commit`` (the upgrade's re-extraction); the pipeline, whatever it does with
the upgrade, is scored on the alert it produces at ``new_commit`` — what the subscriber would
have received. A change recorded at a commit no judgment covers (a technical upgrade, if the
pipeline recorded one) that alerts is a false alert too (``unjudged``).

Figures, per service and overall: alerts, alerts per service-year (the span between the
document's first and last commit), alert precision and recall against the reviewer's
``material`` pairs (also without the pairs the reviewer marked borderline), and every false
alert and miss with its evidence (the sentences and rules that fired, the reviewer's rationale).

Leave-one-service-out folds (``folds``): the parameters tuned from data
(``monitor.compare.history.TUNED``) only change how a change is judged, never which versions are
recorded, so the histories are replayed once and every recorded change is judged again under
each setting of the grid (``monitor.compare.history.judge``, the code ``record_capture`` calls). Each
service is then scored with the setting that gives the best alert F1 on the *other* services.
With nothing tuned there is one setting and the folds equal the overall figures.
"""

import json
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from monitor.compare import DEFAULT_CLASSIFIER, history
from monitor.errors import InputError
from monitor.record import TECHNICAL_CLASSIFIER
from monitor.record.backfill import TECHNICAL_PREFIXES, backfill_ota, documents
from monitor.store import open_store

BUNDLE, JUDGMENTS = "histories.bundle", "judgments.jsonl"
TRAILER = "X-ota-commit"
URL = "https://{slug}.history.invalid/{doc}"  # never fetched: the replay reads the bundle
SECONDS_PER_YEAR = 365.25 * 86400


@dataclass
class PairOutcome:
    """One judged pair and what the pipeline recorded for its new commit."""

    service: str
    pair: int
    judgment: dict
    outcome: str  # the capture's outcome: new-version | returned | unchanged | error | missing
    change: dict | None = None  # the recorded change (class, severity, topics, evidence)
    compared_with: str | None = None  # original sha of the version the change was compared with

    @property
    def gold(self) -> bool:
        return self.judgment["my_class"] == "material"

    @property
    def alert(self) -> bool:
        return bool(self.change) and self.change["class"] == "material"

    def describe(self) -> dict:
        """The pair, the verdicts and the evidence, for the mistakes lists."""
        change = self.change or {}
        return {
            "service": self.service, "pair": self.pair, "date": self.judgment.get("date"),
            "old_commit": self.judgment["old_commit"], "new_commit": self.judgment["new_commit"],
            "compared_with": self.compared_with, "outcome": self.outcome,
            "judged": {k: self.judgment.get(k) for k in
                       ("my_class", "severity", "topics", "direction", "borderline", "rationale")},
            "recorded": {k: change.get(k) for k in ("class", "severity", "topics", "direction")}
            if change else None,
            "evidence": [{k: e.get(k) for k in ("rule", "topics", "side", "sentence")}
                         for e in (change.get("evidence") or [])[:6]],
        }


@dataclass
class ServiceHistory:
    """One document's replay: its judged pairs and any alert no judgment covers."""

    set_name: str
    service: str
    first_at: str
    last_at: str
    commits: int
    technical: int
    pairs: list[PairOutcome] = field(default_factory=list)
    unjudged_alerts: list[dict] = field(default_factory=list)

    @property
    def years(self) -> float:
        span = datetime.fromisoformat(self.last_at) - datetime.fromisoformat(self.first_at)
        return span.total_seconds() / SECONDS_PER_YEAR

    def counts(self, skip_borderline: bool = False) -> dict:
        pairs = [p for p in self.pairs if not (skip_borderline and p.judgment.get("borderline"))]
        true_pos = sum(p.gold and p.alert for p in pairs)
        false_pos = sum(p.alert and not p.gold for p in pairs) + len(self.unjudged_alerts)
        false_neg = sum(p.gold and not p.alert for p in pairs)
        return {"pairs": len(pairs), "material": true_pos + false_neg, "alerts": true_pos + false_pos,
                "true_alerts": true_pos, "false_alerts": false_pos, "misses": false_neg}


def figures(counts: dict, years: float | None = None) -> dict:
    """Precision, recall (and alerts per service-year) from summed counts."""
    result = dict(counts)
    result["precision"] = _ratio(counts["true_alerts"], counts["alerts"])
    result["recall"] = _ratio(counts["true_alerts"], counts["material"])
    result["f1"] = _f1(result["precision"], result["recall"])
    if years is not None:
        result["service_years"] = round(years, 2)
        result["alerts_per_service_year"] = _ratio(counts["alerts"], years)
    return result


def summed(histories: Iterable[ServiceHistory], skip_borderline: bool = False) -> dict:
    total: dict = {}
    for item in histories:
        for key, value in item.counts(skip_borderline).items():
            total[key] = total.get(key, 0) + value
    return total or {"pairs": 0, "material": 0, "alerts": 0, "true_alerts": 0, "false_alerts": 0,
                     "misses": 0}


@dataclass
class HistoryEvaluation:
    """Every replayed document, with per-service and overall figures."""

    histories: list[ServiceHistory] = field(default_factory=list)
    settings: dict = field(default_factory=dict)

    def service_figures(self) -> list[dict]:
        return [{"set": h.set_name, "service": h.service, "commits": h.commits,
                 "technical_upgrades": h.technical, "first_at": h.first_at, "last_at": h.last_at,
                 **figures(h.counts(), h.years),
                 "without_borderline": figures(h.counts(skip_borderline=True))}
                for h in self.histories]

    def overall(self) -> dict:
        years = sum(h.years for h in self.histories)
        return {"services": len(self.histories), **figures(summed(self.histories), years),
                "without_borderline": figures(summed(self.histories, skip_borderline=True))}

    def false_alerts(self) -> list[dict]:
        found = [p.describe() for h in self.histories for p in h.pairs if p.alert and not p.gold]
        return found + [a for h in self.histories for a in h.unjudged_alerts]

    def misses(self) -> list[dict]:
        return [p.describe() for h in self.histories for p in h.pairs if p.gold and not p.alert]

    def to_dict(self) -> dict:
        return {"settings": self.settings, "overall": self.overall(),
                "services": self.service_figures(), "false_alerts": self.false_alerts(),
                "misses": self.misses()}


def _ratio(numerator: float, denominator: float) -> float:
    return round(numerator / denominator, 4) if denominator else 0.0


def _f1(precision: float, recall: float) -> float:
    return round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0


def history_sets(directory: Path) -> list[Path]:
    """``DIR`` itself if it is a set, else its sub-folders that are sets (name order)."""
    directory = Path(directory)
    if (directory / BUNDLE).is_file():
        found = [directory]
    else:
        found = sorted(p for p in directory.iterdir() if (p / BUNDLE).is_file()) if directory.is_dir() else []
    if not found:
        raise InputError(f"no history set in {directory} (expected {BUNDLE} and {JUDGMENTS}, "
                         f"in it or in its sub-folders)")
    for folder in found:
        if not (folder / JUDGMENTS).is_file():
            raise InputError(f"{folder} has {BUNDLE} but no {JUDGMENTS}")
    return found


def _git(repo: Path, *args: str) -> str:
    completed = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise InputError(f"git {args[0]} in {repo}: {completed.stderr.strip() or 'failed'}")
    return completed.stdout


def _commit_log(repo: Path, path: str) -> list[tuple[str, str, str, str]]:
    """``(sha, original sha, author date, subject)`` of every commit writing ``path``, in order."""
    raw = _git(repo, "log", "--reverse", "--format=%H%x1f%aI%x1f%s%x1f%b%x1e", "--", path)
    found = []
    for record in raw.split("\x1e"):
        parts = record.strip().split("\x1f")
        if len(parts) != 4:
            continue
        sha, date, subject, body = parts
        original = next((line.split(":", 1)[1].strip() for line in body.splitlines()
                         if line.startswith(f"{TRAILER}:")), sha)
        found.append((sha, original, date, subject))
    return found


def replay_set(set_dir: Path, workdir: Path, grid: list[dict]) -> list[list[ServiceHistory]]:
    """Clone one set's bundle, replay it through ``backfill_ota`` (under ``grid[0]``), judge its
    changes again under every other setting of ``grid``, and match the judgments: one list of
    documents per setting."""
    set_dir = Path(set_dir)
    repo = workdir / f"{set_dir.name}-versions"
    _git(workdir, "clone", "-q", str((set_dir / BUNDLE).resolve()), str(repo))
    judgments: dict[tuple[str, str], dict] = {}
    for line in (set_dir / JUDGMENTS).read_text("utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            judgments[(item["service"].lower(), item["new_commit"])] = item
    store = open_store(workdir / f"{set_dir.name}.db")
    try:
        results: list[list[ServiceHistory]] = [[] for _ in grid]
        for service, terms_type in documents(repo):
            slug = "".join(c if c.isalnum() else "-" for c in service.lower())
            target = store.add_target(URL.format(slug=slug, doc=terms_type.lower().replace(" ", "-")),
                                      service, terms_type)
            with history.using(grid[0]):
                [report] = backfill_ota(store, repo, service=service, terms_type=terms_type)
            if report.failed:
                raise InputError(f"{set_dir.name}: replay of {service} stopped: {report.stopped}")
            log = _commit_log(repo, f"{service}/{terms_type}.md")
            for index, changes in enumerate(_judged_changes(store, target["id"], grid)):
                results[index].append(_match(store, target["id"], set_dir.name, service, log,
                                             report.recorded, judgments, changes))
        return results
    finally:
        store.close()


def _judged_changes(store, target_id: int, grid: list[dict]) -> list[dict[int, dict]]:
    """Per setting of ``grid``: change id -> the change as recorded (``grid[0]``, the setting
    the replay ran under) or as ``monitor.compare.history.judge`` judges it under that setting. A
    technical upgrade and an exact return are settled before any judging."""
    recorded = {change["id"]: change for change in store.changes(target_id)}
    results = [recorded] + [{} for _ in grid[1:]]
    for change_id, change in recorded.items():
        fixed = change["classifier"] == TECHNICAL_CLASSIFIER or any(
            e["rule"].startswith("returns-to-version:") for e in change["evidence"])
        latest = new = None
        # Changes outer, settings inner: the pairwise comparisons stay in history's cache.
        for index, setting in enumerate(grid[1:], start=1):
            if fixed:
                results[index][change_id] = change
                continue
            if latest is None:
                latest = store.get_version(change["from_version_id"])
                new = store.get_version(change["to_version_id"])
            with history.using(setting):
                assessment, _ = history.judge(store, target_id, latest, new["text"],
                                              new["first_seen_at"], DEFAULT_CLASSIFIER)
            results[index][change_id] = {
                **change, "class": assessment.klass, "severity": assessment.severity,
                "topics": assessment.topics, "direction": assessment.direction,
                "evidence": assessment.evidence}
    return results


def _match(store, target_id: int, set_name: str, service: str, log: list, recorded: list[dict],
           judgments: dict, changes: dict[int, dict]) -> ServiceHistory:
    original = {sha: orig for sha, orig, _, _ in log}
    technical = sum(subject.strip().lower().startswith(TECHNICAL_PREFIXES) for *_, subject in log)
    item = ServiceHistory(set_name, service, log[0][2], log[-1][2], len(log), technical)
    by_commit = {original.get(r["archive_ref"], r["archive_ref"]): r for r in recorded}
    version_commit = {version_id: original.get(ref, ref)
                      for version_id, ref in store.version_archive_refs(target_id).items()}
    judged = {j["new_commit"] for (s, _), j in judgments.items() if s == service.lower()}
    for (judged_service, new_commit), judgment in sorted(judgments.items(), key=lambda kv: kv[1]["pair"]):
        if judged_service != service.lower():
            continue
        entry = by_commit.get(new_commit)
        change = changes[entry["change_id"]] if entry and entry["change_id"] else None
        item.pairs.append(PairOutcome(
            service, judgment["pair"], judgment, entry["outcome"] if entry else "missing", change,
            version_commit.get(change["from_version_id"]) if change else None))
    for commit, entry in by_commit.items():
        if commit in judged or not entry["change_id"]:
            continue
        change = changes[entry["change_id"]]
        if change["class"] == "material":
            item.unjudged_alerts.append({
                "service": service, "pair": None, "new_commit": commit, "outcome": entry["outcome"],
                "judged": None, "recorded": {k: change.get(k) for k in ("class", "severity", "topics")},
                "evidence": [{k: e.get(k) for k in ("rule", "topics", "side", "sentence")}
                             for e in (change.get("evidence") or [])[:6]]})
    return item


def replay(directory: Path, grid: list[dict] | None = None) -> list[HistoryEvaluation]:
    """Replay every set under ``directory``: one evaluation per setting of ``grid`` (overrides
    of ``monitor.compare.history``'s settings; default: only the settings in force)."""
    grid = grid or [{}]
    sets = history_sets(directory)
    evaluations = [HistoryEvaluation(settings=history.current(setting)) for setting in grid]
    with tempfile.TemporaryDirectory(prefix="policywatch-eval-") as tmp:
        for set_dir in sets:
            for evaluation, found in zip(evaluations, replay_set(set_dir, Path(tmp), grid)):
                evaluation.histories.extend(found)
    return evaluations


def evaluate_histories(directory: Path, settings: dict | None = None) -> HistoryEvaluation:
    """Replay every set under ``directory`` under the settings in force (plus ``settings``)."""
    return replay(directory, [settings or {}])[0]


def folds(directory: Path, grid: list[dict] | None = None,
          runs: list[HistoryEvaluation] | None = None) -> dict:
    """Leave-one-service-out figures for the parameters tuned from data (module docstring).

    ``runs``: the evaluations of ``grid``, if already replayed (``replay(directory, grid)``).
    """
    grid = grid if grid is not None else history.tuning_grid()
    runs = runs if runs is not None else replay(directory, grid)
    services = [(h.set_name, h.service) for h in runs[0].histories]
    per_run = [{(h.set_name, h.service): h for h in run.histories} for run in runs]
    held_out, chosen = [], []
    for key in services:
        def score(index: int, key=key) -> tuple:  # bound now: called within this iteration
            others = figures(summed(h for k, h in per_run[index].items() if k != key))
            # The best F1 on the other services; ties go to the earlier setting (the default).
            return (others["f1"], -index)
        best = max(range(len(runs)), key=score)
        held_out.append(per_run[best][key])
        chosen.append({"set": key[0], "service": key[1], "settings": runs[best].settings,
                       **figures(per_run[best][key].counts(), per_run[best][key].years)})
    tuned = sorted(history.TUNED)
    return {
        "folds": "service",
        "tuned": tuned,
        "note": ("nothing in the recording pipeline is tuned from data: every mechanism is a "
                 "hand-written rule with fixed constants, so the folds equal the overall figures")
        if len(grid) == 1 else
        f"each service is scored with the setting of {', '.join(tuned)} that gives the best alert "
        f"F1 on the other services (grid of {len(grid)} settings)",
        "grid": [run.settings for run in runs],
        "overall": figures(summed(held_out), sum(h.years for h in held_out)),
        "services": chosen,
        "all_data": [{"settings": run.settings, **run.overall()} for run in runs],
    }
