"""Roofline calculator for LLM inference: pure functions and frozen dataclasses, no file I/O.

    >>> from calculator import Model, Hardware, Settings, analyze
    >>> llama = Model(id="llama-2-7b", hidden_size=4096, intermediate_size=11008,
    ...               num_hidden_layers=32, num_attention_heads=32, vocab_size=32000)
    >>> a6000 = Hardware(id="nvidia-a6000", memory_bandwidth=768e9, peak_ops={"fp16": 154.8e12})
    >>> result = analyze(llama, a6000, Settings(batch=1, seq_len=2048))
    >>> result.stages["prefill"].layer("q_proj").ops
    68719476736

Formulas and worked examples: docs/roofline.md. Catalogue ids are resolved by `kb.catalogue`,
Hugging Face config dicts by `calculator.hf.model_from_hf_config`.
"""

from calculator.core import analyze, compute_format, expected_experts, flash_pairs
from calculator.result import Generate, Layer, Memory, Result, Stage
from calculator.spec import (
    ALLOWED_BITS,
    ARCHITECTURES,
    FORMATS,
    STAGES,
    CalculatorError,
    Hardware,
    Model,
    Settings,
)

__version__ = "0.1.0"

__all__ = [
    "ALLOWED_BITS",
    "ARCHITECTURES",
    "FORMATS",
    "STAGES",
    "CalculatorError",
    "Generate",
    "Hardware",
    "Layer",
    "Memory",
    "Model",
    "Result",
    "Settings",
    "Stage",
    "__version__",
    "analyze",
    "compute_format",
    "expected_experts",
    "flash_pairs",
]
