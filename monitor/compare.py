"""Compare two texts: word diff, hunks, classification and stats in one call."""

from .classify import Assessment, get_classifier
from .diff import hunks, stats, word_diff

DEFAULT_CLASSIFIER = "rules"


def compare(old_text: str, new_text: str, classifier: str = DEFAULT_CLASSIFIER) -> tuple[Assessment, list, dict]:
    """Return ``(assessment, diffs, stats)`` for two normalised texts."""
    diffs = word_diff(old_text, new_text)
    found = [hunk.to_dict() for hunk in hunks(old_text, new_text, diffs)]
    assessment = get_classifier(classifier)(old_text, new_text, found)
    return assessment, diffs, stats(diffs)


def diff_report(old_text: str, new_text: str, classifier: str = DEFAULT_CLASSIFIER) -> dict:
    """The JSON object ``policywatch diff --json`` prints."""
    assessment, _, counts = compare(old_text, new_text, classifier)
    report = assessment.to_dict()
    report["changes"] = report.pop("hunks")
    report["stats"] = counts
    return report
