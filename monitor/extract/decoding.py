"""Bytes → text: honour the declared charset, catch mislabelled ones, never raise.

Order, as a browser does: BOM, HTTP ``charset``, ``<meta charset>``; with none declared, strict
UTF-8, else a guess by charset-normalizer. A declared charset is used unless its decoding looks
wrong, by one general check (``_looks_wrong``):

- the body is valid UTF-8 with multibyte sequences but labelled something else (UTF-8 served as
  Windows-1252 or Windows-1251: every letter turns into two, "Ã©", "РџР"). Real text in
  another charset is practically never valid UTF-8;
- the decoding has U+FFFD in more than 0.1 % of its characters (a Windows-1252 body labelled
  UTF-8, Shift_JIS or EUC-KR), or charset-normalizer's mess ratio of it is high (Latin text
  read as Shift_JIS: scattered kanji; Windows-1251 read as Windows-1252: "Ïîëèòèêà"), and
  charset-normalizer decodes the body with a clearly lower mess ratio another way.

Correct labels stay: their decoding has neither U+FFFD nor mess.
"""

import gzip
import zlib

from charset_normalizer import from_bytes
from charset_normalizer.md import mess_ratio
from w3lib.encoding import html_body_declared_encoding, html_to_unicode, http_content_type_encoding

from monitor.errors import ExtractionError
from monitor.extract.guards import GuardError

_SINGLE_BYTE = {"latin-1", "latin1", "iso-8859-1", "iso8859-1", "cp1252", "windows-1252", "ascii",
                "us-ascii", "iso-8859-15", "l1"}
# More than this share of U+FFFD in a decoded text means the label was wrong.
_REPLACEMENT_SHARE = 0.001
# A declared decoding with a charset-normalizer mess ratio above this is suspect; another
# decoding replaces it only if its own mess ratio is lower by at least _MESS_MARGIN.
_MESS_SUSPECT = 0.15
_MESS_MARGIN = 0.1
_MESS_SAMPLE = 100_000  # characters of the text the mess ratio is measured on
GZIP_MAGIC = b"\x1f\x8b"
# A compressed file body is inflated up to this many bytes; more is a "bomb", not a policy.
MAX_INFLATED_BYTES = 20 * 1024 * 1024


def _guess(body: bytes) -> str | None:
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
    if max(body, default=0) < 0x80 or _same(encoding, "utf-8") and "\ufffd" not in text:
        return text  # ASCII reads the same in any label; valid UTF-8 labelled UTF-8 is right
    if not _same(encoding, "utf-8") and not encoding.lower().startswith("utf-16"):
        utf8 = _strict_utf8(body)
        if utf8 is not None:  # multibyte sequences that are valid UTF-8 are no accident
            return utf8.removeprefix("\ufeff")
    replaced = bool(text) and text.count("\ufffd") / len(text) > _REPLACEMENT_SHARE
    mess = _mess(text)
    if replaced or mess > _MESS_SUSPECT:
        better = _better_decoding(body, encoding, mess, replaced)
        if better is not None:
            return better
    return text


def _same(one: str, other: str) -> bool:
    return one.lower().replace("_", "-") == other.lower().replace("_", "-")


def _mess(text: str) -> float:
    return mess_ratio(text[:_MESS_SAMPLE], 1.0)


def _better_decoding(body: bytes, encoding: str, mess: float, replaced: bool) -> str | None:
    """charset-normalizer's decoding of ``body`` if it differs from ``encoding`` and reads better."""
    best = from_bytes(body[:262_144]).best()
    if best is None or _same(best.encoding, encoding):
        return None
    text = body.decode(best.encoding, errors="replace")
    if "\ufffd" in text or (not replaced and _mess(text) + _MESS_MARGIN > mess):
        return None
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
