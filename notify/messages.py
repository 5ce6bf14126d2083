"""Template contexts: what an alert, a digest or an operator message may show.

Templates see plain dicts built here, never raw rows, so the classifier's JSON can evolve:
only ``topics``, ``evidence[].sentence/rule/side`` and ``hunks[].old/new/old_sentence/
new_sentence/topics/severity`` are read.
"""

from monitor.compare import summary_of
from monitor.compare.classify import explain
from monitor.permalinks import change_path, glossary_path, unsubscribe_path
from monitor.store import unsubscribe


def diff_url(base_url: str, change_id: int) -> str:
    """The web UI's page for a change, or "" without a base URL."""
    return f"{base_url.rstrip('/')}{change_path(change_id)}" if base_url else ""


def unsubscribe_url(base_url: str, db_path: str, subscription_id: int) -> str:
    """The subscription's signed one-click unsubscribe link on the web UI, or "" without a
    base URL (the signing key is made on first use: ``monitor.store.unsubscribe``)."""
    if not base_url:
        return ""
    return f"{base_url.rstrip('/')}{unsubscribe_path(subscription_id, unsubscribe.token(db_path, subscription_id))}"


def _evidence_view(item: dict, base_url: str) -> dict:
    """A sentence of the evidence with its rule in words (the glossary's one line) and, with a
    base URL, the rule's entry on the web's glossary page."""
    entry = explain(item.get("rule", ""))
    rule_url = f"{base_url.rstrip('/')}{glossary_path(entry.anchor)}" if entry and base_url else ""
    return {"sentence": item.get("sentence", ""), "rule": item.get("rule", ""), "side": item.get("side", ""),
            "explains": entry.explains if entry else "", "rule_url": rule_url}


def _hunk_view(hunk: dict) -> dict:
    return {"before": hunk.get("old_sentence") or hunk.get("old") or "",
            "after": hunk.get("new_sentence") or hunk.get("new") or "",
            "topics": list(hunk.get("topics") or []), "severity": hunk.get("severity") or 0}


def _summary_view(change: dict) -> dict:
    summary = summary_of(change)  # the stored one if current, else derived (not written)
    return {"headline": summary["headline"], "more": summary.get("more", 0),
            "bullets": [{"mark": b["mark"], "text": b["text"]} for b in summary.get("bullets") or []]}


def _change_view(change: dict) -> dict:
    return {"summary": _summary_view(change), "id": change["id"], "class": change["class"],
            "severity": change["severity"] or 0, "direction": change.get("direction") or "none",
            "topics": list(change.get("topics") or []),
            "detected_at": change.get("detected_at") or ""}


def _target_view(target: dict) -> dict:
    return {"id": target["id"], "company": target["company"], "doc_type": target["doc_type"],
            "url": target["url"], "state": target.get("state") or ""}


def _subscription_view(subscription: dict) -> dict:
    return {"id": subscription["id"], "name": subscription.get("name") or "",
            "digest": subscription.get("digest") or "none"}


def change_context(change: dict, target: dict, subscription: dict, *, base_url: str,
                   max_items: int, key: str = ""):
    """A ``context_for(max_items, excerpt_chars)`` for one change's alert."""
    hunks = change.get("hunks") or []
    if change["class"] == "material":
        # The sentences that made it material; editorial edits (a new contact address) are
        # not what the subscriber is being alerted about.
        hunks = ([h for h in hunks if h.get("class") == "material"]
                 or [h for h in hunks if h.get("topics") or h.get("severity")] or hunks)
    hunks = [view for view in map(_hunk_view, hunks) if view["before"] or view["after"]]
    evidence, seen = [], set()
    for item in change.get("evidence") or []:
        if item.get("sentence") and item["sentence"] not in seen:
            seen.add(item["sentence"])
            evidence.append(item)

    def context_for(shown: int | None, _excerpt_chars: int) -> dict:
        shown = max_items if shown is None else min(shown, max_items)
        return {
            "change": _change_view(change), "target": _target_view(target),
            "subscription": _subscription_view(subscription),
            "evidence": [_evidence_view(e, base_url) for e in evidence[:shown]],
            "hunks": hunks[:shown], "more_hunks": max(0, len(hunks) - shown),
            "diff_url": diff_url(base_url, change["id"]),
            "show_command": f"policywatch show {change['id']}", "idempotency_key": key,
        }
    return context_for


def digest_context(items: list[tuple[dict, dict]], subscription: dict, *, since: str, until: str,
                   base_url: str, max_items: int, key: str = ""):
    """A ``context_for`` for a digest of ``items`` (change, target) pairs, oldest first."""
    def context_for(shown: int | None, _excerpt_chars: int) -> dict:
        # A digest lists every change (one line each) up to a larger bound than an alert's edits.
        shown = max_items * 10 if shown is None else max(1, shown * 5)
        entries = [{"change": _change_view(change), "target": _target_view(target),
                    "evidence": [e.get("sentence", "") for e in change.get("evidence") or []
                                 if e.get("sentence")][:1],
                    "diff_url": diff_url(base_url, change["id"]),
                    "show_command": f"policywatch show {change['id']}"}
                   for change, target in items[:shown]]
        companies = sorted({target["company"] for _, target in items}, key=str.casefold)
        return {"subscription": _subscription_view(subscription), "since": since, "until": until,
                "period": subscription.get("digest") or "daily", "items": entries,
                "count": len(items), "more_items": max(0, len(items) - len(entries)),
                "companies": companies, "idempotency_key": key}
    return context_for


def operator_context(event: dict, target: dict, subscription: dict, *, key: str = ""):
    """A ``context_for`` for an operator event (a target broke or recovered)."""
    def context_for(_shown: int | None, _excerpt_chars: int) -> dict:
        return {"event": {"kind": event["kind"], "old_state": event["old_state"],
                          "new_state": event["new_state"], "reason": event.get("reason") or "",
                          "at": event["created_at"]},
                "target": _target_view(target), "subscription": _subscription_view(subscription),
                "idempotency_key": key}
    return context_for


# -- a hostile sample, to check an operator's templates before anything is sent ------------
_HOSTILE = "<script>alert(1)</script> **bold** [link](http://evil.example) & \"quotes\" {{ 7*7 }}"


def sample_context_for(kind: str):
    """A ``context_for`` of ``kind`` filled with hostile text (for ``check_templates``)."""
    target = {"id": 1, "company": "Acme <b>&</b>", "doc_type": "Privacy Policy",
              "url": "https://example.com/privacy?a=1&b=<2>", "state": "ok"}
    change = {"id": 1, "class": "material", "severity": 3, "direction": "expands",
              "topics": ["sale", "sharing"], "detected_at": "2026-01-01T00:00:00.000000Z",
              "evidence": [{"sentence": _HOSTILE, "rule": "removed-negative", "side": "old"}],
              "hunks": [{"op": "replace", "old": _HOSTILE, "new": _HOSTILE, "old_sentence": _HOSTILE,
                         "new_sentence": _HOSTILE, "topics": ["sale"], "severity": 3}]}
    subscription = {"id": 1, "name": _HOSTILE, "digest": "daily"}
    if kind == "alert":
        return change_context(change, target, subscription, base_url="https://pw.example", max_items=5)
    if kind == "digest":
        return digest_context([(change, target)] * 3, subscription, since="2026-01-01", until="2026-01-02",
                              base_url="https://pw.example", max_items=5)
    event = {"kind": "broken", "old_state": "failing", "new_state": "broken", "reason": _HOSTILE,
             "created_at": "2026-01-01T00:00:00.000000Z"}
    return operator_context(event, target, subscription)
