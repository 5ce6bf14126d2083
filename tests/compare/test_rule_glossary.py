"""The rule glossary (monitor/compare/classify/glossary.yaml) is complete: every rule id the code can
write into a change has an entry in words, with an anchor the web links to."""

import ast
import re
from pathlib import Path

import pytest
import yaml

from monitor.compare import diff_report, phrasing
from monitor.compare.classify import (
    CLASSES,
    DIRECTIONS,
    RULE_CLASSES,
    TOPICS,
    explain,
    is_material,
    rule_glossary,
    rule_key,
)
from monitor.extract import normalise_text
from monitor.record import TECHNICAL_CLASSIFIER

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
# The modules that write rule ids into evidence and hunks (recording's two are checked by name).
EMITTERS = [*sorted(path for path in (ROOT / "monitor" / "compare" / "classify").glob("*.py")
                   if path.name != "glossary.py"), ROOT / "monitor/compare/history.py"]
_KEBAB = re.compile(r"^[a-z]+(-[a-z]+)+$|^[a-z]+(-[a-z]+)*[-:]$")


def test_every_entry_is_explained_in_words_with_a_class_severity_and_anchor():
    entries = rule_glossary()
    assert len(entries) >= 40
    anchors = [entry.anchor for entry in entries.values()]
    assert len(set(anchors)) == len(anchors)
    for key, entry in entries.items():
        assert entry.key == key and re.fullmatch(r"rule-[a-z]+(-[a-z]+)*", entry.anchor), key
        assert entry.klass in RULE_CLASSES, key
        # Sentences for people: a few words at least, ending like a sentence, no rule-id jargon alone.
        assert len(entry.name.split()) >= 2, key
        for text in (entry.explains, entry.why):
            assert len(text.split()) >= 3 and text.rstrip("”)").endswith((".", "!", "?")), (key, text)
        assert set(entry.topics) <= set(TOPICS), key
        if entry.klass != "material":
            assert entry.severity == 0, key  # only material changes have a severity
        else:
            assert entry.severity in (None, 1, 2, 3), key


def _emitted_on_the_case_tables() -> set[str]:
    rules = set()
    for case in yaml.safe_load((DATA / "classify_cases.yaml").read_text("utf-8")):
        report = diff_report(normalise_text(case["old"]), normalise_text(case["new"]))
        rules |= {item["rule"] for item in report["evidence"]} | {c["rule"] for c in report["changes"]}
    for case in yaml.safe_load((DATA / "summary_cases.yaml").read_text("utf-8")):
        change = case["change"]
        rules |= {item["rule"] for item in change.get("evidence") or []}
        rules |= {hunk["rule"] for hunk in change.get("hunks") or [] if hunk.get("rule")}
    return rules - {""}


def test_every_rule_the_classifier_writes_on_the_case_tables_has_an_entry():
    emitted = _emitted_on_the_case_tables()
    assert len(emitted) >= 20  # the tables exercise most rules: guards against an empty scan
    assert sorted(rule for rule in emitted if explain(rule) is None) == []


def test_every_rule_the_summaries_phrase_has_an_entry():
    assert sorted(rule for rule in phrasing()["rules"] if explain(rule) is None) == []
    assert sorted(rule for rule in phrasing()["editorial"] if rule not in ("insert", "delete", "replace")
                  and explain(rule) is None) == []


def _literals(path: Path) -> set[str]:
    """Kebab-case string constants (and the constant heads of f-strings) in a module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and _KEBAB.match(node.value):
            found.add(node.value)
        elif isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
            head = str(node.values[0].value)
            if _KEBAB.match(head) and head.endswith(("-", ":")):
                found.add(head)
    return found


def test_the_rules_recording_writes_have_entries():
    # A return to an earlier text and a technical version (monitor/record/recording.py, reextract.py).
    assert explain("returns-to-version:1").klass == "noise"
    assert explain(f"{TECHNICAL_CLASSIFIER}:ota").klass == "noise"


def test_every_rule_id_written_in_the_source_has_an_entry():
    assert "term-" in _literals(EMITTERS[0].parent / "edits.py")  # the scan sees f-string heads
    vocabulary = set(TOPICS) | set(CLASSES) | set(DIRECTIONS) | {"profiling"}
    missing = []
    for path in EMITTERS:
        for literal in _literals(path) - vocabulary:
            # "practice-" + "added": a prefix names a family of two rules.
            names = [literal + "added", literal + "removed"] if literal.endswith("-") else [literal]
            missing += [f"{path.name}: {name}" for name in names if explain(name) is None]
    assert missing == []


@pytest.mark.parametrize("rule, key", [
    ("negation-removed", "negation-removed"), ("variant-seen:12", "variant-seen"),
    ("near-return-to-version:3", "near-return-to-version"), ("returns-to-version:7", "returns-to-version"),
    ("technical-upgrade:ota", "technical-upgrade"), ("technical-upgrade:blocks-3", "technical-upgrade"),
    ("review:language=fr", "review-language"), ("review:translated en->fr", "review-translated"),
    ("", ""),
])
def test_rule_ids_with_a_value_belong_to_their_family(rule, key):
    assert rule_key(rule) == key
    if key:
        assert explain(rule) is rule_glossary()[key]


def test_material_rules_are_told_from_the_others():
    assert is_material("negation-removed") and is_material("term-added")
    assert not is_material("variant-seen:4") and not is_material("review:language=de")
    assert not is_material("wording") and not is_material("no-such-rule")
