"""A Hugging Face ``config.json`` (already parsed into a dict) -> `Model`.

The calculator does no file I/O: the command line reads the file and hands the dict here.
Supported ``model_type`` values and what they map to:

=============  ==============  ==========================================================
model_type     architecture    fields read (besides the common ones)
=============  ==============  ==========================================================
llama          llama           num_key_value_heads, head_dim, attention_bias, mlp_bias
mistral        llama           num_key_value_heads, head_dim (sliding window not modelled)
mixtral        mixtral         num_local_experts, num_experts_per_tok
qwen2          qwen2           num_key_value_heads (q/k/v biases implied)
opt            opt             ffn_dim (-> intermediate_size), enable_bias
=============  ==============  ==========================================================

Common fields: hidden_size, intermediate_size, num_hidden_layers, num_attention_heads,
vocab_size, max_position_embeddings, tie_word_embeddings.
"""

from __future__ import annotations

from calculator.spec import CalculatorError, Model

__all__ = ["MODEL_TYPES", "model_from_hf_config"]

MODEL_TYPES = {"llama": "llama", "mistral": "llama", "mixtral": "mixtral", "qwen2": "qwen2", "opt": "opt"}

# Hugging Face defaults where a config may omit the field.
_TIE_DEFAULT = {"opt": True}


def _int(cfg: dict, key: str, where: str, default=None) -> int:
    value = cfg.get(key, default)
    if value is None:
        raise CalculatorError(f"{where}: missing field {key!r}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise CalculatorError(f"{where}: field {key!r} must be an integer, got {value!r}")
    return value


def _bool(cfg: dict, key: str, where: str, default: bool) -> bool:
    value = cfg.get(key, default)
    if not isinstance(value, bool):
        raise CalculatorError(f"{where}: field {key!r} must be true or false, got {value!r}")
    return value


def model_from_hf_config(cfg: object, model_id: str = "", where: str = "config") -> Model:
    """Build a `Model` from a parsed Hugging Face config; `where` names the source in errors.

    Raises `CalculatorError` with one line (e.g. ``config.json: missing field 'hidden_size'``)
    when the dict is not a config of a supported model type.
    """
    if not isinstance(cfg, dict):
        raise CalculatorError(f"{where}: expected a JSON object, got {type(cfg).__name__}")
    model_type = cfg.get("model_type")
    if model_type not in MODEL_TYPES:
        supported = ", ".join(sorted(MODEL_TYPES))
        raise CalculatorError(f"{where}: unsupported model_type {model_type!r} (supported: {supported})")
    arch = MODEL_TYPES[model_type]
    heads = _int(cfg, "num_attention_heads", where)
    fields = {
        "id": model_id or str(cfg.get("_name_or_path") or model_type),
        "architecture": arch,
        "hidden_size": _int(cfg, "hidden_size", where),
        "num_hidden_layers": _int(cfg, "num_hidden_layers", where),
        "num_attention_heads": heads,
        "vocab_size": _int(cfg, "vocab_size", where),
        "max_position_embeddings": _int(cfg, "max_position_embeddings", where, 0),
        "tie_word_embeddings": _bool(cfg, "tie_word_embeddings", where, _TIE_DEFAULT.get(arch, False)),
    }
    if arch == "opt":
        fields["intermediate_size"] = _int(cfg, "ffn_dim", where)
        bias = _bool(cfg, "enable_bias", where, True)
        fields.update(qkv_bias=bias, o_bias=bias, mlp_bias=bias)
    else:
        fields["intermediate_size"] = _int(cfg, "intermediate_size", where)
        fields["num_key_value_heads"] = _int(cfg, "num_key_value_heads", where, heads)
        if cfg.get("head_dim") is not None:
            fields["head_dim"] = _int(cfg, "head_dim", where)
        if arch == "llama":
            attention_bias = _bool(cfg, "attention_bias", where, False)
            fields.update(qkv_bias=attention_bias, o_bias=attention_bias,
                          mlp_bias=_bool(cfg, "mlp_bias", where, False))
        if arch == "mixtral":
            fields["num_local_experts"] = _int(cfg, "num_local_experts", where)
            fields["num_experts_per_tok"] = _int(cfg, "num_experts_per_tok", where)
    try:
        return Model(**fields)
    except CalculatorError as exc:
        raise CalculatorError(f"{where}: {exc}") from None
