"""PDF policies: text with pypdf, reflowed so that line breaks and page breaks are not changes.

A PDF has no paragraphs, only positioned lines; the same policy re-exported with another page
size or font breaks its lines and pages elsewhere. We join lines into paragraphs (only a blank
line or a list marker starts a new one: both survive a reflow, a short last line does not),
across page breaks, and drop page-number lines and hyphenation at line ends, so only the words
decide whether two PDFs differ.
"""

import io
import logging
import re

from monitor.errors import ExtractionError

PDF_MAGIC = b"%PDF-"
_PAGE_NUMBER = re.compile(r"^\s*(?:page\s+)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?\s*$", re.IGNORECASE)
_BULLET = re.compile(r"^\s*(?:[-•●▪◦*]|\d{1,3}[.)]|\(?[a-z]\))\s+")


def is_pdf(body: bytes, content_type: str | None) -> bool:
    """True for a PDF body (by magic bytes or content type)."""
    mime = (content_type or "").split(";")[0].strip().lower()
    return body[:1024].lstrip().startswith(PDF_MAGIC) or mime == "application/pdf"


def pdf_text(body: bytes) -> str:
    """Reflowed text of a PDF; ``ExtractionError`` if it cannot be read or holds no text."""
    # pypdf costs 0.3 s to import; only PDF bodies need it
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # warns on every slightly broken PDF
    try:
        reader = PdfReader(io.BytesIO(body))
        if reader.is_encrypted:
            reader.decrypt("")
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, RecursionError) as error:
        raise ExtractionError(f"PDF cannot be read: {type(error).__name__}: {error}") from error
    return reflow("\n".join(pages))


def reflow(text: str) -> str:
    """Join a PDF's broken lines into paragraphs (see module docstring)."""
    paragraphs: list[str] = []
    current: list[str] = []

    def flush():
        if current:
            paragraphs.append(" ".join(current))
            current.clear()

    for raw in text.splitlines():
        line = " ".join(raw.split())
        if not line:
            flush()
            continue
        if _PAGE_NUMBER.match(line):
            continue
        if _BULLET.match(line):
            flush()
        if current and current[-1].endswith("-") and line[:1].islower():
            current[-1] = current[-1][:-1] + line  # a word hyphenated across a line break
        else:
            current.append(line)
    flush()
    return "\n\n".join(paragraphs)
