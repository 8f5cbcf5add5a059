"""The Atom feed of new entries and the home page's recently added list (issue 18, item 4)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from kb.feed import ATOM, atom_feed, recent_list, recently_added
from kb.load import load

REPO = Path(__file__).resolve().parents[2]
KB = load(REPO)


def test_the_feed_parses_and_lists_the_newest_entries():
    root = ET.fromstring(atom_feed(KB, "https://example.org/kb/"))
    entries = root.findall(f"{{{ATOM}}}entry")
    newest = recently_added(KB, 50)
    assert [e.find(f"{{{ATOM}}}id").text for e in entries] == [f"https://example.org/kb/methods/{m.id}/" for m in newest]
    assert root.find(f"{{{ATOM}}}link[@rel='self']").get("href") == "https://example.org/kb/feed.xml"


def test_markup_in_a_summary_stays_text_in_the_feed():
    method = next(iter(KB.methods.values()))
    hostile = method.model_copy(update={"summary": 'Fast & small <script>alert("x")</script> ]]>', "added": None})
    KB.methods[method.id], saved = hostile, method
    try:
        text = atom_feed(KB, "https://example.org/", limit=len(KB.methods))
    finally:
        KB.methods[method.id] = saved
    assert "<script>" not in text and "&lt;script&gt;" in text
    summaries = [e.text for e in ET.fromstring(text).iter(f"{{{ATOM}}}summary")]
    assert 'Fast & small <script>alert("x")</script> ]]>' in summaries


def test_the_home_page_list_links_the_newest_first():
    lines = recent_list(KB, "index.md", 5).splitlines()
    assert [line.split("](")[1].split(")")[0] for line in lines] == [f"methods/{m.id}.md" for m in recently_added(KB, 5)]
