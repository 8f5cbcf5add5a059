"""How the site search ranks the pages whose front matter the KB does not write itself.

Method pages carry their own boost and search words (kb/render.py); the separator and field boosts are in
mkdocs.yml. Listing pages that name every method (claims, help wanted) would otherwise match every query
that a method page matches, and push the method pages down.
"""

from __future__ import annotations

SEARCH_META = {
    "claims.md": {"boost": 0.2},
    "gaps.md": {"boost": 0.2},
    "timeline.md": {"boost": 0.5},
}


def search_meta(src_uri: str) -> dict | None:
    """The `search` front matter for a page (Material: boost, exclude), or None to leave it alone."""
    return SEARCH_META.get(src_uri)
