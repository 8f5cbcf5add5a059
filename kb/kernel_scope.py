"""A kernel claim held against the roofline of the operator it replaces, not of a whole step.

A kernel paper times one operator: a quantized matrix multiplication against cuBLAS, a sparse attention
kernel against FlashAttention. Its `setting.kernel` names the stage and the rows that operator covers
(`KERNEL_PARTS`); the bound is the ratio of those rows' roofline times on each side, and the expected
value the same ratio at the calibrated efficiencies of calculator.expected, without the fixed per-layer
and per-step costs (a kernel benchmark times the kernel alone).
"""

from __future__ import annotations

from calculator.expected import device_class, expected_from_terms, kind_of, parameters_for, stage_terms
from calculator.result import Stage

# The rows of a stage each part covers, by name (calculator.expected.kind_of).
KERNEL_PARTS = {
    "attention": "the attention rows (scores, softmax and weighted sum, or the fused attention row)",
    "linear": "the decoder layers' weight matrices (lm_head and router excluded)",
}


def in_part(name: str, part: str) -> bool:
    kind = kind_of(name)
    if part == "attention":
        return kind == "attention" or name.endswith("softmax")
    return kind == "gemm" and name not in ("lm_head", "router")


def kernel_stage(outcome, scope: str) -> Stage:
    """The rows of `outcome` that a kernel of `scope` ("decode-attention", ...) computes, as a stage."""
    stage_name, part = scope.split("-")
    stage = getattr(outcome, stage_name)
    rows = [row for row in stage.layers if in_part(row[0], part)]
    return Stage(stage.name, rows, sum(r[1] * r[2] for r in rows), sum(r[1] * r[3] for r in rows),
                 sum(r[1] * r[4] for r in rows))


def kernel_expected_s(stage: Stage, hardware, settings) -> float:
    """Expected seconds of a kernel stage: its rows at the device class's fitted efficiencies, no overheads."""
    values = dict(parameters_for(device_class(hardware)), layer_overhead_s=0.0, step_overhead_s=0.0)
    return max(stage.time_s, expected_from_terms(stage_terms(stage, hardware, settings), values))


def kernel_words(scope: str) -> str:
    """The operator in words, for the setting a claim is checked in."""
    stage, part = scope.split("-")
    when = "the prefill" if stage == "prefill" else "one decode step"
    return f"kernel only: {KERNEL_PARTS[part]} of {when}"
