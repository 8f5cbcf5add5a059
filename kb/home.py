"""The home page's "roofline in one picture": the survey's Table 1 setting (Llama-2-7B on an NVIDIA
A6000, batch 1, a 2,048-token prompt, unfused attention), computed by the calculator at build time.

`fill(markdown)` replaces the marker a hand-written page names it by; nothing else is touched.
"""

from __future__ import annotations

import re

from calculator import Settings, analyze
from calculator.svg import to_svg
from kb.load import KB

MARKER = "<!-- kb:roofline-picture -->"
MODEL, HARDWARE = "llama-2-7b", "nvidia-a6000"
SETTINGS = Settings(batch=1, seq_len=2048, flash_attention=False)  # tests/calculator/test_table1.py


def roofline_picture(kb: KB) -> str:
    """The figure, or a plain sentence when the catalogue lacks the model or the device."""
    from kb.catalogue import hardware_from_dict, model_from_dict

    if MODEL not in kb.models or HARDWARE not in kb.hardware:
        return f"*(The picture needs the catalogue's {MODEL} and {HARDWARE}.)*"
    model = model_from_dict(kb.models[MODEL].model_dump(exclude_none=True), MODEL)
    hardware = hardware_from_dict(kb.hardware[HARDWARE].model_dump(exclude_none=True), HARDWARE)
    result = analyze(model, hardware, SETTINGS)
    plot = to_svg(result)
    pre, dec = (result.stages[s].layer("gate_proj").attainable_ops_per_s for s in ("prefill", "decode"))
    desc = re.search(r"<desc>(.*?)</desc>", plot, flags=re.S)
    return ('<figure class="kb-roofline kb-home-roofline" markdown="0">' + plot
            + "<figcaption>The survey's Table 1 on the roofline: every layer of Llama-2-7B on an NVIDIA A6000, "
            "prefill of one 2,048-token prompt (blue rings) and one decode step against that context (red). "
            "Prefill's big matrix products sit on the flat compute roof; decode's same layers run "
            f"{pre / dec:.0f} times slower, down on the bandwidth slope. " + (desc.group(1) if desc else "")
            + ' <a href="calculator/?model=llama-2-7b&amp;hardware=nvidia-a6000&amp;batch=1&amp;seq_len=2048'
            '&amp;flash=0">Open this setting in the live calculator</a>.</figcaption></figure>\n')


def fill(markdown: str, kb: KB) -> str:
    return markdown.replace(MARKER, roofline_picture(kb)) if MARKER in markdown else markdown
