"""Compare two texts: word diff, sentence hunks, classification and stats in one call."""

from monitor.compare.classify import Assessment, get_classifier
from monitor.compare.diff import sentence_hunks, stats, word_diff
from monitor.extract import language

DEFAULT_CLASSIFIER = "rules"


def compare(old_text: str, new_text: str, classifier: str = DEFAULT_CLASSIFIER) -> tuple[Assessment, list, dict]:
    """Return ``(assessment, diffs, stats)`` for two normalised texts.

    ``diffs`` is the word diff of the whole texts (for display and stats); the classifier judges
    the structure-aware hunks, one per changed sentence.
    """
    diffs = word_diff(old_text, new_text)
    # Texts equal but for noise give no hunk, or only hunks the classifier calls noise.
    found, _ = sentence_hunks(old_text, new_text)
    assessment = get_classifier(classifier)(old_text, new_text, found)
    return assessment, diffs, stats(diffs)


def diff_report(old_text: str, new_text: str, classifier: str = DEFAULT_CLASSIFIER) -> dict:
    """The JSON object ``policywatch diff --json`` prints."""
    assessment, _, counts = compare(old_text, new_text, classifier)
    report = assessment.to_dict()
    report["changes"] = report.pop("hunks")
    report["stats"] = counts
    report["language"] = language(new_text)
    return report
