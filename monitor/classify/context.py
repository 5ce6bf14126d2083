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

from .signals import Rules, negations, topic_hits
from .variants import canonical_words

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
    """The sentences of both versions, parsed only when a rule asks (most changes never do)."""

    def __init__(self, old_text: str, new_text: str):
        self.old_text, self.new_text = old_text, new_text

    @cached_property
    def old_sentences(self) -> list[tuple[str, Counter]]:
        return _sentences(self.old_text)

    @cached_property
    def new_sentences(self) -> list[tuple[str, Counter]]:
        return _sentences(self.new_text)

    def restated(self, sentence: str, added: bool, section: str, rules: Rules) -> str | None:
        """The sentence of the other version that ``sentence`` restates, or None.

        A new sentence restates one the old version had (and the new one keeps); a removed
        sentence repeated one the new version still has.
        """
        words = content(sentence)
        if sum(words.values()) < _MIN_CONTENT:
            return None
        negated = negations(sentence, rules) > 0
        terms = {text for _, _, _, text in topic_hits(sentence, rules, weak=False)}
        coverage = SUMMARY_COVERAGE if rules.summary_heading.search(section or "") else 1.0
        kept = {text for text, _ in self.new_sentences} & {text for text, _ in self.old_sentences}
        others = self.old_sentences if added else self.new_sentences
        for text, other in others:
            if text == sentence or text not in kept:
                continue
            if (negations(text, rules) > 0) != negated:
                continue
            shared = sum((words & other).values())
            if shared / sum(words.values()) < coverage:
                continue
            lowered = text.casefold()
            if all(term in lowered for term in terms):
                return text
        return None


def _sentences(text: str) -> list[tuple[str, Counter]]:
    from ..sections import parse, plain_text
    return [(plain, content(plain)) for s in parse(text) if not s.heading
            for plain in [plain_text(s.text)]]
