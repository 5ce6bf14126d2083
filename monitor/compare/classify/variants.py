"""Spelling and synonym variants: a canonical form of a sentence's words.

Two sentences whose canonical forms are equal say the same thing in other words: British or
American spelling ("analyse" / "analyze", from the ``breame`` package's table plus suffix rules
for derived forms), or interchangeable names of one data category, recipient or notion ("date of
birth" / "birthday", kept in ``variants.yaml``). Such an edit is editorial, never material: the
held-back histories raised false alerts on exactly these.
"""

import re
from functools import cache, lru_cache
from importlib import resources

import yaml

_WORD = re.compile(r"\w+", re.UNICODE)


@cache
def _tables() -> tuple[dict, list, frozenset, dict, int]:
    raw = yaml.safe_load(resources.files(__package__).joinpath("variants.yaml").read_text("utf-8"))
    try:
        # loaded on first use, not at import: a table of 1,730 pairs
        from breame.data.spelling_constants import BRITISH_ENGLISH_SPELLINGS as british
    except ImportError:  # the table is an install requirement; without it only the suffix rules apply
        british = {}
    suffixes = sorted(((a, b) for a, b in raw["suffixes"]), key=lambda pair: -len(pair[0]))
    phrases: dict[tuple, tuple] = {}
    for group in raw["synonyms"]:
        canonical = tuple(_WORD.findall(group[0].casefold()))
        for phrase in group:
            phrases[tuple(_WORD.findall(phrase.casefold()))] = canonical
    longest = max(len(p) for p in phrases)
    starts = frozenset(p[0] for p in phrases)
    return dict(british), suffixes, frozenset(raw["suffix_exceptions"]), phrases, longest, starts


@lru_cache(maxsize=65536)
def american(word: str) -> str:
    """The American spelling of a (lower-case) word; the word itself when it has no variant."""
    british, suffixes, exceptions, *_ = _tables()
    if word in british:
        return british[word]
    if word in exceptions or len(word) < 6:
        return word
    for old, new in suffixes:
        if word.endswith(old):
            return word[: -len(old)] + new
    return word


def canonical_words(text: str) -> tuple[str, ...]:
    """The words of ``text``, lower case, American spelling, each synonym phrase in its group's
    canonical form."""
    _, _, _, phrases, longest, starts = _tables()
    tokens = [american(w) for w in _WORD.findall(text.casefold())]
    out: list[str] = []
    i = 0
    while i < len(tokens):
        if tokens[i] not in starts:
            out.append(tokens[i])
            i += 1
            continue
        for size in range(min(longest, len(tokens) - i), 0, -1):
            found = phrases.get(tuple(tokens[i:i + size]))
            if found is not None:
                out.extend(found)
                i += size
                break
        else:
            out.append(tokens[i])
            i += 1
    return tuple(out)


def same_in_other_words(old: str, new: str) -> bool:
    """True when two different sentences differ only by spelling or synonym variants."""
    return old != new and canonical_words(old) == canonical_words(new)
