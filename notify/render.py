"""Rendering messages with jinja2 templates (``notify/templates/``, or an operator's directory).

Three kinds of message (``alert``: one change; ``digest``: many; ``operator``: a target broke or
recovered), each a title template and a body template per format (text, Markdown, HTML).
Crawled text is hostile: HTML templates are autoescaped, Markdown ones escape Markdown syntax
through the ``md`` filter, every excerpt is bounded (``excerpt`` filter), and a body that still
exceeds the channel's limit is re-rendered with fewer, shorter excerpts before being cut.
"""

import re
from collections.abc import Callable
from pathlib import Path

import jinja2

from monitor.compare import elide
from monitor.config import config
from monitor.errors import InputError

FORMATS = {"text": "txt", "markdown": "md", "html": "html"}
KINDS = ("alert", "digest", "operator")
MAX_TITLE_CHARS = 200
DEFAULT_EXCERPT_CHARS = 600
# Progressively smaller renderings tried when a body exceeds the channel's limit:
# (items shown, characters per excerpt).
SHRINK_STEPS = ((None, DEFAULT_EXCERPT_CHARS), (3, 300), (1, 160), (0, 80))
TRUNCATION_NOTE = "\n… (message cut to fit the channel; see the full diff)"
_MD_INLINE = re.compile(r"([\\`*_{}\[\]<>|~])")  # emphasis, code, links, HTML, tables, strikeout
_MD_LINE_START = re.compile(r"^([ \t]*)([#+\-=>])", re.M)  # headings, bullets, quotes
_MD_NUMBERED = re.compile(r"^([ \t]*\d+)([.)])", re.M)  # numbered lists
_MD_MENTION = re.compile(r"@(?=\w)")  # @channel / @everyone on chat services
_MD_ENTITY = re.compile(r"&(?=#?\w+;)")
_SPACES = re.compile(r"\s+")


class TemplateProblem(InputError):
    """An alert template cannot be loaded or rendered (an operator's override, usually)."""


def _one_line(text) -> str:
    return _SPACES.sub(" ", str(text or "")).strip()


def _cut(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, cut at a word boundary (``monitor.compare.elide``)
    with "…"."""
    if limit <= 0:
        return ""
    return text if len(text) <= limit else elide.head(text, max(0, limit - 1)).rstrip() + "…"


@jinja2.pass_context
def _excerpt(context, text, limit: int | None = None) -> str:
    """One line of at most ``limit`` (default: the rendering's ``excerpt_chars``) characters."""
    return _cut(_one_line(text), limit if limit is not None else context.get("excerpt_chars", DEFAULT_EXCERPT_CHARS))


def markdown_escape(text) -> str:
    """Text that Markdown renders literally (no links, emphasis, HTML or mentions), escaping only
    what could start markup: ``http://a.b/c-d`` and ``legal-basis`` stay as they are."""
    text = _MD_INLINE.sub(r"\\\1", str(text or "")).replace("](", "]\\(")
    text = _MD_LINE_START.sub(r"\1\\\2", text)
    text = _MD_NUMBERED.sub(r"\1\\\2", text)
    text = _MD_MENTION.sub(r"\\@", text)
    return _MD_ENTITY.sub(r"\\&", text)


def environment(template_dir: str | None = None) -> jinja2.Environment:
    """The template environment: an operator's directory first (if any), then the bundled one."""
    loaders: list[jinja2.BaseLoader] = []
    if template_dir:
        if not Path(template_dir).is_dir():
            raise TemplateProblem(f"template directory {template_dir} does not exist")
        loaders.append(jinja2.FileSystemLoader(template_dir))
    loaders.append(jinja2.PackageLoader("notify", "templates"))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["excerpt"] = _excerpt
    env.filters["truncate_excerpt"] = _excerpt  # the first templates' name for it
    env.filters["md"] = markdown_escape
    env.filters["one_line"] = _one_line
    return env


def _describe(error: Exception, name: str) -> str:
    if isinstance(error, jinja2.TemplateSyntaxError):
        where = f"{error.filename or error.name or name}, line {error.lineno}"
        return f"template error in {where}: {error.message}"
    if isinstance(error, jinja2.TemplateNotFound):
        return f"template {error.name} not found"
    line = None
    tb = error.__traceback__
    while tb is not None:  # jinja2 rewrites tracebacks so template lines appear as frames
        if tb.tb_frame.f_code.co_filename.endswith(".j2"):
            name, line = tb.tb_frame.f_code.co_filename, tb.tb_lineno
        tb = tb.tb_next
    where = f"{name}, line {line}" if line else name
    return f"template error in {where}: {type(error).__name__}: {error}"


def _render(env: jinja2.Environment, name: str, context: dict) -> str:
    try:
        return env.get_template(name).render(context)
    except (jinja2.TemplateError, TypeError, ValueError, KeyError, AttributeError,
            ArithmeticError, IndexError) as error:
        raise TemplateProblem(_describe(error, name)) from error


def render_message(kind: str, context_for: Callable[[int | None, int], dict], fmt: str = "text",
                   template_dir: str | None = None, body_limit: int = 0,
                   title_limit: int = MAX_TITLE_CHARS, unsubscribe_url: str = "") -> tuple[str, str]:
    """``(title, body)`` of a ``kind`` message in ``fmt``, fitted to ``body_limit`` characters.

    ``context_for(max_items, excerpt_chars)`` builds the template context; it is called again
    with smaller numbers while the body is too long. A body still too long is cut, with a note.
    ``unsubscribe_url`` (an e-mail's one-click link, or "") is given to every template.
    """
    env = environment(template_dir)
    title = body = ""
    for max_items, excerpt_chars in SHRINK_STEPS:
        context = {**context_for(max_items, excerpt_chars), "excerpt_chars": excerpt_chars, "format": fmt,
                   "unsubscribe_url": unsubscribe_url}
        title = _render(env, f"{kind}_title.txt.j2", context)
        body = _render(env, f"{kind}.{FORMATS[fmt]}.j2", context)
        if not body_limit or len(body) <= body_limit:
            break
    title = _cut(_one_line(title), min(title_limit or MAX_TITLE_CHARS, MAX_TITLE_CHARS))
    if body_limit and len(body) > body_limit:
        note = TRUNCATION_NOTE if fmt != "html" else "<p>" + TRUNCATION_NOTE.strip() + "</p>"
        if fmt == "html" and body.lstrip().lower().startswith("<!doctype"):
            note += "\n</body>\n</html>\n"  # a cut document still ends as one
        cut = body[:max(0, body_limit - len(note) - 16)]
        if fmt == "html" and "<" in cut[cut.rfind(">") + 1:]:
            cut = cut[: cut.rfind("<")]  # never leave half a tag
        body = cut + note
    return title, body


def check_templates(template_dir: str | None, sample_context_for: Callable[[str], Callable]) -> None:
    """Render every template against a hostile sample; raise ``TemplateProblem`` naming the file."""
    for kind in KINDS:
        for fmt in FORMATS:
            render_message(kind, sample_context_for(kind), fmt, template_dir,
                           unsubscribe_url="https://pw.example/unsubscribe/1/<token>&\"")


def template_dir_from(setting: str | None) -> str | None:
    """The operator's template directory from an argument or ``POLICYWATCH_TEMPLATES``."""
    return setting or config().templates or None
