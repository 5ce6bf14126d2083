"""The ``blocks`` main-content detector: the smallest region of the page that holds its prose.

A policy page is rarely one block. Its text may sit in several sibling sections (an intro, then
one ``div`` per chapter), in tables, in accordion panels that are collapsed (``hidden``,
``aria-hidden``, a CSS class) but present in the HTML. A detector that keeps its single best
block (readability's design) loses the rest. This one works on the page's structure:

1. **Text blocks.** Every text node belongs to its nearest block-level ancestor (``p``, ``li``,
   ``td``, ``div``…). A block is *prose* when it has at least ``PROSE_CHARS`` characters of its
   own and at most ``MAX_LINK_SHARE`` of them inside links. Characters, not words, so that
   languages written without spaces weigh the same.
2. **Boilerplate.** Navigation landmarks (``nav``, ``role=navigation|search|menu…``) and the
   page's own ``footer``/``aside`` (outside any sectioning element, as the HTML spec scopes
   contentinfo and complementary) go; the page's ``header`` goes unless it holds prose (a
   policy's intro). An element hinted as furniture by a generic class word (``menu``,
   ``breadcrumb``, ``share``, ``related``…; in an id only unambiguous ones, since policies anchor
   their sections "#sharing", "#cookies") goes when it is mostly links or has neither prose nor
   a heading. A hidden element (``hidden``, ``aria-hidden``, ``display: none``) goes only when it
   is mostly links: a collapsed accordion panel stays, a hidden menu or drawer does not.
   Nothing that holds most of the page's prose is ever dropped.
3. **Region.** From ``body`` down, step into the child holding at least ``DOMINANCE`` of the
   prose; stop where the prose is shared between children, or where that child is itself a
   prose block rather than a container of them. The stopping node is the lowest
   common ancestor of the policy's blocks — it holds the sibling and cousin blocks, tables and
   panels around the best one, and not the navigation beside them.

Every decision is on the tree's shape and on per-block measures, so rotating ads, ids and
counters (short, or link-heavy, or outside the region) do not move the region between captures.
"""

import re

BLOCK_TAGS = frozenset((
    "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details",
    "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2",
    "h3", "h4", "h5", "h6", "header", "hgroup", "hr", "html", "li", "main", "menu", "nav", "ol",
    "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul"))
SECTIONING = frozenset(("article", "aside", "main", "nav", "section"))
# A block of at least this many characters of its own, mostly outside links, is prose.
PROSE_CHARS = 60
MAX_LINK_SHARE = 0.5
# Step into a child when it holds this share of its parent's prose (tuned: docs/extraction.md).
DOMINANCE = 0.9
# A boilerplate-looking element is never dropped when it holds more than this share of the prose.
PROTECTED_SHARE = 0.5

LANDMARK_ROLES = frozenset(("navigation", "search", "menu", "menubar", "toolbar"))
PAGE_ROLES = frozenset(("contentinfo", "complementary"))
# Generic words in a class that mark page furniture (never one site's names).
CLASS_HINTS = frozenset((
    "nav", "navbar", "navigation", "menu", "megamenu", "breadcrumb", "breadcrumbs", "footer",
    "header", "masthead", "sidebar", "share", "sharing", "social", "related", "newsletter",
    "subscribe", "signup", "pagination", "pager", "toolbar", "topbar", "skip", "cookie",
    "cookies", "banner", "promo", "advert", "ads", "ad", "sponsor", "sponsored", "language",
    "languages", "lang", "locale", "search", "feedback", "rating"))
# In an id only the unambiguous ones: a policy's sections are anchored by id ("#sharing",
# "#cookies", "#social-media") and must never read as furniture.
ID_HINTS = frozenset((
    "nav", "navbar", "navigation", "menu", "megamenu", "breadcrumb", "breadcrumbs", "footer",
    "header", "masthead", "sidebar", "pagination", "pager", "toolbar", "topbar", "skip"))
HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_SPLIT = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)


class Stats:
    """Per-element measures of a tree: own and subtree prose, text and link characters."""

    def __init__(self, root):
        own_text: dict = {}
        own_link: dict = {}
        owner: dict = {}
        in_link: dict = {}
        order = []
        for element in root.iter():
            if not isinstance(element.tag, str):
                continue
            order.append(element)
            parent = element.getparent()
            tag = element.tag.lower()
            block = tag in BLOCK_TAGS or parent is None
            owner[element] = element if block else owner.get(parent, element)
            in_link[element] = tag == "a" or in_link.get(parent, False)
            _add(own_text, own_link, owner[element], element.text, in_link[element])
            if parent is not None and element.tail:
                tail_owner = owner.get(parent, parent)
                _add(own_text, own_link, tail_owner, element.tail, in_link.get(parent, False))
        self.text, self.links, self.prose = {}, {}, {}
        for element in reversed(order):
            chars, links = own_text.get(element, 0), own_link.get(element, 0)
            prose = chars if chars >= PROSE_CHARS and links <= MAX_LINK_SHARE * chars else 0
            self.text[element] = self.text.get(element, 0) + chars
            self.links[element] = self.links.get(element, 0) + links
            self.prose[element] = self.prose.get(element, 0) + prose
            parent = element.getparent()
            if parent is not None:
                self.text[parent] = self.text.get(parent, 0) + self.text[element]
                self.links[parent] = self.links.get(parent, 0) + self.links[element]
                self.prose[parent] = self.prose.get(parent, 0) + self.prose[element]

    def link_share(self, element) -> float:
        return self.links.get(element, 0) / max(self.text.get(element, 0), 1)


def _add(own_text: dict, own_link: dict, owner, text: str | None, link: bool) -> None:
    if not text:
        return
    chars = len("".join(text.split()))
    if chars:
        own_text[owner] = own_text.get(owner, 0) + chars
        if link:
            own_link[owner] = own_link.get(owner, 0) + chars


def _words(value: str | None) -> set[str]:
    return set(_SPLIT.split(_CAMEL.sub(" ", value or "").lower())) - {""}


def _hinted(element) -> bool:
    return bool(_words(element.get("class")) & CLASS_HINTS or _words(element.get("id")) & ID_HINTS)


def _is_hidden(element) -> bool:
    return (element.get("hidden") is not None or element.get("aria-hidden") == "true"
            or bool(_HIDDEN_STYLE.search(element.get("style") or "")))


def _outside_sections(element) -> bool:
    return not any(isinstance(a.tag, str) and a.tag.lower() in SECTIONING
                   for a in element.iterancestors())


def boilerplate(element, stats: Stats) -> bool:
    """Whether ``element`` is page furniture rather than content (see module docstring)."""
    tag = element.tag.lower()
    role = (element.get("role") or "").lower()
    if tag == "nav" or role in LANDMARK_ROLES:
        return True
    page_level = tag in ("header", "footer", "aside") and _outside_sections(element)
    if (page_level and tag != "header") or role in PAGE_ROLES:
        return True
    link_heavy = stats.link_share(element) >= MAX_LINK_SHARE
    no_prose = stats.prose.get(element, 0) == 0
    if (page_level and tag == "header") or role == "banner":
        return link_heavy or no_prose  # the site's banner, unless it holds the policy's intro
    if _hinted(element):
        # A hinted section that holds prose or headings of its own is content all the same.
        return link_heavy or (no_prose and next(element.iter(*HEADINGS), None) is None)
    if _is_hidden(element):
        return link_heavy  # a collapsed panel stays, a hidden menu or drawer goes
    return False


def drop_boilerplate(body, stats: Stats) -> None:
    """Remove boilerplate elements under ``body`` in place, keeping whatever holds most prose."""
    protected = PROTECTED_SHARE * stats.prose.get(body, 0)
    doomed = []
    stack = [child for child in body if isinstance(child.tag, str)]
    while stack:
        element = stack.pop()
        if boilerplate(element, stats) and (stats.prose.get(element, 0) <= protected
                                            or not stats.prose.get(body, 0)):
            doomed.append(element)
            continue
        stack.extend(child for child in element if isinstance(child.tag, str))
    for element in doomed:
        element.drop_tree()


def region(body, stats: Stats, dominance: float | None = None):
    """The lowest element holding ``dominance`` of the prose below ``body`` (see docstring)."""
    dominance = DOMINANCE if dominance is None else dominance
    node = body
    while True:
        total = stats.prose.get(node, 0)
        children = [child for child in node if isinstance(child.tag, str)]
        if not total or not children:
            return node
        best = max(children, key=lambda child: stats.prose.get(child, 0))
        if stats.prose.get(best, 0) < dominance * total:
            return node
        inner = sum(stats.prose.get(child, 0) for child in best if isinstance(child.tag, str))
        if inner < dominance * stats.prose.get(best, 0):
            # ``best`` is itself a prose block (its own text is the prose), not a container: the
            # region is the container around it, with the short paragraphs beside it (a short
            # page may have a single paragraph long enough to count as prose).
            return node
        node = best


def content_region(root, dominance: float | None = None):
    """The page's content region after dropping boilerplate, the body, and their ``Stats``."""
    body = root.find("body")
    if body is None:
        body = root
    drop_boilerplate(body, Stats(body))
    stats = Stats(body)
    node = region(body, stats, dominance)
    return node, body, stats
