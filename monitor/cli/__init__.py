"""The ``policywatch`` command: the click group ``cli``, whose commands load on first use (one
module per command family). The composition root: the only part of ``monitor`` that wires in
the crawler and the notifier.
"""

import lazy_loader

# The public face, each name loaded on first use: importing the package costs nothing, so the
# CLI starts fast and a face cannot create an import cycle (docs/decisions/0017-package-faces.md).
__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submodules=[],
    submod_attrs={
        "main": ["cli"],
    },
)
