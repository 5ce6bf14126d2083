"""A change in plain words: a one-line headline and up to five bullets, derived from its evidence.

Offline and deterministic: the summary is a function of the change's class, evidence and hunks
and of the phrasing in ``summary.yaml`` (keyed by rule id). One bullet per changed sentence, all
the rules that fired on it merged; bullets ordered by the sentence's severity, then by the
strength of its strongest rule (a removed negative commitment before a new practice before a
term), then document order. Each bullet is marked ``added``, ``removed`` or ``changed`` and
quotes the changed words, cut at a word boundary.

The summary is stored with the change (``changes.summary``, JSON) and re-derived when read if
the phrasing changed since (``version``); ``policywatch summaries rebuild``
(``monitor.record.summaries``) rewrites the stored ones. Quoted text is crawled text, kept plain here: every
surface escapes it for its medium.
"""

import hashlib
import json
import re
from functools import cache
from pathlib import Path

import yaml

from monitor.compare.classify import load_rules, places, topic_hits

_PHRASING = Path(__file__).with_name("summary.yaml")
CODE_REVISION = "1"  # bump when this module's logic changes what a summary says

_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKUP = re.compile(r"(\*\*|__|`|<[^>]{0,200}>)")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")
_SPACES = re.compile(r"\s+")
_FIELD = re.compile(r"\{(\w+)\}")
_EDGE_WORDS = set("and or our the a an with to of your its their including such as e.g. i.e. "
                  "also any all other this these that which who for by in on from".split())
_SMALL_WORDS = {"and", "of", "the", "or"}


@cache
def phrasing() -> dict:
    return yaml.safe_load(_PHRASING.read_text(encoding="utf-8"))


@cache
def version() -> str:
    """Changes when the phrasing or this module's logic does: stored summaries older than it are
    re-derived."""
    digest = hashlib.sha256(_PHRASING.read_bytes() + CODE_REVISION.encode()).hexdigest()
    return digest[:12]


def plain(text: str) -> str:
    """A sentence as a reader sees it: Markdown links, emphasis and escapes removed, one line."""
    text = _LINK.sub(r"\1", str(text or ""))
    text = _MARKUP.sub("", text)
    text = _ESCAPE.sub(r"\1", text)
    return _SPACES.sub(" ", text).strip()


def cut(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, cut at a word boundary with "…"."""
    text = _SPACES.sub(" ", str(text or "")).strip()
    if len(text) <= limit:
        return text
    head = text[: max(1, limit - 1)]
    if " " in head and not text[len(head)].isspace():
        head = head[: head.rfind(" ")]
    return head.rstrip(" ,;:-–—(…") + "…"


def _trim(words: str) -> str:
    """Changed words without the joining words and punctuation at their edges."""
    tokens = words.strip(" ,;:.").split()
    while tokens and tokens[0].casefold().strip(",;:") in _EDGE_WORDS:
        tokens.pop(0)
    while tokens and tokens[-1].casefold().strip(",;:") in _EDGE_WORDS:
        tokens.pop()
    return " ".join(tokens).strip(" ,;:(")


def _runs(edits: list) -> tuple[list, list, list, list]:
    """Deleted and inserted runs (texts) and their character spans in the old and new sentence."""
    deleted, inserted, deleted_spans, inserted_spans, old_pos, new_pos = [], [], [], [], 0, 0
    for op, text in edits or []:
        if op == 0:
            old_pos += len(text)
            new_pos += len(text)
        elif op == -1:
            deleted.append(text)
            deleted_spans.append((old_pos, old_pos + len(text)))
            old_pos += len(text)
        else:
            inserted.append(text)
            inserted_spans.append((new_pos, new_pos + len(text)))
            new_pos += len(text)
    return deleted, inserted, deleted_spans, inserted_spans


def _whole_words(sentence: str, span: tuple[int, int]) -> str:
    """The words a character span touches, whole ("lovoo.de" rather than "de")."""
    start, end = span
    while start < end and sentence[start].isspace():
        start += 1
    while end > start and sentence[end - 1].isspace():
        end -= 1
    if start == end:
        return ""
    while start > 0 and not sentence[start - 1].isspace():
        start -= 1
    while end < len(sentence) and not sentence[end].isspace():
        end += 1
    return sentence[start:end]


def _title(place: str) -> str:
    words = place.split()
    return " ".join(w if i and w in _SMALL_WORDS else (w.upper() if len(w) <= 3 and w not in _SMALL_WORDS
                                                       and place == w else w.capitalize())
                    for i, w in enumerate(words))


def _unique(items) -> list:
    return list(dict.fromkeys(i for i in items if i))


def _fields(hunk: dict, item: dict, limits: dict, quote_limit: int) -> dict:
    """What a phrase may say about one rule on one sentence."""
    rules = load_rules()
    old_sentence, new_sentence = hunk.get("old_sentence") or "", hunk.get("new_sentence") or ""
    deleted, inserted, deleted_spans, inserted_spans = _runs(hunk.get("edits"))
    if not hunk.get("edits") and hunk.get("op") == "replace":
        deleted, inserted = [hunk.get("old") or ""], [hunk.get("new") or ""]
    if hunk.get("edits"):
        deleted = [_whole_words(old_sentence, span) for span in deleted_spans]
        inserted = [_whole_words(new_sentence, span) for span in inserted_spans]
    words = limits["words"]
    removed = cut(" … ".join(_unique(_trim(plain(t)) for t in deleted)), words)
    added = cut(" … ".join(_unique(_trim(plain(t)) for t in inserted)), words)
    topics = item.get("topics") or []
    topic = topics[0] if topics else ""
    rule = item.get("rule", "")
    touched_old = [m for name, start, end, m in topic_hits(old_sentence, rules)
                   if name == topic and any(s < end and start < e for s, e in deleted_spans)]
    touched_new = [m for name, start, end, m in topic_hits(new_sentence, rules)
                   if name == topic and any(s < end and start < e for s, e in inserted_spans)]
    terms = _unique(touched_old if rule.endswith("-removed") else touched_new)
    if rule.endswith("-removed"):
        terms_text = cut(", ".join(terms), words) if terms else removed
    else:
        terms_text = cut(", ".join(terms), words) if terms else added
    pattern = rules.age if rule == "age-changed" else rules.period
    periods_old = _unique(m.group() for m in pattern.finditer(plain(old_sentence)))
    periods_new = _unique(m.group() for m in pattern.finditer(plain(new_sentence)))
    before = [p for p in periods_old if p.casefold() not in {q.casefold() for q in periods_new}] or periods_old
    after = [p for p in periods_new if p.casefold() not in {q.casefold() for q in periods_old}] or periods_new
    places_old, places_new = places(old_sentence, rules), places(new_sentence, rules)
    moved = (places_old - places_new) if rule.endswith("-removed") else (places_new - places_old)
    side_sentence = item.get("sentence") or (old_sentence if item.get("side") == "old" else new_sentence)
    code = re.split(r"[=\s]", rule, maxsplit=1)[1] if re.search(r"[=\s]", rule) else ""
    return {
        "quote": cut(plain(side_sentence or new_sentence or old_sentence), quote_limit),
        "old": cut(plain(old_sentence), quote_limit), "new": cut(plain(new_sentence), quote_limit),
        "removed": removed or cut(plain(old_sentence), words),
        "added": added or cut(plain(new_sentence), words),
        "changed_words": added or removed, "terms": terms_text,
        "topic": phrasing()["topics"].get(topic, topic.replace("-", " ")) if topic else "this policy",
        "before": cut(", ".join(before), words) or "none", "after": cut(", ".join(after), words) or "none",
        "places": cut(", ".join(_title(p) for p in sorted(moved)), words) or terms_text,
        "code": code.replace("->", " → "),
    }


def _fill(template: str, fields: dict) -> str:
    # One pass, only {name}: crawled text containing braces is never expanded again.
    return _FIELD.sub(lambda m: str(fields.get(m.group(1), "")), template)


def _spec(rule: str) -> dict:
    specs = phrasing()["rules"]
    if rule in specs:
        return specs[rule]
    if rule.startswith("review:"):
        kind = "translated" if rule.startswith("review:translated") else "language"
        return {"strength": 1, **phrasing()["review"][kind]}
    kind = "added" if rule.endswith("-added") else "removed" if rule.endswith("-removed") else "changed"
    return {"strength": 10, **phrasing()["fallback"][kind]}


def _phrase(spec: dict, item: dict, key: str = "text") -> str:
    topics = item.get("topics") or []
    by_topic = spec.get("by_topic" if key == "text" else f"{key}_by_topic") or {}
    template = (by_topic.get(topics[0]) if topics else None) or spec.get(key) or spec.get("text", "")
    return template


def _hunk_for(item: dict, hunks: list) -> int | None:
    sentence, side = item.get("sentence") or "", item.get("side")
    for index, hunk in enumerate(hunks):
        if (side == "old" and hunk.get("old_sentence") == sentence
                or side != "old" and hunk.get("new_sentence") == sentence):
            return index
    for index, hunk in enumerate(hunks):
        if sentence in (hunk.get("old_sentence"), hunk.get("new_sentence")):
            return index
    return None


def _groups(evidence: list, hunks: list) -> list[dict]:
    """Evidence items grouped by the sentence (hunk) they are about, in document order."""
    groups: dict = {}
    for item in evidence:
        if not item.get("sentence"):
            continue
        index = _hunk_for(item, hunks)
        if index is None:
            side = item.get("side")
            key = ("sentence", item["sentence"])
            hunk = {"op": "delete" if side == "old" else "insert",
                    "old_sentence": item["sentence"] if side == "old" else "",
                    "new_sentence": item["sentence"] if side != "old" else ""}
            order = len(hunks) + len(groups)
        else:
            key, hunk, order = ("hunk", index), hunks[index], index
        group = groups.setdefault(key, {"hunk": hunk, "items": [], "order": order})
        if all((i.get("rule"), i.get("topics")) != (item.get("rule"), item.get("topics")) for i in group["items"]):
            group["items"].append(item)
    return sorted(groups.values(), key=lambda g: g["order"])


def _bullet(group: dict, severity_default: int, limits: dict, quote_limit: int) -> dict:
    order = phrasing()["topic_order"]

    def rank(item):
        topics = [t for t in item.get("topics") or [] if t in order]
        return (-_spec(item.get("rule", "")).get("strength", 10), order.index(topics[0]) if topics else len(order))
    items = sorted(group["items"], key=rank)
    lead = items[0]
    spec = _spec(lead.get("rule", ""))
    text = _fill(_phrase(spec, lead), _fields(group["hunk"], lead, limits, quote_limit))
    details = []
    for other in items[1:]:
        other_spec = _spec(other.get("rule", ""))
        differs = other.get("rule") != lead.get("rule") or other.get("topics") != lead.get("topics")
        if other_spec.get("detail") and differs:
            detail = _fill(_phrase(other_spec, other, "detail"),
                           _fields(group["hunk"], other, limits, quote_limit))
            if detail not in details:
                details.append(detail)
    if details:
        text += " (also: " + "; ".join(details[:2]) + ")"
    hunk = group["hunk"]
    severity = hunk.get("severity")
    if severity is None or hunk.get("class") not in (None, "material"):
        severity = severity_default
    return {"mark": spec.get("mark", "changed"), "text": text,
            "rules": [i.get("rule", "") for i in items],
            "topics": _unique(t for i in items for t in i.get("topics") or []),
            "severity": int(severity or 0), "strength": spec.get("strength", 10),
            "order": group["order"], "_group": group, "_lead": lead}


def _headline_of(bullet: dict, limits: dict) -> str:
    spec = _spec(bullet["_lead"].get("rule", ""))
    template = _phrase(spec, bullet["_lead"], "headline") if spec.get("headline") else _phrase(spec, bullet["_lead"])
    return _fill(template, _fields(bullet["_group"]["hunk"], bullet["_lead"], limits, limits["headline_quote"]))


def _editorial_bullets(hunks: list, evidence: list, limits: dict) -> tuple[list, int]:
    edited = [h for h in hunks if h.get("class") == "editorial" and not h.get("heading")]
    bullets = []
    for order, hunk in enumerate(edited):
        editorial = phrasing()["editorial"]
        spec = editorial.get(hunk.get("rule") or "") if hunk.get("op") == "replace" else None
        spec = spec or editorial.get(hunk.get("op"), editorial["replace"])
        item = {"sentence": hunk.get("new_sentence") or hunk.get("old_sentence"), "topics": [],
                "rule": hunk.get("rule") or "wording"}
        bullets.append({"mark": spec["mark"], "text": _fill(spec["text"], _fields(hunk, item, limits, limits["quote"])),
                        "rules": [item["rule"]], "topics": list(hunk.get("topics") or []),
                        "severity": 0, "strength": 0, "order": order})
    for group in _groups([e for e in evidence if str(e.get("rule", "")).startswith("review:")], hunks):
        bullets.append(_bullet(group, 0, limits, limits["quote"]))
    return bullets, len(edited)


def summarise(change: dict) -> dict:
    """The plain-language summary of a change row (JSON columns decoded or not)."""
    data = phrasing()
    limits, heads = data["limits"], data["headlines"]

    def field(name):
        value = change.get(name)
        return json.loads(value or "[]") if isinstance(value, str) else list(value or [])
    evidence, hunks = field("evidence"), field("hunks")
    rules = [str(e.get("rule", "")) for e in evidence]
    klass = change.get("class") or "noise"
    bullets: list[dict] = []
    if change.get("classifier") == "technical-upgrade" or any(r.startswith("technical-upgrade") for r in rules):
        headline, kind = heads["technical"], "technical"
    elif klass == "noise" and any(r.startswith("returns-to-version:") for r in rules):
        number = next(r.split(":", 1)[1] for r in rules if r.startswith("returns-to-version:"))
        headline, kind = _fill(heads["returns"], {"version": number}), "returns"
    elif klass == "material":
        material = [e for e in evidence if not str(e.get("rule", "")).startswith("review:")]
        bullets = [_bullet(g, change.get("severity") or 0, limits, limits["quote"])
                   for g in _groups(material, hunks)]
        bullets.sort(key=lambda b: (-b["severity"], -b["strength"], b["order"]))
        reviews = [_bullet(g, 0, limits, limits["quote"])
                   for g in _groups([e for e in evidence if str(e.get("rule", "")).startswith("review:")], hunks)]
        bullets += reviews
        kind = "material"
        headline = _headline_of(bullets[0], limits) if bullets else heads["editorial_none"]
    elif klass == "editorial":
        bullets, count = _editorial_bullets(hunks, evidence, limits)
        kind = "editorial"
        headline = (_fill(heads["editorial"], {"n": count, "sentences": "sentence" if count == 1 else "sentences"})
                    if count else heads["editorial_none"])
    else:
        headline, kind = heads["noise"], "noise"
    unique: dict = {}
    for bullet in bullets:  # a sentence repeated in two places says the same thing once
        unique.setdefault(bullet["text"], bullet)
    bullets = list(unique.values())
    shown = bullets[: limits["bullets"]]
    more = len(bullets) - len(shown)
    if kind == "material" and len(bullets) > 1:
        suffix = _fill(heads["more"], {"n": len(bullets) - 1})
        headline = cut(headline, 140 - len(suffix)) + suffix
    else:
        headline = cut(headline, 140)
    return {"version": version(), "kind": kind, "headline": headline,
            "bullets": [{k: b[k] for k in ("mark", "text", "rules", "topics", "severity")} for b in shown],
            "more": more}


def bullet_lines(summary: dict) -> list[str]:
    """The bullets as plain lines, each marked: "removed: No longer says: “…”"."""
    lines = [f"{b['mark']}: {b['text']}" for b in summary.get("bullets") or []]
    if summary.get("more"):
        lines.append(f"… and {summary['more']} more")
    return lines


def as_text(summary: dict) -> str:
    """Headline and bullets as plain text (CSV cells, Atom summaries): bounded by construction."""
    return "\n".join([summary.get("headline", "")] + [f"- {line}" for line in bullet_lines(summary)])


def summary_json(change: dict) -> str:
    """The ``changes.summary`` column for a change row about to be stored."""
    return json.dumps(summarise(change), ensure_ascii=False)


def summary_of(change: dict) -> dict:
    """A change's summary: the stored one if it is current, else derived now (not written)."""
    stored = change.get("summary")
    if isinstance(stored, str) and stored:
        try:
            stored = json.loads(stored)
        except ValueError:
            stored = None
    if isinstance(stored, dict) and stored.get("version") == version():
        return stored
    return summarise(change)


def with_summary(change: dict) -> dict:
    """A change row (as the store reads it) with ``summary`` current (see ``summary_of``)."""
    return {**change, "summary": summary_of(change)}
