"""History-level judgment: a new version is judged against the target's history, not only
against the previous version.

``judge`` is what ``record_capture`` calls for every new version that is not an exact return
(monitor/record/recording.py): the live crawl and every backfill go through it alike. On top of the
pairwise comparison (``monitor.compare.comparison``) it applies three mechanisms, each only when the
pairwise verdict is not already ``noise`` (so an ordinary change costs nothing more):

1. **Near-returns.** A version that returns to an earlier text of the target, differing only by
   noise, is noise (``near-return-to-version:N``). The earlier texts closest in sentences are
   compared in full (at most ``NEAR_RETURN_CANDIDATES``, among the last ``HISTORY_VERSIONS``).
2. **Known variants.** Regional or A/B variants of a page alternate: a sentence is there on some
   days and not on others. A changed sentence whose new state was already seen on this page
   within ``window_days`` before the new version — an added sentence that a recent version had,
   a removed one that a recent version lacked — is not news (``variant-seen:N``); only the
   sentences never seen in that window are classified. So a page flipping between known
   variants alerts once, when a variant first appears, and a sentence that comes back after
   the window is judged like any new sentence (the subscriber has not seen it for that long).
3. **Unavailable sections.** An error, geo-block or bot-wall message ("not available in your
   location", "access denied", "page not found") that replaces content is noise
   (``unavailable-message``), and so is the content it displaced in its section
   (``unavailable-section``); when the message goes and the content comes back, sentences this
   page had before are not news either.

The live crawl and every backfill record through ``record_capture`` and so read the same
settings (``current()``). ``using(overrides)`` changes them for one block (the history
evaluation replays histories under each setting of its tuning grid); nothing else overrides
them. ``TUNED`` names the settings chosen from data, with the grid ``policywatch eval --folds``
searches; a setting not in it is a fixed constant.
"""

import contextlib
import contextvars
import copy
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timedelta
from functools import lru_cache

from rapidfuzz import fuzz, process

from monitor.compare.classify import Assessment, get_classifier
from monitor.compare.diff import sentence_hunks, stats, word_diff
from monitor.compare.sections import parse, sentence_key
from monitor.timeutil import iso

# How many earlier versions (newest first) the mechanisms look at: bounds the work per change.
HISTORY_VERSIONS = 40
NEAR_RETURN_CANDIDATES = 3
# Messages a site shows instead of content: short, so only short sentences are tested.
UNAVAILABLE_WORDS = 30
_UNAVAILABLE = re.compile(
    r"\b(?:not|isn[’']t|is not|no longer) (?:currently )?available (?:in|from|for) your "
    r"(?:country|region|location|area|jurisdiction)|unavailable in your (?:country|region|location|area)|"
    r"(?:not|isn[’']t) available (?:at the moment|right now)|\baccess (?:is )?denied\b|"
    r"\bpage (?:was )?not found\b|\b(?:error )?404\b|could not be found|does not exist|"
    r"something went wrong|an error (?:has )?occurred|(?:content|page) failed to load|"
    r"temporarily unavailable|service unavailable|please (?:enable|turn on) javascript|"
    r"verify (?:that )?you are (?:a )?human|are you a robot|checking your browser|"
    r"request (?:was )?blocked|you (?:have been|are) blocked|too many requests|please try again later",
    re.IGNORECASE)


@dataclass(frozen=True)
class HistorySettings:
    """Knobs of the history-level mechanisms."""

    # Known variants: a sentence state seen within this many days before the new version is
    # not news (0 turns the mechanism off).
    window_days: float = 30.0
    # Known variants: a removed sentence is a known state only if it already came and went
    # (False: a recent version lacking it is enough, so removing a sentence added within the
    # window is not news either).
    removal_needs_flip: bool = True


DEFAULTS = HistorySettings()
# Setting name -> values ``eval --folds`` chooses from (the default first).
TUNED: dict[str, list] = {"window_days": [30.0, 0.0, 7.0, 90.0],
                          "removal_needs_flip": [True, False]}

_current: contextvars.ContextVar[HistorySettings] = contextvars.ContextVar("history_settings",
                                                                          default=DEFAULTS)


def settings() -> HistorySettings:
    """The settings in force."""
    return _current.get()


def current(overrides: dict | None = None) -> dict:
    """The settings in force with ``overrides`` applied, as a dict."""
    return asdict(replace(settings(), **(overrides or {})))


@contextlib.contextmanager
def using(overrides: dict | None = None) -> Iterator[HistorySettings]:
    """Apply ``overrides`` (setting name -> value) inside the block."""
    known = {f.name for f in fields(HistorySettings)}
    unknown = set(overrides or {}) - known
    if unknown:
        raise ValueError(f"unknown history settings: {', '.join(sorted(unknown))}")
    token = _current.set(replace(settings(), **(overrides or {})))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def tuning_grid() -> list[dict]:
    """Every combination of the tuned settings' values (the defaults first)."""
    grid: list[dict] = [{}]
    for name, values in TUNED.items():
        grid = [{**setting, name: value} for setting in grid for value in values]
    return grid


def is_unavailable_message(sentence: str) -> bool:
    """True for an error, geo-block or bot-wall message standing where content should be."""
    return len(sentence.split()) <= UNAVAILABLE_WORDS and bool(_UNAVAILABLE.search(sentence))


@lru_cache(maxsize=128)
def _keys(text: str) -> frozenset[str]:
    return frozenset(s.key for s in parse(text))


# A sentence counts as absent from a section only if nothing in it is this similar (an edited
# form of a sentence is the same sentence, present).
ABSENT_BELOW = 80


@lru_cache(maxsize=128)
def _placed(text: str) -> dict[str, tuple[str, ...]]:
    """Sentence keys by section: a variant shows or hides a sentence in its place."""
    found: dict[str, list[str]] = {}
    for sentence in parse(text):
        found.setdefault(sentence.section, []).append(sentence.key)
    return {section: tuple(keys) for section, keys in found.items()}


def _has(text: str, section: str, key: str, times: int = 1) -> bool:
    """``key`` is in ``section`` at least ``times`` times (boilerplate repeats in a section)."""
    return _placed(text).get(section, ()).count(key) >= times


def _lacks(text: str, section: str, key: str) -> bool:
    keys = _placed(text).get(section)
    return keys is None or process.extractOne(key, keys, scorer=fuzz.ratio,
                                              score_cutoff=ABSENT_BELOW) is None


def _earlier(store, target_id: int, latest: dict) -> list[dict]:
    """Versions before ``latest`` (newest first) with ``until``: when the next one replaced them."""
    rows = store.versions_up_to(target_id, latest["id"], HISTORY_VERSIONS + 1)
    for newer, row in zip(rows, rows[1:]):
        row["until"] = newer["first_seen_at"]
    return rows[1:]


@lru_cache(maxsize=64)
def _pairwise(old_text: str, new_text: str, classifier: str) -> tuple[list[dict], Assessment, dict]:
    """Hunks, verdict and stats of two texts (cached: a change is judged against several)."""
    found, _ = sentence_hunks(old_text, new_text)
    return found, get_classifier(classifier)(old_text, new_text, found), stats(word_diff(old_text, new_text))


def _near_return(earlier: list[dict], window: list[dict], new_text: str, new_keys: frozenset,
                 prev_keys: frozenset, classifier: str) -> tuple[dict, Assessment] | None:
    """An earlier text the new one returns to: ``(version, assessment against it)``, or None.

    Any earlier text counts when only noise tells them apart; one inside the variants' window
    also when the difference is editorial (a variant seen days ago, plus a wording edit).
    """
    distance_to_previous = len(new_keys ^ prev_keys)
    ranked = sorted((len(new_keys ^ _keys(v["text"])), -v["id"], v) for v in earlier)
    for distance, _, version in ranked[:NEAR_RETURN_CANDIDATES]:
        if distance >= distance_to_previous:
            break  # no closer to this one than to the previous version: not a return
        _, assessment, _ = _pairwise(version["text"], new_text, classifier)
        if assessment.klass == "noise" or (assessment.klass == "editorial" and version["in_window"]
                                           and all(_wording_only(h) for h in assessment.hunks)):
            return version, assessment
    return None


def _wording_only(hunk: dict) -> bool:
    """A heading, a table-of-contents entry or an edit inside a sentence, not a whole sentence
    added or removed (which may state a practice whatever its verdict)."""
    return hunk.get("class") == "noise" or hunk.get("heading") or hunk["op"] == "replace"


def _window(earlier: list[dict], seen_at: str, days: float) -> list[dict]:
    """The earlier versions still on the page within ``days`` before ``seen_at`` (each gets
    ``in_window``)."""
    start = iso(datetime.fromisoformat(seen_at.replace("Z", "+00:00")) - timedelta(days=days))
    for version in earlier:
        version["in_window"] = days > 0 and version["until"] >= start
    return [v for v in earlier if v["in_window"]]


def _sorted_hunks(found: list[dict], window: list[dict], earlier: list[dict],
                  new_keys: frozenset, new_text: str, prev_text: str) -> tuple[list, list]:
    """``(novel, known)``: the hunks to classify, and those explained by the history."""
    unavailable_sections = {h["section"] for h in found
                            if h["op"] != "delete" and is_unavailable_message(h["new_sentence"])}
    restored_sections = {h["section"] for h in found
                         if h["op"] != "insert" and is_unavailable_message(h["old_sentence"])
                         and sentence_key(h["old_sentence"]) not in new_keys}
    novel, known = [], []
    for hunk in found:
        section = hunk["section"]
        new_key = sentence_key(hunk["new_sentence"]) if hunk["op"] != "delete" else None
        old_key = sentence_key(hunk["old_sentence"]) if hunk["op"] != "insert" else None
        reason = None
        if (new_key is not None and is_unavailable_message(hunk["new_sentence"])) or (
                old_key is not None and is_unavailable_message(hunk["old_sentence"])):
            reason = "unavailable-message"
        elif section in unavailable_sections and hunk["op"] == "delete":
            reason = "unavailable-section"
        elif section in restored_sections and new_key is not None and any(
                _has(v["text"], section, new_key) for v in earlier):
            reason = "unavailable-section"
        elif new_key is not None:
            # An added or rewritten sentence the page already showed in this place (as often).
            times = max(1, _placed(new_text).get(section, ()).count(new_key))
            seen = next((v for v in window if _has(v["text"], section, new_key, times)), None)
            reason = seen and f"variant-seen:{seen['id']}"
        elif _placed(prev_text).get(section, ()).count(old_key) > 1:
            pass  # one of several copies removed: which one came and went cannot be told
        else:
            # A removed sentence that already came and went: a recent version lacked it although
            # an older one had it. (Only lacking it is not enough: a sentence added last week and
            # removed today is a change.)
            flip = settings().removal_needs_flip
            for position, version in enumerate(earlier):
                if version["in_window"] and _lacks(version["text"], section, old_key) and (not flip or any(
                        not _lacks(older["text"], section, old_key) for older in earlier[position + 1:])):
                    reason = f"variant-seen:{version['id']}"
                    break
        if reason:
            known.append({**hunk, "class": "noise", "topics": [], "severity": 0, "direction": "none",
                          "rule": reason})
        else:
            novel.append(hunk)
    return novel, known


def judge(store, target_id: int, latest: dict, new_text: str, seen_at: str,
          classifier: str) -> tuple[Assessment, dict]:
    """``(assessment, stats)`` of a new version against ``latest`` and the history before it."""
    found, assessment, counts = _pairwise(latest["text"], new_text, classifier)
    assessment = copy.deepcopy(assessment)  # the cached one stays as it was
    if assessment.klass == "noise":
        return assessment, counts
    earlier = _earlier(store, target_id, latest)
    new_keys, prev_keys = _keys(new_text), _keys(latest["text"])
    window = _window(earlier, seen_at, settings().window_days)
    returned = _near_return(earlier, window, new_text, new_keys, prev_keys, classifier)
    if returned is not None:
        version, against = returned
        rule = f"near-return-to-version:{version['id']}"
        hunks = [{**h, "class": "noise", "topics": [], "severity": 0, "direction": "none",
                  "rule": rule} for h in found]
        # What still differs from the earlier text decides between noise and editorial.
        return Assessment(against.klass, 0, [], "none", [
            {"sentence": "", "side": "new", "topics": [], "rule": rule}, *copy.deepcopy(against.evidence)],
            hunks, assessment.classifier), counts
    novel, known = _sorted_hunks(found, window, earlier, new_keys, new_text, latest["text"])
    if known:
        assessment = get_classifier(classifier)(latest["text"], new_text, novel)
        assessment.hunks += known
        assessment.evidence += [{"sentence": h["new_sentence"] or h["old_sentence"],
                                 "side": "old" if h["op"] == "delete" else "new", "topics": [],
                                 "rule": h["rule"], "section": h.get("section", "")} for h in known]
    return assessment, counts
