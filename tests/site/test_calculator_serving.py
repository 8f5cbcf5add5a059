"""The live calculator's serving panel (issue 15.9) in a real browser, against calculator.serving and
calculator.search: the capacity shown is capacity()'s, the chart draws both configurations' curves with
their capacity ends and knees, the SLA form answers as search() does for one device and setup, and it
refuses bad limits in words. Same machinery as tests/site/test_browser.py (Debian's Chromium; skipped
without it, a failure under CI=true)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest

from calculator import Settings
from calculator.search import search
from calculator.serving import StepModel, capacity, curve
from kb.catalogue import load_hardware, load_model
from tests.site.conftest import REPO
from tests.site.test_browser import PHONE, _context, _in_view, base_url, browser, page  # noqa: F401 (fixtures)

REL = 1e-9
PANEL = '[data-role="serving"]'


def _goto(page, base_url, query: str):
    page.goto(f"{base_url}calculator/?{query}")
    page.wait_for_selector(f'{PANEL} [data-serving="b"]')


def _shown(page, config: str) -> dict[str, str]:
    return page.eval_on_selector_all(
        f'{PANEL} [data-serving="{config}"] [data-output]',
        "els => Object.fromEntries(els.map(e => [e.dataset.output, e.dataset.value]))")


def _close(text: str, want: float, where: str):
    got = float(text)
    assert abs(got - want) <= REL * max(abs(want), abs(got)), (where, got, want)


def _python(model: str, hardware: str, allocator: str = "paged", **fields):
    m, hw, s = load_model(model), load_hardware(hardware), Settings(**fields)
    step = StepModel(m, hw, s)
    cap = capacity(m, hw, s, step=step, allocator=allocator)
    return m, hw, s, cap, curve(m, hw, s, step=step, cap=cap)


QUERY = ("model=llama-2-7b&hardware=nvidia-h100-sxm&seq_len=512&gen_len=128"
         "&b_model=llama-3-8b&b_hardware=nvidia-h100-sxm&b_seq_len=128&b_gen_len=32&b_w_bits=4&b_group_size=128")


def test_capacity_and_curve_shown_are_pythons(page, base_url):
    _goto(page, base_url, QUERY)
    for config, (model, hw, fields) in {
        "a": ("llama-2-7b", "nvidia-h100-sxm", dict(seq_len=512, gen_len=128)),
        "b": ("llama-3-8b", "nvidia-h100-sxm", dict(seq_len=128, gen_len=32, w_bits=4, group_size=128)),
    }.items():
        *_, cap, cv = _python(model, hw, **fields)
        shown = _shown(page, config)
        assert int(shown["serving.max_batch"]) == cap.max_batch, config
        assert int(shown["serving.longest_context"]) == cap.longest_context, config
        top = cv["points"][-1]
        assert top["batch"] == cap.max_batch
        _close(shown["serving.top_tokens_per_s_per_device"], top["tokens_per_s_per_device"], config)
        _close(shown["serving.top_tpot_s"], top["tpot_s"], config)
        assert int(shown["serving.weights_knee_batch"]) == cv["weights_knee_batch"], config
        if cv["knee_batch"] is None:
            assert "serving.knee_batch" not in shown
        else:
            assert int(shown["serving.knee_batch"]) == cv["knee_batch"], config
        # the chart: one curve per configuration with Python's batches, its end at the capacity
        line = page.locator(f'{PANEL} svg [data-curve="{config}"]')
        assert line.count() == 1 and int(line.get_attribute("data-points")) == len(cv["points"])
        end = page.locator(f'{PANEL} svg [data-marker="capacity"][data-config="{config}"]')
        assert int(end.get_attribute("data-batch")) == cap.max_batch
    assert page.locator(f"{PANEL} svg [data-curve]").count() == 2
    # B's knees fall within its capacity (222 and 118 of 2,424): both are marked
    *_, cap_b, cv_b = _python("llama-3-8b", "nvidia-h100-sxm", seq_len=128, gen_len=32, w_bits=4, group_size=128)
    assert cv_b["knee_batch"] <= cap_b.max_batch
    for marker, key in (("knee", "knee_batch"), ("weights-knee", "weights_knee_batch")):
        mark = page.locator(f'{PANEL} svg [data-marker="{marker}"][data-config="b"]')
        assert int(mark.get_attribute("data-batch")) == cv_b[key]
    # A's reads "up to N sequences ... fit" and says it is a bound
    text = page.locator(f'{PANEL} [data-serving="a"][data-role="serving-capacity"]').inner_text()
    assert re.search(r"up to 193 sequences of 512 \+ 128 tokens fit", text) and "An upper bound" in text


def test_the_allocator_changes_the_capacity_as_in_python(page, base_url):
    _goto(page, base_url, QUERY + "&serve_alloc=reserve")
    assert page.input_value(f'{PANEL} [name="serve_alloc"]') == "reserve"
    *_, cap, _ = _python("llama-2-7b", "nvidia-h100-sxm", allocator="reserve", seq_len=512, gen_len=128)
    assert int(_shown(page, "a")["serving.max_batch"]) == cap.max_batch == 33
    page.select_option(f'{PANEL} [name="serve_alloc"]', "paged")
    assert int(_shown(page, "a")["serving.max_batch"]) == 193
    page.wait_for_function("() => !new URLSearchParams(location.search).has('serve_alloc')")


def test_the_sla_form_answers_as_search_does(page, base_url):
    _goto(page, base_url, QUERY)
    page.fill(f'{PANEL} [name="sla_ttft_ms"]', "500")
    page.fill(f'{PANEL} [name="sla_tpot_ms"]', "12.5")
    for config, (model, hw, fields, weights) in {
        "a": ("llama-2-7b", "nvidia-h100-sxm", dict(seq_len=512, gen_len=128), "w16a16"),
        "b": ("llama-3-8b", "nvidia-h100-sxm", dict(seq_len=128, gen_len=32, w_bits=4, group_size=128), "w4a16-g128"),
    }.items():
        res = search(load_model(model), load_hardware(hw), Settings(**fields), ttft_limit=0.5, tpot_limit=0.0125,
                     tps=[1], weight_formats=[weights], kv_formats=["kv16"])
        best = res["best"]
        shown = _shown(page, config)
        assert int(shown["serving.sla.batch"]) == best["batch"], config
        for key in ("tokens_per_s_per_device", "tokens_per_s_per_user", "ttft_s", "tpot_s"):
            _close(shown[f"serving.sla.{key}"], best[key], f"{config} {key}")
        ring = page.locator(f'{PANEL} svg [data-marker="sla"][data-config="{config}"]')
        assert int(ring.get_attribute("data-batch")) == best["batch"]
        words = page.locator(f'{PANEL} [data-role="sla-best"][data-serving="{config}"]').inner_text()
        assert "up to" in words and "at least" in words  # throughput an upper bound, times lower bounds
    page.wait_for_function("() => new URLSearchParams(location.search).get('sla_tpot_ms') === '12.5'")
    # an impossible limit: no batch meets it, and the page says which bound batch 1 already exceeds
    page.fill(f'{PANEL} [name="sla_tpot_ms"]', "0.5")
    none = page.locator(f'{PANEL} [data-role="sla-none"][data-serving="a"]').inner_text()
    assert "no batch meets both limits" in none and "TPOT of at least" in none
    assert page.locator(f'{PANEL} [data-role="sla-best"]').count() == 0


@pytest.mark.parametrize("text, said", [
    ("abc", "TTFT limit must be a number of milliseconds above 0 and below 1e+09 (1e+06 s, the search's own "
            "limit), got 'abc'"),
    ("0", "got '0'"),
    ("-5", "got '-5'"),
    ("1e9", "got '1e9'"),
    ("", "TTFT limit: give a number of milliseconds"),
    ("<b>9</b>", "got '<b>9</b>'"),
])
def test_the_sla_form_refuses_bad_limits_in_words(page, base_url, text, said):
    _goto(page, base_url, QUERY)
    page.fill(f'{PANEL} [name="sla_ttft_ms"]', text)
    error = page.locator(f'{PANEL} [data-role="sla-error"]')
    assert error.is_visible() and said in error.inner_text()
    assert page.locator(f"{PANEL} [data-role=sla-answer] li").count() == 0  # no numbers beside a refusal
    assert page.locator(f"{PANEL} b").count() == 0  # escaped, never markup
    assert page.get_attribute(f'{PANEL} [name="sla_ttft_ms"]', "aria-invalid") == "true"
    page.wait_for_timeout(400)  # the address is written after a short debounce: never the refused value
    assert parse_qs(urlparse(page.url).query).get("sla_ttft_ms") is None
    page.fill(f'{PANEL} [name="sla_ttft_ms"]', "2000")
    assert error.is_hidden() and page.locator(f"{PANEL} [data-role=sla-answer] li").count() == 2


def test_a_setup_that_does_not_fit_says_so_instead_of_numbers(page, base_url):
    _goto(page, base_url, "model=llama-3-70b&hardware=nvidia-a6000&seq_len=512&gen_len=128"
                          "&b_model=llama-2-7b&b_hardware=nvidia-a6000")
    a = page.locator(f'{PANEL} [data-serving="a"][data-role="serving-capacity"]')
    assert "no request of 512 + 128 tokens fits" in a.inner_text()
    assert "the weights alone" in a.inner_text().lower()
    assert _shown(page, "a") == {"serving.max_batch": "0"}
    assert page.locator(f'{PANEL} svg [data-curve="a"]').count() == 0
    assert page.locator(f'{PANEL} svg [data-curve="b"]').count() == 1
    assert "one request does not fit" in page.locator(f'{PANEL} [data-role="sla-none"][data-serving="a"]').inner_text()
    # a URL note for an unknown serving value, and B untouched by it
    _goto(page, base_url, "sla_tpot_ms=fast&serve_alloc=slab")
    notes = page.locator('[data-role="url-notes"]').inner_text()
    assert "ignored sla_tpot_ms=fast" in notes and "ignored serve_alloc=slab" in notes
    assert page.input_value('section[data-config="b"] [name="method"]') == "awq"  # a bare visit's B


def test_a_method_that_changes_rows_is_refused_in_the_serving_panel(page, base_url):
    from tests.site.test_browser import _first_method

    method = _first_method("sparsity")
    _goto(page, base_url, f"b_method={method.id}")
    refusal = page.locator(f'{PANEL} [data-serving="b"][data-role="serving-refusal"]').inner_text()
    assert "no serving figures" in refusal and "sparsity" in refusal
    assert page.locator(f'{PANEL} svg [data-curve]').count() == 1


def test_at_phone_width_the_serving_numbers_are_in_view(browser, base_url):  # noqa: F811
    context = _context(browser, base_url, viewport=PHONE, is_mobile=True, has_touch=True)
    pg = context.new_page()
    _goto(pg, base_url, QUERY)
    for selector in (f'{PANEL} [data-serving="a"] [data-output="serving.max_batch"]',
                     f'{PANEL} [data-serving="b"] [data-output="serving.max_batch"]',
                     f'{PANEL} [data-serving="b"] [data-output="serving.top_tokens_per_s_per_device"]',
                     f'{PANEL} svg [data-curve="b"]',
                     f'{PANEL} [data-serving="b"] [data-output="serving.sla.tokens_per_s_per_device"]'):
        _in_view(pg, selector)
    # a tap on a curve point names it (kb-live.js's tip)
    pt = pg.locator(f'{PANEL} svg [data-marker="capacity"][data-config="b"]')
    pt.evaluate("el => el.scrollIntoView({block: 'center'})")
    pt.tap()
    assert "at capacity" in pg.locator(".kb-tip").text_content()
    context.close()


# ----------------------------------------------------------------------------------- a pasted config.json


def _config(model_id: str) -> dict:
    import yaml

    return yaml.safe_load((REPO / "kb" / "models" / f"{model_id}.yaml").read_text(encoding="utf-8"))["config"]


def test_a_pasted_config_json_is_analysed_and_served_as_python_reads_it(page, base_url):
    import json

    from calculator import analyze
    from calculator.hf import model_from_hf_config

    config = _config("codellama-7b")
    _goto(page, base_url, "hardware=nvidia-h100-sxm&b_hardware=nvidia-h100-sxm&b_seq_len=512&b_gen_len=128")
    page.click('[data-role="paste"] summary')
    page.fill('[data-role="paste"] textarea', json.dumps(config))
    page.click('button[data-paste="b"]')
    page.wait_for_selector('[data-role="paste-status"]:not(:empty)')  # hfconfig.js loads on first use
    assert "B now analyses the pasted model" in page.inner_text('[data-role="paste-status"]')
    assert page.input_value('section[data-config="b"] [name="model"]') == "pasted-config"
    model = model_from_hf_config(config, model_id="pasted-config")
    want = analyze(model, load_hardware("nvidia-h100-sxm"), Settings(seq_len=512, gen_len=128))
    shown = page.eval_on_selector_all('section[data-config="b"] [data-output]',
                                      "els => Object.fromEntries(els.map(e => [e.dataset.output, e.dataset.value]))")
    _close(shown["model.parameters"], want.model.parameters, "parameters")
    _close(shown["decode.time_s"], want.stages["decode"].time_s, "decode")
    cap = capacity(model, load_hardware("nvidia-h100-sxm"), Settings(seq_len=512, gen_len=128))
    assert int(_shown(page, "b")["serving.max_batch"]) == cap.max_batch
    page.wait_for_timeout(400)
    assert "pasted" not in page.url  # not kept in the address


@pytest.mark.parametrize("text, said", [
    ("{not json", "Not used: not a config.json: the text is not JSON"),
    ('{"model_type": "bert"}', "Not used: config: unsupported model_type 'bert'"),
    ('{"model_type": "llama", "hidden_size": 4096}', "Not used: config: missing field"),
    ('{"model_type": "<img src=x onerror=alert(1)>"}', "unsupported model_type '<img src=x onerror=alert(1)>'"),
    ("[1, 2]", "Not used: config: expected a JSON object"),
])
def test_a_bad_config_json_is_refused_in_words(page, base_url, text, said):
    _goto(page, base_url, "")
    page.click('[data-role="paste"] summary')
    page.fill('[data-role="paste"] textarea', text)
    page.click('button[data-paste="a"]')
    page.wait_for_selector('[data-role="paste-status"]:not(:empty)')
    status = page.locator('[data-role="paste-status"]')
    assert said in status.inner_text()
    assert page.locator('[data-role="paste"] img').count() == 0  # shown as text, never markup
    assert page.input_value('section[data-config="a"] [name="model"]') == "llama-2-7b"  # A unchanged
