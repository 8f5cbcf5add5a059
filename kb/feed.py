"""Freshness: the entries most recently added to the knowledge base, as a list for the home page and as
an Atom feed (`feed.xml`, RFC 4287) for feed readers.

Newest first by `added`, then by first-version date. The feed is built with ElementTree, so every
contributed value is escaped as XML text.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from kb.load import KB
from kb.markup import rel, text
from kb.render import method_page_path
from kb.schema import Method
from kb.words import plain_title

FEED_PATH = "feed.xml"
FEED_ENTRIES = 50
HOME_ENTRIES = 10
ATOM = "http://www.w3.org/2005/Atom"


def recently_added(kb: KB, limit: int) -> list[Method]:
    def key(m: Method):
        return (m.added or dt.date.min, str(m.date or m.year), m.name.lower())

    return sorted(kb.methods.values(), key=key, reverse=True)[:limit]


def recent_list(kb: KB, page: str = "index.md", limit: int = HOME_ENTRIES) -> str:
    """Markdown list of the newest entries for a hand-written page (links relative to `page`)."""
    lines = []
    for m in recently_added(kb, limit):
        added = f"added {m.added.isoformat()}, " if m.added else ""
        lines.append(f"- [{text(plain_title(m.name))}]({rel(page, method_page_path(m.id))}): "
                     f"{text(plain_title(m.title))} <small>({added}{text(kb.categories[m.category].node.title)})</small>")
    return "\n".join(lines) + "\n"


def _day(value: dt.date) -> str:
    return f"{value.isoformat()}T00:00:00Z"


def atom_feed(kb: KB, site_url: str, limit: int = FEED_ENTRIES) -> str:
    """The Atom document of the newest entries; `site_url` is the site's absolute base address."""
    base = site_url if site_url.endswith("/") else site_url + "/"
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    newest = recently_added(kb, limit)
    updated = max((m.added for m in newest if m.added), default=dt.date(2024, 1, 1))

    def sub(parent, tag, value=None, **attrs):
        el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if value is not None:
            el.text = value
        return el

    sub(feed, "title", "LLM Inference KB: new entries")
    sub(feed, "subtitle", "Methods added to the knowledge base of efficient LLM inference.")
    sub(feed, "id", base)
    sub(feed, "link", href=base + FEED_PATH, rel="self", type="application/atom+xml")
    sub(feed, "link", href=base, rel="alternate", type="text/html")
    sub(feed, "updated", _day(updated))
    sub(sub(feed, "author"), "name", "LLM Inference KB contributors")
    for m in newest:
        url = f"{base}methods/{m.id}/"
        entry = sub(feed, "entry")
        sub(entry, "title", plain_title(m.name) + ": " + plain_title(m.title))
        sub(entry, "id", url)
        sub(entry, "link", href=url, rel="alternate", type="text/html")
        sub(entry, "updated", _day(m.added or updated))
        for author in m.authors[:20]:
            sub(sub(entry, "author"), "name", author)
        if not m.authors:
            sub(sub(entry, "author"), "name", "unknown (not confirmed)")
        sub(entry, "category", term=m.category, label=kb.categories[m.category].node.title)
        sub(entry, "summary", " ".join(m.summary.split()), type="text")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode") + "\n"
