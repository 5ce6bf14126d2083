"""The shape of a verdict on one changed sentence, shared by the rule modules.

A verdict is a plain dict (``class``, ``topics``, ``direction``, ``severity``, ``evidence``) because
it is stored and rendered as JSON; these helpers build it the same way everywhere.
"""


def make_verdict(klass="editorial", topics=(), direction="none", severity=0, evidence=()) -> dict:
    """A verdict: class, topics (deduplicated, in order), direction, severity and evidence."""
    return {"class": klass, "topics": list(dict.fromkeys(topics)), "direction": direction,
            "severity": severity, "evidence": list(evidence)}


def cite(hunk: dict, side: str, rule: str, topics) -> dict:
    """One piece of evidence: the sentence on ``side`` ("old"/"new") and the rule that fired on it."""
    sentence = hunk["new_sentence"] if side == "new" else hunk["old_sentence"]
    return {"sentence": sentence, "side": side, "rule": rule, "topics": list(dict.fromkeys(topics)),
            "section": hunk.get("section", "")}


def direction_of(polarity: str, added: bool, negated: bool) -> str:
    """Whether adding (or removing) a term of this polarity, possibly under a negation, widens the practice."""
    if polarity == "neutral":
        return "none"
    widens = (polarity == "expands") == added
    return "expands" if widens != negated else "restricts"


def combine(directions) -> str:
    """One direction for several: the common one, ``mixed`` if they disagree, ``none`` if none."""
    found = {d for d in directions if d != "none"}
    return "mixed" if len(found) > 1 else (found.pop() if found else "none")
