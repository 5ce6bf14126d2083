"""Extraction: a raw body (HTML, XHTML, Markdown or plain text) → normalised Markdown.

Per-target CSS ``select`` and ``remove`` choose the policy text; without ``select`` the main
content is guessed (``main``, ``[role=main]``, a single ``article``, else the body without its
navigation). Headings, lists, tables, emphasis and link text survive as Markdown.
"""

from dataclasses import dataclass
import lxml.etree
import lxml.html
from markdownify import MarkdownConverter
from w3lib.encoding import html_to_unicode

from .errors import ExtractionError
from .normalise import normalise_text

# Bump when extraction or normalisation changes what a body turns into; every version records it.
EXTRACTOR_VERSION = "pw-extract/1"

HTML_TYPES = ("text/html", "application/xhtml+xml")
TEXT_TYPES = ("text/plain", "text/markdown", "text/x-markdown")
# Elements that never hold policy text.
ALWAYS_REMOVED = ("script", "style", "noscript", "template", "svg", "iframe", "object", "embed",
                  "canvas", "form button", "select", "head")
FALLBACK_REMOVED = ("nav", "header", "footer", "aside", "[role=navigation]", "[role=banner]",
                    "[role=contentinfo]", "[aria-hidden=true]")
FALLBACK_CONTAINERS = ("main", "[role=main]")


@dataclass(frozen=True)
class Extraction:
    """The text extracted from one body, and how."""

    text: str
    extractor_version: str = EXTRACTOR_VERSION


class _PolicyMarkdown(MarkdownConverter):
    """markdownify with settings for policy text: ATX headings, '-' bullets, no escaping."""

    def __init__(self, **options):
        options.setdefault("heading_style", "ATX")
        options.setdefault("bullets", "-")
        options.setdefault("escape_asterisks", False)
        options.setdefault("escape_underscores", False)
        options.setdefault("strip", ["img"])
        options.setdefault("table_infer_header", True)
        super().__init__(**options)


def sniff_kind(body: bytes, content_type: str | None, name: str = "") -> str:
    """``html`` or ``text`` for a body we can read; raise ``ExtractionError`` otherwise."""
    mime = (content_type or "").split(";")[0].strip().lower()
    head = body[:1024].lstrip().lower()
    if mime in HTML_TYPES or head.startswith((b"<!doctype html", b"<html", b"<?xml")) \
            or (not mime and b"<body" in body[:65536].lower()):
        return "html"
    if mime in TEXT_TYPES or (not mime and name.lower().endswith((".md", ".markdown", ".txt"))):
        return "text"
    if not mime and name.lower().endswith((".html", ".htm", ".xhtml")):
        return "html"
    if b"\x00" in body[:4096]:
        raise ExtractionError(f"body is binary ({mime or 'unknown type'}), not a policy document")
    if mime and mime not in HTML_TYPES + TEXT_TYPES:
        raise ExtractionError(f"body is {mime}, not HTML or text")
    return "text"


def decode(body: bytes, content_type: str | None) -> str:
    """Decode bytes honouring BOM, the HTTP charset and meta tags; never raises on bad bytes."""
    _, text = html_to_unicode(content_type or "", body)
    return text


def extract(body: bytes, content_type: str | None = None, *, url: str = "",
            select: list[str] | tuple = (), remove: list[str] | tuple = (), name: str = "") -> Extraction:
    """Extract normalised Markdown from a raw body.

    Raises ``ExtractionError`` if the body is not a document, a selector is invalid or matches
    nothing, or no text remains.
    """
    if not body or not body.strip():
        raise ExtractionError("body is empty")
    kind = sniff_kind(body, content_type, name)
    text = decode(body, content_type)
    markdown = text if kind == "text" else _html_to_markdown(text, url, list(select), list(remove))
    normalised = normalise_text(markdown)
    if not normalised.strip():
        raise ExtractionError("no text left after extraction")
    return Extraction(text=normalised)


def _html_to_markdown(html: str, url: str, select: list[str], remove: list[str]) -> str:
    try:
        root = lxml.html.document_fromstring(html)
    except (lxml.etree.ParserError, ValueError) as error:
        raise ExtractionError(f"HTML cannot be parsed: {error}") from error
    _drop(root, ALWAYS_REMOVED)
    _drop(root, remove)
    if url:
        root.make_links_absolute(url, resolve_base_href=True, handle_failures="discard")
    if select:
        parts = _select(root, select)
        if not parts:
            raise ExtractionError(f"selector {', '.join(select)!r} matched nothing")
    else:
        parts = _main_content(root)
    html_parts = [lxml.html.tostring(part, encoding="unicode") for part in parts]
    try:
        return "\n\n".join(_PolicyMarkdown().convert(part) for part in html_parts)
    except RecursionError as error:
        raise ExtractionError("HTML is nested too deeply to extract") from error


def _css(root, selector: str) -> list:
    try:
        return root.cssselect(selector)
    except Exception as error:  # cssselect raises several unrelated types for bad syntax
        raise ExtractionError(f"invalid CSS selector {selector!r}: {error}") from error


def _drop(root, selectors) -> None:
    for selector in selectors:
        for element in _css(root, selector):
            if element.getparent() is not None:
                element.drop_tree()


def _select(root, selectors: list[str]) -> list:
    """Elements matched by any selector, in document order, without nested duplicates."""
    matched = {element for selector in selectors for element in _css(root, selector)}
    ordered = [element for element in root.iter() if element in matched]
    return [element for element in ordered
            if not any(ancestor in matched for ancestor in element.iterancestors())]


def _main_content(root) -> list:
    for selector in FALLBACK_CONTAINERS:
        found = _css(root, selector)
        if len(found) == 1:
            return found
    articles = _css(root, "article")
    if len(articles) == 1:
        return articles
    _drop(root, FALLBACK_REMOVED)
    body = root.find("body")
    return [body if body is not None else root]
