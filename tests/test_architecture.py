"""The architecture is checked, not described (docs/architecture.md, docs/decisions/0016).

- the import-linter contracts in pyproject.toml (layers, who may import the crawler, the
  notifier, sqlite3) hold;
- ruff, configured in pyproject.toml, is clean;
- no module of the code is over 400 lines, no function over 80;
- a function-level import says why it is not at the top (an optional extra, start-up cost, a
  large table loaded on first use) in a comment on its line or just above its group.
"""

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CODE = ("monitor", "crawler", "notify")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def _modules(*roots: str) -> list[Path]:
    return sorted(p for root in roots for p in (ROOT / root).rglob("*.py"))


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_the_import_contracts_hold():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    assert lint_imports.exists(), "import-linter is a test dependency: pip install -e '.[test]'"
    result = _run(str(lint_imports), "--no-cache")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_ruff_is_clean():
    result = _run(sys.executable, "-m", "ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def _too_long() -> list[str]:
    found = []
    for path in _modules(*CODE):
        source = path.read_text(encoding="utf-8")
        name = path.relative_to(ROOT)
        if source.count("\n") > MAX_MODULE_LINES:
            found.append(f"{name}: {source.count(chr(10))} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.append(f"{name}:{node.lineno} {node.name}() is {length} lines")
    return found


def test_no_module_or_function_is_too_long():
    assert _too_long() == []


def _unexplained_imports(source: str) -> list[int]:
    """Lines of function-level imports with no comment on the line or above their group."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(node):
            if not isinstance(inner, ast.Import | ast.ImportFrom):
                continue
            row = inner.lineno - 1
            if "#" in lines[inner.end_lineno - 1] or "#" in lines[row]:
                continue
            above = row - 1  # walk up over the imports of the same group to the line before it
            while above >= 0 and lines[above].strip().startswith(("import ", "from ")) \
                    and "#" not in lines[above]:
                above -= 1
            if above < 0 or not lines[above].strip().startswith("#") \
                    and not lines[above].strip().startswith(("import ", "from ")):
                found.append(inner.lineno)
    return found


def test_function_level_imports_say_why():
    unexplained = [f"{path.relative_to(ROOT)}:{line}" for path in _modules(*CODE)
                   for line in _unexplained_imports(path.read_text(encoding="utf-8"))]
    assert unexplained == [], "give each a comment (extra, start-up cost, ...) or move it to the top"


@pytest.mark.parametrize("source, unexplained", [
    ("def f():\n    import json\n", [2]),
    ("def f():\n    import json  # only the export needs it\n", []),
    ("def f():\n    # start-up cost: only this command loads apprise\n    import json\n    import os\n", []),
    ("def f():\n    x = 1\n    import json\n", [3]),
    ("import os\n", []),
])
def test_the_import_check_tells_explained_from_unexplained(source, unexplained):
    assert _unexplained_imports(source) == unexplained


_SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|PRAGMA|ALTER|DROP|REPLACE|VACUUM)\s")


def _sql_outside_the_store() -> list[str]:
    """SQL statements written, or a store's connection reached into, outside monitor/store/."""
    found = []
    for path in _modules(*CODE):
        name = path.relative_to(ROOT)
        if name.parts[:2] == ("monitor", "store"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and _SQL.match(node.value):
                found.append(f"{name}:{node.lineno} SQL {node.value.split()[0]}")
            if isinstance(node, ast.Attribute) and node.attr in ("execute", "executemany", "query", "table") \
                    and isinstance(node.value, ast.Attribute) and node.value.attr in ("db", "conn"):
                found.append(f"{name}:{node.lineno} .{node.value.attr}.{node.attr}")
    return found


def test_only_the_store_speaks_sql():
    assert _sql_outside_the_store() == []


# monitor's packages with a public face (``__all__`` in their ``__init__``, loaded lazily).
FACED = ("monitor.store", "monitor.extract", "monitor.compare", "monitor.compare.classify", "monitor.record",
         "monitor.record.backfill", "monitor.targets", "monitor.evidence", "monitor.evaluation", "monitor.web",
         "monitor.cli")


def _package_of(module: str) -> str | None:
    owners = [p for p in FACED if module == p or module.startswith(p + ".")]
    return max(owners, key=len, default=None)


def _past_the_face(source: str, importer: str) -> list[tuple[int, str]]:
    """Imports of another package's submodule (``monitor.store.database``), or of a name its
    face does not offer, instead of its face."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported = [(node.module, [alias.name for alias in node.names])]
        elif isinstance(node, ast.Import):
            imported = [(alias.name, []) for alias in node.names]
        else:
            continue
        for module, names in imported:
            owner = _package_of(module)  # the innermost faced package the module belongs to
            if not owner or importer == owner or importer.startswith(f"{owner}."):
                continue
            if module != owner:
                found.append((node.lineno, module))
            else:
                offered = importlib.import_module(owner).__all__
                found += [(node.lineno, f"{owner}.{name}") for name in names if name not in offered]
    return found


def test_packages_are_used_through_their_faces():
    """Code outside a package imports its public face, never its submodules (tests and
    benchmarks may look inside: they test and time the parts)."""
    found = []
    for path in _modules(*CODE):
        importer = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        found += [f"{path.relative_to(ROOT)}:{line} imports {module}"
                  for line, module in _past_the_face(path.read_text(encoding="utf-8"), importer)]
    assert found == []


@pytest.mark.parametrize(("source", "importer", "flagged"), [
    ("from monitor.store.database import open_store\n", "monitor.web.app", [(1, "monitor.store.database")]),
    ("import monitor.evidence.warc\n", "crawler.pipelines", [(1, "monitor.evidence.warc")]),
    ("from monitor.store import open_store\n", "monitor.web.app", []),
    ("from monitor.store.database import Store\n", "monitor.store.schedule", []),  # inside its own package
    ("from monitor.compare.classify import get_classifier\n", "monitor.record.recording", []),  # a face
    ("from monitor.store import schema\n", "monitor.web.app", [(1, "monitor.store.schema")]),  # not offered
])
def test_the_face_check_tells_face_from_submodule(source, importer, flagged):
    assert _past_the_face(source, importer) == flagged


@pytest.mark.parametrize("package", FACED)
def test_every_name_on_a_face_exists(package):
    """A face lists only names its submodules define (a typo would fail on first use)."""
    face = importlib.import_module(package)
    assert face.__all__, package
    for name in face.__all__:
        assert getattr(face, name) is not None, f"{package}.{name}"
