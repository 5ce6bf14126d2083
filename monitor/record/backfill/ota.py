"""Backfill from an Open Terms Archive ``*-versions`` repository (a local git clone).

Such a repository holds one file per document, ``<Service>/<Terms type>.md``, and one commit
per recorded version, dated by the fetch (the author date). Its Markdown is already extracted
text, so each version is recorded as a ``text/markdown`` body through the same pipeline as a
live capture. Commits that only re-extract a stored snapshot (OTA's "Apply technical or
declaration upgrade", formerly "Refilter") are not changes of the document: they are recorded
as technical versions (like ``policywatch reextract``'s), which never alert, so that the next
version is compared with the text as OTA re-extracted it (as OTA's own history reads).

Git is driven through its command line (``git log``, ``git show``): no library needed, and it
reads any clone git itself can read.
"""

import logging
import subprocess
from collections.abc import Callable
from datetime import datetime
from pathlib import Path, PurePosixPath

from monitor.errors import InputError
from monitor.record.backfill.common import (
    ArchivedCopy,
    BackfillError,
    BackfillReport,
    archive_time,
    ensure_backfillable,
    history_horizon,
    record_copy,
    recorded_refs,
)
from monitor.store import Store
from monitor.timeutil import now_iso

log = logging.getLogger(__name__)

SOURCE = "ota"
# OTA's commit subjects for re-extractions, not new versions ("First record of", "Record new
# changes of" and the older "Start tracking", "Update" are versions).
TECHNICAL_PREFIXES = ("apply technical or declaration upgrade", "apply technical upgrade", "refilter")
CONTENT_TYPE = "text/markdown; charset=utf-8"


def _git(repo: Path, *args: str) -> bytes:
    try:
        completed = subprocess.run(["git", "-C", str(repo), "-c", "core.quotepath=off", *args],
                                   capture_output=True, check=False, timeout=300)
    except FileNotFoundError as error:
        raise BackfillError("git is not installed: it is needed to read an OTA repository") from error
    if completed.returncode != 0:
        message = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        raise BackfillError(f"git {args[0]} in {repo}: {message[-1] if message else 'failed'}")
    return completed.stdout


def documents(repo: Path) -> list[tuple[str, str]]:
    """The ``(service, terms type)`` pairs of a versions repository's current tree."""
    if not (repo / ".git").exists() and not repo.joinpath("HEAD").exists():
        raise InputError(f"{repo} is not a git repository (clone an OTA *-versions repository)")
    found = []
    for name in _git(repo, "ls-tree", "-r", "-z", "--name-only", "HEAD").split(b"\0"):
        path = PurePosixPath(name.decode("utf-8", "replace"))
        if len(path.parts) == 2 and path.suffix == ".md" and not path.parts[0].startswith("."):
            found.append((path.parts[0], path.stem))
    return sorted(found)


def is_technical(subject: str) -> bool:
    """True for a commit that only re-extracts a stored snapshot."""
    return subject.strip().lower().startswith(TECHNICAL_PREFIXES)


def commits(repo: Path, path: str) -> list[tuple[str, str, str]]:
    """``(sha, archived_at, subject)`` of every commit that wrote ``path``, oldest first."""
    raw = _git(repo, "log", "--reverse", "--diff-filter=ACMRT", "--format=%H%x1f%aI%x1f%s%x1e",
               "--", path).decode("utf-8", "replace")
    found, latest = [], ""
    for record in raw.split("\x1e"):
        parts = record.strip().split("\x1f")
        if len(parts) == 3:
            sha, date, subject = parts
            at = archive_time(datetime.fromisoformat(date))
            if is_technical(subject):
                # A re-extraction re-reads the snapshot of the commit before it, whatever date
                # it carries: it stays right after that commit.
                at = max(at, latest)
            latest = max(latest, at)
            found.append((sha, at, subject))
    # Oldest first by date (stable for equal dates), as history must be appended.
    return sorted(found, key=lambda commit: commit[1])


def find_target(store: Store, service: str, terms_type: str) -> dict | None:
    """The target tracking ``service``'s ``terms_type`` (company and type, case-insensitive)."""
    ids = store.target_ids_of(service, terms_type)
    if len(ids) > 1:
        raise InputError(f"{service} — {terms_type} is tracked by {len(ids)} targets")
    return store.get_target(ids[0]) if ids else None


def backfill_document(store: Store, repo: Path, target: dict, service: str, terms_type: str,
                      progress: Callable[[str], None] = lambda message: None) -> BackfillReport:
    """Record one document's OTA history into ``target``, oldest first."""
    ensure_backfillable(store, target)
    report = BackfillReport(target["id"], SOURCE)
    path = f"{service}/{terms_type}.md"
    _, refs = recorded_refs(store, target["id"], SOURCE)
    horizon = history_horizon(store, target["id"])
    for sha, archived_at, subject in commits(repo, path):
        if sha in refs:
            report.already_recorded += 1
            continue
        if horizon and archived_at < horizon:
            report.older_than_history += 1
            continue
        started = now_iso()
        body = _git(repo, "show", f"{sha}:{path}")
        copy = ArchivedCopy(url=target["url"], archived_at=archived_at, archive_ref=sha, body=body,
                            content_type=CONTENT_TYPE, status=None, technical=is_technical(subject))
        if copy.technical and store.latest_version(target["id"]) is None:
            continue  # a re-extraction of nothing we hold
        recorded = record_copy(store, target, copy, SOURCE, started, report)
        progress(f"{service} — {terms_type} {sha[:10]} {recorded.outcome}"
                 + (f" ({recorded.error})" if recorded.error else ""))
    if report.older_than_history:
        report.warnings.append(
            f"{service} — {terms_type}: {report.older_than_history} commits are older than the "
            f"history already recorded and were skipped (history is only appended, oldest first)")
    return report


def backfill_ota(store: Store, repo: str | Path, *, service: str | None = None,
                 terms_type: str | None = None, url: str | None = None,
                 progress: Callable[[str], None] = lambda message: None) -> list[BackfillReport]:
    """Import an OTA versions repository's documents into their targets.

    A document goes to the target with its service as company and its terms type as document
    type. With ``url`` (which needs ``service`` and ``terms_type``) a missing target is created;
    otherwise documents without a target are skipped with a warning.
    """
    repo = Path(repo)
    if url and not (service and terms_type):
        raise InputError("--url needs --service and --type: it names one document's page")
    docs = [(s, t) for s, t in documents(repo)
            if (not service or s.lower() == service.lower())
            and (not terms_type or t.lower() == terms_type.lower())]
    if not docs:
        wanted = " — ".join(x for x in (service, terms_type) if x) or "any document"
        raise InputError(f"{repo} holds no <Service>/<Terms type>.md for {wanted}")
    reports = []
    for doc_service, doc_type in docs:
        target = find_target(store, doc_service, doc_type)
        if target is None and url:
            target = store.add_target(url, doc_service, doc_type)
        if target is None:
            report = BackfillReport(0, SOURCE)
            report.warnings.append(
                f"{doc_service} — {doc_type}: no target tracks it; add one (`policywatch target add URL "
                f"--company {doc_service!r} --type {doc_type!r}`, or `target import` its OTA "
                f"declaration) or pass --url; skipped")
            reports.append(report)
            continue
        try:
            reports.append(backfill_document(store, repo, target, doc_service, doc_type, progress))
        except BackfillError as error:  # one document's refusal must not stop the others
            reports.append(BackfillReport(target["id"], SOURCE, stopped=str(error), failed=True))
    return reports
