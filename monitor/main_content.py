"""Main-content detection for targets without a selector: a registry of detectors by name.

``readability`` (readability-lxml, Mozilla Readability's scoring) is the default: on the replay
corpus it keeps the policy and drops navigation, footers and banners, identically across
captures. When it keeps too little of the page (a page of many short blocks can fool its
scoring) we fall back to ``landmarks``: ``main``/``[role=main]``/a single ``article``, else the
body without its navigation — complete, if noisier.
"""

from collections.abc import Callable

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


def readability(root, css) -> list:
    """readability-lxml's best content block, unless it keeps too little (then ``landmarks``)."""
    from readability import Document
    from readability.readability import Unparseable
    html = lxml.html.tostring(root, encoding="unicode")
    try:
        summary = Document(html).summary(html_partial=True)
    except Unparseable:
        summary = ""
    chosen = lxml.html.fragment_fromstring(summary, create_parent="div") if summary.strip() else None
    fallback = landmarks(root, css)
    chosen_words = len(chosen.text_content().split()) if chosen is not None else 0
    fallback_words = sum(len(part.text_content().split()) for part in fallback)
    if chosen is None or chosen_words < MIN_WORDS or chosen_words < MIN_SHARE * fallback_words:
        return fallback
    return [chosen]


DETECTORS: dict[str, Callable] = {"readability": readability, "landmarks": landmarks}
DEFAULT_DETECTOR = "readability"
