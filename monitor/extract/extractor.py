"""Extraction: a raw body (HTML, XHTML, PDF, Markdown or plain text) → normalised Markdown.

Per-target ``select`` and ``remove`` choose the policy text: CSS selectors or Open Terms
Archive range selectors (``monitor.extract.ranges``), several of each. Without ``select`` the main
content is detected (``monitor.extract.main_content``). Scripts, styles and consent banners
(``monitor.extract.consent``) always go. Links are made absolute; headings, lists, tables, emphasis and
link text survive as Markdown. See docs/extraction.md.
"""

import re
from dataclasses import dataclass
from functools import lru_cache

import lxml.etree
import lxml.html
from lxml.cssselect import CSSSelector
from markdownify import MarkdownConverter

from monitor.errors import ExtractionError, InputError
from monitor.extract.consent import drop_consent
from monitor.extract.decoding import GZIP_MAGIC, decode, inflate
from monitor.extract.guards import GuardError, unreadable
from monitor.extract.kinds import (
    BodyKind,
    Request,
    looks_like_html,
    looks_like_text,
    register_body_kind,
    sniff,
)
from monitor.extract.main_content import DEFAULT_DETECTOR, DETECTORS
from monitor.extract.normalise import normalise_text
from monitor.extract.pdf import is_pdf, pdf_text
from monitor.extract.ranges import END_KEYS, START_KEYS, describe, is_range, remove_range, select_range

# Bump when extraction or normalisation changes what a body turns into; every version records it.
# 2: readability main content, consent banners, range selectors, PDF, charset detection.
# 3: ``blocks`` main content (sibling blocks, tables, panels), CDN email-obfuscation keys dropped.
EXTRACTOR_VERSION = "pw-extract/3"

# Bodies past this size are refused, not truncated: half a policy would read as a deletion.
MAX_BODY_BYTES = 10 * 1024 * 1024

# Elements that never hold policy text.
ALWAYS_REMOVED = ("script", "style", "noscript", "template", "svg", "iframe", "object", "embed",
                  "canvas", "form button", "select", "head")


_XML_INCOMPATIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


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
    """``html``, ``pdf`` or ``text`` (or another registered kind) for a body we can read; raise
    ``ExtractionError`` otherwise (``monitor.extract.kinds``)."""
    return sniff(body, content_type, name).name


def prepare_body(body: bytes, max_bytes: int = MAX_BODY_BYTES) -> bytes:
    """Refuse empty or oversized bodies; inflate a gzip body that arrived still compressed."""
    if len(body) > max_bytes:
        raise GuardError("too-large", kind="extraction",
                         message=f"body is {len(body)} bytes, more than the {max_bytes}-byte cap")
    if body.startswith(GZIP_MAGIC):
        body = inflate(body)
    if not body or not body.strip():
        raise GuardError("empty", kind="extraction", message="body is empty")
    return body


def extract(body: bytes, content_type: str | None = None, *, url: str = "",
            select: list | tuple = (), remove: list | tuple = (), name: str = "",
            detector: str = DEFAULT_DETECTOR, max_bytes: int = MAX_BODY_BYTES,
            cleaned_tree=None) -> Extraction:
    """Extract normalised Markdown from a raw body.

    ``select``/``remove`` hold CSS selectors and OTA range selectors (mappings). Raises
    ``ExtractionError`` (a ``GuardError`` with a ``kind`` for guarded cases) if the body is not
    a document, is too large, a selector is invalid or matches nothing, or no text remains.
    ``cleaned_tree`` is this HTML body's ``clean_html_tree`` already made (``monitor.extract.skeleton``
    makes one to fingerprint the page); it is consumed.
    """
    if cleaned_tree is not None:
        try:
            return _finish(_tree_to_markdown(cleaned_tree, url, list(select), list(remove), detector))
        except RecursionError as error:
            raise ExtractionError("HTML is nested too deeply to extract") from error
    body = prepare_body(body or b"", max_bytes)
    request = Request(url, tuple(select), tuple(remove), detector)
    return _finish(sniff(body, content_type, name).to_markdown(body, content_type, request))


def _finish(markdown: str) -> Extraction:
    normalised = normalise_text(markdown)
    if not normalised.strip():
        raise GuardError("empty", kind="extraction", message="no text left after extraction")
    problem = unreadable(normalised)
    if problem:
        raise GuardError("binary", kind="extraction",
                         message=f"the body is not readable text ({problem}): binary or random bytes?")
    return Extraction(text=normalised)


def parse_html(html: str):
    """An lxml document for any string; ``ExtractionError`` if nothing can be parsed."""
    # lxml refuses control characters and lone surrogates anywhere in a tree; browsers drop them.
    html = _XML_INCOMPATIBLE.sub("", html)
    try:
        return lxml.html.document_fromstring(html.encode("utf-8", "replace"),
                                             parser=lxml.html.HTMLParser(encoding="utf-8"))
    except (lxml.etree.ParserError, ValueError) as error:
        raise GuardError("empty", kind="extraction", message=f"HTML cannot be parsed: {error}") from error


def html_to_markdown(html: str, url: str = "", select: list | None = None,
                     remove: list | None = None, detector: str = DEFAULT_DETECTOR) -> str:
    """The chosen part of an HTML page as Markdown (see module docstring)."""
    try:
        return _html_to_markdown(html, url, select or [], remove or [], detector)
    except RecursionError as error:
        raise ExtractionError("HTML is nested too deeply to extract") from error


def clean_html_tree(html: str):
    """The parsed page without what never holds policy text, and without what cannot change
    the extracted text (comments, processing instructions, hidden form fields' values).

    Everything after this step depends only on this tree, the URL, the selectors and the
    detector, so two pages with equal trees extract equally (``monitor.extract.skeleton``)."""
    root = parse_html(html)
    _drop(root, ALWAYS_REMOVED)
    for node in root.xpath("//comment() | //processing-instruction()"):
        if node.getparent() is not None:
            node.drop_tree()  # keeps the tail text, as a browser would show it
    for field in root.xpath("//input[translate(@type, 'HIDEN', 'hiden') = 'hidden'][@value]"):
        del field.attrib["value"]  # form tokens rotate on every response; no text reads them
    strip_email_protection_keys(root)
    return root


_PROTECTED_EMAIL_PATH = "/cdn-cgi/l/email-protection"


def strip_email_protection_keys(root) -> None:
    """Drop the per-response key of CDN email obfuscation (``/cdn-cgi/l/email-protection#HEX``,
    ``data-cfemail``): the page shows "[email protected]" and a link whose hex key is drawn
    afresh on every response, so the stored text would change with every capture. Like Open
    Terms Archive, we keep what the page says without scripts — the placeholder and the bare
    link — so a page that later prints the address itself still reads as a change."""
    for element in root.xpath("//*[@data-cfemail]"):
        del element.attrib["data-cfemail"]
    for link in root.xpath(f"//a[contains(@href, '{_PROTECTED_EMAIL_PATH}#')]"):
        link.set("href", link.get("href").split("#", 1)[0])


def _html_to_markdown(html: str, url: str, select: list, remove: list, detector: str) -> str:
    return _tree_to_markdown(clean_html_tree(html), url, select, remove, detector)


def _tree_to_markdown(root, url: str, select: list, remove: list, detector: str) -> str:
    drop_consent(root, _css)
    for selector in remove:
        if is_range(selector):
            root = remove_range(root, selector)
        else:
            _drop(root, [selector])
    if url:
        root.make_links_absolute(url, resolve_base_href=True, handle_failures="discard")
    if select:
        parts = _select(root, select)
        if not parts:
            raise GuardError("no-match", kind="extraction",
                             message=f"selector {', '.join(map(describe, select))} matched nothing")
    else:
        if detector not in DETECTORS:
            raise ExtractionError(f"unknown main-content detector {detector!r}; "
                                  f"known: {', '.join(DETECTORS)}")
        parts = DETECTORS[detector](root, _css)
    html_parts = [lxml.html.tostring(part, encoding="unicode") for part in parts]
    return "\n\n".join(_PolicyMarkdown().convert(part) for part in html_parts)


@lru_cache(maxsize=2048)
def _compiled(selector: str) -> CSSSelector:
    # Compiling CSS to XPath costs more than matching it: compile each selector once per process.
    return CSSSelector(selector, translator="html")


def check_selectors(selectors, where: str) -> None:
    """Raise ``InputError`` (one line, starting with ``where``) for the first of ``selectors``
    that extraction could never use: CSS the extractor's own compiler refuses, or a range
    mapping without exactly one start and one end CSS selector. Targets are checked when they
    are given (``target add``/``edit``/``import``), so a typo is not found at crawl time."""
    for selector in selectors:
        if isinstance(selector, dict):
            starts = [k for k in selector if k in START_KEYS]
            ends = [k for k in selector if k in END_KEYS]
            unknown = [k for k in selector if k not in START_KEYS + END_KEYS]
            if len(starts) != 1 or len(ends) != 1 or unknown:
                raise InputError(f"{where}: malformed range selector {selector!r}: it needs one of "
                                 f"{'/'.join(START_KEYS)} and one of {'/'.join(END_KEYS)}, nothing else")
            parts = [selector[starts[0]], selector[ends[0]]]
        elif isinstance(selector, str):
            parts = [selector]
        else:
            raise InputError(f"{where}: a selector must be CSS text or a range mapping, not {selector!r}")
        for css in parts:
            if not isinstance(css, str):
                raise InputError(f"{where}: a range's anchors must be CSS text, not {css!r}")
            try:
                _compiled(css)
            except Exception as error:  # cssselect raises several unrelated types for bad syntax
                raise InputError(f"{where}: invalid CSS selector {css!r}: {error}") from error


def _css(root, selector: str) -> list:
    if not isinstance(selector, str):
        raise ExtractionError(f"a selector must be CSS text or a range object, not {selector!r}")
    try:
        return _compiled(selector)(root)
    except Exception as error:  # cssselect raises several unrelated types for bad syntax
        raise ExtractionError(f"invalid CSS selector {selector!r}: {error}") from error


def _drop(root, selectors) -> None:
    for selector in selectors:
        for element in _css(root, selector):
            if element.getparent() is not None:
                element.drop_tree()


def _select(root, selectors: list) -> list:
    """Elements matched by the CSS selectors in document order, without nested duplicates,
    then the content of each range selector in the order given."""
    css = [s for s in selectors if not is_range(s)]
    matched = {element for selector in css for element in _css(root, selector)}
    ordered = [element for element in root.iter() if element in matched]
    parts = [element for element in ordered
             if not any(ancestor in matched for ancestor in element.iterancestors())]
    for selector in selectors:
        if is_range(selector):
            part = select_range(root, selector)
            if part is not None:
                parts.append(part)
    return parts


def _html_markdown(body: bytes, content_type: str | None, request: Request) -> str:
    return html_to_markdown(decode(body, content_type), request.url, list(request.select),
                            list(request.remove), request.detector or DEFAULT_DETECTOR)


# The built-in kinds, in the order they are asked: a PDF's first bytes win over its declared
# type; HTML before text, since an untyped body with a <body> tag is a page.
register_body_kind(BodyKind("pdf", lambda body, mime, name: is_pdf(body, mime), lambda body, _, __: pdf_text(body)))
register_body_kind(BodyKind("html", looks_like_html, _html_markdown))
register_body_kind(BodyKind("text", looks_like_text, lambda body, content_type, _: decode(body, content_type)))
