"""Entry fields in plain words for the pages: effects without dict reprs, titles without LaTeX, claim
settings without repeats.

Every function returns plain text; callers escape it with `kb.markup.text` before it reaches a page.
"""

from __future__ import annotations

import re

from kb.schema import Claim, Method

_SUB = str.maketrans("0123456789+-=()", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎")
_SUP = str.maketrans("0123456789+-=()n", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿ")
_SCRIPT = re.compile(r"([_^])\{?([0-9+\-=()n]+)\}?")
_MATH = re.compile(r"\$([^$]*)\$")
_COMMANDS = {r"\times": "×", r"\alpha": "α", r"\beta": "β", r"\gamma": "γ", r"\lambda": "λ", r"\mu": "μ",
             r"\sim": "~", r"\approx": "≈", r"\infty": "∞", r"\le": "≤", r"\ge": "≥"}


def plain_title(value: str) -> str:
    """LaTeX math in a name or title as the reader would see it: "H$_2$O" -> "H₂O", "SD$^2$" -> "SD²".

    Sub- and superscripts of digits become Unicode; known commands become their symbol; any other
    math keeps its letters without `$`, braces or backslashes.
    """

    def math(found: re.Match) -> str:
        inner = found.group(1)
        for command, symbol in _COMMANDS.items():
            inner = inner.replace(command, symbol)

        def script(s: re.Match) -> str:
            if s.group(1) == "_":
                return s.group(2).translate(_SUB)
            if all(c in "0123456789+-=()n" for c in s.group(2)):
                return s.group(2).translate(_SUP)
            return s.group(2)

        inner = _SCRIPT.sub(script, inner)
        return re.sub(r"[{}\\_^]", "", inner)

    return _MATH.sub(math, value)


def _frac(value: float) -> str:
    return f"{value * 100:.3g}%"


def _tensor(label: str, fmt: dict) -> str:
    bits = fmt.get("bits", 16)
    words = f"{bits}-bit {label}"
    if fmt.get("group_size"):
        words += f" (group size {fmt['group_size']})"
    return words


def _params(effect: dict) -> list[str]:
    """The effect's numbers as phrases, one per field, in the schema's field order."""
    kind = effect.get("kind")
    if kind == "quantization":
        return [_tensor(label, effect.get(key) or {}) for key, label in
                (("weights", "weights"), ("activations", "activations"), ("kv_cache", "KV cache"))]
    phrases = {
        "sparsity": lambda e: [f"{_frac(e['sparsity'])} of the weights removed"
                               + (f" in a {e['n']}:{e['m']} pattern" if e.get("pattern") == "n:m" else
                                  f" ({e['pattern']})")],
        "low_rank": lambda e: [f"{_frac(e['params_kept'])} of the linear-layer parameters kept"],
        "distillation": lambda e: ([f"the student model {e['student']}"] if e.get("student") else [])
        + ([f"a student {_frac(e['params_kept'])} of the teacher's size"] if e.get("params_kept") is not None else []),
        "early_exit": lambda e: [f"{_frac(e['average_depth'])} of the layers run per token on average"],
        "contextual_sparsity": lambda e: ([f"{_frac(e['mlp_active'])} of the MLP neurons computed"]
                                          if e.get("mlp_active") is not None else [])
        + ([f"{_frac(e['heads_active'])} of the attention heads computed"] if e.get("heads_active") is not None else []),
        "architecture": lambda e: [f"its own model {e['model']}" + (" (a variant)" if e.get("model_changes") else ""),
                                   f"compared with {e['baseline']}"
                                   + (" in another form (" + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in
                                                                         e["baseline_changes"].items()) + ")"
                                      if e.get("baseline_changes") else "")],
        "speculative": lambda e: [f"{e['draft_length']} sequential draft passes per step",
                                  f"{e.get('verify_tokens') or e['draft_length'] + 1} tokens verified per step"]
        + ([f"{e['tokens_per_step']:g} tokens accepted per step"] if e.get("tokens_per_step") is not None else [])
        + ([f"an acceptance rate of {_frac(e['acceptance_rate'])}"] if e.get("acceptance_rate") is not None else [])
        + ([f"the draft model {e['draft_model']}"] if e.get("draft_model") else [])
        + ([f"a draft of {e['draft_layers']} target layers plus its lm_head"] if e.get("draft_layers") else [])
        + ([f"a draft pass costing {_frac(e['draft_cost'])} of a target step"] if e.get("draft_cost") is not None else []),
        "parallel_decoding": lambda e: [f"{e['tokens_per_step']:g} tokens accepted per forward pass"]
        + ([f"{e['verify_tokens']} tokens processed per pass"] if e.get("verify_tokens") else []),
        "kv_compression": lambda e: [f"{_frac(e['kv_kept'])} of the KV cache kept"],
        "operator_fusion": lambda e: (["IO-aware fused attention"] if e.get("flash_attention") else [])
        + (["norms, activations and adds fused into the matrix multiplications"] if e.get("fused_elementwise") else []),
        "offloading": lambda e: [f"{_frac(e['offloaded'])} of the weights streamed over the host link each step"],
        "data_format": lambda e: [f"the {e['format']} format"]
        + ([f"{e['weights_bits']}-bit weights"] if e.get("weights_bits") else [])
        + ([f"{e['activations_bits']}-bit activations"] if e.get("activations_bits") else []),
    }
    try:
        known = phrases[kind](effect) if kind in phrases else []
    except KeyError:
        known = []
    if known:
        return known
    # A kind (or field) this module does not know yet: name each field in words, never a dict repr.
    out = []
    for key, value in effect.items():
        if key in ("kind", "basis", "reason", "ignores"):
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in value.items())
        out.append(f"{key.replace('_', ' ')} {value}")
    return out


def effect_words(method: Method) -> str:
    """What the calculator applies, as a sentence: "4-bit weights (group size 128), 16-bit activations ..."."""
    effect = method.effect.model_dump(exclude_none=True)
    if effect["kind"] == "none":
        return f"Nothing the roofline can show: {effect['reason']}"
    kind = effect["kind"].replace("_", " ")
    params = _params(effect)
    what = f"The calculator applies {kind}: {', '.join(params)}." if params else f"The calculator applies {kind}."
    return what[0].upper() + what[1:]


def _mentions(description: str, label: str, value: object) -> bool:
    """True when the description already states this setting value."""
    low = description.lower()
    if label in ("batch",):
        return "batch" in low
    if label == "context":
        return bool(re.search(r"\b(context|prompt|input|sequence|seq)", low)) or str(value) in description
    if label == "generated":
        return "generat" in low or "output" in low
    return str(value).lower() in low


def claim_setting(claim: Claim) -> tuple[str, bool]:
    """The setting of a claim in words, without repeating what its description says, and whether the
    value is an upper bound ("up to", which descriptions often end with)."""
    s = claim.setting
    description = (s.description or "").strip()
    up_to = bool(re.search(r"(?:,|;)?\s*\(?up to\)?$", description, re.IGNORECASE))
    if up_to:
        description = re.sub(r"(?:,|;)?\s*\(?up to\)?$", "", description, flags=re.IGNORECASE).strip()
    parts = [description] if description else []
    for label, value in (("model", s.model), ("hardware", s.hardware), ("batch", s.batch),
                         ("context", s.seq_len), ("generated", s.gen_len)):
        if value is None or (description and (label in ("model", "hardware") or _mentions(description, label, value))):
            continue
        parts.append(f"{label} {value}")
    return ("; ".join(str(p) for p in parts) if parts else "not stated"), up_to
