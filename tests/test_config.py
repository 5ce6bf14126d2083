"""monitor.config: every POLICYWATCH_* setting parsed in one place, and docs/configuration.md made from it."""

import re
from dataclasses import fields
from pathlib import Path

import pytest

from monitor import config
from monitor.config import Config
from monitor.errors import ConfigError, InputError

DOC = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
SOURCES = ("monitor", "crawler", "notify")


def _default(spec) -> str:
    if spec.default is None:
        return "(unset)"
    if spec.default == "":
        return '""'
    if isinstance(spec.default, bool):
        return "`1`" if spec.default else "`0`"
    return f"`{spec.default:g}`" if isinstance(spec.default, float) else f"`{spec.default}`"


def configuration_doc() -> str:
    """docs/configuration.md as the dataclass says it should be."""
    rows = [f"| `{spec.metadata['env']}` | {_default(spec)} | {spec.metadata['doc']}"
            + "".join(f" Also read from `{alias}`." for alias in spec.metadata["aliases"]) + " |"
            for spec in fields(Config)]
    return "\n".join([
        "# Configuration",
        "",
        "Every setting is an environment variable, read once per process (each `policywatch`",
        "command reads them afresh) by `monitor/config.py`. An empty variable counts as unset; a",
        "value that cannot be used stops the command with one line naming the variable. Where a",
        "command has an option for a setting, the option wins.",
        "",
        "This table is generated from `monitor.config.Config`: after changing a setting there, run",
        "`python -m tests.test_config` to rewrite it (tests/test_config.py fails while they differ).",
        "",
        "| Variable | Default | Meaning |",
        "|---|---|---|",
        *rows,
        "",
    ])


def test_the_doc_lists_every_setting_as_the_dataclass_says():
    assert DOC.read_text(encoding="utf-8") == configuration_doc(), \
        "docs/configuration.md is out of date: run `python -m tests.test_config`"


def test_every_variable_the_code_names_is_a_setting():
    """A POLICYWATCH_* name in the code is a setting, a Scrapy setting, or an env:NAME example."""
    root = DOC.parent.parent
    named = {match for package in SOURCES for path in (root / package).rglob("*.py")
             for match in re.findall(r"POLICYWATCH_[A-Z_]+[A-Z]", path.read_text(encoding="utf-8"))}
    known = {name for spec in fields(Config) for name in (spec.metadata["env"], *spec.metadata["aliases"])}
    scrapy = set(re.findall(r"^(POLICYWATCH_[A-Z_]+) =", (root / "crawler" / "settings.py").read_text(),
                            re.MULTILINE))
    scrapy.add("POLICYWATCH_REDIS_PREFIX")  # a Scrapy setting crawler/redis/distributed.py sets
    assert named - known - scrapy - {"POLICYWATCH_NOTIFY"} == set()


def test_defaults_agree_with_the_code_that_had_them():
    from monitor.record.backfill import wayback
    from monitor.store import database
    from notify.settings import NotifySettings
    defaults = Config()
    assert all(getattr(defaults, f"notify_{spec.name}") == spec.default for spec in fields(NotifySettings)
               if spec.name not in ("base_url", "template_dir"))
    assert (defaults.wayback_url, defaults.wayback_delay, defaults.wayback_retries) == \
        (wayback.DEFAULT_BASE_URL, wayback.DEFAULT_DELAY_SECONDS, wayback.RETRIES)
    assert (defaults.db, defaults.busy_timeout_ms) == (database.DEFAULT_DB_PATH, database.BUSY_TIMEOUT_MS)


def test_defaults_and_parsing():
    assert Config.from_environ({}) == Config()
    parsed = Config.from_environ({"POLICYWATCH_DB": "x.db", "POLICYWATCH_NOTIFY_MAX_ATTEMPTS": "3",
                                  "POLICYWATCH_TSA_TIMEOUT": "2.5",
                                  "POLICYWATCH_ALLOW_PRIVATE_TARGETS": "yes",
                                  "POLICYWATCH_ROBOTS": "OBEY", "POLICYWATCH_TSA_URL": ""})
    assert (parsed.db, parsed.notify_max_attempts, parsed.tsa_timeout) == ("x.db", 3, 2.5)
    assert parsed.allow_private_targets and parsed.robots == "obey" and parsed.tsa_url is None
    # The notifier's older names still work; the newer ones win.
    assert Config.from_environ({"POLICYWATCH_NOTIFY_BASE_URL": "https://a"}).base_url == "https://a"
    assert Config.from_environ({"POLICYWATCH_NOTIFY_BASE_URL": "https://a",
                                "POLICYWATCH_BASE_URL": "https://b"}).base_url == "https://b"


@pytest.mark.parametrize("name,value,says", [
    ("POLICYWATCH_NOTIFY_MAX_ATTEMPTS", "many",
     "POLICYWATCH_NOTIFY_MAX_ATTEMPTS must be a whole number, not 'many'"),
    ("POLICYWATCH_TSA_TIMEOUT", "soon", "POLICYWATCH_TSA_TIMEOUT must be a number, not 'soon'"),
    ("POLICYWATCH_WAYBACK_DELAY", "-1", "POLICYWATCH_WAYBACK_DELAY must be at least 0, not '-1'"),
    ("POLICYWATCH_ROBOTS", "maybe", "POLICYWATCH_ROBOTS must be 'ignore' or 'obey', not 'maybe'"),
    ("POLICYWATCH_ALLOW_PRIVATE_TARGETS", "sure", "POLICYWATCH_ALLOW_PRIVATE_TARGETS must be 1 or 0"),
])
def test_a_bad_value_is_one_line_naming_the_variable(name, value, says):
    with pytest.raises(ConfigError, match=re.escape(says)) as raised:
        Config.from_environ({name: value})
    assert isinstance(raised.value, InputError) and "\n" not in str(raised.value)


def test_read_once_until_reloaded(monkeypatch):
    first = config.reload()
    monkeypatch.setenv("POLICYWATCH_CONTACT", "ops@example.org")
    assert config.config() is first and first.contact is None
    assert config.reload().contact == "ops@example.org" and config.config().contact == "ops@example.org"


def test_the_cli_reads_each_invocations_environment_and_reports_a_bad_value(cli):
    bad = cli("status", env={"POLICYWATCH_NOTIFY_LEASE_SECONDS": "long"}, check=1)
    assert bad.stderr == "policywatch: error: POLICYWATCH_NOTIFY_LEASE_SECONDS must be a number, not 'long'\n"


if __name__ == "__main__":
    DOC.write_text(configuration_doc(), encoding="utf-8")
    print(f"wrote {DOC}")
