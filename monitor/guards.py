"""Capture guards: pages that must never become a version.

Each guard has a short ``kind`` stored on the capture (``captures.guard``) and in the target's
``last_error`` (shown by ``policywatch target list``): ``bot-wall``, ``error-page``, ``login``,
``shrunk``, ``no-match``, ``empty``, ``language``, ``too-large``, ``binary``, ``unstable``.
A guarded capture is recorded as an error, so a target that keeps hitting one goes to
``broken`` and comes back to ``ok`` on its next good capture.
"""

import re
from urllib.parse import urlsplit

from .errors import ExtractionError

# A new text shorter than this share of the previous version is held back as "shrunk".
DEFAULT_MAX_SHRINK = 0.5
# Walls and error pages are short; a real policy that merely mentions "captcha" is not.
SHORT_PAGE_WORDS = 400
# A bare captcha widget (no vendor challenge markup) counts only on a page this short.
CAPTCHA_PAGE_WORDS = 120

_CHALLENGE_TITLES = re.compile(
    r"just a moment|attention required|access denied|pardon our interruption|are you a robot|"
    r"security check|verify(?:ing)? you are (?:a )?human|request unsuccessful|bot detection|"
    r"ddos protection|please wait while we verify|one more step", re.IGNORECASE)
# Markers of the big bot-management vendors in the raw markup.
_CHALLENGE_MARKERS = re.compile(
    r"cf-browser-verification|cf_chl_|/cdn-cgi/challenge-platform|challenges\.cloudflare\.com|"
    r"captcha-delivery\.com|geo\.captcha-delivery|_incapsula_resource|incapsula incident id|"
    r"px-captcha|_pxhd|arkoselabs|funcaptcha|awswaf|distil_r_captcha", re.IGNORECASE)
_CAPTCHA_MARKERS = re.compile(r"g-recaptcha|h-captcha|hcaptcha\.com|captcha", re.IGNORECASE)
_ERROR_TITLES = re.compile(
    r"\b(?:404|410|500|502|503)\b|page not found|not found|page (?:does not|doesn't) exist|"
    r"something went wrong|an error (?:has )?occurred|internal server error|service unavailable|"
    r"temporarily unavailable|under maintenance|no longer available", re.IGNORECASE)
_LOGIN_PATH = re.compile(r"/(?:log-?in|sign-?in|signon|auth|sso|oauth2?|account/login|session)(?:/|$|\?)",
                         re.IGNORECASE)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")
_PASSWORD = re.compile(r"<input[^>]+type=[\"']?password", re.IGNORECASE)


class GuardError(ExtractionError):
    """A capture that a guard held back.

    ``guard`` names the guard (stored in ``captures.guard``); ``kind`` is the capture's error
    kind: ``extraction`` when the body yields no text at all (the established contract),
    ``guard`` for a page that has text but must not become a version.
    """

    def __init__(self, guard: str, message: str, kind: str = "guard"):
        super().__init__(f"{guard}: {message}" if kind == "guard" else message)
        self.guard = guard
        self.kind = kind


def _heading_text(html: str) -> str:
    found = [_TAGS.sub(" ", m.group(1)) for pattern in (_TITLE, _H1) for m in [pattern.search(html)] if m]
    return " ".join(" ".join(found).split())[:300]


def check_page(html: str, text: str, *, url: str = "", final_url: str = "") -> None:
    """Raise ``GuardError`` for a bot wall, an error page or a login page served with 200.

    ``html`` is the decoded raw page (its head is enough), ``text`` the extracted text.
    """
    words = len(text.split())
    heading = _heading_text(html[:200_000])
    if words < SHORT_PAGE_WORDS:
        head = html[:200_000]
        if _CHALLENGE_TITLES.search(heading) or _CHALLENGE_MARKERS.search(head) or (
                words < CAPTCHA_PAGE_WORDS and _CAPTCHA_MARKERS.search(head)):
            raise GuardError("bot-wall", f"a bot wall or challenge page ({heading or 'no title'!r})")
        if _ERROR_TITLES.search(heading):
            raise GuardError("error-page", f"an error page served with success ({heading!r})")
    if final_url and url and _LOGIN_PATH.search(urlsplit(final_url).path + "?") \
            and not _LOGIN_PATH.search(urlsplit(url).path + "?"):
        raise GuardError("login", f"redirected to a login page ({final_url})")
    if words < SHORT_PAGE_WORDS and _PASSWORD.search(html[:200_000]):
        raise GuardError("login", "a login form instead of the document")


def check_shrink(previous: str | None, text: str, max_shrink: float = DEFAULT_MAX_SHRINK) -> None:
    """Raise ``GuardError('shrunk')`` if ``text`` lost more than ``max_shrink`` of ``previous``."""
    if not previous or max_shrink >= 1:
        return
    if len(text) < (1 - max_shrink) * len(previous):
        raise GuardError("shrunk", f"the text shrank from {len(previous)} to {len(text)} characters "
                                   f"(more than {max_shrink:.0%}); held back until confirmed")


def language(text: str) -> str | None:
    """The language of a text (ISO 639-1), or None when too short or unknown."""
    sample = " ".join(text.split())[:3000]
    if len(sample) < 200:
        return None
    from langdetect import DetectorFactory, LangDetectException, detect
    DetectorFactory.seed = 0  # langdetect is random by default; a guard must be deterministic
    try:
        return detect(sample)
    except LangDetectException:
        return None


def check_language(previous: str | None, text: str) -> None:
    """Raise ``GuardError('language')`` if the text is in another language than the last version."""
    if not previous:
        return
    before, after = language(previous), language(text)
    if before and after and before != after:
        raise GuardError("language", f"the page switched language from {before} to {after}")
