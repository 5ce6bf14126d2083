"""The default classifier: topic patterns and commitment signals kept as data in rules.yaml.

A hunk is material when the sentence around it gains or loses a mention of a data practice
(a topic pattern fires a different number of times before and after) or when a negative
commitment appears or disappears ("we do not sell" → "we may share"). Hunks whose sentences
compare equal once noise is ignored are noise; anything else is editorial.
"""

import re
from functools import cache
from importlib import resources

from difflib import SequenceMatcher

import yaml

from ..normalise import comparable_text
from . import Assessment, register

SEVERITY_OF_REMOVED_NEGATION = 3
TYPO_SIMILARITY = 0.8


@cache
def load_rules() -> dict:
    """rules.yaml compiled: {topics: {name: (severity, [regex])}, negation: regex, ...}."""
    raw = yaml.safe_load(resources.files(__package__).joinpath("rules.yaml").read_text("utf-8"))
    topics = {
        name: (spec["severity"], [re.compile(p, re.IGNORECASE) for p in spec["patterns"]])
        for name, spec in raw["topics"].items()
    }
    return {
        "topics": topics,
        "negation": re.compile("|".join(raw["negative_commitments"]), re.IGNORECASE),
        "editorial_only": set(raw["editorial_only_topics"]),
    }


def _topic_counts(sentence: str, topics: dict) -> dict[str, list[int]]:
    return {name: [len(pattern.findall(sentence)) for pattern in patterns]
            for name, (_, patterns) in topics.items()}


def _is_typo_fix(removed: str, added: str) -> bool:
    """A one-word edit that keeps most letters ("colect" → "collect") changes no practice."""
    if not removed or not added or len(removed.split()) > 1 or len(added.split()) > 1:
        return False
    return SequenceMatcher(None, removed.lower(), added.lower()).ratio() >= TYPO_SIMILARITY


def _judge_hunk(hunk: dict, rules: dict) -> dict:
    old, new = hunk["old_sentence"], hunk["new_sentence"]
    if comparable_text(old) == comparable_text(new):
        return {"class": "noise", "severity": 0, "topics": [], "direction": "none", "evidence": []}
    if _is_typo_fix(hunk["old"], hunk["new"]):
        return {"class": "editorial", "severity": 0, "topics": [], "direction": "none",
                "evidence": [{"sentence": new, "side": "new", "rule": "typo-fix", "topics": []}]}
    topics_spec = rules["topics"]
    before, after = _topic_counts(old, topics_spec), _topic_counts(new, topics_spec)
    changed_topics = [name for name in topics_spec if before[name] != after[name]]
    evidence = []
    directions = set()
    severity = 0
    negations_before = len(rules["negation"].findall(old))
    negations_after = len(rules["negation"].findall(new))
    # The topics a sentence is about matter when its commitment flips, even if no topic word moved.
    mentioned = [name for name in topics_spec if any(before[name]) or any(after[name])]
    if negations_before != negations_after and mentioned:
        removed = negations_after < negations_before
        directions.add("expands" if removed else "restricts")
        rule = "negation-removed" if removed else "negation-added"
        changed_topics = list(dict.fromkeys(changed_topics + mentioned))
        severity = SEVERITY_OF_REMOVED_NEGATION if removed else 2
        evidence.append({"sentence": new if new else old, "side": "new" if new else "old",
                         "rule": rule, "topics": mentioned})
    material_topics = [t for t in changed_topics if t not in rules["editorial_only"]]
    if not material_topics:
        return {"class": "editorial", "severity": 0, "topics": changed_topics, "direction": "none",
                "evidence": evidence}
    for name in material_topics:
        severity = max(severity, topics_spec[name][0])
        gained = sum(after[name]) > sum(before[name])
        evidence.append({
            "sentence": new if gained else old, "side": "new" if gained else "old",
            "rule": f"topic:{name} {'added' if gained else 'removed'}", "topics": [name]})
        if "negation-removed" not in {e["rule"] for e in evidence}:
            directions.add("expands" if gained else "restricts")
    direction = "mixed" if len(directions) > 1 else (directions.pop() if directions else "none")
    return {"class": "material", "severity": severity, "topics": changed_topics,
            "direction": direction, "evidence": evidence}


@register("rules")
def classify(old_text: str, new_text: str, hunks: list[dict]) -> Assessment:
    """Classify a change from its hunks (see module docstring)."""
    rules = load_rules()
    if comparable_text(old_text) == comparable_text(new_text):
        judged_hunks = [{**hunk, "topics": [], "severity": 0} for hunk in hunks]
        return Assessment("noise", 0, [], "none", [], judged_hunks, "rules")
    judged_hunks, evidence, topics, directions = [], [], [], set()
    klass, severity = "noise", 0
    for hunk in hunks:
        verdict = _judge_hunk(hunk, rules)
        judged_hunks.append({**hunk, "topics": verdict["topics"], "severity": verdict["severity"]})
        if verdict["class"] == "noise":
            continue
        if verdict["class"] == "material":
            klass = "material"
            severity = max(severity, verdict["severity"])
            topics.extend(verdict["topics"])
            evidence.extend(verdict["evidence"])
            if verdict["direction"] != "none":
                directions.add(verdict["direction"])
        elif klass == "noise":
            klass = "editorial"
    if klass == "noise":
        # The texts differ once noise is ignored, but no hunk carries it (e.g. reflowed lines).
        klass = "editorial"
    direction = "none"
    if klass == "material":
        direction = "mixed" if len(directions) > 1 or "mixed" in directions else (
            directions.pop() if directions else "none")
    seen = []
    for item in evidence:
        if item not in seen:
            seen.append(item)
    return Assessment(klass, severity, list(dict.fromkeys(topics)), direction, seen, judged_hunks,
                      "rules")
