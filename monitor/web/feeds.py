"""Atom feeds and the CSV export of changes.

Feeds are rendered from a Jinja template (autoescaped, control characters replaced, which XML
forbids). CSV cells that a spreadsheet would run as a formula are prefixed with a quote.
"""

import csv
import io
from collections.abc import Iterator

from monitor.compare import bullet_lines
from monitor.compare.classify import TOPICS
from monitor.store import EXPORT_INCLUDE, ChangeFilter, NotFound, Queries, slugify
from monitor.web.render import Links

FEED_ENTRIES = 50
CSV_BATCH = 1000
CSV_COLUMNS = ("id", "detected_at", "company", "document", "url", "class", "severity", "direction",
               "topics", "from_version_id", "to_version_id", "chars_added", "chars_removed",
               "classifier", "permalink", "headline", "summary")
EPOCH = "1970-01-01T00:00:00Z"


def feed_filter(q: Queries, kind: str, key: str = "") -> tuple[ChangeFilter, str]:
    """The filter and title of a feed (``NotFound`` for an unknown company, document or topic)."""
    # Backfilled history is listed at its archived date; technical re-extractions are not news.
    listed = {"include": EXPORT_INCLUDE, "default_include": EXPORT_INCLUDE}
    if kind == "all":
        return ChangeFilter(**listed), "All changes"
    if kind == "material":
        return ChangeFilter(klass="material", **listed), "Material changes"
    if kind == "topic":
        if key not in TOPICS:
            raise NotFound(f"topic {key}")
        return ChangeFilter(topic=key, **listed), f"Changes about {key}"
    if kind == "company":
        company = q.company_targets(slugify(key))[0]["company"]
        return ChangeFilter(company=slugify(key), **listed), f"Changes at {company}"
    if kind == "document":
        target = q.target(int(key))
        return ChangeFilter(target_id=target["id"], **listed), f"{target['company']} — {target['doc_type']}"
    raise NotFound(f"feed {kind}")


def _atom_time(stamp: str | None) -> str:
    # Stored stamps carry microseconds and a Z: valid RFC 3339 already; keep seconds for readers.
    return f"{stamp[:19]}Z" if stamp else EPOCH


def atom(env, q: Queries, links: Links, kind: str, key: str = "") -> str:
    """One Atom feed as text."""
    where, title = feed_filter(q, kind, key)
    changes = q.changes(where, size=FEED_ENTRIES).items
    self_url = links.absolute(links.feed(kind, key))
    return env.get_template("atom.xml").render(
        title=f"policywatch: {title}", self_url=self_url, links=links, changes=changes,
        # The newest entry's time (entries are newest first by date; max() keeps it true
        # whatever the order).
        updated=_atom_time(max(c["detected_at"] for c in changes)) if changes else EPOCH, atom_time=_atom_time,
        bullet_lines=bullet_lines)


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_rows(q: Queries, links: Links, where: ChangeFilter) -> Iterator[str]:
    """The CSV export, header first, streamed in batches (every matching change)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    before = None
    while True:
        page = q.changes(where, before, size=CSV_BATCH)
        for c in page.items:
            writer.writerow([_cell(v) for v in (
                c["id"], c["detected_at"], c["company"], c["doc_type"], c["url"], c["class"],
                c["severity"], c["direction"], ";".join(c["topics"]), c["from_version_id"],
                c["to_version_id"], c["chars_added"], c["chars_removed"], c["classifier"],
                links.absolute(links.change(c["id"])), c["summary"]["headline"],
                "\n".join(bullet_lines(c["summary"])))])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if not page.has_next:
            return
        before = page.next_before
