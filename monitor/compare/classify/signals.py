"""What the rules look for in a sentence, compiled from rules.yaml.

Everything here is a pure function of text: topic mentions (with their spans, so an edit can be
tied to the terms it touches), negative commitments, modal strength, request channels, legal
entities and periods (a text's language: monitor.extract.language).
"""

import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Topic:
    name: str  # the vocabulary topic it is reported as
    severity: int
    polarity: str  # expands | protects | neutral
    patterns: tuple
    weak_patterns: tuple = ()  # count only when the edit touches them or nothing else is named


@dataclass(frozen=True)
class Rules:
    topics: tuple
    editorial_only: frozenset
    negation: re.Pattern
    obligation: re.Pattern
    permission: re.Pattern
    channels: dict
    rights_context: re.Pattern
    legal_entity: re.Pattern
    address_context: re.Pattern
    period: re.Pattern
    age: re.Pattern
    date_words: re.Pattern
    date_stamp: re.Pattern
    pointer: re.Pattern
    languages: frozenset
    # Context (context.py) and lists (lists.py).
    change_note: re.Pattern
    change_note_heading: re.Pattern
    summary_heading: re.Pattern
    out_of_scope_heading: re.Pattern
    in_scope_words: re.Pattern
    transfer_context: re.Pattern
    residency_context: re.Pattern
    purpose_clause: re.Pattern
    use_context: re.Pattern
    marketing_words: re.Pattern
    places: tuple  # ((alias words, canonical, capitals only), ...), longest alias first
    representative: re.Pattern
    representative_name: re.Pattern
    consent_condition: re.Pattern

    def topic(self, name: str) -> Topic:
        return next(t for t in self.topics if t.name == name)


def _compile(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.IGNORECASE)


@cache
def load_rules() -> Rules:
    """rules.yaml, compiled once."""
    raw = yaml.safe_load(resources.files(__package__).joinpath("rules.yaml").read_text("utf-8"))
    topics = tuple(
        Topic(spec.get("report_as", name), spec["severity"], spec["polarity"],
              tuple(_compile(p) for p in spec["patterns"]),
              tuple(_compile(p) for p in spec.get("weak_patterns", ())))
        for name, spec in raw["topics"].items())
    return Rules(
        topics=topics,
        editorial_only=frozenset(raw["editorial_only_topics"]),
        negation=_compile("|".join(raw["negations"])),
        obligation=_compile(raw["obligations"]),
        permission=_compile(raw["permissions"]),
        channels={kind: _compile(p) for kind, p in raw["channels"].items()},
        rights_context=_compile(raw["rights_context"]),
        legal_entity=re.compile(raw["legal_entity"]),  # case matters: names are capitalised
        address_context=_compile(raw["address_context"]),
        period=_compile(raw["period"]),
        age=_compile(raw["age"]),
        date_words=_compile(raw["date_words"]),
        date_stamp=_compile(raw["date_stamp"]),
        pointer=_compile(raw["pointer"]),
        languages=frozenset(raw["languages"]),
        change_note=_compile(raw["change_note"]),
        change_note_heading=_compile(raw["change_note_heading"]),
        summary_heading=_compile(raw["summary_heading"]),
        out_of_scope_heading=_compile(raw["out_of_scope_heading"]),
        in_scope_words=_compile(raw["in_scope_words"]),
        transfer_context=_compile(raw["transfer_context"]),
        residency_context=re.compile(raw["residency_context"]),  # "Texas residents": capitals matter
        purpose_clause=_compile(raw["purpose_clause"]),
        use_context=_compile(raw["use_context"]),
        marketing_words=_compile(raw["marketing_words"]),
        places=tuple(sorted(((tuple(_WORD.findall(alias.casefold())), canonical, alias.isupper())
                             for canonical, aliases in raw["places"].items() for alias in aliases),
                            key=lambda entry: -len(entry[0]))),
        representative=_compile(raw["representative"]),
        representative_name=re.compile(raw["representative_name"]),  # names are capitalised
        consent_condition=_compile(raw["consent_condition"]),
    )


def topic_hits(text: str, rules: Rules, weak: bool = True) -> list[tuple[str, int, int, str]]:
    """Every topic term in ``text`` as ``(topic, start, end, matched text)``; with ``weak``,
    the weak terms too."""
    hits = []
    for topic in rules.topics:
        for pattern in topic.patterns + (topic.weak_patterns if weak else ()):
            hits += [(topic.name, m.start(), m.end(), m.group().casefold()) for m in pattern.finditer(text)]
    return hits


def topics_in(text: str, rules: Rules) -> list[str]:
    """The topics a sentence is about, in rules.yaml order: its strong terms, or, when it has
    none besides contact details, its weak ones."""
    strong = [name for name, *_ in topic_hits(text, rules, weak=False)]
    if not [name for name in strong if name not in rules.editorial_only]:
        strong += [name for name, *_ in topic_hits(text, rules)]
    return list(dict.fromkeys(strong))


@cache
def _place_index(entries: tuple) -> dict:
    index: dict[str, list] = {}
    for entry in entries:  # longest alias first, kept per first word
        index.setdefault(entry[0][0], []).append(entry)
    return index


def places(text: str, rules: Rules) -> Counter:
    """The places (countries, regions, states) ``text`` names, by canonical name."""
    tokens = _WORD.findall(text)
    lowered = [t.casefold() for t in tokens]
    found: Counter = Counter()
    index = _place_index(rules.places)
    i = 0
    while i < len(tokens):
        for alias, canonical, capitals in index.get(lowered[i], ()):
            size = len(alias)
            if tuple(lowered[i:i + size]) == alias and (not capitals or all(t.isupper() for t in tokens[i:i + size])):
                found[canonical] += 1
                i += size
                break
        else:
            i += 1
    return found


# A quoted label ("Do Not Sell or Share My Personal Information" link) or a title-case one (Do
# Not Track) names a control; its "not" commits to nothing.
_QUOTED = re.compile(r"[\"“”][^\"“”]{1,80}[\"“”]|\bDo Not [A-Z]\w*(?: (?:or|and|/) [A-Z]\w*)*")


def negations(text: str, rules: Rules) -> int:
    """How many negative commitments ``text`` makes (quoted or title-case labels left out)."""
    return len(rules.negation.findall(_QUOTED.sub(" ", text)))


def count(pattern: re.Pattern, text: str) -> int:
    return len(pattern.findall(text))


def channel_kinds(text: str, rules: Rules) -> Counter:
    """How many request channels of each kind ``text`` offers."""
    return Counter({kind: n for kind, pattern in rules.channels.items() if (n := count(pattern, text))})


def entities(text: str, rules: Rules) -> set[str]:
    """Legal entities named in ``text`` (capitalised words ending in a company form)."""
    return {" ".join(m.group(1).split()).rstrip(".,").casefold() for m in rules.legal_entity.finditer(text)}


def named_parties(text: str, rules: Rules) -> set[str]:
    """Legal entities and named representatives in ``text``, lower case."""
    found = entities(text, rules)
    found |= {" ".join(m.group(1).split()).rstrip(".,:").casefold()
              for m in rules.representative_name.finditer(text)}
    return {name for name in found if len(name) > 3}


def only_dates(words: list[str], rules: Rules) -> bool:
    """True when every word is part of a date ("12th April 2023", "08/15/2022")."""
    return bool(words) and all(rules.date_words.fullmatch(word) for word in words)


def words(text: str) -> list[str]:
    return _WORD.findall(text)
