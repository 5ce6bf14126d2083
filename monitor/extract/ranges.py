"""Open Terms Archive's range selectors: a stretch of a document between two CSS anchors.

A range selector is a mapping with one start key (``startBefore`` or ``startAfter``) and one end
key (``endBefore`` or ``endAfter``), each a CSS selector, the way OTA declarations write them.
The range runs from just before/after the first match of the start selector to just
before/after the first match of the end selector, like a DOM ``Range``.

lxml has no ranges, so we drop comment markers at both ends, serialise, cut the markup between
them and let the HTML parser re-balance the tags: cheap, and tolerant of ranges that start and
end at different depths.
"""

import uuid

import lxml.etree
import lxml.html

from monitor.errors import ExtractionError
from monitor.extract.main_content import fragment

START_KEYS = ("startBefore", "startAfter")
END_KEYS = ("endBefore", "endAfter")


def is_range(selector) -> bool:
    """True for an OTA range selector (a mapping with start and end keys)."""
    return isinstance(selector, dict) and any(k in selector for k in START_KEYS + END_KEYS)


def describe(selector) -> str:
    """A short readable form of a CSS or range selector, for error messages."""
    if is_range(selector):
        return "range(" + ", ".join(f"{k}={v!r}" for k, v in selector.items()) + ")"
    return repr(selector)


def _first(root, css: str):
    try:
        found = root.cssselect(css)
    except Exception as error:  # cssselect raises several unrelated types for bad syntax
        raise ExtractionError(f"invalid CSS selector {css!r}: {error}") from error
    return found[0] if found else None


def _mark(root, selector: dict, token: str) -> bool:
    """Insert start/end comment markers; False if an anchor matches nothing."""
    start_key = next((k for k in START_KEYS if k in selector), None)
    end_key = next((k for k in END_KEYS if k in selector), None)
    if start_key is None or end_key is None:
        raise ExtractionError(f"range selector {describe(selector)} needs a start and an end")
    start, end = _first(root, selector[start_key]), _first(root, selector[end_key])
    if start is None or end is None or start.getparent() is None or end.getparent() is None:
        return False
    start_mark = lxml.etree.Comment(f"pw-start-{token}")
    end_mark = lxml.etree.Comment(f"pw-end-{token}")
    (start.addprevious if start_key == "startBefore" else _add_after(start))(start_mark)
    (end.addprevious if end_key == "endBefore" else _add_after(end))(end_mark)
    return True


def _add_after(element):
    def add(marker):
        # addnext would carry the element's tail text past the marker; keep it inside the range.
        marker.tail, element.tail = element.tail, None
        element.addnext(marker)
    return add


def _cut(root, selector: dict) -> tuple[str, str, str] | None:
    """(before, inside, after) markup of the document around a range, or None if unmatched."""
    token = uuid.uuid4().hex
    if not _mark(root, selector, token):
        return None
    html = lxml.html.tostring(root, encoding="unicode")
    start_tag, end_tag = f"<!--pw-start-{token}-->", f"<!--pw-end-{token}-->"
    start, end = html.find(start_tag), html.find(end_tag)
    if start < 0 or end < 0 or end < start:
        return None
    return html[:start], html[start + len(start_tag):end], html[end + len(end_tag):]


def select_range(root, selector: dict):
    """An element holding a copy of the range's content, or None if an anchor matches nothing."""
    copy = lxml.html.fromstring(lxml.html.tostring(root))
    parts = _cut(copy, selector)
    if parts is None:
        return None
    return fragment(parts[1]) if parts[1].strip() else lxml.html.fragment_fromstring("<div></div>")


def remove_range(root, selector: dict):
    """The document with the range's content removed (a new root); unchanged if unmatched."""
    parts = _cut(root, selector)
    if parts is None:
        return root
    try:
        return lxml.html.document_fromstring(parts[0] + parts[2])
    except (lxml.etree.ParserError, ValueError):  # nothing left: the range was the whole page
        return lxml.html.document_fromstring("<html><body></body></html>")
