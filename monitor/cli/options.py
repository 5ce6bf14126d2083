"""What every policywatch command shares in how it reads its options and reports usage errors.

Click, left alone, lets the last of a repeated option win: ``crawl --company A --company B``
would quietly crawl only B. Every policywatch command and group is built from the classes
here, which refuse a repeated option unless it is declared ``multiple=True`` (then the values
combine) or is a counter (``-vv``). A repeated plain flag (``--json --json``) says the same
thing twice, so it is let through. And a usage error is one line, like every other error.

Options whose fallback is a ``POLICYWATCH_*`` variable take it from ``monitor.config``
(``SettingOption``), so the variable is parsed in one place.

This module imports nothing from ``cli`` so the command modules can use it freely.
"""

import click

from monitor.config import config
from monitor.errors import PolicywatchError, one_line


class RepeatedOption(click.UsageError, PolicywatchError):
    """An option that takes one value was given more than once."""


class SettingOption(click.Option):
    """An option whose value, when not given, is the ``monitor.config`` field ``setting``.

    Click's own ``envvar=`` would read the variable a second way; this reads the parsed
    setting instead, as a string for the option's type to convert as it would the variable.
    """

    def __init__(self, *args, setting: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.setting = setting

    def resolve_envvar_value(self, ctx: click.Context) -> str | None:
        """The setting's value as text, or None when it is unset (the option's default applies)."""
        value = getattr(config(), self.setting)
        return None if value is None else str(value)


def _repeat_is_ambiguous(param: click.Parameter) -> bool:
    if not isinstance(param, click.Option) or param.multiple or param.count:
        return False
    # A lone flag (--json) means the same however often it is given; a pair (--x/--no-x) or a
    # flag_value choice does not.
    # (Click keeps a lone flag's value as True or as its "unset" sentinel, by version.)
    lone_flag = param.is_flag and not param.secondary_opts and not isinstance(param.flag_value, str)
    return not lone_flag


def refuse_repeats(ctx: click.Context, param_order: list[click.Parameter]) -> None:
    """Raise ``RepeatedOption`` naming the first option given twice that takes one value."""
    seen: set[str] = set()
    for param in param_order:
        if not _repeat_is_ambiguous(param):
            continue
        if param.name in seen:
            names = "/".join(param.opts + param.secondary_opts)
            raise RepeatedOption(f"{names} was given more than once; it takes one value", ctx=ctx)
        seen.add(param.name)


class RefusingRepeatsMixin:
    """Refuses repeated single-value options (see the module docstring)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Parse as click does, after checking no single-value option was repeated."""
        # Click's parser records each occurrence in ``order`` but keeps only the last value;
        # a dry parse of the same arguments (the parser does not touch ``ctx``) sees them all.
        try:
            _, _, order = self.make_parser(ctx).parse_args(args=list(args))
        except click.UsageError:
            order = []  # click's own parse below reports it, in its own words
        refuse_repeats(ctx, order)
        return super().parse_args(ctx, args)


class PolicywatchCommand(RefusingRepeatsMixin, click.Command):
    """A policywatch command: repeated single-value options are refused."""


def usage_error_line(error: click.ClickException) -> str:
    """A click usage error as policywatch prints every error: one line, with where to get help."""
    message = f"policywatch: error: {one_line(error.format_message())}"
    ctx = getattr(error, "ctx", None)
    if isinstance(error, click.UsageError) and ctx is not None:
        message += f" (see `{ctx.command_path} --help`)"
    return message


def _shown_as_one_line(error: click.ClickException) -> click.ClickException:
    if isinstance(error, click.exceptions.NoArgsIsHelpError):
        return error  # a bare group prints its help, as it should
    # Click's standalone main prints an error with ``error.show()``: usage, a hint and the
    # message on three lines. Replacing ``show`` keeps the rest of click's handling (exit codes,
    # a closed pipe) as it is.
    error.show = lambda file=None: click.echo(usage_error_line(error), err=True)
    return error


class PolicywatchCommandGroup(RefusingRepeatsMixin, click.Group):
    """A policywatch group: refuses repeats, and so do the commands and subgroups it makes.

    Click's usage errors (its own and ``RepeatedOption``) are printed as one line.
    """

    command_class = PolicywatchCommand
    group_class = type  # subgroups made with @group.group() are of this same class

    def make_context(self, info_name, args, parent=None, **extra):
        """Click's ``make_context``: errors in the group's own options are shown as one line."""
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.ClickException as error:
            raise _shown_as_one_line(error) from error

    def invoke(self, ctx):
        """Click's ``invoke``: errors in a command's arguments are shown as one line."""
        try:
            return super().invoke(ctx)
        except click.ClickException as error:
            raise _shown_as_one_line(error) from error
