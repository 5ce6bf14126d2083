"""The classifier registry and the compare/diff_report contract other modules rely on."""

import pytest

from monitor.compare import compare, diff_report
from monitor.compare.classify import CLASSIFIERS, Assessment, get_classifier, register
from monitor.errors import InputError

OLD = "## Sharing\n\nWe do not sell your data.\n\nWe share data with service providers.\n"
NEW = "## Sharing\n\nWe may sell your data to advertisers.\n\nWe share data with service providers.\n"


def test_default_classifier_is_registered_and_needs_no_model():
    assert "rules" in CLASSIFIERS
    assessment, diffs, stats = compare(OLD, NEW)
    assert assessment.classifier == "rules"
    assert assessment.klass == "material"
    assert "sale" in assessment.topics
    assert stats["chars_added"] > 0 and stats["chars_removed"] > 0
    assert "".join(text for op, text in diffs if op != 1) == OLD
    assert "".join(text for op, text in diffs if op != -1) == NEW


def test_unknown_classifier_is_an_input_error():
    with pytest.raises(InputError, match="unknown classifier"):
        get_classifier("no-such-classifier")


def test_a_second_classifier_can_be_registered_and_compared_without_touching_the_first():
    @register("everything-is-noise")
    def noise_only(old_text, new_text, hunks):
        return Assessment("noise", 0, [], "none", [], hunks, "everything-is-noise")

    try:
        assert compare(OLD, NEW, classifier="everything-is-noise")[0].klass == "noise"
        assert compare(OLD, NEW)[0].klass == "material"
    finally:
        del CLASSIFIERS["everything-is-noise"]


def test_diff_report_keys_and_change_items():
    report = diff_report(OLD, NEW)
    assert {"class", "severity", "topics", "direction", "evidence", "classifier", "changes",
            "stats"} <= set(report)
    assert set(report["stats"]) == {"chars_added", "chars_removed"}
    (change,) = report["changes"]
    assert change["op"] == "replace"
    assert change["old_sentence"] == "We do not sell your data."
    assert change["new_sentence"] == "We may sell your data to advertisers."
    assert {"old", "new", "topics", "severity", "section", "class", "rule"} <= set(change)
    assert change["section"] == "sharing"
    assert change["class"] == "material"
    for item in report["evidence"]:
        assert {"sentence", "side", "rule", "topics"} <= set(item)


def test_assessment_to_dict_uses_class_not_klass():
    data = Assessment("editorial", 0, [], "none").to_dict()
    assert data["class"] == "editorial" and "klass" not in data


def test_identical_texts_have_no_changes():
    report = diff_report(OLD, OLD)
    assert report["class"] == "noise" and report["changes"] == [] and report["evidence"] == []
