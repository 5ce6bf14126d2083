"""Where a changed sentence sits and what else the document says: judgments that need more than
the sentence itself.

- A *change note* (``change-note``): a sentence about the document, not a practice: "We have
  updated this policy to explain ...", a box headed "Summary of changes", an effective-date
  banner ("This updated policy takes effect on ...; until then you can view the previous
  version here"), a disclaimer ("this summary is not part of the Privacy Policy"). The changes it
  describes are judged where they are made.
- A *restatement* (``restatement``): a new or removed sentence whose content words all appear in
  one sentence the other version keeps, with the same negation ("In short, we never sell your
  personal information" next to "We do not sell your personal information to anyone"), or, in a
  summary box, most of whose words do. It restates a rule already in force.
- An *out-of-scope* sentence (``out-of-scope``): under a heading about something other than
  personal data bundled in the same document (advertisers' content rules, trademark rules,
  commercial terms) and naming no personal data itself.
"""

from collections import Counter
from functools import cached_property

from monitor.compare.classify.signals import Rules, negations, topic_hits
from monitor.compare.classify.variants import american, canonical_words
from monitor.compare.sections import sentence_key

# Words that carry no content for the containment test ("a sentence says nothing the other does
# not"), including hedges a summary adds ("in short", "generally").
_STOP = frozenset("""a an the and or of to in on at by for with from as is are be been being that this
these those it its such any all our your their we you they us i me my also only just may might can could
will would shall should do does did not no never nor than then there here which who whom whose what when
where how so if about into over under up out more most some other others each every both either neither
very much many per via within without upon short brief generally general simply basically summary key
points overview note please always ever""".split())
# A summary box restates in fewer words: most of its words, not all, are in one kept sentence.
SUMMARY_COVERAGE = 0.75
_MIN_CONTENT = 3  # fewer content words than this: too little to call a restatement


def content(text: str) -> Counter:
    return Counter(w for w in canonical_words(text) if w not in _STOP and not w.isdigit())


def is_change_note(sentence: str, section: str, rules: Rules) -> bool:
    return bool(rules.change_note.search(sentence) or rules.change_note_heading.search(section or ""))


def out_of_scope(sentence: str, section: str, rules: Rules) -> bool:
    return bool(section and rules.out_of_scope_heading.search(section)
                and not rules.in_scope_words.search(sentence))


class Document:
    """The sentences of both versions, parsed and indexed only when a rule asks (most changes
    never do): each sentence's content words and negation, and which sentences hold a word."""

    def __init__(self, old_text: str, new_text: str):
        self.old_text, self.new_text = old_text, new_text

    @cached_property
    def _old(self) -> "_Index":
        return _Index(self.old_text)

    @cached_property
    def _new(self) -> "_Index":
        return _Index(self.new_text)

    def restated(self, sentence: str, added: bool, section: str, rules: Rules) -> str | None:
        """The sentence of the other version that ``sentence`` restates, or None.

        A new sentence restates one the old version had (and the new one keeps); a removed
        sentence repeated one the new version still has.
        """
        words = {american(w) for w in sentence_key(sentence).split()} - _STOP
        if len(words) < _MIN_CONTENT:
            return None
        negated = negations(sentence, rules) > 0
        terms = {text for _, _, _, text in topic_hits(sentence, rules, weak=False)}
        coverage = SUMMARY_COVERAGE if rules.summary_heading.search(section or "") else 1.0
        others, keep = (self._old, self._new) if added else (self._new, self._old)
        shared = Counter()
        for word in words:
            shared.update(others.holding.get(word, ()))
        needed = coverage * len(words)
        for index, hits in shared.most_common():
            if hits < needed:
                break
            text = others.texts[index]
            if others.keys[index] not in keep.key_set:
                continue  # the other version's sentence is gone too: nothing left to restate
            if others.negated(index, rules) != negated:
                continue
            lowered = text.casefold()
            if all(term in lowered for term in terms):
                return text
        return None


class _Index:
    def __init__(self, text: str):
        # The diff parsed this text already (``parse`` remembers it); sentence keys are its
        # words, lower case, without markup. Spelling is folded; synonyms are not (too slow to
        # fold on a whole 1 MB policy for a rule that seldom fires).
        from monitor.compare.sections import parse
        self.texts, self.keys = [], []
        self.holding: dict[str, list[int]] = {}
        for sentence in parse(text):
            if sentence.heading:
                continue
            words = tuple(sorted({american(w) for w in sentence.key.split()} - _STOP))
            if not words:
                continue
            for word in words:
                self.holding.setdefault(word, []).append(len(self.texts))
            self.texts.append(sentence.text)
            self.keys.append(words)
        self.key_set = set(self.keys)
        self._negated: dict[int, bool] = {}

    def negated(self, index: int, rules: Rules) -> bool:
        if index not in self._negated:
            self._negated[index] = negations(self.texts[index], rules) > 0
        return self._negated[index]
