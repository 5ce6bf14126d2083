"""``policywatch history``, ``show``, ``diff`` and ``extract``: reading what was recorded, and local files."""

from pathlib import Path

import click

from monitor.cli import views
from monitor.cli.common import emit_json, extract_file, open_cli_store, out
from monitor.cli.options import PolicywatchCommand
from monitor.compare import diff_report, with_summary


@click.command("history", cls=PolicywatchCommand)
@click.argument("company", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list with one object per target: its fields, its versions (without "
                   "their text) and its changes.")
@click.pass_context
def history(ctx, company, as_json):
    """The versions of COMPANY's documents and the changes between them (several companies: all)."""
    store = open_cli_store(ctx)
    if as_json:
        emit_json([{**t, "versions": [{k: v for k, v in ver.items() if k != "text"}
                                       for ver in store.versions(t["id"])],
                     "changes": [with_summary(c) for c in store.changes(t["id"])]}
                    for name in company for t in store.list_targets(name)])
    else:
        for name in company:
            views.print_history(out, store, name)


@click.command("show", cls=PolicywatchCommand)
@click.argument("change_id", type=int)
@click.option("--json", "as_json", is_flag=True,
              help="Print the change as one JSON object (classification, evidence, hunks), without the diff.")
@click.pass_context
def show(ctx, change_id, as_json):
    """One change: classification, evidence and the word diff."""
    store = open_cli_store(ctx)
    change = with_summary(store.get_change(change_id))
    if as_json:
        emit_json(change)
    else:
        views.print_change(out, store, change)


@click.command("diff", cls=PolicywatchCommand)
@click.argument("old", type=click.Path(dir_okay=False))
@click.argument("new", type=click.Path(dir_okay=False))
@click.option("--select", multiple=True, metavar="CSS", help="CSS selector of the text (HTML files).")
@click.option("--remove", multiple=True, metavar="CSS", help="CSS selector to drop (HTML files).")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object: class, severity, topics, direction, evidence, the changed "
                   "sentences (changes), stats and language.")
def diff(old, new, select, remove, as_json):
    """Compare two local files (HTML, Markdown, text or PDF). Never touches the database."""
    old_text = extract_file(old, select, remove)
    new_text = extract_file(new, select, remove)
    report = diff_report(old_text, new_text)
    if as_json:
        emit_json(report)
        return
    # this command's own imports, loaded when it runs: the CLI starts fast (docs/cli.md)
    from monitor.compare import word_diff
    out.print(views.classification_line(report))
    views.print_evidence(out, report["evidence"], report["changes"])
    out.print()
    out.print(views.diff_renderable(out, word_diff(old_text, new_text)))


@click.command("extract", cls=PolicywatchCommand)
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--select", multiple=True, metavar="CSS", help="CSS selector of the text (repeatable).")
@click.option("--remove", multiple=True, metavar="CSS", help="CSS selector to drop (repeatable).")
@click.option("--url", default="", help="Base URL to make links absolute.")
@click.option("--declaration", "declaration", default=None, type=click.Path(dir_okay=False),
              metavar="DECL.json", help="An Open Terms Archive terms object (fetch/select/remove).")
def extract_command(file, select, remove, url, declaration):
    """Print the normalised Markdown of a local file. Never touches the database."""
    if declaration:
        # this command's own imports, loaded when it runs: the CLI starts fast (docs/cli.md)
        from monitor.targets import extraction_options, read_terms_object
        terms = read_terms_object(Path(declaration))
        options = extraction_options(terms)
        select, remove = [*options["select"], *select], [*options["remove"], *remove]
        url = url or terms.get("fetch", "")
    click.echo(extract_file(file, select, remove, url), nl=False)
