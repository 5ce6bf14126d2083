"""The glossary page (``/glossary/``) and the change page's evidence in words.

Both come from the rule glossary (``monitor.compare.classify.glossary``): every rule id a change
can carry has an entry with an anchor (``#rule-<family>``) that each rule name on a page links to.
The page is static data, the same for the live app and the static site.
"""

from starlette.requests import Request
from starlette.routing import Route

from monitor.compare import phrasing
from monitor.compare.classify import RULE_CLASSES, TOPICS, explain, load_rules, rule_glossary, vocabulary

# How each class's rules are introduced on the page, in its order.
_SECTIONS = {
    "material": "Material: a practice, a promise or a right changed",
    "review": "Review: left to a person",
    "editorial": "Editorial: the words changed, no practice did",
    "noise": "Noise: nothing a reader would call a change",
}


def context() -> dict:
    """The glossary page: the vocabulary, the topics with their severity, then every rule by class."""
    severities: dict[str, int] = {}
    for topic in load_rules().topics:
        severities.setdefault(topic.name, topic.severity)
    words = phrasing()["topics"]
    topics = [{"id": name, "words": words.get(name, name), "severity": severities.get(name)} for name in TOPICS]
    entries = list(rule_glossary().values())
    sections = [{"class": klass, "title": _SECTIONS[klass],
                 "rules": [entry for entry in entries if entry.klass == klass]}
                for klass in sorted(RULE_CLASSES, key=list(_SECTIONS).index)]
    return {"title": "Glossary: what the rules mean", "vocabulary": vocabulary(), "topics": topics,
            "sections": sections}


def evidence_groups(evidence: list[dict]) -> list[dict]:
    """The evidence one item per sentence, its rules merged (a sentence several rules fired on is
    listed once, a rule that fired on several of its topics once), each rule with its glossary
    entry (None for an unknown rule)."""
    groups: list[dict] = []
    by_sentence: dict[tuple, dict] = {}
    for item in evidence or []:
        sentence = item.get("sentence") or ""
        key = (item.get("side", "new"), sentence)
        group = by_sentence.get(key) if sentence else None
        if group is None:
            group = {"sentence": sentence, "side": item.get("side", "new"), "rules": [], "material": False}
            groups.append(group)
            if sentence:
                by_sentence[key] = group
        rule = str(item.get("rule") or "")
        entry = explain(rule)
        same = next((r for r in group["rules"] if r["rule"] == rule), None)
        if same is None:
            group["rules"].append({"rule": rule, "entry": entry, "topics": list(item.get("topics") or [])})
        else:  # the same rule on other topics of the sentence: one line, its topics merged
            same["topics"] += [t for t in item.get("topics") or [] if t not in same["topics"]]
        group["material"] = group["material"] or (entry is not None and entry.klass == "material")
    return groups


def routes(page) -> list[Route]:
    """The glossary's route; ``page(request, template, context)`` renders it."""

    def glossary(request: Request):
        return page(request, "glossary.html", context())

    return [Route("/glossary/", glossary)]
