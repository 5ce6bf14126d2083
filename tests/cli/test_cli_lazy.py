"""Commands load lazily (``monitor.cli.lazy``): ``--help`` lists them from stored summaries.

Each stored summary must shorten, at every width, to what the command's own help would.
"""

import subprocess
import sys

import click

from monitor.cli import cli
from monitor.cli.lazy import LazyCommandsMixin, load
from tests.conftest import ROOT


def _lazy_groups(group, path=("policywatch",)):
    ctx = click.Context(group)
    yield path, group
    for name in group.list_commands(ctx):
        sub = group.get_command(ctx, name)
        if isinstance(sub, LazyCommandsMixin):
            yield from _lazy_groups(sub, (*path, name))


def test_every_stored_summary_is_the_commands_own():
    for path, group in _lazy_groups(cli):
        for name, lazy in group.lazy_commands.items():
            command = load(lazy.target)
            stand_in = click.Command(name, help=lazy.summary)
            for limit in range(20, 140):
                assert stand_in.get_short_help_str(limit) == command.get_short_help_str(limit), \
                    (" ".join((*path, name)), limit)


def test_help_imports_no_command_module():
    probe = ("import sys; from monitor.cli.main import main; sys.argv = ['policywatch', '--help']\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             "heavy = [m for m in sys.modules if m.split('.')[0] in ('scrapy', 'sqlite_utils', 'rich', "
             "'bs4', 'notify', 'crawler') or m.startswith('monitor.cli.') and m not in "
             "('monitor.cli.main', 'monitor.cli.lazy', 'monitor.cli.options')]\n"
             "print(heavy, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stderr.strip() == "[]"
