"""Main-content detection for targets without a selector: a registry of detectors by name.

``blocks`` (``monitor.extract.blocks``) is the default: the lowest region of the page holding its prose,
so sibling sections, tables and collapsed panels of a policy stay together, without the page's
navigation and furniture. ``readability`` (readability-lxml, Mozilla Readability's scoring, the
default until pw-extract/3) keeps a single best block; when it keeps too little of the page we
fall back to ``landmarks``: ``main``/``[role=main]``/a single ``article``, else the body without
its navigation — complete, if noisier.
"""

from collections.abc import Callable

import lxml.etree
import lxml.html

from monitor.extract.blocks import content_region

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
    from readability import Document  # 0.2 s to import; only the readability detector uses it
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
    """The lowest region holding the page's prose blocks (``monitor.extract.blocks``). When that region
    holds less than ``MIN_SHARE`` of the page's text (the policy is mostly short items beside a
    prose intro), the page's single ``main``/``article`` holding it, else the body — both
    without the furniture already dropped (collapsed panels stay, unlike ``landmarks``)."""
    node, body, stats = content_region(root)
    if stats.text.get(node, 0) >= MIN_SHARE * stats.text.get(body, 0):
        return [node]
    for selector in (*FALLBACK_CONTAINERS, "article"):
        found = css(body, selector)
        if len(found) == 1 and (found[0] is node or node in set(found[0].iterdescendants())):
            return found
    return [body]


DETECTORS: dict[str, Callable] = {"blocks": blocks, "readability": readability,
                                  "landmarks": landmarks}
DEFAULT_DETECTOR = "blocks"
