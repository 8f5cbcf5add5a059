"""The site makes no request beyond its own server: no fonts, scripts or API calls from third parties."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.site.test_browser import base_url, browser, page  # noqa: F401 (shared fixtures)


def test_pages_request_only_their_own_host(page, base_url):  # noqa: F811
    own = urlsplit(base_url).netloc
    foreign = []
    page.on("request", lambda req: foreign.append(req.url)
            if urlsplit(req.url).scheme in ("http", "https") and urlsplit(req.url).netloc != own else None)
    for path in ("", "methods/awq/", "calculator/", "explorer/", "timeline/"):
        page.goto(base_url + path)
        page.wait_for_load_state("networkidle")
    assert foreign == []
