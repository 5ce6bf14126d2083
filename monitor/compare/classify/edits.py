"""Judging a sentence that was edited (not added or removed whole): which rule fires on the edit.

``judge_replace`` first gathers the facts of the edit (the spans it touched, the topic terms in
them, the negations and named entities on both sides), then asks the rule groups in a fixed
order: the always-on rules (negation, terms, modal, channel, controller, period, age), then the
fallbacks that only speak when nothing else did (a protection narrowed, the scope of a negative
commitment, a new party, a purpose or list item). The first group's evidence decides the class;
the order matters because a later fallback must not add a weaker reason to a stronger one.
"""

import re
from collections import Counter
from dataclasses import dataclass, field

from monitor.compare.classify.context import Document
from monitor.compare.classify.lists import (
    list_item_changes,
    list_runs,
    place_changes,
    purpose_changes,
)
from monitor.compare.classify.signals import (
    Rules,
    channel_kinds,
    count,
    entities,
    named_parties,
    negations,
    topic_hits,
    topics_in,
    words,
)
from monitor.compare.classify.variants import canonical_words
from monitor.compare.classify.verdict import cite, combine, direction_of, make_verdict

_FUNCTION_WORDS = frozenset("a an the and or of to in on at by for with from as is are be been that this "
                            "these those it its such any all our your their we you they us".split())
_WORDS_ONLY = re.compile(r"[\W_]+")
_LABEL = re.compile(r"[\"“][^\"“”]{1,80}[\"”]")


def _spans(edits: list) -> tuple[list, list]:
    """Character spans of the deleted runs (in the old sentence) and inserted runs (in the new)."""
    deleted, inserted, old_pos, new_pos = [], [], 0, 0
    for op, text in edits:
        if op == 0:
            old_pos += len(text)
            new_pos += len(text)
        elif op == -1:
            deleted.append((old_pos, old_pos + len(text)))
            old_pos += len(text)
        else:
            inserted.append((new_pos, new_pos + len(text)))
            new_pos += len(text)
    return deleted, inserted


def _touched(hits, spans) -> dict[str, list[str]]:
    """Topic terms overlapping an edited span, as ``{topic: [matched text, ...]}``."""
    found: dict[str, list[str]] = {}
    for name, start, end, text in hits:
        if any(start < span_end and span_start < end for span_start, span_end in spans):
            found.setdefault(name, []).append(text)
    return found


def _nearest_topics(sentence: str, rules: Rules, limit: int = 2) -> list[str]:
    """The topics named closest to the sentence's (first) negation: what it commits not to do."""
    negation = rules.negation.search(sentence)
    allowed = topics_in(sentence, rules)
    hits = [h for h in topic_hits(sentence, rules) if h[0] in allowed and h[0] not in rules.editorial_only]
    if not negation or not hits:
        return [h[0] for h in hits][:limit]
    hits.sort(key=lambda h: min(abs(h[1] - negation.end()), abs(h[2] - negation.start())))
    return list(dict.fromkeys(h[0] for h in hits))[:limit]


def _content_words(text: str) -> Counter:
    return Counter(w.casefold() for w in words(text) if w.casefold() not in _FUNCTION_WORDS)


def new_parties(sentence: str, section: str, rules: Rules, document: Document | None) -> set[str]:
    """Entities or representatives named in ``sentence`` that the old version never names, when
    the sentence or its section is about who answers for the data."""
    if document is None or not (rules.representative.search(sentence) or rules.representative.search(section)):
        return set()
    old = " ".join(_WORDS_ONLY.sub(" ", document.old_text.casefold()).split())
    new = set()
    for name in named_parties(sentence, rules):
        tokens = _WORDS_ONLY.sub(" ", name).split()
        # The name as the old text wrote it, or its last three words ("... Services Limited"
        # after a label the old text put on another line): not new.
        tails = [" ".join(tokens[i:]) for i in range(max(0, len(tokens) - 3) + 1)]
        if not any(f" {tail} " in f" {old} " for tail in tails):
            new.add(name)
    return new


def _condition_changes(hunk: dict, rules: Rules, sentence_topics: list) -> list[tuple]:
    """A consent or enablement condition removed from (or added to) a practice sentence."""
    if not sentence_topics and not rules.use_context.search(hunk["old_sentence"] + " " + hunk["new_sentence"]):
        return []
    found = []
    for op, text in hunk.get("edits") or []:
        if op == 0 or not rules.consent_condition.search(text):
            continue
        other = hunk["new_sentence"] if op == -1 else hunk["old_sentence"]
        if rules.consent_condition.search(other):
            continue  # still conditional on the other side: reworded
        removed = op == -1
        found.append(("condition-removed" if removed else "condition-added", "old" if removed else "new",
                      ["choice"], "expands" if removed else "restricts"))
    return found[:1]


def _inside_labels(sentence: str, spans: list) -> bool:
    labels = [m.span() for m in _LABEL.finditer(sentence)]
    return bool(spans) and bool(labels) and all(
        any(start <= s and e <= end for start, end in labels) for s, e in spans)


@dataclass
class _Edit:
    """The facts of one edited sentence that the rules look at."""

    hunk: dict
    rules: Rules
    old: str
    new: str
    deleted: list
    inserted: list
    lost: dict
    gained: dict
    sentence_topics: list
    old_negated: int
    new_negated: int

    @classmethod
    def of(cls, hunk: dict, rules: Rules) -> "_Edit":
        old, new = hunk["old_sentence"], hunk["new_sentence"]
        deleted, inserted = _spans(hunk.get("edits") or [])
        sentence_topics = [t for t in dict.fromkeys(topics_in(old, rules) + topics_in(new, rules))
                           if t not in rules.editorial_only]
        return cls(hunk, rules, old, new, deleted, inserted,
                   _touched(topic_hits(old, rules), deleted), _touched(topic_hits(new, rules), inserted),
                   sentence_topics, negations(old, rules), negations(new, rules))


@dataclass
class _Findings:
    """What the rules found: evidence, the topics and directions it names, and its weight."""

    edit: _Edit
    evidence: list = field(default_factory=list)
    topics: list = field(default_factory=list)
    directions: list = field(default_factory=list)
    low_severity: bool = False
    low_severity_entity: bool = False

    def fire(self, rule: str, side: str, names, direction: str) -> None:
        """Record that ``rule`` fired on ``side`` about ``names`` (editorial-only topics dropped)."""
        names = [n for n in names if n not in self.edit.rules.editorial_only]
        if names:
            self.evidence.append(cite(self.edit.hunk, side, rule, names))
            self.topics.extend(names)
            self.directions.append(direction)


def _negation_and_terms(e: _Edit, found: _Findings) -> None:
    """A negation appears or disappears; a topic term is added or removed by the edit."""
    rules = e.rules
    if e.old_negated != e.new_negated and e.sentence_topics:
        removed = e.new_negated < e.old_negated
        # What the commitment was about (nearest the negation), and any term the edit touched.
        about = _nearest_topics(e.old if removed else e.new, rules, limit=1)
        found.fire("negation-removed" if removed else "negation-added", "old" if removed else "new",
                   list(dict.fromkeys(about + list(e.gained) + list(e.lost))) or e.sentence_topics,
                   "expands" if removed else "restricts")
    for name in dict.fromkeys(list(e.lost) + list(e.gained)):
        if sorted(map(canonical_words, e.lost.get(name, []))) == sorted(map(canonical_words, e.gained.get(name, []))):
            continue  # the same terms on both sides (or their variants): moved within the sentence
        topic = rules.topic(name)
        added = len(e.gained.get(name, [])) >= len(e.lost.get(name, []))
        negated = (e.new_negated if added else e.old_negated) > 0
        found.fire(f"term-{'added' if added else 'removed'}", "new" if added else "old", [name],
                   direction_of(topic.polarity, added, negated))


def _modal_and_channel(e: _Edit, found: _Findings) -> None:
    """A modal verb flips ("we require" → "we ask"); the channels for exercising a right change."""
    rules, hunk = e.rules, e.hunk
    strength_old = (count(rules.obligation, hunk["old"]), count(rules.permission, hunk["old"]))
    strength_new = (count(rules.obligation, hunk["new"]), count(rules.permission, hunk["new"]))
    if strength_old != strength_new and e.sentence_topics and e.old_negated == e.new_negated:
        looser = strength_new[0] < strength_old[0] or strength_new[1] > strength_old[1]
        found.fire("modal-changed", "new", e.sentence_topics[:2], "restricts" if looser else "expands")
    if rules.rights_context.search(e.old + " " + e.new):
        kinds_old, kinds_new = channel_kinds(e.old, rules), channel_kinds(e.new, rules)
        if set(kinds_old) != set(kinds_new) and (hunk["old"] or hunk["new"]):
            more = set(kinds_new) > set(kinds_old)
            fewer = set(kinds_new) < set(kinds_old)
            # The right's subject ("Do Not Sell My Personal Information") is changed with it.
            subject = [t for t in e.sentence_topics if t in ("sale", "advertising", "do-not-track")]
            found.fire("channel-changed", "new", ["rights"] + subject,
                       "restricts" if more else "expands" if fewer else "mixed")


def _figures_and_parties(e: _Edit, found: _Findings) -> None:
    """The controller entity, a retention period or an age threshold changes."""
    rules, hunk = e.rules, e.hunk
    entities_old, entities_new = entities(e.old, rules), entities(e.new, rules)
    if entities_old != entities_new and "controller" in e.sentence_topics:
        if not rules.address_context.search(hunk["old"] + " " + hunk["new"]) or not (entities_old & entities_new):
            found.fire("controller-changed", "new", ["controller"], "none")
    periods_old = {m.group().casefold() for m in rules.period.finditer(hunk["old"])}
    periods_new = {m.group().casefold() for m in rules.period.finditer(hunk["new"])}
    if periods_old != periods_new and ("retention" in e.sentence_topics or periods_old and periods_new):
        found.fire("period-changed", "new", ["retention"], "none")
    if {m.group() for m in rules.age.finditer(e.old)} != {m.group() for m in rules.age.finditer(e.new)}:
        found.fire("age-changed", "new", ["audiences"], "none")


def _narrowed_scope(e: _Edit, found: _Findings) -> None:
    """Only when nothing fired yet: a protection narrowed, or a negative commitment's scope changed."""
    if not found.evidence and e.sentence_topics and not e.old_negated and not e.new_negated:
        # A protection narrowed: "we encrypt data in transit and at rest" → "... in transit".
        protective = [t for t in e.sentence_topics if t == "security"]
        if protective and not _content_words(e.new) - _content_words(e.old) \
                and _content_words(e.old) - _content_words(e.new):
            found.fire("protection-narrowed", "old", protective, "expands")
    if not found.evidence and e.old_negated and e.new_negated == e.old_negated and e.sentence_topics:
        # The scope of a negative commitment grew or shrank ("X and Y are not encrypted" →
        # "X, Y and Z are not encrypted"): content words only added, or only removed.
        # Only items of an enumeration count: a word inserted to qualify or clarify ("the
        # relevant authority", "for advertising purposes") does not change what is excluded.
        content_added = _content_words(e.new) - _content_words(e.old)
        content_removed = _content_words(e.old) - _content_words(e.new)
        nearest = _nearest_topics(e.new, e.rules)
        if bool(content_added) != bool(content_removed) and nearest and list_runs(e.hunk.get("edits") or []):
            # More under "we do not sell" restricts; more under "is not encrypted" exposes more.
            polarity = e.rules.topic(nearest[0]).polarity
            found.fire("negated-scope-changed", "new", nearest,
                       direction_of(polarity, bool(content_added), negated=True))


def _places_conditions_and_lists(e: _Edit, found: _Findings, document: Document | None) -> None:
    """Places and consent conditions always; then, if nothing fired, a new party; then a purpose or list item."""
    for rule, side, names, direction, _ in place_changes(e.hunk, e.rules):
        found.fire(rule, side, names, direction)
    for rule, side, names, direction in _condition_changes(e.hunk, e.rules, e.sentence_topics):
        found.fire(rule, side, names, direction)
    if not found.evidence and new_parties(e.new, e.hunk.get("section", ""), e.rules, document):
        found.fire("entity-added", "new", ["controller"], "none")
        found.low_severity_entity = True
    if not found.evidence:
        for rule, side, names, direction, severity in (purpose_changes(e.hunk, e.rules)
                                                       or list_item_changes(e.hunk, e.rules, e.old_negated > 0)):
            found.fire(rule, side, names, direction)
            found.low_severity = severity == 1


def judge_replace(hunk: dict, rules: Rules, document: Document | None = None) -> dict:
    """The verdict on an edited sentence: material if a rule fires on the edit, else editorial."""
    e = _Edit.of(hunk, rules)
    if _inside_labels(e.old, e.deleted) and _inside_labels(e.new, e.inserted):
        # Only a quoted label changed ("Do Not Sell or Share My Personal Information" link →
        # "Your Privacy Choices" link): the control is renamed, the practice is described elsewhere.
        return make_verdict(evidence=[cite(hunk, "new", "label-changed", [])])
    found = _Findings(e)
    _negation_and_terms(e, found)
    _modal_and_channel(e, found)
    _figures_and_parties(e, found)
    _narrowed_scope(e, found)
    _places_conditions_and_lists(e, found, document)
    if found.evidence:
        low = found.low_severity or found.low_severity_entity
        severity = 1 if low else max(rules.topic(t).severity for t in found.topics)
        if any(item["rule"] == "negation-removed" for item in found.evidence):
            severity = 3
        return make_verdict("material", found.topics, combine(found.directions), severity, found.evidence)
    entities_changed = entities(e.old, rules) != entities(e.new, rules)
    contact = ("contact" in e.lost or "contact" in e.gained or entities_changed
               or "contact" in topics_in(e.old + " " + e.new, rules)
               and any(c.isdigit() or c == "@" for c in hunk["old"] + hunk["new"]))
    return make_verdict(topics=["contact"] if contact else [],
                        evidence=[cite(hunk, "new", "contact-changed" if contact else "wording", [])])
