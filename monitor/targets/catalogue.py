"""Importing targets in bulk: a YAML catalogue, or Open Terms Archive declarations.

YAML: a list of mappings (at the top level or under ``targets:``) with ``company``, ``url`` and
optional ``type`` (default "Privacy Policy"), ``select``, ``remove`` (a string or a list; a
mapping is an OTA range selector), ``every`` (``1d``) and ``render`` (``plain`` | ``js``).

OTA: a ``declarations/<Service>.json`` file, or a directory of them: every document type, its
fetch URL, select/remove, ``executeClientScripts`` (→ ``render: js``) and multi-page
``combine`` (each page becomes a target of type "<type> (page N of M)").

Import is idempotent: a URL already tracked as the same type is skipped, not an error.
"""

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from monitor.errors import InputError
from monitor.extract import check_selectors
from monitor.store import (
    DEFAULT_DOC_TYPE,
    DEFAULT_EVERY_SECONDS,
    RENDER_MODES,
    Store,
)
from monitor.targets.checks import check_new_target
from monitor.targets.declarations import DeclaredDocument, read_declaration
from monitor.timeutil import parse_interval


@dataclass
class ImportReport:
    """What an import did."""

    added: list[dict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        """The report as printed by ``target import --json``."""
        return {"added": [{"id": t["id"], "company": t["company"], "type": t["doc_type"],
                           "url": t["url"], "render": t.get("render", "plain")} for t in self.added],
                "skipped": self.skipped, "warnings": self.warnings}


def _selectors(value, where: str) -> list:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    for item in items:
        if not isinstance(item, (str, dict)):
            raise InputError(f"{where}: a selector must be CSS text or a range mapping, not {item!r}")
    return items


def yaml_error_line(path: Path, error: yaml.YAMLError) -> str:
    """A YAML parse error as one line naming the file, the line and column, and the problem
    (PyYAML's own message spans several lines, with a caret under the spot)."""
    mark = getattr(error, "problem_mark", None)
    where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
    problem = getattr(error, "problem", None) or " ".join(str(error).split())
    context, started = getattr(error, "context", None), getattr(error, "context_mark", None)
    if context and started and mark and started.line != mark.line:
        context += f" started on line {started.line + 1}"
    return f"{where}: not valid YAML: {problem}" + (f" ({context})" if context else "")


def read_yaml_catalogue(path: Path) -> list[DeclaredDocument]:
    """The targets of a YAML catalogue file (see module docstring)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise InputError(f"cannot read catalogue {yaml_error_line(path, error)}") from error
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read catalogue {path}: {error}") from error
    if isinstance(data, dict):
        data = data.get("targets")
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a list of targets (at the top level or under 'targets:')")
    documents = []
    for number, entry in enumerate(data, start=1):
        where = f"{path} entry {number}"
        if not isinstance(entry, dict) or not entry.get("company") or not entry.get("url"):
            raise InputError(f"{where}: each target needs 'company' and 'url'")
        render = str(entry.get("render", "plain"))
        if render not in RENDER_MODES:
            raise InputError(f"{where}: render must be one of {', '.join(RENDER_MODES)}, not {render!r}")
        documents.append(DeclaredDocument(
            company=str(entry["company"]), doc_type=str(entry.get("type") or DEFAULT_DOC_TYPE),
            url=str(entry["url"]), select=_selectors(entry.get("select"), where),
            remove=_selectors(entry.get("remove"), where), render=render,
            every=str(entry["every"]) if entry.get("every") else None))
    return documents


def read_catalogue(path: Path) -> list[DeclaredDocument]:
    """Targets from a YAML catalogue, an OTA declaration, or a directory of declarations."""
    if path.is_dir():
        files = sorted(p for p in path.glob("*.json") if not p.name.endswith(".history.json"))
        if not files:
            raise InputError(f"{path} holds no OTA declaration (*.json)")
        return [doc for file in files for doc in read_declaration(file)]
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    if path.suffix.lower() == ".json":
        return read_declaration(path)
    return read_yaml_catalogue(path)


def _doc_type(document: DeclaredDocument, pages: int) -> str:
    return document.doc_type if pages == 1 else f"{document.doc_type} (page {document.part + 1} of {pages})"


@dataclass
class PlannedTarget:
    """One target of a catalogue, checked and ready to add."""

    document: DeclaredDocument
    doc_type: str
    every_seconds: int


def _checked(path: Path, document: DeclaredDocument, doc_type: str, default_every: str | None) -> int:
    """The document's interval in seconds, once it is known to be usable as a target; else
    ``InputError`` naming the file and the document."""
    where = f"{path}: {document.company} / {doc_type}"
    check_selectors(document.select, f"{where}: select")
    check_selectors(document.remove, f"{where}: remove")
    every = document.every or default_every
    try:
        check_new_target(document.url, document.company, [], [])
        return parse_interval(str(every)) if every else DEFAULT_EVERY_SECONDS
    except InputError as error:
        raise InputError(f"{where}: {error}") from error


def plan_import(path: Path, default_every: str | None = None) -> list[PlannedTarget]:
    """Read and check every target of a catalogue (see module docstring) without touching a
    database: one bad entry (a selector, a range, an interval, a URL) is an ``InputError``."""
    path = Path(path)
    documents = read_catalogue(path)
    pages: dict[tuple[str, str], int] = {}
    for document in documents:
        key = (document.company, document.doc_type)
        pages[key] = pages.get(key, 0) + 1
    planned = []
    for document in documents:
        doc_type = _doc_type(document, pages[(document.company, document.doc_type)])
        planned.append(PlannedTarget(document, doc_type, _checked(path, document, doc_type, default_every)))
    return planned


def add_planned(store: Store, planned: list[PlannedTarget]) -> ImportReport:
    """Add checked targets (``plan_import``) that are not tracked yet, all in one transaction:
    if the store refuses one, none is added."""
    report = ImportReport()
    with store.transaction():
        for plan in planned:
            document, doc_type = plan.document, plan.doc_type
            for note in document.unsupported:
                report.warnings.append(f"{document.company} / {doc_type}: {note} is not supported")
            existing = store.target_id_with(document.url, doc_type)
            if existing is not None:
                report.skipped.append(f"{document.url} ({doc_type}) is already target {existing}")
                continue
            added = store.add_target(document.url, document.company, doc_type, document.select,
                                     document.remove, plan.every_seconds)
            store.update_row("targets", added["id"], {"render": document.render})
            report.added.append({**added, "render": document.render})
    return report


def import_targets(store: Store, path: Path, default_every: str | None = None) -> ImportReport:
    """Add every target of a catalogue to the store (see module docstring); all or nothing."""
    return add_planned(store, plan_import(path, default_every))


def dump_targets(store: Store) -> str:
    """Every target as a YAML catalogue that ``import_targets`` reads back."""
    entries = []
    for target in store.list_targets():
        entry = {"company": target["company"], "url": target["url"], "type": target["doc_type"]}
        for key in ("select", "remove"):
            if target[key]:
                entry[key] = target[key]
        if target.get("render", "plain") != "plain":
            entry["render"] = target["render"]
        entries.append(entry)
    return yaml.safe_dump({"targets": entries}, sort_keys=False, allow_unicode=True)

