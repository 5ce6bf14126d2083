"""Human-readable terminal output (rich) for the CLI. Messages go to stderr, data to stdout.

Company names, document types, URLs, titles and errors come from users and crawled pages: they
are put in rich ``Text`` (never parsed as markup), so ``[/]`` or ``[bold]`` print as they are.
"""

from rich.console import Console
from rich.table import Table
from rich.text import Text

from monitor.cli.options import one_line
from monitor.compare import render_terminal, summary_of, word_diff
from monitor.store import Store
from monitor.timeutil import format_interval

CLASS_STYLE = {"material": "bold red", "editorial": "yellow", "noise": "dim"}


def diff_renderable(console: Console, diffs: list[tuple[int, str]]) -> Text:
    """Coloured word diff on a colour terminal; ``[-old-]{+new+}`` markers elsewhere
    (pipes, logs, tests), as ``git diff --word-diff=plain`` does."""
    if console.color_system:
        return render_terminal(diffs)
    marked = [(0, text) if op == 0 else (0, f"[-{text}-]" if op == -1 else f"{{+{text}+}}")
              for op, text in diffs]
    # Re-use the eliding of long unchanged runs; the markers stay inside the changed runs.
    out = Text()
    for index, (op, text) in enumerate(diffs):
        if op != 0:
            out.append(marked[index][1])
        else:
            out.append_text(render_terminal([(0, text)] if len(diffs) == 1 else
                                            _edge(diffs, index, text)))
    return out


def _edge(diffs, index, text):
    """A one-item diff that elides ``text`` the way render_terminal would at this position."""
    padding = [(1, "")] if index > 0 else []
    trailing = [(1, "")] if index < len(diffs) - 1 else []
    return padding + [(0, text)] + trailing


def _day(stamp: str | None) -> str:
    return (stamp or "")[:16].replace("T", " ") or "-"


def targets_table(targets: list[dict]) -> Table:
    """The `target list` table."""
    table = Table(title="Targets", title_justify="left")
    for column in ("id", "company", "type", "url", "state", "versions", "last success", "next fetch", "every"):
        table.add_column(column, overflow="fold")
    for target in targets:
        state = target["state"]
        if target.get("last_error") and state != "ok":
            state = f"{state}: {one_line(target['last_error'])}"
        table.add_row(str(target["id"]), Text(target["company"]), Text(target["doc_type"]), Text(target["url"]),
                      Text(state, style="red" if target["state"] in ("failing", "broken") else ""),
                      str(target.get("versions", "")), _day(target.get("last_success_at")),
                      _day(target.get("next_fetch_at")), format_interval(target["every_seconds"]))
    return table


def classification_line(change: dict) -> Text:
    """``material · severity 3 · expands · sale, sharing`` coloured by class."""
    line = Text()
    line.append(change["class"], style=CLASS_STYLE.get(change["class"], ""))
    line.append(f" · severity {change['severity']} · {change['direction']}")
    if change["topics"]:
        line.append(" · " + ", ".join(change["topics"]), style="cyan")
    return line


# A crawl of thousands of targets may change hundreds; the summary names the first ones.
CRAWL_CHANGES_SHOWN = 20


def print_crawl_changes(console: Console, changes: list[dict], limit: int = CRAWL_CHANGES_SHOWN) -> None:
    """After a crawl: one line per changed target (company, document type, class, severity,
    change id), most severe first, as ``crawler.passes.changed_targets`` orders them."""
    if not changes:
        return
    material = sum(1 for c in changes if c["class"] == "material")
    console.print(Text(f"{len(changes)} target(s) changed ({material} material):"))
    for change in changes[:limit]:
        line = Text(f"  {change['company']} — {change['doc_type']}: ")
        line.append_text(classification_line(change))
        line.append(f"  (change {change['change_id']}: policywatch show {change['change_id']})", style="dim")
        console.print(line)
    if len(changes) > limit:
        console.print(Text(f"  … and {len(changes) - limit} more (see `policywatch history COMPANY`)",
                           style="dim"))


def print_history(console: Console, store: Store, company: str) -> None:
    """Every target of a company with its versions and the changes between them."""
    for target in store.list_targets(company):
        console.rule(Text(f"{target['company']} — {target['doc_type']}  ({target['url']})"))
        changes_by_version = {c["to_version_id"]: c for c in store.changes(target["id"])}
        versions = store.versions(target["id"])
        if not versions:
            console.print(Text(f"  no version recorded yet (state: {target['state']})", style="dim"))
        for version in versions:
            line = Text(f"  v{version['id']}  {_day(version['first_seen_at'])} → {_day(version['last_seen_at'])}  ")
            change = changes_by_version.get(version["id"])
            if change:
                line.append(f"change {change['id']}: ")
                line.append_text(classification_line(change))
            else:
                line.append("first version", style="dim")
            if version["returns_to_version_id"]:
                line.append(f"  (returns to v{version['returns_to_version_id']})", style="dim")
            console.print(line)


def print_change(console: Console, store: Store, change: dict) -> None:
    """One change: what it is, the material sentences first (highlighted, with their topics and
    the rule that fired), the other changed sentences, then the coloured word diff."""
    target = store.get_target(change["target_id"])
    old = store.get_version(change["from_version_id"])
    new = store.get_version(change["to_version_id"])
    console.rule(Text(f"Change {change['id']}: {target['company']} — {target['doc_type']}"))
    console.print(Text(f"{target['url']}\nv{old['id']} ({_day(old['first_seen_at'])}) → "
                       f"v{new['id']} ({_day(new['first_seen_at'])}), classified by {change['classifier']}"))
    console.print(classification_line(change))
    print_summary(console, summary_of(change))  # the stored one if current
    print_evidence(console, change["evidence"], change.get("hunks") or [])
    console.print()
    console.print(diff_renderable(console, word_diff(old["text"], new["text"])))


_MARK_STYLES = {"removed": "bold red", "added": "bold green", "changed": "bold yellow"}


def print_summary(console: Console, summary: dict) -> None:
    """The plain-language summary: crawled quotes as Text, never parsed as rich markup."""
    console.print(Text(summary.get("headline", ""), style="bold"))
    for bullet in summary.get("bullets") or []:
        line = Text("  • ")
        line.append(bullet["mark"], style=_MARK_STYLES.get(bullet["mark"], "bold"))
        line.append(": " + bullet["text"])
        console.print(line)
    if summary.get("more"):
        console.print(Text(f"  … and {summary['more']} more", style="dim"))


def _sentence_edit(console: Console, hunk: dict) -> Text:
    """A changed sentence with its word diff: colours on a terminal, [-…-]{+…+} elsewhere."""
    if hunk.get("edits"):
        return diff_renderable(console, [tuple(edit) for edit in hunk["edits"]])
    if hunk.get("op") == "delete":
        return diff_renderable(console, [(-1, hunk.get("old_sentence", ""))])
    return diff_renderable(console, [(1, hunk.get("new_sentence", ""))])


def _rule_line(marker: str, rule: str, topics: list, section: str = "", style: str = "") -> Text:
    line = Text(marker, style=style)
    line.append(f"[{rule}]", style="magenta")
    if topics:
        line.append(" " + ", ".join(topics), style="cyan")
    if section:
        line.append(f"  § {section[:80]}", style="dim")
    return line


def print_evidence(console: Console, evidence: list[dict], hunks: list[dict] | None = None) -> None:
    """What decided the class: material sentences first, highlighted, each with its topics and
    the rule that fired; then the other changed sentences (editorial, marked for review)."""
    hunks = hunks or []
    material = [h for h in hunks if h.get("class") == "material"]
    if material:
        console.print(Text(f"Material sentences ({len(material)})", style="bold red"))
        for hunk in material:
            console.print(_rule_line("  ▶ ", hunk.get("rule", ""), hunk.get("topics", []),
                                     hunk.get("section", ""), "bold red"))
            console.print(Text("    ").append_text(_sentence_edit(console, hunk)))
    shown = {(h.get("old_sentence"), h.get("new_sentence")) for h in material}
    rest = [item for item in evidence
            if not any(item.get("sentence") in pair for pair in shown) or item["rule"].startswith("review")]
    # Evidence not already shown with its hunk (older changes stored no per-hunk class), review last.
    rest.sort(key=lambda item: item["rule"].startswith("review"))
    for item in rest:
        line = _rule_line("  ▸ ", item["rule"], item.get("topics", []))
        if item.get("sentence"):
            line.append(f" ({item['side']}) ")
            line.append(item["sentence"][:400], style="bold")
        console.print(line)
    others = [h for h in hunks if h.get("class") == "editorial"]
    if others:
        console.print(Text(f"Other changed sentences ({len(others)}, editorial)", style="yellow"))
        for hunk in others[:20]:
            console.print(Text("    ").append_text(_sentence_edit(console, hunk)))
        if len(others) > 20:
            console.print(Text(f"    … and {len(others) - 20} more", style="dim"))
