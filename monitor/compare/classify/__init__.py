"""Classifying a change: is it material, editorial or noise, about which topics, which way.

The public face: ``get_classifier(name)`` (``"rules"`` is the default: linguistic rules kept
as data in ``rules.yaml``, no model download), the ``Assessment`` it returns and the vocabulary
(``CLASSES``, ``TOPICS``, ``DIRECTIONS``). To add a classifier, write a module with a
function decorated ``@register("name")`` and import it here.
"""

from monitor.compare.classify import rules  # the built-in classifier registers itself on import
from monitor.compare.classify.glossary import (
    RULE_CLASSES,
    RuleEntry,
    explain,
    is_material,
    rule_glossary,
    rule_key,
    vocabulary,
)
from monitor.compare.classify.registry import (
    CLASSES,
    CLASSIFIERS,
    DIRECTIONS,
    TOPICS,
    Assessment,
    Classifier,
    get_classifier,
    register,
)
from monitor.compare.classify.signals import load_rules, places, topic_hits

__all__ = ["CLASSES", "CLASSIFIERS", "DIRECTIONS", "TOPICS", "Assessment", "Classifier", "get_classifier",
           "RULE_CLASSES", "RuleEntry", "explain", "is_material",
           "load_rules", "places", "register", "rule_glossary", "rule_key", "rules", "topic_hits", "vocabulary"]
