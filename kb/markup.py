"""Turning contributed text into Markdown that can only ever show as text.

Every field a contributor writes passes through `text()` before it reaches a page: HTML is escaped and
every character Markdown would act on becomes an entity, so `<script>`, `[x](javascript:...)` or a raw
`<img onerror=...>` render literally.
"""

from __future__ import annotations

import html
import json
import posixpath

_ENTITIES = {c: f"&#{ord(c)};" for c in "&<>\"'[]()*_`\\#!|~{}$^:"}


def text(value: object) -> str:
    """Contributed text -> inert Markdown (entities only, no markup)."""
    return "".join(_ENTITIES.get(c, c) for c in str(value)).replace("\n", " ")


def attr(value: object) -> str:
    """A value for an HTML attribute."""
    return html.escape(str(value), quote=True)


def link(url: str, label: str) -> str:
    """An HTML link to a validated https address (the schema refuses anything else)."""
    if not url.startswith("https://"):
        return text(label)
    return f'<a href="{attr(url)}">{text(label)}</a>'


def front_matter(**fields: object) -> str:
    """YAML front matter; values are JSON-encoded, which YAML reads back unchanged."""
    lines = [f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in fields.items() if value is not None]
    return "---\n" + "\n".join(lines) + "\n---\n\n"


def rel(from_page: str, to_page: str) -> str:
    """Relative Markdown link between two pages given by their docs-relative paths."""
    return posixpath.relpath(to_page, posixpath.dirname(from_page) or ".")


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table; cells must already be escaped."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(out) + "\n"
