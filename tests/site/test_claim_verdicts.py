"""Issue 17: the claims page is a picture (one dot per judged claim) with tables by branch, and the
method pages people open first show their verdicts. Issue 16.4: the verdicts are two-sided (plausible,
optimistic, beyond the bound) where a claim has an expected value, with claimed, expected and bound side by
side; a claim without one (memory, serving) keeps the bound-only words."""

from __future__ import annotations

import re

import pytest

from kb.analysis import VERDICTS, analyze_kb
from tests.site.test_browser import KB, base_url, browser, page  # noqa: F401  (fixtures)

ANALYSES = analyze_kb(KB)
JUDGED = {mid: [c for c in a.claims if c["predicted"] is not None] for mid, a in ANALYSES.items()}
TWO_SIDED = ("plausible", "optimistic", "beyond the bound")
BOUND_ONLY = ("consistent", "above the roofline bound")


# PagedAttention is a serving effect (kind serving, H9 session 5): its claims are judged by calculator.serving.compare,
# which gives no expected value, so they keep the bound-only words.
@pytest.mark.parametrize("method_id, words", [("awq", TWO_SIDED), ("smoothquant", TWO_SIDED),
                                              ("medusa", TWO_SIDED), ("pagedattention", BOUND_ONLY)])
def test_the_pages_people_open_first_show_verdicts(built_site, method_id, words):
    assert JUDGED[method_id], f"{method_id}: no claim with a verdict"
    html = (built_site / "methods" / method_id / "index.html").read_text(encoding="utf-8")
    section = html.split('id="claims-against-the-roofline"', 1)[1]
    assert "names no catalogue model" not in html
    assert {c["verdict"] for c in JUDGED[method_id]} & set(words), method_id
    head = re.search(r"<thead>.*?</thead>", section, flags=re.S).group(0)
    assert head.index("Claimed") < head.index("Expected") < head.index("Roofline bound") < head.index("Verdict")
    rows = re.findall(r"<tr>.*?</tr>", section.split("</thead>", 1)[1], flags=re.S)
    for check in JUDGED[method_id]:
        assert check["verdict"] in VERDICTS and check["verdict"] != "not checkable"
        row = next(r for r in rows if f'{check["predicted"]:.2f}x' in r and f'{check["claimed"]:g}x' in r)
        assert f"<strong>{check['verdict']}</strong>" in row, (method_id, check["verdict"])
        assert (f'{check["expected"]:.2f}x' if check["expected"] is not None else "—") in row
    # the words are defined where they are used
    assert "<em>plausible</em>" in section and "<em>beyond the bound</em>" in section


def test_no_claim_says_its_setting_names_no_catalogue_model(built_site):
    html = (built_site / "claims" / "index.html").read_text(encoding="utf-8")
    assert "names no catalogue model" not in html


def test_claims_page_has_one_dot_per_judged_claim_and_tables_by_branch(page, base_url):  # noqa: F811
    page.goto(base_url + "claims/")
    dots = page.locator("svg.kb-claims-scatter circle[data-branch]")
    assert dots.count() == sum(len(v) for v in JUDGED.values())
    title = dots.first.locator("title").text_content()
    assert re.search(r"claimed [\d.]+x, bound [\d.]+x", title)
    branches = {KB.methods[mid].category.split("/")[0] for mid, v in JUDGED.items() if v}
    headings = set(page.locator("h2").all_inner_texts())
    assert branches <= {h.strip().rstrip("¶").strip() for h in headings}
    # The tables fit the page: no column wider than the content area.
    width = page.evaluate("document.querySelector('.md-content').getBoundingClientRect().width")
    widest = page.evaluate("Math.max(...[...document.querySelectorAll('.md-content table')]"
                           ".map(t => t.getBoundingClientRect().width))")
    assert widest <= width + 1
    # Every dot names a method that the tables below link.
    ids = set(page.eval_on_selector_all("svg.kb-claims-scatter circle[data-method]",
                                        "els => els.map(e => e.dataset.method)"))
    assert ids == {mid for mid, v in JUDGED.items() if v}
    linked = page.eval_on_selector_all(".md-content table a", "els => els.map(e => e.getAttribute('href'))")
    assert all(any(f"methods/{mid}/" in href for href in linked) for mid in ids)


def test_claims_page_tables_are_cards_on_a_phone(page, base_url):  # noqa: F811
    """Issue 19.3: at 390 px the per-branch tables of the claims page fit the screen, as cards."""
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(base_url + "claims/")
    assert page.locator(".kb-cards table").count() >= 1
    width = page.evaluate("document.documentElement.clientWidth")
    widest = page.evaluate("Math.max(...[...document.querySelectorAll('.kb-cards table')]"
                           ".map(t => t.getBoundingClientRect().right))")
    assert widest <= width + 1
    verdict = page.locator('.kb-cards td[data-label="Verdict"]').first
    assert verdict.is_visible() and verdict.inner_text().strip()


def test_a_claim_above_its_bound_shows_the_share_of_the_roof_and_folds_its_reason(page, base_url):  # noqa: F811
    """FlashAttention-2 against FlashAttention: bound 1.0, so the share is in view and the entry's reason opens."""
    check = next(c for c in JUDGED["flashattention-2"] if c.get("baseline_share"))
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(base_url + "methods/flashattention-2/")
    cell = page.locator("td", has=page.locator("details.kb-why")).first
    assert f"no more than {check['baseline_share']:.0%} of its roofline speed" in cell.inner_text()
    why = cell.locator("details.kb-why")
    reason = why.locator("small")
    assert not reason.is_visible()                 # folded: the column stays short
    why.locator("summary").click()
    assert reason.is_visible() and check["explanation"][:40] in reason.inner_text()
