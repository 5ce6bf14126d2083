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
from collections import Counter
from difflib import SequenceMatcher

from monitor.compare.classify import Assessment, register
from monitor.compare.classify.context import Document, is_change_note, out_of_scope
from monitor.compare.classify.lists import list_item_changes, list_runs, place_changes, purpose_changes
from monitor.extract.language import UNKNOWN, language
from monitor.compare.classify.signals import (
    Rules,
    channel_kinds,
    count,
    entities,
    load_rules,
    named_parties,
    negations,
    only_dates,
    topic_hits,
    topics_in,
    words,
)
from monitor.compare.classify.variants import canonical_words, same_in_other_words

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


def _verdict(klass="editorial", topics=(), direction="none", severity=0, evidence=()):
    return {"class": klass, "topics": list(dict.fromkeys(topics)), "direction": direction,
            "severity": severity, "evidence": list(evidence)}


def _evidence(hunk: dict, side: str, rule: str, topics) -> dict:
    sentence = hunk["new_sentence"] if side == "new" else hunk["old_sentence"]
    return {"sentence": sentence, "side": side, "rule": rule, "topics": list(dict.fromkeys(topics)),
            "section": hunk.get("section", "")}


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


def _direction(polarity: str, added: bool, negated: bool) -> str:
    if polarity == "neutral":
        return "none"
    widens = (polarity == "expands") == added
    return "expands" if widens != negated else "restricts"


def _combine(directions) -> str:
    found = {d for d in directions if d != "none"}
    return "mixed" if len(found) > 1 else (found.pop() if found else "none")


def _noise_or_minor(hunk: dict, rules: Rules) -> dict | None:
    """A verdict for edits that change no words a reader weighs, else None."""
    removed = words(hunk["old"])
    added = words(hunk["new"])
    old, new = hunk["old_sentence"], hunk["new_sentence"]
    if old.casefold() == new.casefold() or words(old.casefold()) == words(new.casefold()):
        return _verdict("noise", evidence=[_evidence(hunk, "new", "markup-or-case", [])])
    changed = removed + added
    runs = [text.strip() for op, text in hunk.get("edits") or [] if op != 0 and text.strip()]
    if changed and all(w.isdigit() for w in changed):
        context = old + " " + new
        if hunk.get("heading") or all(_ENUMERATOR.match(run) for run in runs) and not (
                rules.period.search(context) or rules.age.search(context)):
            return _verdict("noise", evidence=[_evidence(hunk, "new", "renumbering", [])])
        if not (rules.period.search(context) or rules.age.search(context)):
            topics = ["contact"] if "contact" in topics_in(context, rules) else []
            return _verdict(topics=topics, evidence=[_evidence(hunk, "new", "figures-changed", [])])
    if only_dates(changed, rules) and not (rules.period.search(hunk["old"] + " " + hunk["new"])
                                           or rules.age.search(old) or rules.age.search(new)):
        return _verdict("noise", evidence=[_evidence(hunk, "new", "date-only", [])])
    old_emails, new_emails = _EMAIL.findall(old), _EMAIL.findall(new)
    if old_emails != new_emails and len(old_emails) == len(new_emails) and all(
            re.fullmatch(r"[\w.+@-]+", run) for run in runs):
        # One address swapped for another of the same kind: a contact detail, not a channel.
        return _verdict(topics=["contact"], evidence=[_evidence(hunk, "new", "contact-changed", [])])
    if runs and all(_URL_FRAGMENT.match(run) for run in runs):
        return _verdict("noise", evidence=[_evidence(hunk, "new", "link-fragment", [])])
    if _is_date_stamp(old, rules) and _is_date_stamp(new, rules):
        return _verdict("noise", evidence=[_evidence(hunk, "new", "date-stamp", [])])
    if same_in_other_words(old, new):
        # British/American spelling, or another name for the same data category ("date of
        # birth" / "birthday"): the same practice in other words.
        return _verdict(evidence=[_evidence(hunk, "new", "spelling-or-synonym", [])])
    if len(removed) == 1 and len(added) == 1 and SequenceMatcher(
            None, removed[0].casefold(), added[0].casefold()).ratio() >= TYPO_SIMILARITY:
        return _verdict(evidence=[_evidence(hunk, "new", "typo-fix", [])])
    return None


def _is_date_stamp(sentence: str, rules: Rules) -> bool:
    """"Last modified on 08/15/2022", "Dernière modification : 19/07/2022": a date and a few words."""
    tokens = words(sentence)
    rest = [w for w in tokens if not rules.date_words.fullmatch(w)]
    return bool(rules.date_stamp.search(sentence)) and any(w.isdigit() for w in tokens) and len(rest) <= 5


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


def _new_parties(sentence: str, section: str, rules: Rules, document: Document | None) -> set[str]:
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


_WORDS_ONLY = re.compile(r"[\W_]+")
_LABEL = re.compile(r"[\"“][^\"“”]{1,80}[\"”]")


def _inside_labels(sentence: str, spans: list) -> bool:
    labels = [m.span() for m in _LABEL.finditer(sentence)]
    return bool(spans) and bool(labels) and all(
        any(start <= s and e <= end for start, end in labels) for s, e in spans)


def _judge_replace(hunk: dict, rules: Rules, document: Document | None = None) -> dict:
    old, new = hunk["old_sentence"], hunk["new_sentence"]
    deleted, inserted = _spans(hunk.get("edits") or [])
    if _inside_labels(old, deleted) and _inside_labels(new, inserted):
        # Only a quoted label changed ("Do Not Sell or Share My Personal Information" link →
        # "Your Privacy Choices" link): the control is renamed, the practice is described elsewhere.
        return _verdict(evidence=[_evidence(hunk, "new", "label-changed", [])])
    old_hits, new_hits = topic_hits(old, rules), topic_hits(new, rules)
    lost, gained = _touched(old_hits, deleted), _touched(new_hits, inserted)
    sentence_topics = [t for t in dict.fromkeys(topics_in(old, rules) + topics_in(new, rules))
                       if t not in rules.editorial_only]
    old_negated, new_negated = negations(old, rules), negations(new, rules)
    evidence, directions, topics = [], [], []

    def fire(rule, side, names, direction):
        names = [n for n in names if n not in rules.editorial_only]
        if names:
            evidence.append(_evidence(hunk, side, rule, names))
            topics.extend(names)
            directions.append(direction)

    if old_negated != new_negated and sentence_topics:
        removed = new_negated < old_negated
        # What the commitment was about (nearest the negation), and any term the edit touched.
        about = _nearest_topics(old if removed else new, rules, limit=1)
        fire("negation-removed" if removed else "negation-added", "old" if removed else "new",
             list(dict.fromkeys(about + list(gained) + list(lost))) or sentence_topics,
             "expands" if removed else "restricts")
    for name in dict.fromkeys(list(lost) + list(gained)):
        if sorted(map(canonical_words, lost.get(name, []))) == sorted(map(canonical_words, gained.get(name, []))):
            continue  # the same terms on both sides (or their variants): moved within the sentence
        topic = rules.topic(name)
        added = len(gained.get(name, [])) >= len(lost.get(name, []))
        side = "new" if added else "old"
        negated = (new_negated if added else old_negated) > 0
        fire(f"term-{'added' if added else 'removed'}", side, [name], _direction(topic.polarity, added, negated))
    strength_old = (count(rules.obligation, hunk["old"]), count(rules.permission, hunk["old"]))
    strength_new = (count(rules.obligation, hunk["new"]), count(rules.permission, hunk["new"]))
    if strength_old != strength_new and sentence_topics and old_negated == new_negated:
        looser = strength_new[0] < strength_old[0] or strength_new[1] > strength_old[1]
        fire("modal-changed", "new", sentence_topics[:2], "restricts" if looser else "expands")
    if rules.rights_context.search(old + " " + new):
        kinds_old, kinds_new = channel_kinds(old, rules), channel_kinds(new, rules)
        if set(kinds_old) != set(kinds_new) and (hunk["old"] or hunk["new"]):
            more = set(kinds_new) > set(kinds_old)
            fewer = set(kinds_new) < set(kinds_old)
            # The right's subject ("Do Not Sell My Personal Information") is changed with it.
            subject = [t for t in sentence_topics if t in ("sale", "advertising", "do-not-track")]
            fire("channel-changed", "new", ["rights"] + subject,
                 "restricts" if more else "expands" if fewer else "mixed")
    entities_old, entities_new = entities(old, rules), entities(new, rules)
    if entities_old != entities_new and "controller" in sentence_topics:
        if not rules.address_context.search(hunk["old"] + " " + hunk["new"]) or not (entities_old & entities_new):
            fire("controller-changed", "new", ["controller"], "none")
    periods_old = {m.group().casefold() for m in rules.period.finditer(hunk["old"])}
    periods_new = {m.group().casefold() for m in rules.period.finditer(hunk["new"])}
    if periods_old != periods_new and ("retention" in sentence_topics or periods_old and periods_new):
        fire("period-changed", "new", ["retention"], "none")
    ages_old = {m.group() for m in rules.age.finditer(old)}
    ages_new = {m.group() for m in rules.age.finditer(new)}
    if ages_old != ages_new:
        fire("age-changed", "new", ["audiences"], "none")
    if not evidence and sentence_topics and not old_negated and not new_negated:
        # A protection narrowed: "we encrypt data in transit and at rest" → "... in transit".
        protective = [t for t in sentence_topics if t == "security"]
        if protective and not _content_words(new) - _content_words(old) and _content_words(old) - _content_words(new):
            fire("protection-narrowed", "old", protective, "expands")
    if not evidence and old_negated and new_negated == old_negated and sentence_topics:
        # The scope of a negative commitment grew or shrank ("X and Y are not encrypted" →
        # "X, Y and Z are not encrypted"): content words only added, or only removed.
        # Only items of an enumeration count: a word inserted to qualify or clarify ("the
        # relevant authority", "for advertising purposes") does not change what is excluded.
        content_added = _content_words(new) - _content_words(old)
        content_removed = _content_words(old) - _content_words(new)
        nearest = _nearest_topics(new, rules)
        if bool(content_added) != bool(content_removed) and nearest and list_runs(hunk.get("edits") or []):
            # More under "we do not sell" restricts; more under "is not encrypted" exposes more.
            polarity = rules.topic(nearest[0]).polarity
            fire("negated-scope-changed", "new", nearest,
                 _direction(polarity, bool(content_added), negated=True))
    for rule, side, names, direction, _ in place_changes(hunk, rules):
        fire(rule, side, names, direction)
    for rule, side, names, direction in _condition_changes(hunk, rules, sentence_topics):
        fire(rule, side, names, direction)
    if not evidence and _new_parties(new, hunk.get("section", ""), rules, document):
        fire("entity-added", "new", ["controller"], "none")
        low_severity_entity = True
    else:
        low_severity_entity = False
    low_severity = False
    if not evidence:
        for rule, side, names, direction, severity in (purpose_changes(hunk, rules)
                                                       or list_item_changes(hunk, rules, old_negated > 0)):
            fire(rule, side, names, direction)
            low_severity = severity == 1
    if evidence:
        severity = 1 if low_severity or low_severity_entity else max(rules.topic(t).severity for t in topics)
        if any(e["rule"] == "negation-removed" for e in evidence):
            severity = 3
        return _verdict("material", topics, _combine(directions), severity, evidence)
    contact = ("contact" in lost or "contact" in gained or entities_old != entities_new
               or "contact" in topics_in(old + " " + new, rules) and any(c.isdigit() or c == "@" for c in hunk["old"] + hunk["new"]))
    return _verdict(topics=["contact"] if contact else [],
                    evidence=[_evidence(hunk, "new", "contact-changed" if contact else "wording", [])])


def _judge_whole(hunk: dict, rules: Rules, document: Document | None = None) -> dict:
    added = hunk["op"] == "insert"
    side = "new" if added else "old"
    sentence = hunk["new_sentence"] if added else hunk["old_sentence"]
    topics = topics_in(sentence, rules)
    practice = [t for t in topics if t not in rules.editorial_only]
    if _is_date_stamp(sentence, rules):
        return _verdict("noise", evidence=[_evidence(hunk, side, "date-stamp", [])])
    if rules.pointer.search(sentence):
        return _verdict(topics=["contact"] if "contact" in topics else [],
                        evidence=[_evidence(hunk, side, "pointer", [])])
    if is_change_note(sentence, hunk.get("section", ""), rules):
        return _verdict(evidence=[_evidence(hunk, side, "change-note", [])])
    if practice and out_of_scope(sentence, hunk.get("section", ""), rules):
        return _verdict(evidence=[_evidence(hunk, side, "out-of-scope", [])])
    if practice and document is not None and document.restated(sentence, added, hunk.get("section", ""), rules):
        return _verdict(evidence=[_evidence(hunk, side, "restatement", [])])
    if added and _new_parties(sentence, hunk.get("section", ""), rules, document):
        # A new group entity, representative or DPO: who answers for the data (severity 1).
        return _verdict("material", ["controller"], "none", 1, [_evidence(hunk, side, "entity-added", ["controller"])])
    inherited = [t for t in topics_in(hunk.get("section", ""), rules) if t in _LISTED_TOPICS]
    if not practice and inherited and len(words(sentence)) <= _LIST_ITEM_WORDS and any(
            len(w) > 1 and not w.isdigit() for w in words(sentence)):
        # A short item (list entry, table row) under a heading about sharing or collection names
        # a recipient or a data category: "Algolia" removed under "Service providers we use".
        return _verdict("material", inherited[:1], "expands" if added else "restricts",
                        rules.topic(inherited[0]).severity,
                        [_evidence(hunk, side, "listed-" + ("added" if added else "removed"), inherited[:1])])
    if not practice:
        rule = "contact-changed" if topics else "wording"
        return _verdict(topics=topics, evidence=[_evidence(hunk, side, rule, [])])
    negated = negations(sentence, rules) > 0
    if negated:
        rule = "negative-commitment-" + ("added" if added else "removed")
    else:
        rule = "practice-" + ("added" if added else "removed")
    directions = [_direction(rules.topic(t).polarity, added, negated) for t in practice]
    severity = max(rules.topic(t).severity for t in practice)
    if negated and not added:
        severity = 3
    return _verdict("material", practice, _combine(directions), severity,
                    [_evidence(hunk, side, rule, practice)])


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
        return _verdict(evidence=[_evidence(hunk, "new" if hunk["new_sentence"] else "old", "heading", [])])
    if hunk["op"] == "replace":
        old_language, new_language = language(hunk["old_sentence"]), language(hunk["new_sentence"])
        if old_language != new_language and UNKNOWN not in (old_language, new_language):
            # A translation says the same thing in another language (or should): a reader checks.
            return _verdict(evidence=[_evidence(hunk, "new", f"review:translated {old_language}->{new_language}", [])])
    if hunk["op"] == "replace":
        section = hunk.get("section", "")
        if is_change_note(hunk["old_sentence"], section, rules) and is_change_note(hunk["new_sentence"], section, rules):
            return _verdict(evidence=[_evidence(hunk, "new", "change-note", [])])
        if out_of_scope(hunk["old_sentence"], section, rules) and out_of_scope(hunk["new_sentence"], section, rules):
            return _verdict(evidence=[_evidence(hunk, "new", "out-of-scope", [])])
    verdict = (_judge_replace(hunk, rules, document) if hunk["op"] == "replace"
               else _judge_whole(hunk, rules, document))
    if verdict["class"] != "material":
        code = language(sentence)
        if code not in rules.languages and code != UNKNOWN:
            side = "new" if hunk["new_sentence"] else "old"
            verdict["evidence"].append(_evidence(hunk, side, f"review:language={code}", []))
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
        return Assessment(klass, severity, list(dict.fromkeys(topics)), _combine(directions),
                          evidence, judged, "rules")
    return Assessment(klass, 0, list(dict.fromkeys(editorial_topics)) if klass == "editorial" else [],
                      "none", evidence, judged, "rules")
