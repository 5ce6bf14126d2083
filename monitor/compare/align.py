"""Align the sentences of two versions: what stayed, moved, was edited, added or removed.

1. The two sentence sequences are diffed by key (one private character per distinct key, as
   ``diff_linesToChars`` does for lines), which leaves runs of equal sentences and *regions*
   where sentences were deleted and inserted.
2. A region whose words are the same on both sides only moved sentence boundaries (a paragraph
   split or merged): nothing changed.
3. A sentence deleted in one place and inserted with the same key anywhere else moved: a
   reordering, which is noise (so is a table of contents that follows its sections).
4. Inside a region, deleted and inserted sentences are paired by similarity (rapidfuzz), most
   similar first, so an edited sentence is one ``replace``, not a delete plus an insert. What
   is left unpaired is paired across regions if very similar (moved *and* edited), or stays a
   plain ``insert`` / ``delete``.
5. A sentence deleted (inserted) that still exists elsewhere in the new (old) version was only
   de-duplicated (repeated). A deleted sentence whose words survive inside a new sentence was merged into it (and an
   inserted one that is part of an old sentence was split off): the paired edit carries it.
"""

from collections import Counter
from dataclasses import dataclass

from diff_match_patch import diff_match_patch
from rapidfuzz import fuzz
from rapidfuzz.process import extract

from monitor.compare.sections import Sentence

# Similarity (0-100, rapidfuzz ratio on keys) above which two sentences are one edited sentence.
PAIR_IN_REGION = 55.0
PAIR_ACROSS_REGIONS = 80.0
# Second chance inside a region, on word sets (order ignored): a sentence rewritten around the
# same words ("we collect X when you Y" → "when you Y, we collect X") is one edited sentence.
PAIR_REWORDED = 75.0
# Regions larger than this (deleted x inserted) are paired in windows, to bound the work.
MAX_MATRIX = 400 * 400


@dataclass
class Change:
    """One changed sentence: ``replace`` pairs an old and a new sentence."""

    op: str  # insert | delete | replace
    old: Sentence | None
    new: Sentence | None
    similarity: float = 0.0

    @property
    def position(self) -> int:
        return self.new.index if self.new is not None else self.old.index


@dataclass
class Alignment:
    """The changes between two versions and what was recognised as noise on the way."""

    changes: list[Change]
    moved: int = 0  # sentences that only moved
    reflowed: int = 0  # regions that only moved sentence boundaries


def _diff_keys(old: list[Sentence], new: list[Sentence]) -> list[tuple[list[Sentence], list[Sentence]]]:
    table: dict[str, str] = {}

    def encode(sentences):
        chars = []
        for sentence in sentences:
            char = table.get(sentence.key)
            if char is None:
                code = len(table) + 0x100
                if code >= 0xD800:
                    code += 0x800  # skip surrogates, which cannot round-trip
                char = table[sentence.key] = chr(code)
            chars.append(char)
        return "".join(chars)

    engine = diff_match_patch()
    engine.Diff_Timeout = 5.0
    diffs = engine.diff_main(encode(old), encode(new), checklines=False)
    regions, deleted, inserted = [], [], []
    old_pos = new_pos = 0
    for op, chars in diffs:
        if op == 0:
            if deleted or inserted:
                regions.append((deleted, inserted))
                deleted, inserted = [], []
            old_pos += len(chars)
            new_pos += len(chars)
        elif op == -1:
            deleted.extend(old[old_pos:old_pos + len(chars)])
            old_pos += len(chars)
        else:
            inserted.extend(new[new_pos:new_pos + len(chars)])
            new_pos += len(chars)
    if deleted or inserted:
        regions.append((deleted, inserted))
    return regions


def _squashed(sentences: list[Sentence]) -> str:
    return "".join(s.key.replace(" ", "") for s in sentences)


def _pair(deleted: list[Sentence], inserted: list[Sentence], threshold: float,
          scorer=fuzz.ratio) -> list[tuple[Sentence, Sentence, float]]:
    """Most-similar-first pairing of two lists of sentences above ``threshold``."""
    if not deleted or not inserted:
        return []
    if len(deleted) * len(inserted) > MAX_MATRIX:
        # Pair in windows along the document: edits stay near where they were.
        size = 400
        pairs = []
        for start in range(0, max(len(deleted), len(inserted)), size):
            pairs += _pair(deleted[start:start + size], inserted[start:start + size], threshold, scorer)
        return pairs
    keys = [s.key for s in inserted]
    candidates = sorted(((score, i, j) for i, sentence in enumerate(deleted)
                         for _, score, j in extract(sentence.key, keys, scorer=scorer,
                                                    score_cutoff=threshold, limit=None)),
                        reverse=True)
    used_old, used_new, pairs = set(), set(), []
    for score, i, j in candidates:
        if i in used_old or j in used_new:
            continue
        used_old.add(i)
        used_new.add(j)
        pairs.append((deleted[i], inserted[j], float(score)))
    return pairs


def _absorbed(sentence: Sentence, others: list[Sentence]) -> bool:
    """True when ``sentence``'s words all appear, in order, inside one of ``others``."""
    return len(sentence.key) >= 12 and any(sentence.key in other.key for other in others)


def align(old: list[Sentence], new: list[Sentence]) -> Alignment:
    """Align two parsed versions (see the module docstring for the steps)."""
    result = Alignment([])
    regions = []
    for deleted, inserted in _diff_keys(old, new):
        if deleted and inserted and _squashed(deleted) == _squashed(inserted):
            result.reflowed += 1
            continue
        regions.append((deleted, inserted))
    # Moves: the same key deleted somewhere and inserted somewhere else.
    deleted_keys = Counter(s.key for deleted, _ in regions for s in deleted)
    inserted_keys = Counter(s.key for _, inserted in regions for s in inserted)
    movable = deleted_keys & inserted_keys
    if movable:
        budget_old, budget_new = Counter(movable), Counter(movable)
        trimmed = []
        for deleted, inserted in regions:
            kept_old = []
            for s in deleted:
                if budget_old[s.key] > 0:
                    budget_old[s.key] -= 1
                    result.moved += 1
                else:
                    kept_old.append(s)
            kept_new = []
            for s in inserted:
                if budget_new[s.key] > 0:
                    budget_new[s.key] -= 1
                else:
                    kept_new.append(s)
            trimmed.append((kept_old, kept_new))
        regions = trimmed
    leftover_old, leftover_new = [], []
    for deleted, inserted in regions:
        pairs = _pair(deleted, inserted, PAIR_IN_REGION)
        paired_old = {id(a) for a, _, _ in pairs}
        paired_new = {id(b) for _, b, _ in pairs}
        pairs += _pair([s for s in deleted if id(s) not in paired_old and len(s.key.split()) >= 5],
                       [s for s in inserted if id(s) not in paired_new and len(s.key.split()) >= 5],
                       PAIR_REWORDED, fuzz.token_set_ratio)
        paired_old = {id(a) for a, _, _ in pairs}
        paired_new = {id(b) for _, b, _ in pairs}
        result.changes += [Change("replace", a, b, score) for a, b, score in pairs]
        leftover_old += [s for s in deleted if id(s) not in paired_old]
        leftover_new += [s for s in inserted if id(s) not in paired_new]
    pairs = _pair(leftover_old, leftover_new, PAIR_ACROSS_REGIONS)
    result.changes += [Change("replace", a, b, score) for a, b, score in pairs]
    paired_old = {id(a) for a, _, _ in pairs}
    paired_new = {id(b) for _, b, _ in pairs}
    remaining_old = [s for s in leftover_old if id(s) not in paired_old]
    remaining_new = [s for s in leftover_new if id(s) not in paired_new]
    # A split or merge: the words of a lone sentence live on inside a sentence of the other side.
    # Only the sentences of the other side that changed can have absorbed it.
    changed_new = [c.new for c in result.changes] + remaining_new
    changed_old = [c.old for c in result.changes] + remaining_old
    # A sentence that still exists elsewhere on the other side was only repeated or de-duplicated.
    old_keys, new_keys = {s.key for s in old}, {s.key for s in new}
    for sentence in remaining_old:
        if sentence.key in new_keys:
            result.moved += 1
        elif not _absorbed(sentence, changed_new):
            result.changes.append(Change("delete", sentence, None))
    for sentence in remaining_new:
        if sentence.key in old_keys:
            result.moved += 1
        elif not _absorbed(sentence, changed_old):
            result.changes.append(Change("insert", None, sentence))
    result.changes.sort(key=lambda change: change.position)
    return result
