"""Command groups that import a command's module only when that command runs.

``policywatch --help`` must start fast, and most commands pull in heavy libraries (Scrapy,
sqlite-utils, BeautifulSoup, rich tables): importing them all to print one help screen cost
most of a second. A ``LazyCommand`` names where its command lives and its one-line summary;
the group lists summaries without importing anything and imports the module when the command
is looked up (click's documented pattern, "Lazily Loading Subcommands").

The summaries repeat the first sentence of each command's docstring, since reading it would
mean importing the module; tests/cli/test_cli_lazy.py checks they agree.
"""

import importlib
from typing import NamedTuple

import click
from click.formatting import HelpFormatter


class LazyCommand(NamedTuple):
    """Where a command lives (``module:attribute``) and the summary ``--help`` lists it with."""

    target: str
    summary: str


class LazyCommandsMixin:
    """A click group whose ``lazy_commands`` (name → ``LazyCommand``) load on first use."""

    lazy_commands: dict[str, LazyCommand] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The eager and the lazy commands' names, sorted (as click lists them)."""
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command ``cmd_name``, importing its module the first time it is asked for."""
        if cmd_name not in self.commands and cmd_name in self.lazy_commands:
            self.add_command(load(self.lazy_commands[cmd_name].target), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: HelpFormatter) -> None:
        """Click's command list, with the lazy commands' summaries (their modules stay unloaded)."""
        names = [name for name in self.list_commands(ctx)
                 if name in self.lazy_commands and name not in self.commands
                 or not self.get_command(ctx, name).hidden]
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, self._short_help(ctx, name, limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def _short_help(self, ctx: click.Context, name: str, limit: int) -> str:
        if name in self.commands or name not in self.lazy_commands:
            return self.get_command(ctx, name).get_short_help_str(limit)
        # A stand-in with the summary as its help shortens it exactly as the real command would.
        return click.Command(name, help=self.lazy_commands[name].summary).get_short_help_str(limit)


def load(target: str) -> click.Command:
    """The command object at ``module:attribute``."""
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)
