"""The registry of classifiers, keyed by name, and the vocabulary they answer in.

A classifier takes the old and new texts and their diff hunks and returns an ``Assessment``
(class, severity, topics, direction: docs/vocabulary.md). A module adds one with
``@register("name")``; ``monitor.compare.classify`` imports the built-in ones. What each rule id
in the evidence means, in words: ``glossary.py`` (data in ``glossary.yaml``).
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from monitor.errors import InputError

CLASSES = ("noise", "editorial", "material")
TOPICS = ("collection", "sharing", "sale", "sensitive-data", "ai-training", "advertising", "choice",
          "rights", "retention", "security", "policy-change", "do-not-track", "audiences",
          "transfers", "controller", "legal-basis", "contact")
DIRECTIONS = ("expands", "restricts", "mixed", "none")


@dataclass
class Assessment:
    """The judgment on one change, in the vocabulary of docs/vocabulary.md, plus the evidence."""

    klass: str
    severity: int
    topics: list[str]
    direction: str
    evidence: list[dict] = field(default_factory=list)  # {sentence, rule, topics, side}
    hunks: list[dict] = field(default_factory=list)  # Hunk.to_dict() + topics, severity
    classifier: str = ""

    def to_dict(self) -> dict:
        """The JSON form (``class`` rather than the Python-safe ``klass``)."""
        data = asdict(self)
        data["class"] = data.pop("klass")
        return data


Classifier = Callable[[str, str, list], Assessment]
CLASSIFIERS: dict[str, Classifier] = {}


def register(name: str):
    """Decorator: add a classifier to the registry under ``name``."""
    def wrap(function: Classifier) -> Classifier:
        CLASSIFIERS[name] = function
        return function
    return wrap


def get_classifier(name: str) -> Classifier:
    """A registered classifier by name."""
    if name not in CLASSIFIERS:
        raise InputError(f"unknown classifier {name!r}; known: {', '.join(sorted(CLASSIFIERS))}")
    return CLASSIFIERS[name]

