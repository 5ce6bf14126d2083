"""Comparison: two texts become a judgment.

``compare()`` aligns sentences, diffs words and asks the classifier (``classify/``) whether the
change is noise, editorial or material; ``history`` judges a change against the document's
past; ``summary_of`` says it in plain words.
"""

import lazy_loader

# The public face, each name loaded on first use: importing the package costs nothing, so the
# CLI starts fast and a face cannot create an import cycle (docs/decisions/0017-package-faces.md).
__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submodules=["elide", "history"],
    submod_attrs={
        "comparison": ["DEFAULT_CLASSIFIER", "compare", "diff_report"],
        "diff": ["DELETE", "EQUAL", "INSERT", "render_terminal", "sentence_hunks", "word_diff"],
        "summary": ["bullet_lines", "phrasing", "summary_json", "summary_of", "with_summary"],
    },
)
