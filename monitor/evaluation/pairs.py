"""Measure a classifier against a labelled corpus of version pairs.

A corpus directory holds ``pairs/<name>/{old.md,new.md,label.json}`` (the layout of the shared
developers' corpus): two versions of a policy as recorded Markdown and the label a reader gave
the change, in the vocabulary of docs/vocabulary.md. Both versions go through ``normalise_text`` first, as a
crawled version would, so the classifier sees what it sees in production.

Figures: a confusion matrix over class; precision, recall and F1 of ``material`` (an alert is a
``material`` verdict); the share of ``noise`` pairs flagged material (false alerts on changes
nobody should hear about); and topic F1, micro-averaged over (pair, topic) decisions on every
pair (a topic predicted on a noise pair counts against it), plus the same restricted to pairs
labelled material (the topics subscribers filter alerts on).
"""

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from monitor.compare import DEFAULT_CLASSIFIER, compare
from monitor.compare.classify import CLASSES
from monitor.errors import InputError
from monitor.extract import normalise_text


@dataclass
class PairResult:
    """One labelled pair and what the classifier said about it."""

    name: str
    gold: dict
    predicted: dict
    seconds: float

    @property
    def class_ok(self) -> bool:
        return self.gold["class"] == self.predicted["class"]

    @property
    def topics_ok(self) -> bool:
        return set(self.gold.get("topics", [])) == set(self.predicted["topics"])


@dataclass
class Evaluation:
    """Every pair's result and the figures computed from them."""

    classifier: str
    pairs: list[PairResult] = field(default_factory=list)

    def confusion(self) -> dict[str, dict[str, int]]:
        """``{gold class: {predicted class: count}}`` over every class."""
        matrix = {gold: {pred: 0 for pred in CLASSES} for gold in CLASSES}
        for pair in self.pairs:
            matrix[pair.gold["class"]][pair.predicted["class"]] += 1
        return matrix

    def figures(self) -> dict:
        """The headline figures as one JSON-ready dict."""
        true_pos = sum(1 for p in self.pairs if p.gold["class"] == "material" and p.predicted["class"] == "material")
        predicted_pos = sum(1 for p in self.pairs if p.predicted["class"] == "material")
        actual_pos = sum(1 for p in self.pairs if p.gold["class"] == "material")
        noise = [p for p in self.pairs if p.gold["class"] == "noise"]
        precision = _ratio(true_pos, predicted_pos)
        recall = _ratio(true_pos, actual_pos)
        seconds = sorted(p.seconds for p in self.pairs)
        return {
            "classifier": self.classifier,
            "pairs": len(self.pairs),
            "accuracy": _ratio(sum(p.class_ok for p in self.pairs), len(self.pairs)),
            "material_precision": precision,
            "material_recall": recall,
            "material_f1": _f1(precision, recall),
            "noise_false_alert_rate": _ratio(sum(p.predicted["class"] == "material" for p in noise), len(noise)),
            "topic_f1": _topic_f1(self.pairs),
            "topic_f1_material_pairs": _topic_f1([p for p in self.pairs if p.gold["class"] == "material"]),
            "direction_accuracy_material": _ratio(
                sum(p.gold.get("direction") == p.predicted["direction"] for p in self.pairs
                    if p.gold["class"] == "material" and p.predicted["class"] == "material"), true_pos),
            "median_seconds_per_pair": seconds[len(seconds) // 2] if seconds else 0.0,
            "confusion": self.confusion(),
        }

    def mistakes(self) -> list[dict]:
        """Pairs whose class or topics differ from the label, with both sides and the evidence."""
        wrong = []
        for pair in self.pairs:
            if pair.class_ok and pair.topics_ok:
                continue
            wrong.append({
                "pair": pair.name,
                "kind": "class" if not pair.class_ok else "topics",
                "gold": {k: pair.gold.get(k) for k in ("class", "topics", "direction")},
                "predicted": {k: pair.predicted[k] for k in ("class", "topics", "direction")},
                "evidence": [{k: e.get(k) for k in ("rule", "topics", "side", "sentence")}
                             for e in pair.predicted.get("evidence", [])[:6]],
            })
        return wrong

    def to_dict(self) -> dict:
        """Figures plus mistakes: what ``policywatch eval --json`` prints."""
        return {**self.figures(), "mistakes": self.mistakes()}


def _ratio(numerator: float, denominator: float) -> float:
    return round(numerator / denominator, 4) if denominator else 0.0


def _f1(precision: float, recall: float) -> float:
    return round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0


def _topic_f1(pairs: list[PairResult]) -> float:
    true_pos = false_pos = false_neg = 0
    for pair in pairs:
        gold, predicted = set(pair.gold.get("topics", [])), set(pair.predicted["topics"])
        true_pos += len(gold & predicted)
        false_pos += len(predicted - gold)
        false_neg += len(gold - predicted)
    if not true_pos + false_pos + false_neg:
        return 1.0  # nothing labelled and nothing predicted: perfect agreement
    return _f1(_ratio(true_pos, true_pos + false_pos), _ratio(true_pos, true_pos + false_neg))


def pair_dirs(corpus_dir: Path) -> list[Path]:
    """The pair folders of a corpus, in name order; an error if there are none."""
    root = Path(corpus_dir) / "pairs"
    found = sorted(p for p in root.glob("*") if (p / "label.json").is_file()
                   and (p / "old.md").is_file() and (p / "new.md").is_file())
    if not found:
        raise InputError(f"no labelled pairs in {root} (expected pairs/*/old.md, new.md, label.json)")
    return found


def evaluate(corpus_dir: Path, classifier: str = DEFAULT_CLASSIFIER) -> Evaluation:
    """Classify every labelled pair of ``corpus_dir`` and collect the results."""
    evaluation = Evaluation(classifier)
    for folder in pair_dirs(corpus_dir):
        gold = json.loads((folder / "label.json").read_text("utf-8"))
        old = normalise_text((folder / "old.md").read_text("utf-8"))
        new = normalise_text((folder / "new.md").read_text("utf-8"))
        started = time.perf_counter()
        assessment, _, _ = compare(old, new, classifier)
        elapsed = time.perf_counter() - started
        evaluation.pairs.append(PairResult(folder.name, gold, assessment.to_dict(), elapsed))
    return evaluation
