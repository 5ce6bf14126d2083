"""Templates, links and diff layout shared by the live server and the static site.

Crawled text is hostile. Templates autoescape everything; Python here builds plain data (lists of
``(kind, text)`` runs), never HTML strings, so nothing crawled reaches a page unescaped. The
one exception, search snippets, is escaped first and only then gets its ``<mark>`` tags.
"""

import re
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader
from markupsafe import Markup, escape

from monitor.compare import DELETE, EQUAL, elide, word_diff
from monitor.compare.classify import explain, is_material, rule_key
from monitor.permalinks import change_path, glossary_path

# Unchanged text around an edit that the diff views keep (rows side by side, characters inline).
CONTEXT_ROWS = 2
CONTEXT_CHARS = 240
DIFF_TIMEOUT_SECONDS = 2.0
# XML 1.0 forbids most control characters; a crawled page can contain any of them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_MARKDOWN_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "form-action 'self'; base-uri 'none'; connect-src 'self'")


class Links:
    """URLs of the live server. ``StaticLinks`` maps the same pages to files."""

    dynamic = True

    def __init__(self, base_url: str = ""):
        self.base_url = base_url.rstrip("/")
        self.prefix = re.sub(r"^[a-z]+://[^/]+", "", self.base_url)  # the path part

    def absolute(self, url: str) -> str:
        """An absolute URL for feeds, citations and the API (needs ``--base-url`` when static)."""
        return self.base_url + url[len(self.prefix):] if url.startswith(self.prefix) else url

    def _q(self, path: str, params: dict) -> str:
        params = {key: value for key, value in params.items() if value not in (None, "", 0)}
        return f"{self.prefix}{path}" + (f"?{urlencode(params)}" if params else "")

    def home(self, filters: dict | None = None, before: int | None = None) -> str:
        return self._q("/", {**(filters or {}), "before": before})

    def companies(self, letter: str = "", page: int = 1) -> str:
        return self._q("/companies/", {"letter": letter, "page": page if page > 1 else None})

    def company(self, slug: str) -> str:
        return f"{self.prefix}/company/{slug}/"

    def document(self, target_id: int, page: int = 1) -> str:
        return self._q(f"/document/{int(target_id)}/", {"page": page if page > 1 else None})

    def change(self, change_id: int) -> str:
        return f"{self.prefix}{change_path(change_id)}"

    def version(self, version_id: int) -> str:
        return f"{self.prefix}/version/{int(version_id)}/"

    def raw(self, capture_id: int) -> str:
        return f"{self.prefix}/capture/{int(capture_id)}/raw"

    def compare(self, a: int | None = None, b: int | None = None) -> str:
        return self._q("/compare/", {"a": a, "b": b})

    def search(self, q: str = "", page: int = 1, scope: str = "") -> str:
        return self._q("/search/", {"q": q, "page": page if page > 1 else None, "scope": scope})

    def feed(self, kind: str = "all", key: str | int = "") -> str:
        if kind in ("all", "material"):
            return f"{self.prefix}/feeds/{kind}.atom"
        return f"{self.prefix}/feeds/{kind}/{key}.atom"

    def csv(self, filters: dict | None = None) -> str:
        return self._q("/export/changes.csv", filters or {})

    def trends(self, params: dict | None = None) -> str:
        return self._q("/trends/", params or {})

    def trends_csv(self, params: dict | None = None) -> str:
        return self._q("/trends.csv", params or {})

    def api(self, path: str = "") -> str:
        return f"{self.prefix}/api/{path}"

    def static(self, name: str) -> str:
        return f"{self.prefix}/static/{name}"

    def glossary(self, rule: str = "") -> str:
        """The glossary page, or a rule's entry on it (``#rule-<family>``)."""
        return self.prefix + glossary_path(f"rule-{rule_key(rule)}" if rule else "")


def _strip_control(value):
    if isinstance(value, str) and not isinstance(value, Markup):
        return _CONTROL.sub("\ufffd", value)
    return value


def day(stamp: str | None) -> str:
    """``2026-11-24`` from a stored timestamp."""
    return (stamp or "")[:10] or "–"


def minute(stamp: str | None) -> str:
    """``2026-11-24 01:51 UTC`` from a stored timestamp."""
    return f"{stamp[:16].replace('T', ' ')} UTC" if stamp else "–"


def snippet_html(snippet: str | None) -> Markup:
    """An FTS5 snippet, escaped, with its hit markers turned into ``<mark>``."""
    text = str(escape(_CONTROL.sub("", snippet or "")))
    return Markup(text.replace("\ue000", "<mark>").replace("\ue001", "</mark>"))


def make_environment() -> Environment:
    """The Jinja environment: autoescape on for every template, HTML and Atom alike."""
    env = Environment(loader=PackageLoader("monitor.web", "templates"), autoescape=True,
                      finalize=_strip_control, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(day=day, minute=minute, snippet=snippet_html)
    env.globals.update(CSP=CSP, explain=explain)
    return env


# -- diff layout ---------------------------------------------------------------------------
def _evidence_on(evidence: list[dict], side: str) -> list[dict]:
    return [item for item in evidence if item.get("sentence") and item.get("side", "new") == side]


def _mentions(text: str, item: dict) -> bool:
    # Evidence sentences are cut from the normalised text; a prefix survives re-wrapping.
    sentence = " ".join(item["sentence"].split())[:80]
    plain = _MARKDOWN_LINK.sub(r"\1", " ".join(text.split()))
    return bool(sentence) and sentence in plain


def _rows(diffs: list[tuple[int, str]]) -> tuple[list[dict], list[int | None]]:
    """The diff cut into rows of ``{left, right, changed}`` (a row ends where both texts have a
    line break in common), and for each diff run the row its edit sits in (None for equal text)."""
    rows: list[dict] = []
    owners: list[int | None] = []
    left: list = []
    right: list = []

    def flush():
        if left or right:
            rows.append({"left": list(left), "right": list(right),
                         "changed": any(kind != "eq" for kind, _ in left + right)})
        left.clear()
        right.clear()

    for op, text in diffs:
        if op == EQUAL:
            owners.append(None)
            parts = text.split("\n")
            for index, part in enumerate(parts):
                if part:
                    left.append(("eq", part))
                    right.append(("eq", part))
                if index < len(parts) - 1:
                    flush()
        else:
            owners.append(len(rows))  # the row being built: flushed at the next common break
            (left if op == DELETE else right).append(("del" if op == DELETE else "ins", text))
    flush()
    return rows, owners


def _merged(notes: list[dict]) -> list[dict]:
    """One note per rule and side, its topics merged (a rule fires once per topic it names)."""
    merged: dict[tuple, dict] = {}
    for note in notes:
        key = (note.get("rule"), note.get("side", "new"))
        if key in merged:
            topics = merged[key]["topics"]
            topics += [t for t in note.get("topics") or [] if t not in topics]
        else:
            merged[key] = {**note, "topics": list(note.get("topics") or [])}
    return list(merged.values())


def _annotate(rows: list[dict], evidence: list[dict] | None) -> None:
    """Give each row its evidence ``notes`` and the ``material`` rule ids among them."""
    old_evidence, new_evidence = _evidence_on(evidence or [], "old"), _evidence_on(evidence or [], "new")
    for number, row in enumerate(rows):
        row["anchor"] = f"r{number}"
        left_text = "".join(text for _, text in row["left"])
        right_text = "".join(text for _, text in row["right"])
        row["notes"] = _merged([item for item in old_evidence if _mentions(left_text, item)] +
                               [item for item in new_evidence if _mentions(right_text, item)])
        row["material"] = list(dict.fromkeys(note["rule"] for note in row["notes"] if is_material(note["rule"])))
        if row["notes"]:
            row["changed"] = True


def _layout(diffs: list[tuple[int, str]], evidence: list[dict] | None) -> tuple[list[dict], list]:
    """The rows with their notes, and each run's row: what both views are built from."""
    rows, owners = _rows(diffs)
    _annotate(rows, evidence)
    return rows, owners


def side_by_side(diffs: list[tuple[int, str]], evidence: list[dict] | None = None,
                 context: int = CONTEXT_ROWS, layout: tuple | None = None) -> list[dict]:
    """Rows of ``{left, right, changed, notes, material}``, each side a list of ``(kind, text)``
    runs; ``material`` lists the material rules that fired on the row's sentences.

    A row ends where both texts have a line break in common, so the two columns stay aligned;
    long unchanged stretches become ``{skip: N}`` rows.
    """
    rows, _ = layout or _layout(diffs, evidence)
    keep = set()
    for number, row in enumerate(rows):
        if row["changed"]:
            keep.update(range(number - context, number + context + 1))
    shown: list[dict] = []
    skipped = 0
    for number, row in enumerate(rows):
        if number in keep:
            if skipped:
                shown.append({"skip": skipped})
                skipped = 0
            shown.append(row)
        else:
            skipped += 1
    if skipped:
        shown.append({"skip": skipped})
    return shown


def _equal_runs(text: str, first: bool, last: bool, context: int) -> list[tuple[str, str, tuple]]:
    """Unchanged text, elided to ``context`` characters at each end that touches an edit, cut
    at word boundaries."""
    keep_head = 0 if first else context
    keep_tail = 0 if last else context
    if len(text) <= keep_head + keep_tail + 40:
        return [("eq", text, ())]
    start = elide.head(text, keep_head) if keep_head else ""
    end = elide.tail(text, keep_tail) if keep_tail else ""
    runs = [("eq", start, ())] if start else []
    runs.append(("skip", f"{len(text) - len(start) - len(end):,} unchanged characters", ()))
    return runs + ([("eq", end, ())] if end else [])


def inline(diffs: list[tuple[int, str]], evidence: list[dict] | None = None,
           context: int = CONTEXT_CHARS, layout: tuple | None = None) -> list[tuple[str, str, tuple]]:
    """Runs of ``(kind, text, rules)``, kind eq/del/ins/skip/note, with long unchanged text
    elided at word boundaries. An edit in a sentence a material rule fired on carries those
    ``rules``, and a ``note`` run (its text empty) comes before the first edit of each such line,
    so the inline view marks material edits as the side-by-side view does."""
    rows, owners = layout or _layout(diffs, evidence)
    runs: list[tuple[str, str, tuple]] = []
    noted: set[int] = set()
    last = len(diffs) - 1
    for index, (op, text) in enumerate(diffs):
        if op == EQUAL:
            runs += _equal_runs(text, index == 0, index == last, context)
            continue
        row = owners[index]
        rules = tuple(rows[row]["material"]) if row is not None and row < len(rows) else ()
        if rules and row not in noted:
            noted.add(row)
            runs.append(("note", "", rules))
        runs.append(("del" if op == DELETE else "ins", text, rules))
    return runs


def diff_views(old_text: str, new_text: str, evidence: list[dict] | None = None) -> dict:
    """Both diff views of two texts, from one word diff (and one pass matching the evidence)."""
    diffs = word_diff(old_text, new_text, timeout=DIFF_TIMEOUT_SECONDS)
    layout = _layout(diffs, evidence)
    return {"rows": side_by_side(diffs, evidence, layout=layout), "inline": inline(diffs, evidence, layout=layout),
            "identical": all(op == EQUAL for op, _ in diffs)}


def citation(change: dict, permalink: str) -> str:
    """The "cite this" text: company, document, dates, captures and their hashes."""
    old, new = change["old"], change["new"]

    def side(version: dict) -> str:
        capture = version.get("capture") or {}
        return (f"version {version['id']}, first seen {minute(version['first_seen_at'])}, "
                f"capture {version['capture_id']} of {capture.get('final_url') or capture.get('url') or '?'} "
                f"(raw sha256 {version['snapshot_sha256']}; text sha256 {version['text_sha256']})")

    return (f"{change['company']}, “{change['doc_type']}” ({change['url']}): "
            f"{change['class']} change (severity {change['severity']}) detected {minute(change['detected_at'])}, "
            f"from {side(old)} to {side(new)}. policywatch change {change['id']}, {permalink}")
