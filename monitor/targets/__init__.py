"""Targets: what to watch — catalogues, Open Terms Archive declarations, and the checks a
target passes before it is added or edited.
"""

import lazy_loader

# The public face, each name loaded on first use: importing the package costs nothing, so the
# CLI starts fast and a face cannot create an import cycle (docs/decisions/0017-package-faces.md).
__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submodules=[],
    submod_attrs={
        "catalogue": ["add_planned", "plan_import"],
        "checks": ["check_new_target", "check_target_selectors"],
        "declarations": ["extraction_options", "read_terms_object"],
    },
)
