"""``policywatch site build``: the same pages as files, publishable on any static host.

Every page is rendered by the same page functions and templates as the live app, with
``StaticLinks`` mapping each page to a directory with an ``index.html`` (so URLs look the same
on any host that serves ``index.html`` for a directory). Pages that need a server (search,
compare, filters, the JSON API) are left out and their forms hidden.
"""

import shutil
from pathlib import Path

from monitor.compare import summary_of
from monitor.compare.classify import TOPICS
from monitor.store import EXPORT_INCLUDE, ChangeFilter, Queries
from monitor.web import feeds, glossary, pages
from monitor.web.render import Links, make_environment

STATIC_DIR = Path(__file__).parent / "static"


class StaticLinks(Links):
    """Links to the files ``build`` writes."""

    dynamic = False

    def home(self, filters: dict | None = None, before: int | None = None) -> str:
        return f"{self.prefix}/changes/before/{int(before)}/" if before else f"{self.prefix}/"

    def companies(self, letter: str = "", page: int = 1) -> str:
        path = f"{self.prefix}/companies/" + (f"{_letter_dir(letter)}/" if letter else "")
        return path + (f"page/{int(page)}/" if page > 1 else "")

    def document(self, target_id: int, page: int = 1) -> str:
        return f"{self.prefix}/document/{int(target_id)}/" + (f"page/{int(page)}/" if page > 1 else "")

    def raw(self, capture_id: int) -> str:
        return f"{self.prefix}/capture/{int(capture_id)}.txt"

    def csv(self, filters: dict | None = None) -> str:
        return f"{self.prefix}/export/changes.csv"


def _letter_dir(letter: str) -> str:
    return "other" if letter == "#" else letter.upper()


class _Writer:
    def __init__(self, out: Path, links: StaticLinks):
        self.out, self.links, self.files = out, links, 0

    def write(self, url: str, content: str | bytes) -> None:
        relative = url[len(self.links.prefix):].lstrip("/")
        path = self.out / relative
        if url.endswith("/"):
            path = path / "index.html"
        # Every path component comes from ids, slugs or fixed names, never from crawled text.
        assert self.out.resolve() in path.resolve().parents, path
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode("utf-8")
        path.write_bytes(content)
        self.files += 1


def build(db_path: str, out_dir: str | Path, base_url: str) -> dict:
    """Render the whole site under ``out_dir``; return ``{"files": N}``."""
    q = Queries(db_path, summarise=summary_of)
    env = make_environment()
    links = StaticLinks(base_url)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(STATIC_DIR, out / "static", dirs_exist_ok=True)
    writer = _Writer(out, links)

    def render(url: str, template: str, context: dict) -> None:
        writer.write(url, env.get_template(template).render(links=links, request_path=url, **context))

    everything = ChangeFilter()
    before = None
    while True:  # the changes list, one page per file, following the keyset pagination
        context = pages.home(q, everything, before)
        render(links.home(before=before), "home.html", context)
        if not context["changes"].has_next:
            break
        before = context["changes"].next_before

    for letter in ["", *q.letters()]:
        page = 1
        while True:
            context = pages.companies(q, letter, page)
            render(links.companies(letter, page), "companies.html", context)
            if not context["companies"].has_next:
                break
            page += 1

    for slug in q.company_slugs():
        render(links.company(slug), "company.html", pages.company(q, slug))
        writer.write(links.feed("company", slug), feeds.atom(env, q, links, "company", slug))

    for target_id in q.iter_target_ids():
        page = 1
        while True:
            context = pages.document(q, target_id, page)
            render(links.document(target_id, page), "document.html", context)
            for version in context["timeline"].items:
                render(links.version(version["id"]), "version.html", pages.version(q, version["id"]))
                if version["capture_id"] and version["snapshot_sha256"]:
                    _, body = q.raw_capture(version["capture_id"])
                    writer.write(links.raw(version["capture_id"]), body)
            if not context["timeline"].has_next:
                break
            page += 1
        writer.write(links.feed("document", target_id), feeds.atom(env, q, links, "document", str(target_id)))

    for change_id in q.iter_change_ids():
        render(links.change(change_id), "change.html",
               pages.change(q, change_id, links.absolute(links.change(change_id))))

    for kind in ("all", "material"):
        writer.write(links.feed(kind), feeds.atom(env, q, links, kind))
    for topic in TOPICS:
        writer.write(links.feed("topic", topic), feeds.atom(env, q, links, "topic", topic))
    # The same rows as the live /export/changes.csv without parameters.
    exported = ChangeFilter(include=EXPORT_INCLUDE, default_include=EXPORT_INCLUDE)
    writer.write(links.csv(), "".join(feeds.csv_rows(q, links, exported)))
    render(links.glossary(), "glossary.html", glossary.context())
    render(f"{links.prefix}/404.html", "error.html", {"title": "Not found", "message": "No such page."})
    return {"files": writer.files}
