"""Vetting an extraction before it may become a version: guards and the confirmation refetch.

``record_capture`` calls ``vet`` with each successful extraction. It raises ``GuardError`` for
a page that must not become a version (``monitor.extract.guards``), and settles a changed text against
its confirmation fetch (``Capture.confirmation``, fetched by the crawler when
``preview`` says so): two fetches that disagree are ``unstable``, and when one of
them still shows the current version, nothing changed.
"""

from monitor.errors import ExtractionError
from monitor.extract import (
    DEFAULT_MAX_SHRINK,
    Extraction,
    GuardError,
    check_language,
    check_page,
    check_shrink,
    comparable_text,
    decode,
    extract,
    extraction_key,
    known_text,
    sniff_kind,
)
from monitor.record.capture import Prepared
from monitor.store import Store, sha256_hex

# A shrink or language switch seen on this many captures in a row is real, not a glitch.
ACCEPT_AFTER_REPEATS = 3


def extract_for(target: dict, body: bytes, content_type: str | None, url: str,
                cleaned_tree=None) -> Extraction:
    """Extract a body with a target's selectors (from its cleaned tree when one is at hand)."""
    return extract(body, content_type, url=url, select=target["select"], remove=target["remove"],
                   cleaned_tree=cleaned_tree)


def preview(store: Store, target: dict, body: bytes, content_type: str | None,
            url: str) -> tuple[bool, Prepared]:
    """Whether this body would change the target's text, and what was worked out to tell (the
    extraction, when one was needed, and what was known about the body): ``record_capture``
    re-uses it instead of looking and extracting again."""
    latest = store.latest_version_key(target["id"])
    if latest is None or not body:
        return False, Prepared()
    known = known_text(store, target, body, content_type, url, extraction_key(target))
    if known.compare_sha256 is not None:
        return known.compare_sha256 != latest["compare_sha256"], Prepared(known=known)  # nothing to extract
    try:
        extraction = extract_for(target, body, content_type, url, known.cleaned_tree())
    except ExtractionError:
        return False, Prepared(known=known)
    changed = sha256_hex(comparable_text(extraction.text)) != latest["compare_sha256"]
    return changed, Prepared(extraction, known)


def _repeated_guard(store: Store, target_id: int, kind: str) -> bool:
    guards = store.recent_guards(target_id, ACCEPT_AFTER_REPEATS - 1)
    return len(guards) == ACCEPT_AFTER_REPEATS - 1 and all(guard == kind for guard in guards)


def vet(store: Store, target: dict, capture, extraction: Extraction,
        max_shrink: float = DEFAULT_MAX_SHRINK) -> Extraction:
    """The extraction to record for a capture, or ``GuardError`` (see module docstring)."""
    body, url = capture.body or b"", capture.final_url or capture.url
    if sniff_kind(body, capture.content_type) == "html":
        check_page(decode(body[:400_000], capture.content_type), extraction.text,
                   url=capture.url, final_url=capture.final_url or "")
    latest = store.latest_version(target["id"])
    if latest is None:
        return extraction
    compare_sha256 = sha256_hex(comparable_text(extraction.text))
    if compare_sha256 == latest["compare_sha256"]:
        return extraction
    if capture.confirmation is not None:
        try:
            confirmation = extract_for(target, capture.confirmation.usable_body, capture.content_type, url)
        except ExtractionError:
            confirmation = None
        confirm_sha256 = confirmation and sha256_hex(comparable_text(confirmation.text))
        if confirm_sha256 == latest["compare_sha256"]:
            return confirmation  # the change did not survive a refetch: a blink
        if confirm_sha256 != compare_sha256:
            raise GuardError("unstable", "the refetch to confirm a change gave a different text")
    if not store.earlier_version_with(target["id"], compare_sha256):
        if not _repeated_guard(store, target["id"], "shrunk"):
            check_shrink(latest["text"], extraction.text, max_shrink)
        if not _repeated_guard(store, target["id"], "language"):
            check_language(latest["text"], extraction.text)
    return extraction


def extracts_nothing(target: dict, body: bytes, content_type: str | None, url: str) -> bool:
    """True when a body yields no policy text (empty, or the selectors match nothing):
    the crawler then tries the page again through a browser."""
    try:
        extract_for(target, body, content_type, url)
    except GuardError as error:
        return error.guard in ("no-match", "empty")
    except ExtractionError:
        return False
    return False
