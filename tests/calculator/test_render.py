"""Renderings: the SVG roofline plot and Markdown escape contributed text."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from calculator import Hardware, Model, Settings, analyze
from calculator.render import to_csv, to_markdown, to_table
from calculator.svg import to_svg
from calculator.units import number, seconds, si

EVIL = Model(id="evil", name='<script>alert("x")</script> & co', hidden_size=64, intermediate_size=128,
             num_hidden_layers=2, num_attention_heads=4, vocab_size=100)
HW = Hardware(id="toy", name="Toy <b>GPU</b>", memory_bandwidth=1e11, peak_ops={"fp16": 1e13, "int8": 2e13})


def test_svg_escapes_text_and_is_well_formed():
    svg = to_svg(analyze(EVIL, HW, Settings(flash_attention=False)))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg"
    # one point per distinct (stage, intensity, performance); every layer name appears in a label
    labels = " ".join(t.text or "" for t in root.iter(f"{ns}text"))
    for name in ("q_proj", "qk_matmul", "lm_head", "down_proj"):
        assert name in labels


def test_svg_draws_a_roof_per_compute_format():
    svg = to_svg(analyze(EVIL, HW, Settings(w_bits=8, a_bits=8)))
    assert "int8" in svg and "fp16" in svg


def test_markdown_escapes_names():
    md = to_markdown(analyze(EVIL, HW))
    assert "<script>" not in md
    assert "\\<script\\>" in md


def test_table_and_csv_render():
    res = analyze(EVIL, HW, Settings(seq_len=16, gen_len=4, flash_attention=False))
    assert "lm_head" in to_table(res)
    assert to_csv(res).count("\n") == 1 + 2 * (16 + 1) + 6 + 11  # + memory and generate summaries


def test_units():
    assert si(68719476736) == "68.7G"
    assert si(999.9e9) == "1T"
    assert si(512) == "512"
    assert number(1214.68) == "1215" and number(0.99177) == "0.99" and number(1.0) == "1"
    assert seconds(0.000443924) == "444us" and seconds(0.23) == "230ms" and seconds(2.6) == "2.6s"


def test_package_docstring_example():
    import doctest

    import calculator

    assert doctest.testmod(calculator).failed == 0
