"""Named number formats: what `--weight-format NAME` and `--kv-format NAME` mean, as data.

Each preset gives the true storage cost in bits per value *including its scales* (`bits`), the nominal
element width the compute format is chosen from (`element_bits`, with `number_format` int or fp; the
operand width is max(element_bits, a_bits), see `calculator.core.compute_format`), and where the layout
is stated. `--w-bits/--group-size` stay as the general form: ``int4-g128`` is exactly ``--w-bits 4
--group-size 128`` (one fp16 scale and one fp16 zero point per 128 weights: 4 + 32/128 = 4.25 bits).

llama.cpp's k-quant mixes (q4_k_m, q5_k_m) store different tensors at different widths; their figure is
the average over a Llama-3-8B decoder layer's linear weights: Q4_K (4.5 bits) or Q5_K (5.5 bits) on
most tensors and Q6_K (6.5625 bits) on half of the layers' attn_v and ffn_down tensors (14.4% of the
linear weights), which reproduces the file sizes llama.cpp's quantize tool prints for Llama-3-8B
(4.58 GiB and 5.33 GiB with a Q6_K output matrix).
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["PRESETS", "NumberFormat", "preset"]

_LLAMA_CPP_COMMON = "https://github.com/ggml-org/llama.cpp/blob/master/ggml/src/ggml-common.h"
_OURS = "docs/roofline.md (the --w-bits/--group-size rule: one fp16 scale + one fp16 zero point per group)"
_TE = "https://nvidia.github.io/TransformerEngine/features/low_precision_training"


class NumberFormat(NamedTuple):
    name: str
    bits: float  # storage bits per value, scales included
    element_bits: int  # nominal element width (one of ALLOWED_BITS): picks the compute format
    number_format: str  # int | fp
    layout: str  # the layout in words
    source: str  # where the layout (and so the bit count) is stated


PRESETS: dict[str, NumberFormat] = {f.name: f for f in (
    NumberFormat("fp32", 32.0, 32, "fp", "IEEE binary32", "https://en.wikipedia.org/wiki/Single-precision_floating-point_format"),
    NumberFormat("fp16", 16.0, 16, "fp", "IEEE binary16", "https://en.wikipedia.org/wiki/Half-precision_floating-point_format"),
    NumberFormat("bf16", 16.0, 16, "fp", "bfloat16 (8 exponent, 7 mantissa bits)",
                 "https://en.wikipedia.org/wiki/Bfloat16_floating-point_format"),
    NumberFormat("fp8", 8.0, 8, "fp", "E4M3 with one scale per tensor (negligible)",
                 "https://docs.nvidia.com/deeplearning/transformer-engine/user-guide/api/common.html"),
    NumberFormat("fp8-block128", 8 + 32 / (128 * 128), 8, "fp",
                 "E4M3 with one FP32 scale per 128x128 weight block (DeepSeek-V3 style)",
                 f"{_TE}/fp8_blockwise_scaling/fp8_blockwise_scaling.html"),
    NumberFormat("mxfp8", 8 + 8 / 32, 8, "fp", "OCP MX: E4M3 elements, one E8M0 scale per 32",
                 f"{_TE}/mxfp8/mxfp8.html"),
    NumberFormat("int8", 8.0, 8, "int", "INT8 with one scale per output channel (negligible)",
                 _OURS),
    NumberFormat("int4-g128", 4 + 32 / 128, 4, "int", "INT4 with an fp16 scale and fp16 zero point per 128 "
                 "(GPTQ/AWQ style; = --w-bits 4 --group-size 128)", _OURS),
    NumberFormat("nvfp4", 4 + 8 / 16, 4, "fp", "E2M1 elements, one FP8 (E4M3) scale per 16, one FP32 scale per "
                 "tensor (negligible)",
                 "https://developer.nvidia.com/blog/introducing-nvfp4-for-efficient-and-accurate-low-precision-inference/"),
    NumberFormat("mxfp4", 4 + 8 / 32, 4, "fp", "OCP MX: E2M1 elements, one E8M0 scale per 32 (17 bytes per 32; "
                 "llama.cpp block_mxfp4)", _LLAMA_CPP_COMMON),
    NumberFormat("q8_0", 34 * 8 / 32, 8, "int", "llama.cpp block_q8_0: 32 int8 + one fp16 scale = 34 bytes",
                 _LLAMA_CPP_COMMON),
    NumberFormat("q4_0", 18 * 8 / 32, 4, "int", "llama.cpp block_q4_0: 32 4-bit + one fp16 scale = 18 bytes",
                 _LLAMA_CPP_COMMON),
    NumberFormat("q6_k", 210 * 8 / 256, 6, "int", "llama.cpp block_q6_K: 210 bytes per 256 (6.5625 bits)",
                 _LLAMA_CPP_COMMON),
    NumberFormat("q4_k_m", 4.8, 4, "int", "llama.cpp Q4_K_M mix: Q4_K (144 bytes per 256 = 4.5 bits) with Q6_K "
                 "on half the attn_v/ffn_down tensors; 4.8 bits over a Llama-3-8B layer", _LLAMA_CPP_COMMON),
    NumberFormat("q5_k_m", 5.65, 5, "int", "llama.cpp Q5_K_M mix: Q5_K (176 bytes per 256 = 5.5 bits) with Q6_K "
                 "on half the attn_v/ffn_down tensors; 5.65 bits over a Llama-3-8B layer", _LLAMA_CPP_COMMON),
)}


def preset(name: str) -> NumberFormat:
    """The preset called `name`; CalculatorError naming the known ones otherwise."""
    found = PRESETS.get(name)
    if found is None:
        from calculator.spec import CalculatorError

        raise CalculatorError(f"unknown number format {name!r} (known: {', '.join(PRESETS)})")
    return found
