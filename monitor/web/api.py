"""The JSON API: the same data as the pages, documented in docs/api.md."""

from urllib.parse import urlencode

from monitor.compare import sentence_hunks, word_diff
from monitor.store import ChangeFilter, Queries
from monitor.web.render import DIFF_TIMEOUT_SECONDS, Links


def _change_summary(c: dict, links: Links) -> dict:
    return {
        "id": c["id"], "detected_at": c["detected_at"], "company": c["company"],
        "company_slug": c["slug"], "document_id": c["target_id"], "document": c["doc_type"],
        "url": c["url"], "class": c["class"], "severity": c["severity"], "topics": c["topics"],
        "direction": c["direction"], "from_version_id": c["from_version_id"],
        "to_version_id": c["to_version_id"], "chars_added": c["chars_added"],
        "chars_removed": c["chars_removed"], "classifier": c["classifier"],
        "summary": {k: c["summary"][k] for k in ("headline", "bullets", "more")},
        "evidence": c["evidence"], "permalink": links.absolute(links.change(c["id"])),
        "source": c.get("source") or "live",  # live | wayback | ota (backfilled history)
    }


def _version_meta(v: dict) -> dict:
    return {key: v[key] for key in ("id", "target_id", "text_sha256", "snapshot_sha256", "capture_id",
                                    "first_seen_at", "last_seen_at", "returns_to_version_id",
                                    "extractor_version", "source") if key in v}


def changes(q: Queries, links: Links, where: ChangeFilter, before: int | None, size: int) -> dict:
    page = q.changes(where, before, size)
    return {"items": [_change_summary(c, links) for c in page.items],
            "next": links.absolute(links.api("changes") + "?" + urlencode(
                {**where.params(), "before": page.next_before, "limit": size})) if page.has_next else None}


def change(q: Queries, links: Links, change_id: int) -> dict:
    c = q.change(change_id)
    return {**_change_summary(c, links), "hunks": c["hunks"],
            "old": {**_version_meta(c["old"]), "capture": c["old"]["capture"]},
            "new": {**_version_meta(c["new"]), "capture": c["new"]["capture"]},
            "previous_change_id": c["previous_id"], "next_change_id": c["next_id"]}


def companies(q: Queries, letter: str, page: int) -> dict:
    found = q.companies(letter, page)
    return {"items": found.items, "page": page, "has_next": found.has_next}


def company(q: Queries, slug: str) -> dict:
    targets = q.company_targets(slug)
    return {"company": targets[0]["company"], "slug": slug, "documents": [
        {key: t[key] for key in ("id", "doc_type", "url", "state", "last_success_at", "versions",
                                 "last_change_id")} for t in targets]}


def document(q: Queries, target_id: int, page: int) -> dict:
    target = q.target(target_id)
    timeline = q.timeline(target_id, page)
    return {"document": {key: target[key] for key in ("id", "company", "slug", "doc_type", "url",
                                                      "state", "last_success_at")},
            "versions": timeline.items, "page": page, "has_next": timeline.has_next}


def version(q: Queries, version_id: int) -> dict:
    v = q.version(version_id)
    return {**_version_meta(v), "text": v["text"]}


def compare(q: Queries, a: int, b: int) -> dict:
    old, new = sorted((q.version(a), q.version(b)), key=lambda v: v["id"])
    diffs = word_diff(old["text"], new["text"], timeout=DIFF_TIMEOUT_SECONDS)
    return {"old": _version_meta(old), "new": _version_meta(new),
            "diff": [[op, text] for op, text in diffs],
            # One hunk per changed sentence: the model a change's stored hunks use.
            "hunks": sentence_hunks(old["text"], new["text"])[0]}


def search(q: Queries, text: str, page: int, scope: str) -> dict:
    found = q.search(text, page, current_only=scope == "current")
    return {"query": text, "page": page, "has_next": found.has_next, "items": [
        {**row, "snippet": row["snippet"].replace("\ue000", "").replace("\ue001", ""),
         "snippet_marked": row["snippet"]}
        for row in found.items]}
