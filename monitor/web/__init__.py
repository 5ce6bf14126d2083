"""The journalists' web: history, diffs, search, Atom feeds, JSON API and CSV, read-only.

``create_app`` builds the live ASGI app (Starlette, served by uvicorn); ``static_site.build``
renders the same pages to files. See docs/web.md and docs/api.md.
"""
