"""Open Terms Archive declarations: ``declarations/<Service>.json`` → policywatch targets.

A declaration names a service and, under ``terms`` (``documents`` in older files), one object
per document type::

    {"name": "Bumble", "terms": {"Privacy Policy": {"fetch": URL, "select": CSS,
                                                    "remove": CSS, "executeClientScripts": true}}}

or, for a document spread over several pages, ``{"combine": [{"fetch": …, "select": …}, …]}``
with shared ``select``/``remove`` beside it. ``select`` and ``remove`` are a CSS selector, a
range selector (``startBefore``…``endAfter``) or a list of either. OTA's named JavaScript
``filter`` functions cannot run here; they are reported, not applied.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

from monitor.errors import InputError


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


@dataclass
class DeclaredDocument:
    """One page of one document type of a service, ready to become a target."""

    company: str
    doc_type: str
    url: str
    select: list = field(default_factory=list)
    remove: list = field(default_factory=list)
    render: str = "plain"  # plain | js
    part: int = 0  # index within a multi-page ``combine``
    every: str | None = None  # fetch interval (``1d``); None: the default
    unsupported: list[str] = field(default_factory=list)


def extraction_options(terms: dict) -> dict:
    """``select``/``remove`` keyword arguments for ``extract`` from one OTA terms (or page) object."""
    return {"select": _as_list(terms.get("select")), "remove": _as_list(terms.get("remove"))}


def documents_from_terms(company: str, doc_type: str, terms: dict) -> list[DeclaredDocument]:
    """The pages of one OTA terms object (one, or several for ``combine``)."""
    unsupported = [f"filter {name if isinstance(name, str) else json.dumps(name)}"
                   for name in _as_list(terms.get("filter"))]
    render = "js" if terms.get("executeClientScripts") else "plain"
    pages = terms.get("combine") or [terms]
    documents = []
    for index, page in enumerate(pages):
        url = page.get("fetch") or terms.get("fetch")
        if not url:
            raise InputError(f"{company} / {doc_type}: a terms object without 'fetch'")
        documents.append(DeclaredDocument(
            company=company, doc_type=doc_type, url=url,
            select=_as_list(page.get("select", terms.get("select"))),
            remove=_as_list(terms.get("remove")) + (_as_list(page.get("remove")) if page is not terms else []),
            render="js" if page.get("executeClientScripts") else render,
            part=index, unsupported=unsupported))
    return documents


def _terms_of(data) -> dict | None:
    """The type → terms mapping of a declaration (``terms``; older files say ``documents``)."""
    if not isinstance(data, dict):
        return None
    for key in ("terms", "documents"):
        if isinstance(data.get(key), dict):
            return data[key]
    return None


def read_declaration(path: Path) -> list[DeclaredDocument]:
    """Every document of one OTA service declaration file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"cannot read OTA declaration {path}: {error}") from error
    terms_by_type = _terms_of(data)
    if terms_by_type is None:
        raise InputError(f"{path} is not an OTA declaration (no 'terms' or 'documents' object)")
    company = data.get("name") or path.stem
    documents = []
    for doc_type, terms in terms_by_type.items():
        if not isinstance(terms, dict):
            raise InputError(f"{path}: terms {doc_type!r} is not an object")
        documents.extend(documents_from_terms(company, doc_type, terms))
    return documents


def is_terms_object(data) -> bool:
    """True for an OTA terms object: a ``fetch`` URL, or a non-empty ``combine`` list of pages
    that each have one (or share the object's)."""
    if not isinstance(data, dict):
        return False
    pages = data.get("combine")
    if pages is not None:
        return (isinstance(pages, list) and bool(pages) and all(isinstance(p, dict) for p in pages)
                and all(isinstance(p.get("fetch") or data.get("fetch"), str) for p in pages))
    return isinstance(data.get("fetch"), str) and bool(data["fetch"].strip())


def read_terms_object(path: Path) -> dict:
    """An OTA terms object (``fetch``/``select``/``remove``) from a file, for ``extract --declaration``.

    A whole service declaration is accepted too when it declares exactly one document type.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"cannot read declaration {path}: {error}") from error
    terms_by_type = _terms_of(data)
    if terms_by_type is not None:
        if len(terms_by_type) != 1:
            raise InputError(f"{path} declares {len(terms_by_type)} document types; "
                             "pass one terms object")
        data = next(iter(terms_by_type.values()))
    # Any JSON object would otherwise pass (a package.json, a label.json) and extract with
    # no selector at all, as if the declaration said so.
    if not is_terms_object(data):
        raise InputError(f"{path} is not an Open Terms Archive declaration: expected a service "
                         "declaration ({\"name\", \"terms\": {…}}) or a terms object with 'fetch' or 'combine'")
    if "combine" in data:
        first = data["combine"][0]
        data = {**data, **first, "select": first.get("select", data.get("select"))}
    return data
