"""Search that finds (issue 19, item 1), in real Chromium against the built site."""

from __future__ import annotations

from urllib.parse import quote

from tests.site.test_browser import KB, _open_explorer, _rows, base_url, browser, page  # noqa: F401


def _results(page, base_url, query: str) -> list[str]:
    page.goto(base_url + "?q=" + quote(query))
    page.wait_for_selector(".md-search-result__item")
    page.wait_for_timeout(300)
    hrefs = page.eval_on_selector_all(".md-search-result__item > a", "els => els.map(e => e.getAttribute('href'))")
    return [h.replace(base_url, "").split("?")[0] for h in hrefs]


def test_site_search_ranks_the_method_pages_first(page, base_url):  # noqa: F811
    assert _results(page, base_url, "flash attention")[0] == "methods/flashattention/"
    assert {"methods/awq/", "methods/gptq/"} <= set(_results(page, base_url, "W4A16")[:5])
    top = _results(page, base_url, "KV cache")[:5]
    assert all(h.startswith("methods/") for h in top), top
    four = _results(page, base_url, "4-bit")[:8]
    assert "methods/gptq/" in four or "methods/awq/" in four, four
    assert not any(h.startswith("methods/bitnet-b158/") for h in four[:1]), four


def test_a_result_shows_the_summary_not_the_facts(page, base_url):  # noqa: F811
    page.goto(base_url + "?q=medusa")
    page.wait_for_selector(".md-search-result__item")
    snippet = page.locator(".md-search-result__item article p").first.inner_text()
    assert snippet.split()[:3] == KB.methods["medusa"].summary.split()[:3]


def test_explorer_q_does_not_open_the_site_search(page, base_url):  # noqa: F811
    _open_explorer(page, base_url + "explorer/?q=medusa")
    assert not page.is_checked("#__search")
    assert "text=medusa" in page.url and "q=" not in page.url.split("?", 1)[1]
    assert page.input_value("#kbx-text") == "medusa" and "medusa" in _rows(page)


def test_explorer_matches_whole_words_and_quoted_phrases(page, base_url):  # noqa: F811
    _open_explorer(page, base_url + "explorer/")
    page.fill("#kbx-text", '"Song Han"')
    rows = set(_rows(page))
    by_him = {m.id for m in KB.methods.values() if "Song Han" in m.authors}
    assert by_him and by_him <= rows
    page.fill("#kbx-text", "han")
    assert not any(all("han" not in a.lower().split() for a in KB.methods[i].authors) and
                   "hansong" in " ".join(KB.methods[i].authors).lower() and
                   "han" not in (KB.methods[i].summary + KB.methods[i].title).lower().split()
                   for i in _rows(page))
