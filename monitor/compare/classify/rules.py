"""The default classifier: linguistic rules kept as data in rules.yaml, judged per changed sentence.

Each hunk is one changed sentence (see ``diff.sentence_hunks``). A hunk is

- ``noise`` when only markup, case, numbering, or a date changed;
- ``material`` when a rule fires on it: a negative commitment appears or disappears ("we do not
  sell" → "we may sell"), a modal flips ("we require" → "we ask"), a topic term is added or
  removed by the edit (a new data category, recipient, purpose, transfer mechanism...), the
  kinds of channel for exercising a right change, a legal entity in a controller sentence
  changes, a period or age threshold changes, or the scope of a negative commitment grows or
  shrinks; a whole new or removed sentence is material when it states a data practice;
- ``editorial`` otherwise (wording, typos, contact details that change no practice).

The change as a whole takes the strongest class of its hunks; its evidence lists the sentences
that decided it, each with the rule that fired. Sentences in a language the rules do not cover
get a ``review`` mark instead of a guess.
"""

import re
from difflib import SequenceMatcher

from monitor.compare.classify.context import Document, is_change_note, out_of_scope
from monitor.compare.classify.edits import judge_replace, new_parties
from monitor.compare.classify.registry import Assessment, register
from monitor.compare.classify.signals import (
    Rules,
    load_rules,
    negations,
    only_dates,
    topics_in,
    words,
)
from monitor.compare.classify.variants import same_in_other_words
from monitor.compare.classify.verdict import cite, combine, direction_of, make_verdict
from monitor.extract import UNKNOWN, language

TYPO_SIMILARITY = 0.8
# Topics a short list item inherits from its section heading, and how short such an item is.
_LISTED_TOPICS = ("sharing", "sale", "collection", "transfers", "sensitive-data")
_LIST_ITEM_WORDS = 8
# A list or section number ("16.", "3.2"), or a year: renumbering and copyright years are noise.
_ENUMERATOR = re.compile(r"^\(?\d{1,3}(\.\d{1,3})*[.)]?$|^(19|20)\d\d$")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# What is left of a link when only its target changed: a domain or URL fragment.
_URL_FRAGMENT = re.compile(r"^[\w.-]*\.?(com|org|net|de|fr|uk|io|co|eu|html?|php)\.?$|^[\w-]*\.[\w.-]+/?$", re.I)
_FUNCTION_WORDS = frozenset("a an the and or of to in on at by for with from as is are be been that this "
                            "these those it its such any all our your their we you they us".split())


def _noise_or_minor(hunk: dict, rules: Rules) -> dict | None:
    """A verdict for edits that change no words a reader weighs, else None."""
    removed = words(hunk["old"])
    added = words(hunk["new"])
    old, new = hunk["old_sentence"], hunk["new_sentence"]
    if old.casefold() == new.casefold() or words(old.casefold()) == words(new.casefold()):
        return make_verdict("noise", evidence=[cite(hunk, "new", "markup-or-case", [])])
    changed = removed + added
    runs = [text.strip() for op, text in hunk.get("edits") or [] if op != 0 and text.strip()]
    if changed and all(w.isdigit() for w in changed):
        context = old + " " + new
        if hunk.get("heading") or all(_ENUMERATOR.match(run) for run in runs) and not (
                rules.period.search(context) or rules.age.search(context)):
            return make_verdict("noise", evidence=[cite(hunk, "new", "renumbering", [])])
        if not (rules.period.search(context) or rules.age.search(context)):
            topics = ["contact"] if "contact" in topics_in(context, rules) else []
            return make_verdict(topics=topics, evidence=[cite(hunk, "new", "figures-changed", [])])
    if only_dates(changed, rules) and not (rules.period.search(hunk["old"] + " " + hunk["new"])
                                           or rules.age.search(old) or rules.age.search(new)):
        return make_verdict("noise", evidence=[cite(hunk, "new", "date-only", [])])
    old_emails, new_emails = _EMAIL.findall(old), _EMAIL.findall(new)
    if old_emails != new_emails and len(old_emails) == len(new_emails) and all(
            re.fullmatch(r"[\w.+@-]+", run) for run in runs):
        # One address swapped for another of the same kind: a contact detail, not a channel.
        return make_verdict(topics=["contact"], evidence=[cite(hunk, "new", "contact-changed", [])])
    if runs and all(_URL_FRAGMENT.match(run) for run in runs):
        return make_verdict("noise", evidence=[cite(hunk, "new", "link-fragment", [])])
    if _is_date_stamp(old, rules) and _is_date_stamp(new, rules):
        return make_verdict("noise", evidence=[cite(hunk, "new", "date-stamp", [])])
    if same_in_other_words(old, new):
        # British/American spelling, or another name for the same data category ("date of
        # birth" / "birthday"): the same practice in other words.
        return make_verdict(evidence=[cite(hunk, "new", "spelling-or-synonym", [])])
    if len(removed) == 1 and len(added) == 1 and SequenceMatcher(
            None, removed[0].casefold(), added[0].casefold()).ratio() >= TYPO_SIMILARITY:
        return make_verdict(evidence=[cite(hunk, "new", "typo-fix", [])])
    return None


def _is_date_stamp(sentence: str, rules: Rules) -> bool:
    """"Last modified on 08/15/2022", "Dernière modification : 19/07/2022": a date and a few words."""
    tokens = words(sentence)
    rest = [w for w in tokens if not rules.date_words.fullmatch(w)]
    return bool(rules.date_stamp.search(sentence)) and any(w.isdigit() for w in tokens) and len(rest) <= 5


def _judge_whole(hunk: dict, rules: Rules, document: Document | None = None) -> dict:
    added = hunk["op"] == "insert"
    side = "new" if added else "old"
    sentence = hunk["new_sentence"] if added else hunk["old_sentence"]
    topics = topics_in(sentence, rules)
    practice = [t for t in topics if t not in rules.editorial_only]
    if _is_date_stamp(sentence, rules):
        return make_verdict("noise", evidence=[cite(hunk, side, "date-stamp", [])])
    if rules.pointer.search(sentence):
        return make_verdict(topics=["contact"] if "contact" in topics else [],
                        evidence=[cite(hunk, side, "pointer", [])])
    if is_change_note(sentence, hunk.get("section", ""), rules):
        return make_verdict(evidence=[cite(hunk, side, "change-note", [])])
    if practice and out_of_scope(sentence, hunk.get("section", ""), rules):
        return make_verdict(evidence=[cite(hunk, side, "out-of-scope", [])])
    if practice and document is not None and document.restated(sentence, added, hunk.get("section", ""), rules):
        return make_verdict(evidence=[cite(hunk, side, "restatement", [])])
    if added and new_parties(sentence, hunk.get("section", ""), rules, document):
        # A new group entity, representative or DPO: who answers for the data (severity 1).
        return make_verdict("material", ["controller"], "none", 1, [cite(hunk, side, "entity-added", ["controller"])])
    inherited = [t for t in topics_in(hunk.get("section", ""), rules) if t in _LISTED_TOPICS]
    if not practice and inherited and len(words(sentence)) <= _LIST_ITEM_WORDS and any(
            len(w) > 1 and not w.isdigit() for w in words(sentence)):
        # A short item (list entry, table row) under a heading about sharing or collection names
        # a recipient or a data category: "Algolia" removed under "Service providers we use".
        return make_verdict("material", inherited[:1], "expands" if added else "restricts",
                        rules.topic(inherited[0]).severity,
                        [cite(hunk, side, "listed-" + ("added" if added else "removed"), inherited[:1])])
    if not practice:
        rule = "contact-changed" if topics else "wording"
        return make_verdict(topics=topics, evidence=[cite(hunk, side, rule, [])])
    negated = negations(sentence, rules) > 0
    if negated:
        rule = "negative-commitment-" + ("added" if added else "removed")
    else:
        rule = "practice-" + ("added" if added else "removed")
    directions = [direction_of(rules.topic(t).polarity, added, negated) for t in practice]
    severity = max(rules.topic(t).severity for t in practice)
    if negated and not added:
        severity = 3
    return make_verdict("material", practice, combine(directions), severity,
                    [cite(hunk, side, rule, practice)])


def judge_hunk(hunk: dict, rules: Rules | None = None, document: Document | None = None) -> dict:
    """The verdict on one changed sentence: class, topics, direction, severity, evidence."""
    rules = rules or load_rules()
    if hunk["op"] == "replace":
        minor = _noise_or_minor(hunk, rules)
        if minor:
            return minor
    sentence = hunk["new_sentence"] or hunk["old_sentence"]
    if hunk.get("heading"):
        # Headings and table-of-contents entries name sections; the sentences inside decide.
        return make_verdict(evidence=[cite(hunk, "new" if hunk["new_sentence"] else "old", "heading", [])])
    if hunk["op"] == "replace":
        old_language, new_language = language(hunk["old_sentence"]), language(hunk["new_sentence"])
        if old_language != new_language and UNKNOWN not in (old_language, new_language):
            # A translation says the same thing in another language (or should): a reader checks.
            return make_verdict(evidence=[cite(hunk, "new", f"review:translated {old_language}->{new_language}", [])])
    if hunk["op"] == "replace":
        section = hunk.get("section", "")
        if is_change_note(hunk["old_sentence"], section, rules) and \
                is_change_note(hunk["new_sentence"], section, rules):
            return make_verdict(evidence=[cite(hunk, "new", "change-note", [])])
        if out_of_scope(hunk["old_sentence"], section, rules) and out_of_scope(hunk["new_sentence"], section, rules):
            return make_verdict(evidence=[cite(hunk, "new", "out-of-scope", [])])
    verdict = (judge_replace(hunk, rules, document) if hunk["op"] == "replace"
               else _judge_whole(hunk, rules, document))
    if verdict["class"] != "material":
        code = language(sentence)
        if code not in rules.languages and code != UNKNOWN:
            side = "new" if hunk["new_sentence"] else "old"
            verdict["evidence"].append(cite(hunk, side, f"review:language={code}", []))
    return verdict


@register("rules")
def classify(old_text: str, new_text: str, hunks: list[dict]) -> Assessment:
    """Classify a change from its sentence hunks (see module docstring)."""
    rules = load_rules()
    judged, evidence, topics, directions = [], [], [], []
    klass, severity = "noise", 0
    editorial_topics = []
    rank = {"noise": 0, "editorial": 1, "material": 2}
    document = Document(old_text, new_text)
    for hunk in hunks:
        verdict = judge_hunk(hunk, rules, document)
        judged.append({**hunk, "class": verdict["class"], "topics": verdict["topics"],
                       "severity": verdict["severity"], "direction": verdict["direction"],
                       "rule": verdict["evidence"][0]["rule"] if verdict["evidence"] else ""})
        if rank[verdict["class"]] > rank[klass]:
            klass = verdict["class"]
        if verdict["class"] == "material":
            severity = max(severity, verdict["severity"])
            topics += verdict["topics"]
            directions.append(verdict["direction"])
            evidence += verdict["evidence"]
        elif verdict["class"] == "editorial":
            editorial_topics += verdict["topics"]
            evidence += [e for e in verdict["evidence"] if e["rule"].startswith("review")]
    if klass == "material":
        # Material sentences first: they are what a reader must see.
        evidence.sort(key=lambda e: e["rule"].startswith("review"))
        return Assessment(klass, severity, list(dict.fromkeys(topics)), combine(directions),
                          evidence, judged, "rules")
    return Assessment(klass, 0, list(dict.fromkeys(editorial_topics)) if klass == "editorial" else [],
                      "none", evidence, judged, "rules")
