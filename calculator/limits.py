"""The range of every number the calculator accepts: one table, read by every check.

`calculator.spec` (Settings, Model, Hardware), `kb.schema` (entries and catalogues, converted to their
units) and the live calculator (docs/assets/js/limits.js, held to this table by a test) all bound their
inputs with `LIMITS`, so a value that passes `kb check` is a value the calculator analyses, and every
result stays finite: the largest products (batch x seq_len^2 x width x layers) stay far below 1e308.

The ranges are physically meaningful, with room to grow: a batch of a million sequences, a context of
a hundred million tokens, a petabyte per second of memory bandwidth, ten exa-ops per second of peak.

    >>> LIMITS["batch"]
    (1, 1000000)
    >>> check_range("", "batch", 10**300)
    Traceback (most recent call last):
    ...
    calculator.spec.CalculatorError: batch must be at most 1e+06, got 1000000000...(301 digits)
"""

from __future__ import annotations

import math

__all__ = ["LIMITS", "check_range", "show"]

# name -> (lowest, highest), both allowed. Units: tokens, elements, bytes, bytes/s, ops/s.
LIMITS: dict[str, tuple[float, float]] = {
    # a run (Settings); group sizes also bound an entry's effect
    "batch": (1, 1_000_000),
    "seq_len": (1, 100_000_000),
    "gen_len": (1, 100_000_000),
    "tp": (1, 65_536),
    "group_size": (1, 1_000_000),
    "kv_group_size": (1, 1_000_000),
    # a model's shapes (Model, Hugging Face config.json, kb/models)
    "hidden_size": (1, 1_000_000),
    "intermediate_size": (1, 10_000_000),
    "num_hidden_layers": (1, 100_000),
    "num_attention_heads": (1, 100_000),
    "num_key_value_heads": (1, 100_000),
    "head_dim": (1, 100_000),
    "vocab_size": (1, 100_000_000),
    "max_position_embeddings": (0, 1_000_000_000),
    "num_local_experts": (1, 100_000),
    "num_experts_per_tok": (1, 100_000),
    "parameters": (1, 1e15),
    # a device (Hardware, kb/hardware)
    "memory_bandwidth": (1e6, 1e15),
    "memory_bandwidth_gb_s": (1e-3, 1e6),  # the CLI's --memory-bandwidth, checked before it is scaled to B/s
    "peak_ops": (1e6, 1e19),
    "memory_bytes": (1e6, 1e15),
    "interconnect_bandwidth": (1e6, 1e15),
    "host_link_bandwidth": (1e6, 1e15),
    # a method's effect (kb/methods) and a paper's claim
    "experts": (1, 100_000),
    "top_k": (1, 100_000),
    "draft_length": (1, 1_024),
    "tokens_per_step": (1, 1_024),
    "extra_ops": (0, 1_000),
    "n": (1, 1_024),
    "m": (1, 1_024),
    "verify_tokens": (1, 1_024),
    "draft_layers": (1, 100_000),
    "claim_value": (1e-6, 1e6),
}

def show(value: object) -> str:
    """A value for a one-line message: a 300-digit integer is cut, not printed whole."""
    text = repr(value)
    if isinstance(value, int) and len(text) > 20:
        return f"{text[:10]}...({len(text.lstrip('-'))} digits)"
    return text[:60] + ("..." if len(text) > 60 else "")


def _error(message: str) -> Exception:
    from calculator.spec import CalculatorError

    return CalculatorError(message)


def check_range(owner: str, name: str, value: object, key: str | None = None, integer: bool = True) -> None:
    """Raise CalculatorError unless `value` is a finite number (an integer when `integer`) within
    LIMITS[key or name] (names not in the table are only checked for being finite numbers);
    `owner` prefixes the message, e.g. "model llama: "."""
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        raise _error(f"{owner}{name} must be {'an integer' if integer else 'a number'}, got {show(value)}")
    lo, hi = LIMITS.get(key or name.split("[")[0], (-math.inf, math.inf))
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an int beyond the float range
        finite = False
    if finite and value > hi or not finite and value > 0:
        raise _error(f"{owner}{name} must be at most {hi:g}, got {show(value)}")
    if not finite or value < lo:
        raise _error(f"{owner}{name} must be at least {lo:g}, got {show(value)}")
