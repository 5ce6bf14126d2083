"""Recording: a capture becomes rows.

``Capture`` is the crawler's message; ``record_capture`` vets it (guards, the confirmation
refetch), extracts, versions, compares and stores it with its evidence in one transaction;
``BatchWriter`` records many with the WARC written first; ``reextract`` re-reads stored bodies
with a newer extractor. Backfill from archives lives in ``backfill/``.
"""

import lazy_loader

# The public face, each name loaded on first use: importing the package costs nothing, so the
# CLI starts fast and a face cannot create an import cycle (docs/decisions/0017-package-faces.md).
__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submodules=[],
    submod_attrs={
        "batch": ["BatchOutcome", "BatchWriter"],
        "capture": ["Capture", "Confirmation", "Prepared"],
        "recording": ["Recorded", "record_capture"],
        "reextract": ["TECHNICAL_CLASSIFIER", "reextract", "reextract_target"],
        "summaries": ["DEFAULT_BATCH", "SummaryRebuild", "rebuild_summaries"],
        "vetting": ["extract_for", "extracts_nothing", "preview"],
    },
)
