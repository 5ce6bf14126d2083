"""The structure of a stored policy text: sections (headings) and the sentences inside them.

A policy is compared sentence by sentence, not character by character: a sentence is the unit
a reader judges ("we do not sell your data" either is or is not still there), and sentences
can be matched wherever they moved. Each sentence carries two forms: ``text`` (as stored, for
display and word diffs) and ``key`` (what is left once noise is ignored: link URLs, markup,
case, list numbering, punctuation and spacing), so that equal keys mean "same sentence".

Headings (ATX ``#``, setext underlines, short bold-only lines) open sections; a sentence knows
the heading it sits under. Table-of-contents entries are recognised as lines whose key equals
some heading's key: they repeat headings and never decide what a change means.
"""

import re
from dataclasses import dataclass

from monitor.extract import comparable_text, is_date_line

_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]*)\]\((?:[^()]|\([^)]*\))*\)")
_MD_MARKUP = re.compile(r"^\s*#{1,6}\s+|\\(?=[^\w\s])|[*_`>|]+|^\s*[-+]\s+|^\s*\d+[.)]\s+")
_SPACES = re.compile(r"\s+")
_BARE_URL = re.compile(r"\(?\bhttps?://[^\s)]*\)?")
_MARKUP_CHARS = re.compile(r"[*_`>|#\\]|^\s*(?:[-+]|\d+[.)])\s")
# Inline HTML left in Markdown (an anchor around a consent-manager link, a <br>): markup.
_HTML_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9-]*(?:\s[^<>]*)?/?>")

_SETEXT = re.compile(r"^\s*(=+|-{3,})\s*$")
_ATX = re.compile(r"^\s*#{1,6}\s+")
_BOLD_LINE = re.compile(r"^\s*(\*\*|__)(?P<inner>[^*_]{2,120})(\*\*|__)\s*:?\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)]|\(?[a-z]{1,3}[.)])\s+", re.IGNORECASE)
_TABLE_RULE = re.compile(r"^\s*\|?[\s:|-]+\|?\s*$")
# A sentence ends at . ! ? ; followed by space and something that starts a sentence. Common
# abbreviations are not ends ("e.g. Google", "Art. 6", "Inc. and").
_SENTENCE_BREAK = re.compile(r"(?<=[.!?;])\s+(?=[\"'(\[*_]*[A-Z0-9])")
_ABBREVIATION = re.compile(
    r"(?:\b(?:e\.g|i\.e|etc|inc|ltd|co|corp|llc|no|nr|art|arts|para|sec|vs|mr|mrs|ms|dr|st|"
    r"u\.s|u\.k|approx|incl|fig|ref|p|pp)\.|\b[A-Z]\.)$", re.IGNORECASE)
# "1." "3.2." "(a)", and "1\." as Markdown escapes a number that is not a list.
_LONE_NUMBER = re.compile(r"[\W_]*(?:\d+(?:\.\d+)*|[ivx]{1,4}|[a-z])\\?[.)]?", re.IGNORECASE)
_ENUMERATION = re.compile(r"^(?:(?:section|article|part|chapter)\s+)?(?:\(?[0-9ivxlc]{1,6}(?:\.[0-9]+)*[.):]?|"
                          r"\(?[a-z][.)])\s+", re.IGNORECASE)
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
# Raw HTML left in the Markdown (an anchor with its attributes, a <br>): markup, like links.
# Attribute values may come with typographic quotes (a CMS "smartened" them).
_HTML_TAG = re.compile(r"</?[a-zA-Z][\w:-]*"
                       r"(?:\s+[\w:-]+(?:\s*=\s*(?:[\"“”][^\"“”]*[\"“”]|'[^']*'|[^\s>]+))?)*\s*/?>")


@dataclass
class Sentence:
    """One sentence (or heading, list item, table row) of a policy."""

    text: str  # as stored, markup and all
    key: str  # noise-free form: equal keys mean the same sentence
    section: str  # the heading it sits under ("" before the first heading)
    index: int  # position in the document
    heading: bool = False
    toc: bool = False  # a table-of-contents entry (repeats a heading)


# A block that is nothing but one link (a bullet or number allowed): a menu, footer or
# table-of-contents entry pointing elsewhere. It names a page or a section; it states nothing.
_LINK_ONLY = re.compile(r"\s*(?:[-*+]\s+|\d{1,3}[.)]\s+)?\[[^\[\]]{1,120}\]\([^()\s]*\)\s*[.;,]?\s*")


def is_link_only(text: str) -> bool:
    """True when ``text`` is a single Markdown link and nothing else (navigation, not a statement)."""
    return "](" in text and _LINK_ONLY.fullmatch(text) is not None


def plain_text(text: str) -> str:
    """A sentence as a reader sees it: link and image labels kept, URLs and markup dropped, case kept."""
    # The substitutions are skipped when their trigger characters are absent: parsing a 1 MB
    # policy runs this on every sentence.
    if "<" in text:
        text = _HTML_TAG.sub(" ", text)
    if "](" in text:
        text = _MD_LINK.sub(r"\1", _MD_IMAGE.sub(r"\1", text))
    if "<" in text:
        text = _HTML_TAG.sub(" ", text)
    if "://" in text:
        text = _BARE_URL.sub(" ", text)  # link targets are noise (docs/vocabulary.md), even unbracketed
    if _MARKUP_CHARS.search(text):
        text = _MD_MARKUP.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def sentence_key(text: str) -> str:
    """The noise-free form of a sentence: words only, lower case, no leading list numbering.

    The same as ``comparable_text`` would give for one line, minus punctuation and spacing.
    """
    plain = _ENUMERATION.sub("", plain_text(text).casefold())
    return _NON_WORD.sub(" ", plain).strip()


def split_sentences(paragraph: str) -> list[str]:
    """Split one paragraph into sentences, keeping abbreviations and numbers together."""
    pieces, start = [], 0
    for match in _SENTENCE_BREAK.finditer(paragraph):
        candidate = paragraph[start:match.start()]
        if _ABBREVIATION.search(candidate[-12:]) or _LONE_NUMBER.fullmatch(candidate.strip()):
            continue
        pieces.append(candidate.strip())
        start = match.end()
    pieces.append(paragraph[start:].strip())
    return [piece for piece in pieces if piece]


def _blocks(text: str) -> list[tuple[str, bool]]:
    """Paragraphs, list items, table rows and headings as ``(text, is_heading)``."""
    lines = text.split("\n")
    blocks: list[tuple[str, bool]] = []
    current: list[str] = []

    def flush():
        if current:
            blocks.append((" ".join(current), False))
            current.clear()

    for number, line in enumerate(lines):
        following = lines[number + 1] if number + 1 < len(lines) else ""
        stripped = line.strip()
        if not stripped or _TABLE_RULE.match(stripped) and "|" in stripped:
            flush()
            continue
        if _SETEXT.match(stripped):
            continue  # the underline of a setext heading, already taken with its title
        if stripped.startswith("|"):
            flush()
            blocks.append((stripped, False))
            continue
        heading = bool(_ATX.match(stripped) or _BOLD_LINE.match(stripped)
                       or (_SETEXT.match(following.strip()) and not current))
        if heading:
            flush()
            blocks.append((stripped, True))
            continue
        if _LIST_ITEM.match(stripped):
            flush()
        current.append(stripped)
    flush()
    return blocks


def parse(text: str) -> list[Sentence]:
    """The sentences of a stored text (see ``_parse``), remembered for the last few texts: the
    diff and the classifier's document context read the same two versions."""
    key = hash(text)
    found = _PARSED.get(key)
    if found is None or found[0] != text:
        found = (text, tuple(_parse(text)))
        _PARSED[key] = found
        while len(_PARSED) > 4:
            _PARSED.pop(next(iter(_PARSED)))
    return list(found[1])


_PARSED: dict[int, tuple[str, tuple]] = {}


def _parse(text: str) -> list[Sentence]:
    """The sentences of a stored text, each with its noise-free key and its section.

    Date stamps ("Last updated ...") and lines that are noise only (rules, bare URLs) are
    left out: they carry no words a reader compares.
    """
    sentences: list[Sentence] = []
    section = ""
    for block, heading in _blocks(text):
        if len(block) < 160 and is_date_line(block):
            continue
        if heading:
            key = sentence_key(block)
            # A bare number ("#### 1 .") numbers the heading next to it: it is not one.
            if key and not key.replace(" ", "").isdigit():
                section = comparable_text(block).strip()
                sentences.append(Sentence(block, key, section, len(sentences), heading=True))
            continue
        for piece in split_sentences(block):
            key = sentence_key(piece)
            # Date stamps are short; testing only short sentences keeps parsing fast.
            if key and not (len(piece) < 160 and is_date_line(piece)):
                sentences.append(Sentence(piece, key, section, len(sentences)))
    headings = {s.key for s in sentences if s.heading}
    for sentence in sentences:
        if not sentence.heading and (sentence.key in headings or is_link_only(sentence.text)):
            sentence.toc = True
    return sentences
