"""Capture guards: pages that must never become a version.

Each guard has a short ``kind`` stored on the capture (``captures.guard``) and in the target's
``last_error`` (shown by ``policywatch target list``): ``bot-wall``, ``error-page``, ``login``,
``shrunk``, ``no-match``, ``empty``, ``language``, ``too-large``, ``binary``, ``unstable``.
A guarded capture is recorded as an error, so a target that keeps hitting one goes to
``broken`` and comes back to ``ok`` on its next good capture.
"""

import re
from urllib.parse import urlsplit

from monitor.errors import ExtractionError
from monitor.extract.language import UNKNOWN, language

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
# A bare status code counts only where error pages put it: leading the title or heading, or
# beside "error" ("404 - Not Found", "Error 503"); "Policy 404" is a document's own title.
_ERROR_TITLES = re.compile(
    r"^\W*(?:404|410|500|502|503)\b|\berror\W{0,3}(?:404|410|500|502|503)\b|"
    r"\b(?:404|410|500|502|503)\W{0,3}error\b|page not found|not found|page (?:does not|doesn't) exist|"
    r"something went wrong|an error (?:has )?occurred|internal server error|service unavailable|"
    r"temporarily unavailable|under maintenance|no longer available", re.IGNORECASE)
_LOGIN_PATH = re.compile(r"/(?:log-?in|sign-?in|signon|auth|sso|oauth2?|account/login|session)(?:/|$|\?)",
                         re.IGNORECASE)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")
_PASSWORD = re.compile(r"<input[^>]+type=[\"']?password", re.IGNORECASE)


# Characters no readable document is made of: the replacement character, controls, private use.
_UNREADABLE = re.compile(r"[\ufffd\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ue000-\uf8ff]")
# A word of any script (letters, with inner apostrophes, hyphens or dots), or a number.
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019.\-][^\W\d_]+)*|\d[\d.,:/%\-]*")
_EDGE_PUNCTUATION = re.compile(r"^[\W_]+|[\W_]+$")
UNREADABLE_SHARE = 0.05
# Prose in the corpus (many languages): ≥ 0.95 of its tokens are words; random bytes read as
# Latin-1: ~0.2. Judged only on texts long enough for a share to mean something.
MIN_WORD_SHARE = 0.5
MIN_TOKENS = 30


def unreadable(text: str) -> str | None:
    """Why ``text`` is not language (random or binary bytes decoded as text), or None.

    Two signs, both independent of the language and script: more than 5% of its characters are
    replacement characters, controls or private-use code points (a decoder met bytes no charset
    explains); or fewer than half of its whitespace-separated tokens, stripped of punctuation at
    their ends, are words or numbers (letters of any script, Chinese included, count)."""
    sample = text[:200_000]
    if not sample.strip():
        return None
    bad = len(_UNREADABLE.findall(sample))
    if bad > UNREADABLE_SHARE * len(sample):
        return f"{bad / len(sample):.0%} of its characters are undecodable or control characters"
    tokens = sample.split()
    if len(tokens) < MIN_TOKENS:
        return None
    words = sum(1 for token in tokens
                if not (core := _EDGE_PUNCTUATION.sub("", token)) or _WORD.fullmatch(core))
    if words < MIN_WORD_SHARE * len(tokens):
        return f"only {words / len(tokens):.0%} of its tokens are words"
    return None


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


def _headings(html: str) -> list[str]:
    """The page's title and first h1, each as one line of text."""
    found = [_TAGS.sub(" ", m.group(1)) for pattern in (_TITLE, _H1) for m in [pattern.search(html)] if m]
    return [" ".join(text.split())[:300] for text in found]


def _heading_text(html: str) -> str:
    return " ".join(_headings(html))[:300]


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
        if any(_ERROR_TITLES.search(text) for text in _headings(head)):
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


def check_language(previous: str | None, text: str) -> None:
    """Raise ``GuardError('language')`` if the text is in another language than the last version."""
    if not previous:
        return
    # A whole page, not a sentence: 200 characters at least before guessing its language.
    before, after = language(previous, min_chars=200), language(text, min_chars=200)
    if UNKNOWN not in (before, after) and before != after:
        raise GuardError("language", f"the page switched language from {before} to {after}")
