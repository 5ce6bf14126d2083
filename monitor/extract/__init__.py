"""Extraction: a raw body (HTML, PDF, plain text) becomes normalised Markdown.

``extract()`` and its ``Extraction``; charset decoding; the capture guards (a bot wall, a
shrunken page, the wrong language); known bodies and page skeletons; normalisation for
comparison. Knows nothing of a target's history.
"""

import lazy_loader

# The public face, each name loaded on first use: importing the package costs nothing, so the
# CLI starts fast and a face cannot create an import cycle (docs/decisions/0017-package-faces.md).
__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submodules=["blocks"],  # used as a namespace
    submod_attrs={
        "decoding": ["decode"],
        "extractor": ["EXTRACTOR_VERSION", "Extraction", "check_selectors", "extract", "sniff_kind"],
        "guards": ["DEFAULT_MAX_SHRINK", "GuardError", "check_language", "check_page", "check_shrink"],
        "known": ["KnownText", "extraction_key", "known_text"],
        "language": ["UNKNOWN", "language"],
        "normalise": ["comparable_text", "is_date_line", "normalise_text"],
    },
)
