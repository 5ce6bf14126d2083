"""Rendering alerts with jinja2 templates (``notify/templates/``, or an operator's directory).

Crawled text is hostile: HTML templates are autoescaped, Markdown ones escape Markdown syntax
through the ``md`` filter, and every excerpt is bounded in length.
"""

import os
import re

import jinja2

from monitor.errors import InputError

FORMATS = {"text": "txt", "markdown": "md", "html": "html"}
MAX_EXCERPT_CHARS = 600
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def _truncate(text: str, limit: int = MAX_EXCERPT_CHARS) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _markdown_escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text or "")


def environment(template_dir: str | None = None) -> jinja2.Environment:
    """The template environment: an operator's directory first (if any), then the bundled one."""
    loaders: list[jinja2.BaseLoader] = []
    template_dir = template_dir or os.environ.get("POLICYWATCH_TEMPLATES")
    if template_dir:
        loaders.append(jinja2.FileSystemLoader(template_dir))
    loaders.append(jinja2.PackageLoader("notify", "templates"))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["truncate_excerpt"] = _truncate
    env.filters["md"] = _markdown_escape
    return env


def render_alert(context: dict, fmt: str = "text", template_dir: str | None = None) -> tuple[str, str]:
    """``(title, body)`` of an alert for one change in the subscriber's format."""
    env = environment(template_dir)
    try:
        title = env.get_template("alert_title.txt.j2").render(context).strip()
        body = env.get_template(f"alert.{FORMATS[fmt]}.j2").render(context)
    except jinja2.TemplateError as error:
        raise InputError(f"alert template error: {error}") from error
    return title, body
