"""Edits to enumerations and clauses inside one sentence.

- ``place-added`` / ``place-removed``: the places a sentence names change — a new destination
  country in a transfer or server list (``transfers``, WP260: new third-country transfers are
  fundamental), or a new state in the list of residents a right applies to (``rights``), or of
  whom a rule speaks (``audiences``). A place in a postal address is a contact detail.
- ``list-item-added`` / ``list-item-removed``: an item joins or leaves an enumeration ("name,
  email address, country and job title") in a sentence about collection, sharing, sale or
  transfers: a new data category or recipient, even one no topic term names. A new collected
  category is low severity (1) unless a term says more.
- ``purpose-added``: a clause adding a purpose ("to communicate with you *and to promote our
  services*") to a sentence about using data (WP260 para 29: a change of purpose is material).

Each returns ``(rule, side, topics, direction, severity)`` tuples for ``edits.judge_replace``.
"""

import re
from collections import Counter

from monitor.compare.classify.signals import Rules, places, topic_hits, topics_in, words

_CONJUNCTION_END = ("and", "or", "nor", "including", "as well as", "such as", "like", "e.g.")
_FUNCTION = frozenset("a an the and or of to in on at by for with from as your our their its any all "
                      "such other also".split())
_LIST_RUN_WORDS = 8
# "EU-U.S. DPF", "Swiss-U.S.": places joined into the name of a framework, not destinations.
_COMPOUND = re.compile(r"\b[A-Z][\w.]*-[A-Z][\w.]*")
_YEAR = re.compile(r"\b(19|20)\d\d\b")
_TAG = re.compile(r"<\s*/?\s*[a-z]+[^>]*>?|&\w+;", re.IGNORECASE)
_LISTED = ("collection", "sharing", "sale", "transfers", "sensitive-data")


def _content(text: str) -> Counter:
    text = _TAG.sub(" ", text)  # leftover HTML ("<br>") is markup, not an item
    # Possessive "s" and one-letter leftovers are not items.
    return Counter(w.casefold() for w in words(text)
                   if len(w) > 1 and w.casefold() not in _FUNCTION and not w.isdigit())


def list_runs(edits: list) -> list[tuple[str, str]]:
    """Edited runs that are items of an enumeration, as ``(side, text)``: the run or the text
    just before it joins items (a comma, "and", "or", "such as")."""
    runs = []
    for i, (op, text) in enumerate(edits):
        if op == 0 or not text.strip():
            continue
        item = [w for w in words(text) if w.casefold() not in _FUNCTION]
        if not item or len(words(text)) > _LIST_RUN_WORDS:
            continue
        before = next((t for o, t in reversed(edits[:i]) if o == 0 or o == op), "")
        after = next((t for o, t in edits[i + 1:] if o == 0), "")
        stripped = text.strip().casefold()
        joined = (stripped.startswith((",", "and ", "or ", "as well as ")) or stripped.endswith((",", " and", " or"))
                  or before.rstrip().endswith(",") or before.rstrip().casefold().endswith(_CONJUNCTION_END)
                  or after.lstrip().startswith(",") or after.lstrip().casefold().startswith(("and ", "or ")))
        if joined:
            runs.append(("new" if op == 1 else "old", text))
    return runs


def place_changes(hunk: dict, rules: Rules) -> list[tuple]:
    old, new = hunk["old_sentence"], hunk["new_sentence"]
    before, after = places(_COMPOUND.sub(" ", old), rules), places(_COMPOUND.sub(" ", new), rules)
    if set(before) == set(after) or not before or not after:
        return []  # no list of places on one side: a rewritten sentence, judged by its terms
    context = old + " " + new
    if rules.address_context.search(context) or any(c.isdigit() for c in hunk["old"] + hunk["new"]):
        return []  # an office address or a phone number: contact details
    if rules.date_stamp.search(context) and _YEAR.search(context):
        return []  # "Effective date in the EEA, UK and Switzerland: ...": a date label
    added = bool(set(after) - set(before))
    removed = bool(set(before) - set(after))
    side = "new" if added else "old"
    if rules.residency_context.search(context):
        rights = rules.rights_context.search(context) and "rights" in topics_in(context, rules)
        topic = "rights" if rights else "audiences"
        direction = "restricts" if added and not removed else "expands" if removed and not added else "mixed"
        if topic == "audiences":
            direction = "none"
    elif rules.transfer_context.search(context):
        topic = "transfers"
        direction = "expands" if added and not removed else "restricts" if removed and not added else "mixed"
    else:
        return []
    rule = "place-added" if added else "place-removed"
    return [(rule, side, [topic], direction, None)]


def list_item_changes(hunk: dict, rules: Rules, negated: bool) -> list[tuple]:
    """An item added to or removed from a list in a sentence about a data practice."""
    runs = list_runs(hunk.get("edits") or [])
    if not runs:
        return []
    sentence = hunk["new_sentence"] + " " + hunk["old_sentence"]
    practice = [t for t in topics_in(sentence, rules) if t in _LISTED]
    if not practice:
        return []
    topic = practice[0]
    # Items only added, or only removed (an item swapped for another is judged by the terms).
    edits = hunk.get("edits") or []
    old_words = _content(" ".join(t for op, t in edits if op == -1))
    new_words = _content(" ".join(t for op, t in edits if op == 1))
    gained, lost = new_words - old_words, old_words - new_words
    if bool(gained) == bool(lost):
        return []
    added = bool(gained)
    side = "new" if added else "old"
    direction = "expands" if added != negated else "restricts"
    severity = 1 if topic == "collection" and added else None
    return [("list-item-added" if added else "list-item-removed", side, [topic], direction, severity)]


def purpose_changes(hunk: dict, rules: Rules) -> list[tuple]:
    """A clause that adds a purpose to a sentence about using data."""
    if not rules.use_context.search(hunk["new_sentence"]):
        return []
    for op, text in hunk.get("edits") or []:
        if op != 1 or len(words(text)) < 2:
            continue
        if not rules.purpose_clause.search(text):
            continue
        named = [name for name, *_ in topic_hits(text, rules, weak=False) if name not in rules.editorial_only]
        topic = named[0] if named else ("advertising" if rules.marketing_words.search(text) else "collection")
        return [("purpose-added", "new", [topic], "expands", None)]
    return []
