"""Turning contributed text into Markdown that can only ever show as text.

Every field a contributor writes passes through `text()` before it reaches a page: HTML is escaped and
every character Markdown would act on becomes an entity, so `<script>`, `[x](javascript:...)` or a raw
`<img onerror=...>` render literally.
"""

from __future__ import annotations

import html
import posixpath
import re

import yaml

_ENTITIES = {c: f"&#{ord(c)};" for c in "&<>\"'[]()*_`\\#!|~{}$^:"}
# Python-Markdown splits lines at \n and \r; the others are line breaks for YAML and str.splitlines.
_LINE_BREAKS = re.compile("[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def text(value: object) -> str:
    """Contributed text -> inert Markdown on one line (entities only, no markup)."""
    return _LINE_BREAKS.sub(" ", "".join(_ENTITIES.get(c, c) for c in str(value)))


def attr(value: object) -> str:
    """A value for an HTML attribute."""
    return html.escape(str(value), quote=True)


def link(url: str, label: str) -> str:
    """An HTML link to a validated https address (the schema refuses anything else)."""
    if not url.startswith("https://"):
        return text(label)
    return f'<a href="{attr(url)}">{text(label)}</a>'


def front_matter(**fields: object) -> str:
    """YAML front matter that always parses back to the same values (PyYAML writes it, escaping what
    YAML cannot hold raw; MkDocs silently shows unparsable front matter as page text).

    Material writes `description` into an HTML attribute without escaping it, so it is escaped here.
    """
    data = {key: value for key, value in fields.items() if value is not None}
    if "description" in data:
        data["description"] = attr(data["description"])
    dumped = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1_000_000, default_style='"')
    return "---\n" + dumped + "---\n\n"


def rel(from_page: str, to_page: str) -> str:
    """Relative Markdown link between two pages given by their docs-relative paths."""
    return posixpath.relpath(to_page, posixpath.dirname(from_page) or ".")


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table; cells must already be escaped."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(out) + "\n"
