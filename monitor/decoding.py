"""Bytes → text: honour the declared charset, catch mislabelled ones, never raise.

Order, as a browser does: BOM, HTTP ``charset``, ``<meta charset>``; with none declared, strict
UTF-8, else a guess by charset-normalizer. Two mislabellings are common enough to catch: UTF-8
served as Latin-1/Windows-1252 (every accented letter turns into two characters, "Ã©"), and
a Windows-1252 body labelled UTF-8 (every accented letter turns into U+FFFD).
"""

import gzip
import zlib

from w3lib.encoding import html_body_declared_encoding, html_to_unicode, http_content_type_encoding

from .errors import ExtractionError
from .guards import GuardError

_SINGLE_BYTE = {"latin-1", "latin1", "iso-8859-1", "iso8859-1", "cp1252", "windows-1252", "ascii",
                "us-ascii", "iso-8859-15", "l1"}
# More than this share of U+FFFD in a decoded text means the label was wrong.
_REPLACEMENT_SHARE = 0.001
GZIP_MAGIC = b"\x1f\x8b"
# A compressed file body is inflated up to this many bytes; more is a "bomb", not a policy.
MAX_INFLATED_BYTES = 20 * 1024 * 1024


def _guess(body: bytes) -> str | None:
    from charset_normalizer import from_bytes
    best = from_bytes(body[:262_144]).best()
    return best.encoding if best else None


def _strict_utf8(body: bytes) -> str | None:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def decode(body: bytes, content_type: str | None) -> str:
    """Decode a body to text (see module docstring); bad bytes become U+FFFD, never an error."""
    declared = http_content_type_encoding(content_type or "") or html_body_declared_encoding(body)
    if not declared:
        utf8 = _strict_utf8(body)
        if utf8 is not None:
            return utf8.removeprefix("\ufeff")
        _, text = html_to_unicode(content_type or "", body, auto_detect_fun=_guess)
        return text
    encoding, text = html_to_unicode(content_type or "", body)
    if (declared or "").lower() in _SINGLE_BYTE and max(body, default=0) >= 0x80:
        utf8 = _strict_utf8(body)
        if utf8 is not None:  # multibyte sequences that are valid UTF-8 are no accident
            return utf8.removeprefix("\ufeff")
    if text and text.count("\ufffd") / len(text) > _REPLACEMENT_SHARE:
        guessed = _guess(body)
        if guessed and guessed.lower().replace("_", "-") != encoding.lower().replace("_", "-"):
            return body.decode(guessed, errors="replace")
    return text


def inflate(body: bytes) -> bytes:
    """A gzip or zlib body inflated, refusing to grow past ``MAX_INFLATED_BYTES``."""
    wbits = 16 + zlib.MAX_WBITS if body.startswith(GZIP_MAGIC) else zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    try:
        data = inflater.decompress(body, MAX_INFLATED_BYTES + 1)
    except (zlib.error, gzip.BadGzipFile) as error:
        raise ExtractionError(f"compressed body is corrupt: {error}") from error
    if len(data) > MAX_INFLATED_BYTES or inflater.unconsumed_tail:
        raise GuardError("too-large", kind="extraction",
                         message=f"compressed body inflates past {MAX_INFLATED_BYTES} bytes (a bomb?)")
    return data
