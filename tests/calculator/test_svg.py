"""The roofline SVG (issue 19.2): labels that do not overlap, each point's share of its stage's time,
a legend naming every layer, a caption in words, and class names a page's stylesheet can recolour."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from calculator import Settings, analyze
from calculator.svg import _CHAR_W, _FONT, caption, to_svg
from kb.analysis import analyze_kb
from kb.catalogue import load_hardware, load_model
from kb.load import load
from tests.site.conftest import REPO

NS = "{http://www.w3.org/2000/svg}"
TABLE1 = analyze(load_model("llama-2-7b", REPO / "kb"), load_hardware("nvidia-a6000", REPO / "kb"),
                 Settings(batch=1, seq_len=2048, flash_attention=False))


def _label_boxes(root) -> list[tuple[float, float, float, float]]:
    boxes = []
    for t in root.iter(f"{NS}text"):
        if "rf-label" not in t.get("class", ""):
            continue
        x, y, w = float(t.get("x")), float(t.get("y")), len(t.text) * _CHAR_W
        left = x - (w if t.get("text-anchor") == "end" else w / 2 if t.get("text-anchor") == "middle" else 0)
        boxes.append((left, y - _FONT, left + w, y + 3))
    return boxes


def _check(svg: str, stages: tuple[str, ...]):
    root = ET.fromstring(svg)
    boxes = _label_boxes(root)
    assert 1 <= len(boxes) <= 6
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)
    points = [c for c in root.iter(f"{NS}circle") if c.get("data-tip")]
    assert points and all(re.search(r"\d+%|<1%", c.find(f"{NS}title").text) for c in points)
    legend = " ".join(t.text for t in root.iter(f"{NS}text") if "rf-legend" in t.get("class", ""))
    for stage in stages:
        assert legend.count(f"{stage}, ") == 1
        assert any(f"rf-{stage}" in c.get("class", "") for c in points)
    assert root.find(f"{NS}desc").text
    return root, legend


def test_the_table1_plot_labels_the_big_layers_and_names_all_in_its_legend():
    root, legend = _check(to_svg(TABLE1), ("prefill", "decode"))
    for name in ("q_proj", "qk_matmul", "softmax", "gate_proj", "lm_head", "attn_add"):
        assert name in legend
    # Point areas follow the share of time: decode's MLP (60%) is drawn bigger than its lm_head.
    radius = {c.find(f"{NS}title").text.split(":")[1].strip(): float(c.get("r"))
              for c in root.iter(f"{NS}circle") if c.get("data-tip") and "rf-decode" in c.get("class")}
    assert radius["gate_proj, up_proj, down_proj"] > radius["lm_head"]


def test_the_caption_says_where_the_time_goes():
    words = caption(TABLE1)
    assert "ridge point" in words and "Decode" in words and "memory-bound" in words


def test_method_plots_show_baseline_and_method():
    ids = ["awq", "medusa", "flashattention", "h2o"]
    plots = {k: a.plot for k, a in analyze_kb(load(REPO), ids).items() if a.plot}
    assert len(plots) >= 3
    for plot in plots.values():
        _check(plot, ("baseline", "method"))
