"""What the command modules share: the consoles, the command's database and store, JSON output.

Imported by the command modules only (which load lazily), never by ``monitor.cli.main``, so
that ``policywatch --help`` does not pay for the store's imports.
"""

import json
import sys
from pathlib import Path

import click
from rich.console import Console

from monitor.errors import InputError
from monitor.extract import extract
from monitor.store import open_store, require_database

EXIT_SOME_FETCHES_FAILED = 3

# Rich assumes 80 columns when output is not a terminal; tables of URLs need more.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, soft_wrap=True, width=None if sys.stderr.isatty() else 160)


def database_path(ctx, create: bool = False) -> str:
    """The ``--db``/``POLICYWATCH_DB`` path, checked: unless ``create``, a missing file is a
    one-line error (``DatabaseMissing``) rather than a new empty database that answers
    "no targets yet" to a typo. The one gate every command's database goes through; only
    ``init``, ``target add``/``import``, ``subscribe`` and ``backfill`` pass ``create``."""
    path = ctx.obj["db"]
    if not create:
        require_database(path)
    return path



def open_cli_store(ctx, create: bool = False):
    """The command's store (see ``database_path``), with the notifier listening to its events."""
    # this command's own imports, loaded when it runs: the CLI starts fast (docs/cli.md)
    import notify
    notify.install()
    store = open_store(database_path(ctx, create), create=create)
    # Closed when the command ends, not when the garbage collector gets to it: the last close
    # checkpoints the -wal file, so a copy of the database taken next has every write.
    ctx.call_on_close(store.close)
    return store


def emit_json(data) -> None:
    """``data`` as indented JSON on stdout (the ``--json`` output of every command)."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def read_local(path: str) -> bytes:
    """The bytes of the local file ``path``; ``InputError`` in one line if it cannot be read."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError as error:
        raise InputError(f"no such file: {path}") from error
    except IsADirectoryError as error:
        raise InputError(f"{path} is a directory, not a file") from error
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from error



def extract_file(path: str, select=(), remove=(), url: str = "") -> str:
    """The normalised text of a local file (``diff``, ``extract``)."""
    return extract(read_local(path), None, url=url, select=select, remove=remove, name=path).text
