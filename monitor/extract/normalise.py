"""Normalisation: the text we store, and the form of it we compare.

``normalise_text`` is applied to every extracted document before it is stored: Unicode NFKC,
straight quotes, plain dashes and spaces, no trailing blanks, at most one empty line in a row.

``comparable_text`` is what change detection compares: the stored text minus what DESIGN.md
calls noise — link and image URLs, Markdown markup, case, and "last updated" / effective-date /
copyright lines (kept in the stored text, ignored when comparing).

``strip_tracking`` runs before ``normalise_text`` on extracted Markdown: it drops tracking
parameters (``utm_*``, ``fbclid``, ``gclid``…) from link URLs, so the stored text does not
churn with campaigns. Whole link URLs (CDN tokens, locale segments) only leave the compared form.
"""

import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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
_DATE = (rf"(?:\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTHS}\.?,?\s+\d{{4}}|{_MONTHS}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
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


# Query parameters that identify a campaign or a click, never a document.
TRACKING_PARAMS = re.compile(
    r"^(?:utm_\w+|fbclid|gclid|gclsrc|dclid|gbraid|wbraid|msclkid|yclid|twclid|ttclid|li_fat_id|"
    r"mc_cid|mc_eid|_ga|_gl|_hsenc|_hsmi|__hstc|__hssc|__hsfp|hsctatracking|mkt_tok|igshid|"
    r"ref_src|ref_url|trk|trkcampaign|sc_cid|s_cid|cmpid|oly_anon_id|oly_enc_id|vero_id|"
    r"vero_conv|_branch_match_id|spm|scid|icid|ncid|srsltid)$", re.IGNORECASE)
_URL = re.compile(r"https?://[^\s)\]\"'<>]+")


def _strip_url(match: re.Match) -> str:
    url = match.group(0)
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.query:
        return url
    query = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(key, value) for key, value in query if not TRACKING_PARAMS.match(key)]
    if len(kept) == len(query):
        return url
    return urlunsplit(parts._replace(query=urlencode(kept)))


def strip_tracking(text: str) -> str:
    """``text`` with tracking parameters removed from every http(s) URL in it."""
    return _URL.sub(_strip_url, text)


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
