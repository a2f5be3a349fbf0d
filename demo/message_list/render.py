"""Records as HTML: a collapsible JSON tree (native <details>, no script needed) and one fragment per record.

Every key, string and header passes through markupsafe's escaping: ``Markup(...).format`` escapes its
arguments, and the Jinja environment autoescapes, so a value like ``<script>`` is shown, never run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import orjson
from markupsafe import Markup

from demo.message_list.messages import Shown

STRING_SHOWN = 2000
"""Characters of one string value shown in the tree; the raw view has all of it."""
PREVIEW_CHARS = 90
"""Characters of the one-line preview beside a collapsed object."""

# Open at first: the envelope and the row images; closed: schema, source and everything deeper.
_OPEN = {(), ("payload",), ("payload", "after"), ("payload", "before"), ("after",), ("before",)}


def _scalar(value: Any) -> Markup:
    if isinstance(value, str):
        shown = value if len(value) <= STRING_SHOWN else value[:STRING_SHOWN] + "…"
        more = Markup(' <span class="more">({} more characters)</span>').format(len(value) - STRING_SHOWN)
        return Markup('<span class="str">"{}"</span>{}').format(
            shown, more if len(value) > STRING_SHOWN else ""
        )
    if value is None:
        return Markup('<span class="null">null</span>')
    if isinstance(value, bool):
        return Markup('<span class="bool">{}</span>').format("true" if value else "false")
    return Markup('<span class="num">{}</span>').format(value)


def _preview(value: dict[str, Any] | list[Any]) -> str:
    items = value.items() if isinstance(value, dict) else enumerate(value)
    parts = []
    for name, item in items:
        if isinstance(item, dict | list):
            text = "{…}" if isinstance(item, dict) else "[…]"
        else:
            text = orjson.dumps(item).decode()
        parts.append(f"{name}: {text}" if isinstance(value, dict) else text)
    joined = ", ".join(parts)
    return joined if len(joined) <= PREVIEW_CHARS else joined[: PREVIEW_CHARS - 1] + "…"


def _label(name: str | int | None) -> Markup:
    if name is None:
        return Markup("")
    return Markup('<span class="name">{}</span>: ').format(name)


def json_tree(value: Any, *, name: str | int | None = None, path: tuple[str | int, ...] = ()) -> Markup:
    """``value`` as nested <details>; objects on ``_OPEN`` paths start open, the rest show a preview."""
    if not isinstance(value, dict | list) or not value:
        empty = Markup('<span class="punct">{}</span>').format("{}" if isinstance(value, dict) else "[]")
        shown = empty if isinstance(value, dict | list) else _scalar(value)
        return Markup('<div class="leaf">{}{}</div>').format(_label(name), shown)
    items = value.items() if isinstance(value, dict) else enumerate(value)
    children = Markup("").join(json_tree(item, name=key, path=(*path, key)) for key, item in items)
    if not path:
        # The top level is always shown: a fold around it would only hide everything behind one more click.
        return Markup('<div class="tree">{}</div>').format(children)
    is_open = path in _OPEN
    count = (
        f"{len(value)} field{'s' * (len(value) != 1)}" if isinstance(value, dict) else f"{len(value)} items"
    )
    preview = Markup('<span class="preview">{}</span>').format(_preview(value)) if not is_open else ""
    return Markup(
        '<details class="node"{}><summary>{}<span class="count">{}</span> {}</summary>'
        '<div class="children">{}</div></details>'
    ).format(Markup(" open") if is_open else "", _label(name), count, preview, children)


def raw_json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


class Renderer:
    """Renders records with the app's templates (``message.html`` for one record)."""

    def __init__(self, *, templates: Path) -> None:
        self.environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(templates), autoescape=True, undefined=jinja2.StrictUndefined
        )
        self.environment.globals.update(json_tree=json_tree, raw_json=raw_json)
        self._message = self.environment.get_template("message.html")

    def message(self, shown: Shown) -> str:
        return self._message.render(m=shown)


def sse_lines(event: str, data: str, *, event_id: int | None = None) -> Iterator[str]:
    """One server-sent event; every line of ``data`` gets its own ``data:`` field, as the format requires."""
    if event_id is not None:
        yield f"id: {event_id}\n"
    yield f"event: {event}\n"
    for line in data.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        yield f"data: {line}\n"
    yield "\n"
