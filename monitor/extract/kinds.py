"""The registry of body kinds: how a fetched body is recognised, and how it becomes Markdown.

A kind is a name, a test (``recognises(body, mime, name)``) and a converter
(``to_markdown(body, content_type, request)``). ``sniff`` asks the kinds in registration order
and answers with the first that recognises the body; what no kind recognises is read as plain
text unless it is binary or of another declared type (refused: a picture is not a policy).
Register a new kind with ``register_body_kind`` (docs/architecture.md, "How to add a body kind").
"""

from collections.abc import Callable
from dataclasses import dataclass

from monitor.extract.guards import GuardError

HTML_TYPES = ("text/html", "application/xhtml+xml")
TEXT_TYPES = ("text/plain", "text/markdown", "text/x-markdown")


@dataclass(frozen=True)
class Request:
    """What the caller asked of the extraction, for converters that need it (HTML does)."""

    url: str = ""
    select: tuple = ()
    remove: tuple = ()
    detector: str = ""


@dataclass(frozen=True)
class BodyKind:
    """One kind of body: its name, how to recognise it, how to turn it into Markdown."""

    name: str
    recognises: Callable[[bytes, str, str], bool]  # (body, mime type or "", file name or "")
    to_markdown: Callable[[bytes, str | None, Request], str]


BODY_KINDS: list[BodyKind] = []


def register_body_kind(kind: BodyKind, *, before: str | None = None) -> BodyKind:
    """Add ``kind`` to the registry (last, or just before the kind named ``before``)."""
    names = [k.name for k in BODY_KINDS]
    if kind.name in names:
        raise ValueError(f"body kind {kind.name!r} is already registered")
    BODY_KINDS.insert(names.index(before) if before in names else len(BODY_KINDS), kind)
    return kind


def body_kind(name: str) -> BodyKind:
    """The registered kind called ``name``."""
    for kind in BODY_KINDS:
        if kind.name == name:
            return kind
    raise KeyError(name)


def sniff(body: bytes, content_type: str | None, name: str = "") -> BodyKind:
    """The kind of a body we can read; ``GuardError`` ("binary") for one we cannot."""
    mime = (content_type or "").split(";")[0].strip().lower()
    for kind in BODY_KINDS:
        if kind.recognises(body, mime, name):
            return kind
    if b"\x00" in body[:4096]:
        raise GuardError("binary", kind="extraction",
                         message=f"body is binary ({mime or 'unknown type'}), not a policy document")
    if mime and mime not in HTML_TYPES + TEXT_TYPES:
        raise GuardError("binary", kind="extraction", message=f"body is {mime}, not HTML, PDF or text")
    return body_kind("text")


def looks_like_html(body: bytes, mime: str, name: str) -> bool:
    """An HTML type, an HTML start, a ``<body`` in an untyped body, or an untyped ``.html`` file."""
    head = body[:1024].lstrip().lower()
    return (mime in HTML_TYPES or head.startswith((b"<!doctype html", b"<html", b"<?xml"))
            or (not mime and b"<body" in body[:65536].lower())
            or (not mime and name.lower().endswith((".html", ".htm", ".xhtml"))))


def looks_like_text(body: bytes, mime: str, name: str) -> bool:
    """A text or Markdown type, or an untyped ``.md``/``.txt`` file."""
    return mime in TEXT_TYPES or (not mime and name.lower().endswith((".md", ".markdown", ".txt")))
