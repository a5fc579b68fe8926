"""Jinja2 for the web app: finding the top-level `templates/` folder, and the `_` global
that translates into the locale of the page being rendered."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from core.i18n import gettext
from webapp.keys import TEMPLATES

TEMPLATE_DIR_NAME = "templates"


def templates_dir() -> Path:
    """The repository's templates/ (a checkout or an editable install), else the working
    directory's (a container with the source tree as its work dir), else the copy an
    installed package placed under <prefix>/share/pult/."""
    candidates = (
        Path(__file__).resolve().parent.parent / TEMPLATE_DIR_NAME,
        Path.cwd() / TEMPLATE_DIR_NAME,
        Path(sys.prefix) / "share" / "pult" / TEMPLATE_DIR_NAME,
    )
    for candidate in candidates:
        if (candidate / "base.html").is_file():
            return candidate
    raise RuntimeError(
        "templates not found; looked in " + ", ".join(str(path) for path in candidates)
    )


def create_environment(directory: Path | None = None) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory or templates_dir()),
        autoescape=jinja2.select_autoescape(("html", "xml")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["_"] = _translate
    return environment


@jinja2.pass_context
def _translate(context: jinja2.runtime.Context, message: str) -> str:
    # A global reading the page's own `locale` keeps concurrent requests in different
    # languages apart, which installing gettext callables on the shared environment would not.
    locale: str | None = context.get("locale")
    return gettext(message, locale)


def render(request: web.Request, name: str, locale: str, **context: Any) -> web.Response:
    template = request.app[TEMPLATES].get_template(name)
    html = template.render(locale=locale, **context)
    return web.Response(text=html, content_type="text/html", charset="utf-8")
