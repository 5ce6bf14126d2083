"""Main-content detection for targets without a selector: a registry of detectors by name.

``readability`` (readability-lxml, Mozilla Readability's scoring) is the default: on the replay
corpus it keeps the policy and drops navigation, footers and banners, identically across
captures. When it keeps too little of the page (a page of many short blocks can fool its
scoring) we fall back to ``landmarks``: ``main``/``[role=main]``/a single ``article``, else the
body without its navigation — complete, if noisier.
"""

from collections.abc import Callable

import lxml.etree
import lxml.html

# readability must keep at least this many words, and this share of the landmark text.
MIN_WORDS = 80
MIN_SHARE = 0.2

FALLBACK_REMOVED = ("nav", "header", "footer", "aside", "[role=navigation]", "[role=banner]",
                    "[role=contentinfo]", "[aria-hidden=true]")
FALLBACK_CONTAINERS = ("main", "[role=main]")


def landmarks(root, css) -> list:
    """The HTML landmark holding the content, else the body without navigation."""
    for selector in FALLBACK_CONTAINERS:
        found = css(root, selector)
        if len(found) == 1:
            return found
    articles = css(root, "article")
    if len(articles) == 1:
        return articles
    for selector in FALLBACK_REMOVED:
        for element in css(root, selector):
            if element.getparent() is not None:
                element.drop_tree()
    body = root.find("body")
    return [body if body is not None else root]


def fragment(html: str):
    """A ``div`` holding an HTML fragment, or None if nothing parses."""
    if not html.strip():
        return None
    try:
        return lxml.html.fragment_fromstring(html, create_parent="div")
    except (AssertionError, lxml.etree.ParserError, ValueError):  # lxml asserts on odd fragments
        return None


def readability(root, css) -> list:
    """readability-lxml's best content block, unless it keeps too little (then ``landmarks``)."""
    from readability import Document
    html = lxml.html.tostring(root, encoding="unicode")
    try:
        summary = Document(html).summary(html_partial=True)
    except Exception:  # readability raises assorted errors (even AssertionError) on odd trees
        summary = ""
    chosen = fragment(summary)
    fallback = landmarks(root, css)
    chosen_words = len(chosen.text_content().split()) if chosen is not None else 0
    fallback_words = sum(len(part.text_content().split()) for part in fallback)
    if chosen is None or chosen_words < MIN_WORDS or chosen_words < MIN_SHARE * fallback_words:
        return fallback
    return [chosen]


def blocks(root, css) -> list:
    """The lowest region holding the page's prose blocks (``monitor.blocks``), unless it keeps
    too little (then ``landmarks``)."""
    from .blocks import content_region
    node, body, stats = content_region(root)
    # landmarks would drop aria-hidden panels inside the region: only call it when we give up.
    if len(node.text_content().split()) < MIN_WORDS \
            or stats.text.get(node, 0) < MIN_SHARE * stats.text.get(body, 0):
        return landmarks(root, css)
    return [node]


DETECTORS: dict[str, Callable] = {"blocks": blocks, "readability": readability,
                                  "landmarks": landmarks}
DEFAULT_DETECTOR = "blocks"
