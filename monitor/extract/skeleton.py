"""Page skeletons: a fingerprint of everything in an HTML page that its extracted text depends on.

Many sites change their bytes on every response (a CSRF token, a nonce, a build id in a script,
a cache-busting asset URL, a timestamp comment) while the policy does not change. Extracting
such a page costs milliseconds (readability, markdownify); parsing it costs a fraction of that.

The skeleton is the page's ``clean_html_tree`` — the tree extraction itself starts from, with
scripts, styles, the head, comments and hidden form values already gone — serialised and hashed
together with everything else extraction reads (the URL links are resolved against, the
extractor version and selectors). Extraction after that tree is deterministic, so two captures
with the same skeleton extract to the same text: a capture whose skeleton is already known is
recorded as unchanged without extracting it again.
"""

from dataclasses import dataclass

import lxml.etree

from monitor.errors import ExtractionError
from monitor.extract.decoding import decode
from monitor.extract.extractor import MAX_BODY_BYTES, clean_html_tree, prepare_body, sniff_kind
from monitor.store import sha256_hex


@dataclass
class Skeleton:
    """A page's skeleton digest and the cleaned tree it was taken from (for one extraction)."""

    sha256: str
    tree: object  # lxml root; extraction consumes (mutates) it

    def __getstate__(self) -> dict:
        # lxml trees do not pickle; a skeleton sent to the writer process needs only its digest.
        return {"sha256": self.sha256, "tree": None}

    def take_tree(self):
        """The cleaned tree, once: extraction mutates it, so a second user must re-parse."""
        tree, self.tree = self.tree, None
        return tree


def page_skeleton(body: bytes, content_type: str | None, url: str, extraction_key: str) -> Skeleton | None:
    """The skeleton of an HTML body, or None for PDF, text, or a body extraction would refuse
    anyway (empty, too large, unparseable): those are decided by extracting."""
    try:
        body = prepare_body(body or b"", MAX_BODY_BYTES)
        if sniff_kind(body, content_type) != "html":
            return None
        tree = clean_html_tree(decode(body, content_type))
        markup = lxml.etree.tostring(tree, encoding="utf-8")
    except (ExtractionError, RecursionError, ValueError, lxml.etree.LxmlError):
        return None
    # The URL matters: links are made absolute against it, and Markdown keeps link targets.
    digest = sha256_hex(b"%s\n%s\n%s" % (extraction_key.encode(), url.encode("utf-8", "replace"), markup))
    return Skeleton(digest, tree)
