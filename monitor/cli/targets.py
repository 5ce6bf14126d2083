"""``policywatch init`` and ``policywatch target add|edit|list|remove|import``: the watched documents."""

import click

from monitor.cli import views
from monitor.cli.common import emit_json, err, open_cli_store, out
from monitor.cli.lazy import LazyCommand, LazyCommandsMixin
from monitor.cli.options import PolicywatchCommand, PolicywatchCommandGroup
from monitor.errors import InputError
from monitor.store import DEFAULT_DOC_TYPE
from monitor.targets import check_new_target, check_target_selectors
from monitor.timeutil import parse_interval


class TargetGroup(LazyCommandsMixin, PolicywatchCommandGroup):
    """``target``: its commands, and ``import`` from the extraction module."""

    lazy_commands = {"import": LazyCommand(
        "monitor.cli.extraction:import_command",
        "Add targets from a YAML catalogue or Open Terms Archive declarations (a file or a folder).")}


@click.command("init", cls=PolicywatchCommand)
@click.pass_context
def init(ctx):
    """Create or migrate the database."""
    store = open_cli_store(ctx, create=True)
    err.print(f"database ready: {store.path}", markup=False)


@click.group("target", cls=TargetGroup)
def target():
    """Add, edit, list and remove watched documents."""

@target.command("add")
@click.argument("url")
@click.option("--company", required=True, help="Company name, e.g. Acme.")
@click.option("--type", "doc_type", default=DEFAULT_DOC_TYPE, show_default=True, help="Document type.")
@click.option("--select", multiple=True, metavar="CSS", help="CSS selector of the policy text (repeatable).")
@click.option("--remove", multiple=True, metavar="CSS", help="CSS selector of parts to drop (repeatable).")
@click.option("--every", default="1d", show_default=True, help="Fetch interval: 30m, 6h, 1d, 1w.")
@click.option("--json", "as_json", is_flag=True, help="Print the new target as one JSON object on stdout.")
@click.pass_context
def target_add(ctx, url, company, doc_type, select, remove, every, as_json):
    """Watch URL as COMPANY's document."""
    every_seconds = parse_interval(every)
    check_new_target(url, company, list(select), list(remove))  # a refused target creates no database
    added = open_cli_store(ctx, create=True).add_target(url, company, doc_type, list(select), list(remove),
                                                        every_seconds)
    if as_json:
        emit_json(added)
    err.print(f"added target {added['id']}: {added['company']} — {added['doc_type']} ({added['url']})",
              markup=False)


# What `target edit` says about re-deriving the latest version, by reextract outcome.
_REDERIVED = {
    "upgraded": "the latest version was re-derived from its stored page as version {version_id} "
                "(a technical upgrade: no alert)",
    "unchanged": "the latest version's text is the same with the new selectors",
    "no-snapshot": "no version yet: the next crawl uses the new selectors",
}


@target.command("edit")
@click.argument("target_id", type=int)
@click.option("--company", default=None, help="New company name.")
@click.option("--type", "doc_type", default=None, help="New document type.")
@click.option("--select", multiple=True, metavar="CSS",
              help="CSS selector of the policy text (repeatable); replaces the target's selectors.")
@click.option("--no-select", is_flag=True, help="Clear the selectors: main-content detection picks the text.")
@click.option("--remove", multiple=True, metavar="CSS",
              help="CSS selector of parts to drop (repeatable); replaces the target's list.")
@click.option("--no-remove", is_flag=True, help="Clear the parts to drop.")
@click.option("--every", default=None, help="Fetch interval: 30m, 6h, 1d, 1w.")
@click.option("--render", type=click.Choice(["js", "plain", "none"]), default=None,
              help="js: fetch through Chromium; plain (or none): plain HTTP.")
@click.option("--json", "as_json", is_flag=True, help="Print the edited target, with the re-extraction's "
              "outcome under 'reextract', as JSON.")
@click.pass_context
def target_edit(ctx, target_id, company, doc_type, select, no_select, remove, no_remove, every, render,
                as_json):
    """Change a target's selectors, schedule, company, type or rendering.

    A selector change re-derives the latest version from its stored page, as `reextract` does:
    a technical upgrade, never an alert. History is kept as it was recorded.
    """
    # this command's own imports, loaded when it runs: the CLI starts fast (docs/cli.md)
    from monitor.record import reextract_target
    for given, cleared, name in ((select, no_select, "select"), (remove, no_remove, "remove")):
        if given and cleared:
            raise InputError(f"--{name} and --no-{name} contradict each other: give one")
    new_select = [] if no_select else list(select) if select else None
    new_remove = [] if no_remove else list(remove) if remove else None
    if all(v is None for v in (company, doc_type, new_select, new_remove, every, render)):
        raise InputError("nothing to change: give --select, --remove, --every, --company, --type or --render")
    every_seconds = parse_interval(every) if every is not None else None
    store = open_cli_store(ctx)
    before = store.get_target(target_id)
    if new_select is not None or new_remove is not None:
        check_target_selectors(new_select or [], new_remove or [])  # nothing written if refused
    edited = store.edit_target(target_id, company=company, doc_type=doc_type, select=new_select,
                               remove=new_remove, every_seconds=every_seconds,
                               render="plain" if render == "none" else render)
    changed = [key for key in ("company", "doc_type", "select", "remove", "every_seconds", "render")
               if edited[key] != before[key]]
    outcome = None
    if "select" in changed or "remove" in changed:
        outcome = reextract_target(store, edited)
    if as_json:
        emit_json({**edited, "reextract": outcome.as_json() if outcome else None})
    err.print(f"edited target {target_id}: {edited['company']} — {edited['doc_type']}: "
              f"{', '.join(changed) or 'nothing changed'}", markup=False)
    if outcome and outcome.outcome == "error":
        # The edit stands: the stored page may predate a redesign the new selectors are for.
        err.print(f"warning: the new selectors do not extract the latest stored page ({outcome.error}); "
                  "the next crawl will tell", markup=False)
    elif outcome:
        err.print(_REDERIVED[outcome.outcome].format(version_id=outcome.version_id), markup=False)


@target.command("list")
@click.option("--company", multiple=True, help="Only this company's targets (repeatable).")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list of targets (id, company, type, url, state, last_error, "
                   "last_success, versions, next_fetch_at, every_seconds, select, remove).")
@click.pass_context
def target_list(ctx, company, as_json):
    """List targets with their state, versions and schedule."""
    store = open_cli_store(ctx)
    targets = [t for name in company for t in store.list_targets(name)] if company else store.list_targets()
    if as_json:
        emit_json([{
            "id": t["id"], "company": t["company"], "type": t["doc_type"], "url": t["url"],
            "state": t["state"], "last_error": t["last_error"], "last_success": t["last_success_at"],
            "versions": t["versions"], "next_fetch_at": t["next_fetch_at"], "every_seconds": t["every_seconds"],
            "select": t["select"], "remove": t["remove"]} for t in targets])
    elif targets:
        out.print(views.targets_table(targets))
    else:
        err.print("no targets yet: add one with `policywatch target add URL --company NAME`")


@target.command("remove")
@click.argument("target_id", type=int)
@click.pass_context
def target_remove(ctx, target_id):
    """Stop watching a target (its history is kept as evidence; `target add` resumes it)."""
    open_cli_store(ctx).remove_target(target_id)
    err.print(f"removed target {target_id}")
