"""CLI commands for proof of notice: ``verify`` (the store's ledger), ``ledger`` (RFC 3161
timestamps of it) and ``evidence`` (bundles)."""

import json
import sys

import click

from monitor.cli.common import open_cli_store
from monitor.cli.options import PolicywatchCommand, PolicywatchCommandGroup, SettingOption
from monitor.errors import PolicywatchError


class EvidenceFailed(PolicywatchError):
    """Verification found a broken link."""


_TSA_CA_OPTION = click.option(
    "--tsa-ca", "tsa_ca", cls=SettingOption, setting="tsa_ca", default=None, type=click.Path(dir_okay=False),
    metavar="PEM", help="CA certificates to trust timestamp authorities from (env POLICYWATCH_TSA_CA).")


def _trust_note(count: int, tsa_ca: str | None) -> str:
    if not count:
        return ""
    if tsa_ca:
        return f"; {count} RFC 3161 timestamp(s) verify (TSA certificates checked against {tsa_ca})"
    return (f"; {count} RFC 3161 timestamp(s) verify (signatures only: pass --tsa-ca or set "
            "POLICYWATCH_TSA_CA to check the TSA certificates against a trusted CA)")


@click.command("verify", cls=PolicywatchCommand)
@_TSA_CA_OPTION
@click.pass_context
def verify_command(ctx, tsa_ca):
    """Check the ledger's hash chain and its RFC 3161 timestamps; name the first broken link."""
    # this command's own imports, loaded when it runs: the CLI starts fast (docs/cli.md)
    from monitor.evidence import TsaSettings, verify_store, verify_timestamps
    trusted = TsaSettings(ca_file=tsa_ca).trusted()
    store = open_cli_store(ctx)
    problems = verify_store(store)
    stamp_problems, stamps = verify_timestamps(store.db, trusted)
    problems += stamp_problems
    # this command's own imports, loaded when it runs: the CLI starts fast (docs/cli.md)
    from crawler.runner import warc_dir
    from monitor.evidence import check_pointers
    pointer_problems, pointers = check_pointers(store.db, warc_dir(store.path))
    problems += pointer_problems
    if problems:
        for problem in problems:
            click.echo(f"BROKEN: {problem}", err=True)
        raise EvidenceFailed(f"the ledger does not verify: {problems[0]}")
    click.echo(f"OK: the ledger verifies{_trust_note(stamps, tsa_ca)}; "
               f"{pointers} capture WARC pointer(s) hold their records", err=True)


@click.group("ledger", cls=PolicywatchCommandGroup)
def ledger_group():
    """Trusted RFC 3161 timestamps of the ledger (`policywatch verify` checks them)."""


@ledger_group.command("timestamp")
@click.option("--tsa", "tsa_url", default=None, metavar="URL",
              help="The timestamp authority (env POLICYWATCH_TSA_URL); user:password@ is sent as basic auth.")
@_TSA_CA_OPTION
@click.option("--timeout", default=None, type=float,
              help="Seconds to wait for the TSA (env POLICYWATCH_TSA_TIMEOUT; 10).")
@click.option("--force", is_flag=True, help="Ask again even if this TSA already timestamped the head.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the stored timestamp as one JSON object (seq, entry_hash, tsa_url, gen_time, …).")
@click.pass_context
def ledger_timestamp(ctx, tsa_url, tsa_ca, timeout, force, as_json):
    """Get an RFC 3161 token over the ledger's head from a timestamp authority and store it.

    One token vouches for every entry up to the head. Needs the network; the crawl and the daemon
    do it after each pass when POLICYWATCH_TSA_URL is set.
    """
    # this command's own imports, loaded when it runs: the CLI starts fast (docs/cli.md)
    from monitor.evidence import TsaSettings, timestamp_head
    settings = TsaSettings.from_env(url=tsa_url, ca_file=tsa_ca, timeout=timeout)
    stamped = timestamp_head(open_cli_store(ctx), settings, force=force)
    if as_json:
        click.echo(json.dumps(stamped, indent=2))
    head = f"ledger head #{stamped['seq']} ({stamped['entry_hash'][:16]}…)"
    if stamped["skipped"]:
        click.echo(f"{head} is already timestamped by {stamped['tsa_url']} (timestamp {stamped['id']}, "
                   f"{stamped['gen_time']}); --force asks again", err=True)
        return
    trust = "TSA certificate checked against the CA" if stamped["trusted"] else \
        "signature checked; no CA configured to check the TSA certificate against"
    click.echo(f"{head} timestamped by {stamped['tsa_url']} at {stamped['gen_time']} "
               f"(timestamp {stamped['id']}; {trust})", err=True)


@ledger_group.command("timestamps")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object: the timestamps (without their tokens) and the last failure.")
@click.pass_context
def ledger_timestamps(ctx, as_json):
    """List the stored RFC 3161 timestamps and the last failed request."""
    # this command's own imports, loaded when it runs: the CLI starts fast (docs/cli.md)
    from monitor.evidence import last_failure, stored_timestamps
    store = open_cli_store(ctx)
    rows = [{k: v for k, v in row.items() if k != "token_der"} for row in stored_timestamps(store.db)]
    failure = last_failure(store.db)
    if as_json:
        click.echo(json.dumps({"timestamps": rows, "last_failure": failure}, indent=2))
        return
    if not rows:
        click.echo("no timestamps yet: `policywatch ledger timestamp --tsa URL` asks for one", err=True)
    for row in rows:
        click.echo(f"{row['id']}  entry #{row['seq']}  {row['entry_hash'][:16]}…  {row['gen_time']}  "
                   f"{row['tsa_url']}  {row['tsa_name']}")
    if failure and (not rows or failure["attempted_at"] > rows[-1]["requested_at"]):
        click.echo(f"last failure {failure['attempted_at']}: {failure['error']}", err=True)


@click.group("evidence", cls=PolicywatchCommandGroup)
def evidence_group():
    """Export and verify evidence bundles (what a policy said when, and who was told)."""


@evidence_group.command("export")
@click.option("--company", required=True, help="The company whose documents to export.")
@click.option("--type", "doc_type", default=None, help="Only this document type.")
@click.option("--since", default=None, help="Versions first seen on or after this date (YYYY-MM-DD).")
@click.option("--until", default=None, help="Versions first seen on or before this date (YYYY-MM-DD).")
@click.option("--no-pdf", is_flag=True, help="Do not print the report to report.pdf (it needs Chromium).")
@click.argument("out", type=click.Path(file_okay=False))
@click.pass_context
def evidence_export(ctx, company, doc_type, since, until, no_pdf, out):
    """Write an evidence bundle to the directory OUT (with the RFC 3161 timestamps that cover it)."""
    # this command's own imports, loaded when it runs: the CLI starts fast (docs/cli.md)
    from crawler.runner import warc_dir

    # this command's own imports, loaded when it runs: the CLI starts fast (docs/cli.md)
    from monitor.evidence import export_bundle
    store = open_cli_store(ctx)
    manifest = export_bundle(store, out, company=company, doc_type=doc_type, since=since, until=until,
                             warc_dir=warc_dir(store.path), pdf=not no_pdf,
                             warn=lambda line: click.echo(f"policywatch: warning: {line}", err=True))
    stamps = f", {len(manifest['timestamps'])} timestamps" if manifest["timestamps"] else ""
    pdf = ", report.pdf" if manifest["report_pdf"]["file"] else ""
    click.echo(f"bundle written to {out}: {len(manifest['versions'])} versions, "
               f"{len(manifest['changes'])} changes, {len(manifest['deliveries'])} deliveries{stamps}{pdf}",
               err=True)


@evidence_group.command("verify")
@click.argument("bundle", type=click.Path(exists=True, file_okay=False))
@_TSA_CA_OPTION
def evidence_verify(bundle, tsa_ca):
    """Verify a bundle offline; print OK or the first broken link."""
    # this command's own imports, loaded when it runs: the CLI starts fast (docs/cli.md)
    from monitor.evidence import BundleBroken, TsaSettings, verify_bundle
    trusted = TsaSettings(ca_file=tsa_ca).trusted()
    try:
        counts = verify_bundle(bundle, trusted=trusted)
    except BundleBroken as broken:
        click.echo(f"BROKEN: {broken}")
        sys.exit(2)
    stamps = ""
    if counts["timestamps"]:
        trust = f"TSA certificates checked against {tsa_ca}" if tsa_ca else \
            "signatures only: pass --tsa-ca to check the TSA certificates against a trusted CA"
        stamps = f", {counts['timestamps']} RFC 3161 timestamps ({trust})"
    click.echo(f"OK: {counts['versions']} versions, {counts['changes']} changes, "
               f"{counts['deliveries']} deliveries, {counts['ledger_entries']} ledger entries"
               f"{stamps}{', report.pdf' if counts['pdf'] else ''} verified")
