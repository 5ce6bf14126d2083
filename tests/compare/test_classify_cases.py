"""The "rules" classifier against the data table tests/data/classify_cases.yaml (urlwatch-style)."""

from pathlib import Path

import pytest
import yaml

from monitor.compare import diff_report
from monitor.extract import normalise_text

CASES = yaml.safe_load((Path(__file__).parents[1] / "data" / "classify_cases.yaml").read_text("utf-8"))


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_case(case):
    report = diff_report(normalise_text(case["old"]), normalise_text(case["new"]))
    rules = [item["rule"] for item in report["evidence"]] + [change["rule"] for change in report["changes"]]
    assert report["class"] == case["class"], (report["class"], rules)
    assert set(case.get("topics", [])) <= set(report["topics"]), report["topics"]
    if "direction" in case:
        assert report["direction"] == case["direction"], rules
    if "rule" in case:
        assert case["rule"] in rules


def test_every_case_has_a_class_from_the_vocabulary():
    # Guards the table itself: a typo in a class would make a case vacuous.
    assert {case["class"] for case in CASES} <= {"noise", "editorial", "material"}
    assert len({case["name"] for case in CASES}) == len(CASES)


def test_material_evidence_names_the_sentence_and_the_rule():
    case = next(c for c in CASES if c["name"] == "removed negative commitment on sale")
    report = diff_report(normalise_text(case["old"]), normalise_text(case["new"]))
    first = report["evidence"][0]
    assert first["rule"] == "negative-commitment-removed"
    assert first["side"] == "old"
    assert first["sentence"] == "We do not sell your personal information."
    assert first["topics"] == ["sale"]
    assert report["severity"] == 3
