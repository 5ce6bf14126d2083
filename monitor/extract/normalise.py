"""Normalisation: the text we store, and the form of it we compare.

``normalise_text`` is applied to every extracted document before it is stored: Unicode NFKC,
straight quotes, plain dashes and spaces, no trailing blanks, at most one empty line in a row.

``comparable_text`` is what change detection compares: the stored text minus what docs/vocabulary.md
calls noise — link and image URLs, Markdown markup, case, and "last updated" / effective-date /
copyright lines (kept in the stored text, ignored when comparing).

Link URLs (tracking parameters, CDN tokens, locale segments) stay in the stored text, as the page
had them, and leave only the compared form: a campaign parameter never makes a change.
"""

import re
import unicodedata

_QUOTES = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-",
    "\u00a0": " ", "\u2007": " ", "\u202f": " ", "\u3000": " ", "\t": " ",
})
# Zero-width and soft-hyphen characters that change bytes but never words.
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
_SPACES = re.compile(r"[ \f\v]+")
_BLANK_RUNS = re.compile(r"\n{3,}")

_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]*)\]\((?:[^()]|\([^)]*\))*\)")
_BARE_URL_QUERY = re.compile(r"(https?://[^\s?#)]+)[?#][^\s)]*")
_MD_MARKUP = re.compile(r"(^|\s)#{1,6}\s|[*_`>|]|^\s*[-+]\s|^\s*\d+[.)]\s|^[-:| ]+$", re.MULTILINE)

_MONTHS = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
           r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
_DATE = (rf"(?:\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTHS}\.?,?\s+\d{{4}}"
         rf"|{_MONTHS}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
         rf"|{_MONTHS}\s+\d{{4}}|\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}[./-]\d{{1,2}}[./-]\d{{2,4}})")
# A line that is only a "last updated" / "effective" stamp, or a copyright line. These lines are
# kept in the stored text (a reader wants them) but ignored when deciding whether text changed.
_DATE_LINE = re.compile(
    rf"^\W*(?:(?:last\s+)?(?:updated|modified|revised|reviewed)|effective(?:\s+date)?|"
    rf"(?:this\s+)?(?:privacy\s+)?(?:policy|notice|statement)\s+(?:was\s+)?(?:last\s+)?"
    rf"(?:updated|modified|revised|effective)(?:\s+(?:on|as\s+of))?|date\s+of\s+last\s+revision|"
    rf"version\s+date|as\s+of)\W*(?:on\s+|as\s+of\s+)?(?:{_DATE})\W*$"
    rf"|^\W*{_DATE}\W*$"
    rf"|^\W*(?:copyright|\(c\)|©)\s*(?:\d{{4}}\s*(?:-\s*\d{{4}})?).{{0,80}}$",
    re.IGNORECASE)



def normalise_text(text: str) -> str:
    """The canonical stored form of an extracted document."""
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text.translate(_QUOTES))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    text = "\n".join(lines)
    return _BLANK_RUNS.sub("\n\n", text).strip() + "\n"


def is_date_line(line: str) -> bool:
    """True for a line that only states a date, a last-updated stamp or a copyright."""
    plain = _MD_MARKUP.sub(" ", line).strip()
    return bool(plain) and bool(_DATE_LINE.match(plain))


def comparable_text(text: str) -> str:
    """The form of a stored text that change detection compares (see module docstring)."""
    text = _MD_IMAGE.sub(r"\1", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _BARE_URL_QUERY.sub(r"\1", text)
    kept = []
    for line in text.split("\n"):
        if is_date_line(line):
            continue
        plain = _SPACES.sub(" ", _MD_MARKUP.sub(" ", line)).strip()
        if plain:
            kept.append(plain.casefold())
    return "\n".join(kept)
