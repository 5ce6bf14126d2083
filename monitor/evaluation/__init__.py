"""Evaluation: how good the judgment is, measured on labelled data.

Classifier accuracy on labelled pairs (``evaluate``), replayed histories scored as alerts
(``replay``; ``folds`` for leave-one-service-out), extraction stability on capture runs
(``replay_run`` over ``runs``).
"""

import lazy_loader

# The public face, each name loaded on first use: importing the package costs nothing, so the
# CLI starts fast and a face cannot create an import cycle (docs/decisions/0017-package-faces.md).
__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submodules=[],
    submod_attrs={
        "histories": ["folds", "replay"],
        "pairs": ["evaluate"],
        "snapshots": ["BASELINE_MODE", "replay_run", "runs"],
    },
)
