"""The rules in plain words: what each rule id in a change's evidence notices and why it matters.

The entries are data (``glossary.yaml``, beside ``rules.yaml``), written for journalists; the web's
``/glossary/`` page is generated from them and every rule name on a change page links to its
entry. A rule id that carries a value (``variant-seen:12``, ``review:language=fr``,
``technical-upgrade:ota``) belongs to a family (``variant-seen``, ``review-language``,
``technical-upgrade``): ``rule_key`` names it.
"""

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from monitor.compare.classify.registry import CLASSES

# The class a rule gives a sentence: the vocabulary's three, plus "review" (left to a person).
RULE_CLASSES = (*CLASSES, "review")
_REVIEW = re.compile(r"review:([a-z]+)")


@dataclass(frozen=True)
class RuleEntry:
    """One rule family in words. ``severity`` None: its topic's; ``topics`` empty: the sentence's."""

    key: str
    name: str
    klass: str
    explains: str
    why: str
    severity: int | None = None
    topics: tuple[str, ...] = ()

    @property
    def anchor(self) -> str:
        """The fragment of its entry on the glossary page (``rule-negation-removed``)."""
        return f"rule-{self.key}"


def rule_key(rule: str) -> str:
    """The family of a rule id: ``variant-seen:12`` → ``variant-seen``, ``review:language=fr`` →
    ``review-language``, ``review:translated en->fr`` → ``review-translated``."""
    rule = str(rule or "").strip()
    review = _REVIEW.match(rule)
    if review:
        return f"review-{review.group(1)}"
    return rule.split(":", 1)[0]


@cache
def _raw() -> dict:
    return yaml.safe_load(resources.files(__package__).joinpath("glossary.yaml").read_text("utf-8"))


@cache
def rule_glossary() -> dict[str, RuleEntry]:
    """Every rule family, keyed by ``rule_key``, in the file's order (material first)."""
    return {key: RuleEntry(key, spec["name"], spec["class"], spec["explains"], spec["why"],
                           spec.get("severity"), tuple(spec.get("topics") or ()))
            for key, spec in _raw()["rules"].items()}


def vocabulary() -> list[dict]:
    """The vocabulary's terms in a sentence each (``{term, means}``), for the glossary page."""
    return [dict(item) for item in _raw()["vocabulary"]]


def explain(rule: str) -> RuleEntry | None:
    """The entry for a rule id (any value it carries ignored), or None for an unknown rule."""
    return rule_glossary().get(rule_key(rule))


def is_material(rule: str) -> bool:
    """Whether the rule marks a material sentence."""
    entry = explain(rule)
    return entry is not None and entry.klass == "material"
