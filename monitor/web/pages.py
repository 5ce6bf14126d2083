"""Page contexts: what each page shows, independent of how it is served.

The live app (``app.py``) and the static site (``static_site.py``) call these same functions and
render the same templates; only the ``Links`` differ.
"""

from monitor.compare.classify import TOPICS
from monitor.store import ChangeFilter, NotFound, Queries, change_filter
from monitor.web.glossary import evidence_groups
from monitor.web.render import citation, diff_views

# The home page lists every company while there are this few; past that, an A–Z index.
HOME_COMPANIES = 60


INCLUDE_LABELS = {"backfilled": "backfilled changes (Wayback Machine, Open Terms Archive)",
                  "technical": "technical re-extractions"}


def include_links(where: ChangeFilter) -> list[dict]:
    """The home page's "show/hide backfilled, technical" switches: each one's filter parameters."""
    return [{"kind": kind, "label": label, "shown": kind in where.include,
             "params": where.with_include(where.include ^ {kind})} for kind, label in INCLUDE_LABELS.items()]


def home(q: Queries, where: ChangeFilter, before: int | None = None) -> dict:
    """Latest changes (filtered; live changes unless ``where.include`` adds technical or
    backfilled ones) and the A–Z index of companies."""
    return {"title": "Latest changes", "changes": q.changes(where, before), "filters": where,
            "include_links": include_links(where), "letters": q.letters(), "topics": TOPICS,
            "companies": q.companies(size=HOME_COMPANIES)}


def companies(q: Queries, letter: str = "", page: int = 1) -> dict:
    """Companies A–Z with their tracked documents and their state."""
    return {"title": f"Companies {letter}".strip(), "companies": q.companies(letter, page),
            "letter": letter, "letters": q.letters()}


def company(q: Queries, slug: str) -> dict:
    """A company's documents and its latest changes, backfilled and technical ones too (labelled)."""
    targets = q.company_targets(slug)
    return {"title": targets[0]["company"], "company": targets[0]["company"], "slug": slug,
            "targets": targets, "changes": q.changes(ChangeFilter(company=slug, include=change_filter.ALL), size=20)}


def document(q: Queries, target_id: int, page: int = 1) -> dict:
    """A document's timeline and the compare form."""
    target = q.target(target_id)
    return {"title": f"{target['company']} — {target['doc_type']}", "target": target,
            "timeline": q.timeline(target_id, page), "choices": q.version_choices(target_id)}


def change(q: Queries, change_id: int, permalink: str) -> dict:
    """One change: summary, classification, evidence by sentence (each rule with its glossary
    entry), both diff views, neighbours and citation."""
    found = q.change(change_id)
    return {"title": f"{found['company']} — {found['doc_type']}: change {change_id}",
            "change": found, "diff": diff_views(found["old"]["text"], found["new"]["text"], found["evidence"]),
            "evidence": evidence_groups(found["evidence"]), "cite": citation(found, permalink)}


def version(q: Queries, version_id: int) -> dict:
    """One version's full text."""
    found = q.version(version_id)
    target = q.target(found["target_id"])
    return {"title": f"{target['company']} — {target['doc_type']}: version {version_id}",
            "version": found, "target": target, "capture": q.capture(found["capture_id"])}


def compare(q: Queries, a: int, b: int) -> dict:
    """Any two versions, older first (``NotFound`` if either is missing)."""
    old, new = sorted((q.version(a), q.version(b)), key=lambda v: v["id"])
    targets = {v["target_id"]: q.target(v["target_id"]) for v in (old, new)}
    return {"title": f"Compare version {old['id']} with version {new['id']}", "old": old, "new": new,
            "targets": targets, "diff": diff_views(old["text"], new["text"]),
            "choices": q.version_choices(new["target_id"])}


def search(q: Queries, text: str, page: int = 1, scope: str = "") -> dict:
    """Search results with snippets."""
    return {"title": f"Search: {text}" if text else "Search", "query": text, "scope": scope,
            "results": q.search(text, page, current_only=scope == "current") if text else None}


__all__ = ["NotFound", "home", "companies", "company", "document", "change", "version",
           "compare", "search"]
