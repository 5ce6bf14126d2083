"""CLI commands for proof of notice: ``verify`` (the store's ledger) and ``evidence``."""

import sys

import click

from .errors import PolicywatchError


class EvidenceFailed(PolicywatchError):
    """Verification found a broken link."""


@click.command("verify")
@click.pass_context
def verify_command(ctx):
    """Check the ledger's hash chain against the database; name the first broken link."""
    from .ledger import verify_store
    from .store import open_store
    problems = verify_store(open_store(ctx.obj["db"]))
    if problems:
        for problem in problems:
            click.echo(f"BROKEN: {problem}", err=True)
        raise EvidenceFailed(f"the ledger does not verify: {problems[0]}")
    click.echo("OK: the ledger verifies", err=True)


@click.group("evidence")
def evidence_group():
    """Export and verify evidence bundles (what a policy said when, and who was told)."""


@evidence_group.command("export")
@click.option("--company", required=True, help="The company whose documents to export.")
@click.option("--type", "doc_type", default=None, help="Only this document type.")
@click.option("--since", default=None, help="Versions first seen on or after this date (YYYY-MM-DD).")
@click.option("--until", default=None, help="Versions first seen on or before this date (YYYY-MM-DD).")
@click.argument("out", type=click.Path(file_okay=False))
@click.pass_context
def evidence_export(ctx, company, doc_type, since, until, out):
    """Write an evidence bundle to the directory OUT."""
    from crawler.runner import warc_dir
    from .evidence import export_bundle
    from .store import open_store
    store = open_store(ctx.obj["db"])
    manifest = export_bundle(store, out, company=company, doc_type=doc_type, since=since, until=until,
                             warc_dir=warc_dir(store.path))
    click.echo(f"bundle written to {out}: {len(manifest['versions'])} versions, "
               f"{len(manifest['changes'])} changes, {len(manifest['deliveries'])} deliveries", err=True)


@evidence_group.command("verify")
@click.argument("bundle", type=click.Path(exists=True, file_okay=False))
def evidence_verify(bundle):
    """Verify a bundle offline; print OK or the first broken link."""
    from .evidence_verify import BundleBroken, verify_bundle
    try:
        counts = verify_bundle(bundle)
    except BundleBroken as broken:
        click.echo(f"BROKEN: {broken}")
        sys.exit(2)
    click.echo(f"OK: {counts['versions']} versions, {counts['changes']} changes, "
               f"{counts['deliveries']} deliveries, {counts['ledger_entries']} ledger entries verified")
