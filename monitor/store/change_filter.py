"""What a list of changes shows: the filters of the home page, the API, the CSV, the feeds and
the trends page's cells, parsed from hostile query strings.

Besides class, severity, topic, company, document and month, a filter says which of the two
kinds of change that are history rather than news it lists: ``technical`` (a re-extraction of
a stored capture, ``versions.technical``) and ``backfilled`` (imported from the Wayback
Machine or Open Terms Archive, ``versions.source``). Each list has its own default
(``ChangeFilter.from_params(params, include=...)``): "Latest changes" lists neither, the API,
CSV and feeds list backfilled ones (at their archived date), the company page lists both.
"""

import re
import unicodedata
from dataclasses import dataclass, field

CLASSES = ("material", "editorial", "noise")
INCLUDABLE = ("backfilled", "technical")
ALL = frozenset(INCLUDABLE)
NONE = frozenset()
# The API's, the CSV's and the feeds' default: backfilled history at its archived date, no
# technical re-extractions. (The home page's is NONE; the company page's ALL.)
EXPORT_INCLUDE = frozenset({"backfilled"})
_MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")


def parse_month(value) -> str:
    """``YYYY-MM`` from a hostile string, or ``""``."""
    text = str(value or "").strip()[:7]
    return text if _MONTH.fullmatch(text) else ""


def next_month(month: str) -> str:
    """The month after ``YYYY-MM`` (``2026-12`` → ``2027-01``)."""
    year, number = int(month[:4]), int(month[5:7])
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


def parse_include(value, default: frozenset = NONE) -> frozenset:
    """``include=technical,backfilled`` (or ``all``, or ``none``); absent: ``default``.
    Unknown words are ignored."""
    if value is None:
        return default
    words = {word.strip().lower() for word in str(value)[:100].split(",")}
    return ALL if "all" in words else frozenset(words & ALL)


def include_param(include: frozenset) -> str:
    """The query-string form of ``include`` (``none`` for live changes only)."""
    return ",".join(sorted(include)) or "none"


# SQLite integers are signed 64-bit: a larger id or cursor cannot exist, and binding one raises.
MAX_SQL_INT = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_id(value, default: int = 0) -> int:
    """A non-negative integer from a hostile string (ASCII digits only, within SQLite's range),
    or ``default``: "²", "-1", "1e9" and 20-digit numbers are not ids."""
    text = str(value).strip() if value is not None else ""
    if not _DIGITS.fullmatch(text):
        return default
    number = int(text)
    return number if number <= MAX_SQL_INT else default


def slugify(name: str | None) -> str:
    """The URL form of a company name: ASCII lowercase words joined by dashes."""
    text = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80] or "company"


@dataclass
class ChangeFilter:
    """Filters of a changes list. Empty means all; ``include`` adds technical and backfilled
    changes to the live ones; ``default_include`` is the list's own default (so links leave it
    out)."""

    klass: str = ""
    min_severity: int = 0
    topic: str = ""
    company: str = ""  # a company slug
    target_id: int = 0
    month: str = ""  # YYYY-MM
    include: frozenset = NONE
    default_include: frozenset = field(default=NONE, compare=False)

    @classmethod
    def from_params(cls, params, include: frozenset = NONE) -> "ChangeFilter":
        """From a query string mapping; unknown or malformed values are ignored, not errors.
        ``include`` is this list's default when the query has no ``include``."""
        klass = params.get("class", "")
        try:
            severity = max(0, min(3, int(params.get("severity") or 0)))
        except ValueError:
            severity = 0
        return cls(klass if klass in CLASSES else "", severity,
                   (params.get("topic") or "").strip()[:40],
                   slugify(params.get("company")) if params.get("company") else "",
                   parse_id(params.get("document")), parse_month(params.get("month")),
                   parse_include(params.get("include"), include), include)

    def params(self, explicit: bool = False) -> dict:
        """The non-empty filters as query parameters; ``include`` when it is not the list's
        default, or always with ``explicit`` (for a link to a list with another default)."""
        found = {"class": self.klass, "severity": self.min_severity or "", "topic": self.topic,
                 "company": self.company, "document": self.target_id or "", "month": self.month}
        if explicit or self.include != self.default_include:
            found["include"] = include_param(self.include)
        return {key: value for key, value in found.items() if value}

    def with_include(self, include: frozenset) -> dict:
        """These filters' parameters with another ``include`` (the page's "show …" links)."""
        return {**self.params(), "include": include_param(include)} if include != self.default_include \
            else {key: value for key, value in self.params().items() if key != "include"}
