"""The language a text is written in: one answer for the extractor's guard and the classifier.

A quick test first (English function words are frequent in English text) spares the slower
statistical detector (langdetect, seeded so a verdict is repeatable) the common case.
"""

import re
from functools import cache

#: ISO 639-2's "undetermined": too little text to tell, or no detector verdict.
UNKNOWN = "und"

_WORD = re.compile(r"\w+", re.UNICODE)
# Common English function words: a text where they are frequent is English without asking the
# (slower) statistical detector.
_ENGLISH = frozenset("the and of to we you your our for in is are or with that this by may not be "
                     "on as use information data will any from".split())
_SAMPLE_CHARS = 4000


@cache
def _seeded_detector():
    # Imported on first use: langdetect loads ~50 language profiles (a measured start-up cost).
    from langdetect import DetectorFactory
    DetectorFactory.seed = 0  # langdetect is random unless seeded; verdicts must be repeatable
    return DetectorFactory


def language(text: str, *, min_words: int = 6, min_chars: int = 0) -> str:
    """The ISO 639-1 code of the language ``text`` is in, or ``UNKNOWN`` when it cannot tell.

    Texts shorter than ``min_words`` words or ``min_chars`` characters are ``UNKNOWN``: names,
    addresses and fragments say nothing about a language.
    """
    sample = " ".join(text.split())[:_SAMPLE_CHARS]
    tokens = [word.casefold() for word in _WORD.findall(sample)]
    if len(tokens) < min_words or len(sample) < min_chars:
        return UNKNOWN
    if sum(token in _ENGLISH for token in tokens) / len(tokens) >= 0.12:
        return "en"
    from langdetect import detect  # loaded by _seeded_detector() just before
    from langdetect.lang_detect_exception import LangDetectException
    _seeded_detector()
    try:
        return detect(sample)
    except LangDetectException:
        return UNKNOWN
