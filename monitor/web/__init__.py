"""The journalists' web: history, diffs, search, Atom feeds, JSON API and CSV, read-only.

``create_app`` builds the live ASGI app (Starlette, served by uvicorn); ``static_site.build``
renders the same pages to files. See docs/web.md and docs/api.md.
"""

import lazy_loader

# The public face, each name loaded on first use: importing the package costs nothing, so the
# CLI starts fast and a face cannot create an import cycle (docs/decisions/0017-package-faces.md).
__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submodules=["static_site"],
    submod_attrs={
        "app": ["create_app"],
    },
)
