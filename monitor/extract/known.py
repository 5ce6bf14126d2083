"""Is this body's text already known? Answered without extracting when possible.

Two looks, cheapest first: the exact bytes (a sha256) were captured and extracted before with
the same extractor and selectors; else the page's skeleton (``monitor.extract.skeleton``: the markup
extraction reads, minus tokens and scripts) was. Either gives the comparable-text hash that
extraction would produce, so an unchanged page — even one whose bytes rotate on every fetch —
costs a hash or a parse, not an extraction.
"""

import json
from dataclasses import dataclass

from monitor.extract.extractor import EXTRACTOR_VERSION
from monitor.extract.skeleton import Skeleton, page_skeleton
from monitor.store import Store, sha256_hex


@dataclass
class KnownText:
    """What the store already knows about a body's text."""

    body_sha256: str
    skeleton: Skeleton | None = None  # taken only when the bytes themselves were new
    compare_sha256: str | None = None  # the comparable-text hash it is known to extract to

    @property
    def skeleton_sha256(self) -> str | None:
        """The skeleton digest to record on the capture, if one was taken."""
        return self.skeleton.sha256 if self.skeleton else None

    def cleaned_tree(self):
        """The skeleton's cleaned tree for one extraction (None when there is none left)."""
        return self.skeleton.take_tree() if self.skeleton else None


def extraction_key(target: dict) -> str:
    """What decides how a body extracts besides its bytes: the extractor and the selectors."""
    selectors = json.dumps([target["select"], target["remove"]], sort_keys=True)
    return f"{EXTRACTOR_VERSION}|{sha256_hex(selectors)[:16]}"


def known_text(store: Store, target: dict, body: bytes, content_type: str | None, url: str,
               extraction_key: str) -> KnownText:
    """Look the body up by its bytes, then by its skeleton (see module docstring)."""
    body_sha256 = sha256_hex(body)
    known = KnownText(body_sha256)
    known.compare_sha256 = store.known_comparable(target["id"], body_sha256, extraction_key, content_type)
    if known.compare_sha256 is None:
        known.skeleton = page_skeleton(body, content_type, url, extraction_key)
        if known.skeleton is not None:
            known.compare_sha256 = store.known_skeleton(target["id"], known.skeleton.sha256)
    return known
