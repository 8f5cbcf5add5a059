"""A Hugging Face ``config.json`` (already parsed into a dict) -> `Model`.

The calculator does no file I/O: the command line (and the catalogue loader, for a model file's
verbatim ``config:`` block) hands the dict here. This is the only module that knows ``model_type``
names; what each maps to is data for `calculator.recipe`:

==============  ============  ==================================================================
model_type      architecture  fields read (besides the common ones)
==============  ============  ==================================================================
llama           llama         num_key_value_heads, head_dim, attention_bias, mlp_bias
mistral         llama         sliding_window (when set: every layer a window layer)
phi3            llama         sliding_window (Phi-3/Phi-4; fused qkv/gate_up have llama's shapes)
mixtral         mixtral       num_local_experts, num_experts_per_tok, sliding_window
qwen2           qwen2         q/k/v biases; use_sliding_window with max_window_layers or layer_types
qwen2_moe       qwen2         num_experts, moe_intermediate_size, shared_expert_intermediate_size
qwen3           llama         head_dim, qk norms, use_sliding_window / layer_types
qwen3_moe       llama         num_experts, moe_intermediate_size, decoder_sparse_step, mlp_only_layers
qwen3_next      llama         as qwen3_moe plus Gated DeltaNet layers (linear_num_key/value_heads,
                              linear_key/value_head_dim, linear_conv_kernel_dim), full attention every
                              full_attention_interval-th layer, gated (attention_output_gate)
yi              llama         (Yi's own model_type for a llama-structured model)
deepseek_v2/v3  llama         q_lora_rank, kv_lora_rank, qk_nope/rope_head_dim, v_head_dim (latent
                              attention); n_routed_experts, moe_intermediate_size, n_shared_experts,
                              first_k_dense_replace, moe_layer_freq
gpt_oss         llama         layer_types (sliding/full), sliding_window, attention sinks, biases,
                              num_local_experts, num_experts_per_tok (or experts_per_token)
gemma2/gemma3   llama         head_dim, sliding_window, sliding_window_pattern or layer_types, qk
                              norms (gemma3); text_config is read when the keys sit there
llama4          llama         text_config: num_local_experts, interleave_moe_layer_step / moe_layers,
                              intermediate_size (expert), intermediate_size_mlp (dense), one shared
                              expert, attention_chunk_size on the no_rope_layers (as a window)
opt             opt           ffn_dim (-> intermediate_size), enable_bias
mamba           llama         Mamba-1, every layer a Mamba mixer without attention or MLP: state_size,
falcon_mamba                  conv_kernel, intermediate_size (else expand x hidden_size), time_step_rank
                              ("auto": ceil(hidden_size / 16)), use_bias, use_conv_bias
mamba2          llama         Mamba-2 likewise: num_heads, head_dim (inner = num_heads x head_dim),
                              n_groups, state_size, conv_kernel, use_bias, use_conv_bias
jamba           llama         Mamba-1 layers with attention every attn_layer_period-th layer (from
                              attn_layer_offset) or layers_block_type; MoE (num_experts, num_experts_per_tok)
                              every expert_layer_period-th layer from expert_layer_offset, the rest dense;
                              mamba_d_state, mamba_d_conv, mamba_expand, mamba_dt_rank, mamba_conv_bias,
                              mamba_proj_bias
granitemoehybrid  llama       layer_types (mamba / attention; required), Mamba-2 layers (mamba_n_heads,
                              mamba_d_head, mamba_n_groups, mamba_d_state, mamba_d_conv, mamba_expand,
                              mamba_conv_bias, mamba_proj_bias); every layer a shared gated MLP of width
                              shared_intermediate_size plus, with num_local_experts, routed experts of
                              width intermediate_size (the shared MLP as one shared expert)
==============  ============  ==================================================================

Common fields: hidden_size, intermediate_size, num_hidden_layers, num_attention_heads,
vocab_size, max_position_embeddings, tie_word_embeddings. Not modelled (they move no roofline
number that matters at this level): RoPE details, soft-capping, Gemma's extra post-norms, gpt-oss's
clamped SwiGLU, DeepSeek's multi-token-prediction layer (not part of the 671B) and router details,
Jamba's RMSNorms on the time step, B and C inside its Mamba layers (R + 2N weights a layer) and FalconMamba's
unweighted ones. Hybrids with MLP-only layers (nemotron_h's hybrid_override_pattern) are not modelled.
"""

from __future__ import annotations

import math

from calculator.limits import LIMITS, check_range, show
from calculator.spec import CalculatorError, Model

__all__ = ["MODEL_TYPES", "model_from_hf_config"]

MODEL_TYPES = {
    "llama": "llama", "mistral": "llama", "phi3": "llama", "mixtral": "mixtral", "qwen2": "qwen2",
    "qwen2_moe": "qwen2", "qwen3": "llama", "qwen3_moe": "llama", "deepseek_v2": "llama",
    "deepseek_v3": "llama", "gpt_oss": "llama", "gemma2": "llama", "gemma3": "llama", "gemma3_text": "llama",
    "llama4": "llama", "llama4_text": "llama", "qwen3_next": "llama", "yi": "llama", "opt": "opt",
    "mamba": "llama", "falcon_mamba": "llama", "mamba2": "llama", "jamba": "llama", "granitemoehybrid": "llama",
}
_MAMBA_ONLY = ("mamba", "falcon_mamba", "mamba2")  # no attention, no MLP

# Hugging Face defaults where a config may omit the field.
_TIE_DEFAULT = {"opt": True, "gemma2": True, "gemma3": True, "gemma3_text": True, "mamba": True,
                "falcon_mamba": True, "mamba2": True}
_WRAPPERS = ("gemma3", "llama4", "mistral3")  # multimodal configs whose text model sits in text_config


def _int(cfg: dict, key: str, where: str, default=None) -> int:
    value = cfg.get(key, default)
    if value is None:
        raise CalculatorError(f"{where}: missing field {key!r}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise CalculatorError(f"{where}: field {key!r} must be an integer, got {value!r}")
    return value


def _count(cfg: dict, key: str, where: str, default: int, low: int = 1) -> int:
    """An integer setting of the layer pattern (a step, an interval, a number of layers): at least `low`, at
    most the number of layers the calculator accepts."""
    value = _int(cfg, key, where, default)
    if not low <= value <= LIMITS["num_hidden_layers"][1]:
        raise CalculatorError(f"{where}: field {key!r} must be from {low} to {LIMITS['num_hidden_layers'][1]:g}, "
                              f"got {show(value)}")
    return value


def _bool(cfg: dict, key: str, where: str, default: bool) -> bool:
    value = cfg.get(key, default)
    if not isinstance(value, bool):
        raise CalculatorError(f"{where}: field {key!r} must be true or false, got {value!r}")
    return value


def _int_list(cfg: dict, key: str, where: str) -> list:
    value = cfg.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
        raise CalculatorError(f"{where}: field {key!r} must be a list of integers")
    return value


def _layer_types(cfg: dict, where: str, layers: int, mamba: bool = False) -> tuple | None:
    """HF ``layer_types`` (sliding_attention / full_attention / chunked_attention ...) -> full / window."""
    types = cfg.get("layer_types")
    if types is None:
        return None
    if not isinstance(types, list) or len(types) != layers:
        raise CalculatorError(f"{where}: field 'layer_types' must list one type for each of the {layers} layers")
    out = []
    for kind in types:
        if kind in ("full_attention", "attention", "global"):
            out.append("full")
        elif kind in ("sliding_attention", "sliding_window", "local", "chunked_attention"):
            out.append("window")
        elif kind == "linear_attention":
            out.append("linear")
        elif mamba and kind == "mamba":
            out.append("mamba")
        else:
            raise CalculatorError(f"{where}: layer type {kind!r} is not modelled (full_attention or sliding_attention)")
    return tuple(out)


def _text(cfg: dict) -> dict:
    """The text model's keys: a multimodal config's text_config, with the outer keys as defaults."""
    inner = cfg.get("text_config")
    if cfg.get("model_type") in _WRAPPERS and isinstance(inner, dict) and "hidden_size" in inner:
        merged = {k: v for k, v in cfg.items() if k != "text_config"}
        merged.update(inner)
        merged["model_type"] = cfg["model_type"]
        return merged
    return cfg


def model_from_hf_config(cfg: object, model_id: str = "", where: str = "config") -> Model:
    """Build a `Model` from a parsed Hugging Face config; `where` names the source in errors.

    Raises `CalculatorError` with one line (e.g. ``config.json: missing field 'hidden_size'``)
    when the dict is not a config of a supported model type.
    """
    if not isinstance(cfg, dict):
        raise CalculatorError(f"{where}: expected a JSON object, got {type(cfg).__name__}")
    model_type = cfg.get("model_type")
    if not isinstance(model_type, str) or model_type not in MODEL_TYPES:
        supported = ", ".join(sorted(MODEL_TYPES))
        raise CalculatorError(f"{where}: unsupported model_type {model_type!r} (supported: {supported})")
    cfg = _text(cfg)
    arch = MODEL_TYPES[model_type]
    heads = 0 if model_type in _MAMBA_ONLY else _int(cfg, "num_attention_heads", where)
    layers = _int(cfg, "num_hidden_layers", where)
    try:  # before any loop over the layers
        check_range("", "num_hidden_layers", layers)
        if layers < 1:
            raise CalculatorError(f"num_hidden_layers must be a positive integer, got {show(layers)}")
    except CalculatorError as exc:
        raise CalculatorError(f"{where}: {exc}") from None
    fields = {
        "id": model_id or str(cfg.get("_name_or_path") or model_type),
        "architecture": arch,
        "hidden_size": _int(cfg, "hidden_size", where),
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "vocab_size": _int(cfg, "vocab_size", where),
        "max_position_embeddings": _int(cfg, "max_position_embeddings", where, 0),
        "tie_word_embeddings": _bool(cfg, "tie_word_embeddings", where, _TIE_DEFAULT.get(model_type, False)),
    }
    if model_type in _MAMBA_ONLY:
        _mamba_only(cfg, model_type, fields, where, layers)
    elif arch == "opt":
        fields["intermediate_size"] = _int(cfg, "ffn_dim", where)
        bias = _bool(cfg, "enable_bias", where, True)
        fields.update(qkv_bias=bias, o_bias=bias, mlp_bias=bias)
    else:
        fields["intermediate_size"] = _int(cfg, "intermediate_size", where)
        fields["num_key_value_heads"] = _int(cfg, "num_key_value_heads", where, heads)
        if cfg.get("head_dim") is not None:
            fields["head_dim"] = _int(cfg, "head_dim", where)
        if arch == "llama":
            attention_bias = _bool(cfg, "attention_bias", where, model_type == "gpt_oss")
            fields.update(qkv_bias=attention_bias, o_bias=attention_bias,
                          mlp_bias=_bool(cfg, "mlp_bias", where, model_type == "gpt_oss"))
        if arch == "mixtral":
            fields["num_local_experts"] = _int(cfg, "num_local_experts", where)
            fields["num_experts_per_tok"] = _int(cfg, "num_experts_per_tok", where)
        _extend(cfg, model_type, fields, where, layers)
    try:
        return Model(**fields)
    except CalculatorError as exc:
        raise CalculatorError(f"{where}: {exc}") from None


def _dt_rank(cfg: dict, key: str, where: str) -> int:
    """A Mamba-1 time-step rank: an integer, or "auto" (ceil(hidden_size / 16), as Hugging Face reads it)."""
    if cfg.get(key, "auto") == "auto":
        return math.ceil(cfg["hidden_size"] / 16)
    return _int(cfg, key, where)


def _mamba_only(cfg: dict, model_type: str, fields: dict, where: str, layers: int) -> None:
    """mamba / falcon_mamba (Mamba-1) and mamba2: every layer one Mamba mixer, no attention, no MLP."""
    hidden = fields["hidden_size"]
    fields["mamba_d_state"] = _int(cfg, "state_size", where, 16)
    fields["mamba_d_conv"] = _int(cfg, "conv_kernel", where, 4)
    fields["mamba_proj_bias"] = _bool(cfg, "use_bias", where, False)
    fields["mamba_conv_bias"] = _bool(cfg, "use_conv_bias", where, True)
    if model_type == "mamba2":
        heads = _int(cfg, "num_heads", where)
        fields["mamba_n_heads"] = heads
        fields["mamba_n_groups"] = _int(cfg, "n_groups", where, 1)
        fields["mamba_inner_size"] = heads * _int(cfg, "head_dim", where)
    else:
        if cfg.get("intermediate_size") is not None:
            inner = _int(cfg, "intermediate_size", where)
        else:
            inner = _int(cfg, "expand", where, 2) * hidden
        fields["mamba_inner_size"] = inner
        fields["mamba_dt_rank"] = _dt_rank(cfg, "time_step_rank", where)
    fields["intermediate_size"] = fields["mamba_inner_size"]  # no MLP: the field carries the inner width
    fields["layer_types"] = ("mamba",) * layers
    fields["no_mlp_layers"] = tuple(range(layers))


def _jamba(cfg: dict, fields: dict, where: str, layers: int) -> None:
    """Jamba: Mamba-1 layers and attention layers, each with a dense or MoE MLP."""
    kinds = cfg.get("layers_block_type")
    if kinds is not None:
        if not isinstance(kinds, list) or len(kinds) != layers or any(k not in ("attention", "mamba") for k in kinds):
            raise CalculatorError(f"{where}: field 'layers_block_type' must list 'attention' or 'mamba' for each of "
                                  f"the {layers} layers")
        types = tuple("full" if k == "attention" else "mamba" for k in kinds)
    else:
        period = _count(cfg, "attn_layer_period", where, 8)
        offset = _count(cfg, "attn_layer_offset", where, 4, 0)
        types = tuple("full" if i % period == offset else "mamba" for i in range(layers))
    fields["layer_types"] = types
    fields["mamba_d_state"] = _int(cfg, "mamba_d_state", where, 16)
    fields["mamba_d_conv"] = _int(cfg, "mamba_d_conv", where, 4)
    fields["mamba_inner_size"] = _int(cfg, "mamba_expand", where, 2) * fields["hidden_size"]
    fields["mamba_dt_rank"] = _dt_rank(cfg, "mamba_dt_rank", where)
    fields["mamba_conv_bias"] = _bool(cfg, "mamba_conv_bias", where, True)
    fields["mamba_proj_bias"] = _bool(cfg, "mamba_proj_bias", where, False)
    experts = _int(cfg, "num_experts", where, 16)
    if experts > 1:
        period = _count(cfg, "expert_layer_period", where, 2)
        offset = _count(cfg, "expert_layer_offset", where, 1, 0)
        fields["num_local_experts"] = experts
        fields["num_experts_per_tok"] = _int(cfg, "num_experts_per_tok", where, 2)
        dense = [i for i in range(layers) if i % period != offset]
        if dense:
            fields["dense_layers"] = tuple(dense)


def _granite(cfg: dict, fields: dict, where: str, layers: int) -> None:
    """Granite 4.0 hybrids: Mamba-2 and attention layers, each with a shared gated MLP and optional routed experts."""
    types = _layer_types(cfg, where, layers, mamba=True)
    if types is None:
        raise CalculatorError(f"{where}: missing field 'layer_types'")
    fields["layer_types"] = types
    if "mamba" in types:
        heads = _int(cfg, "mamba_n_heads", where)
        inner = _int(cfg, "mamba_expand", where) * fields["hidden_size"]
        if heads * _int(cfg, "mamba_d_head", where) != inner:
            raise CalculatorError(f"{where}: field 'mamba_n_heads' x 'mamba_d_head' must equal mamba_expand x "
                                  f"hidden_size ({inner})")
        fields.update(mamba_n_heads=heads, mamba_inner_size=inner, mamba_n_groups=_int(cfg, "mamba_n_groups", where),
                      mamba_d_state=_int(cfg, "mamba_d_state", where), mamba_d_conv=_int(cfg, "mamba_d_conv", where),
                      mamba_conv_bias=_bool(cfg, "mamba_conv_bias", where, True),
                      mamba_proj_bias=_bool(cfg, "mamba_proj_bias", where, False))
    shared = _int(cfg, "shared_intermediate_size", where)
    experts = _int(cfg, "num_local_experts", where, 0)
    if experts:
        fields.update(num_local_experts=experts, num_experts_per_tok=_int(cfg, "num_experts_per_tok", where),
                      moe_intermediate_size=fields["intermediate_size"], num_shared_experts=1,
                      shared_expert_intermediate_size=shared)
    else:
        fields["intermediate_size"] = shared  # the shared MLP is the layer's only MLP


def _window(cfg: dict, where: str) -> int:
    value = cfg.get("sliding_window")
    return 0 if value is None else _int(cfg, "sliding_window", where)


def _extend(cfg: dict, model_type: str, fields: dict, where: str, layers: int) -> None:
    """The architecture-as-data fields of each model_type (see the module table)."""
    if model_type == "jamba":
        _jamba(cfg, fields, where, layers)
        return
    if model_type == "granitemoehybrid":
        _granite(cfg, fields, where, layers)
        return
    types = _layer_types(cfg, where, layers)
    if model_type in ("mistral", "phi3", "mixtral"):
        window = _window(cfg, where)
        if window and window < fields["max_position_embeddings"]:
            fields["sliding_window"] = window
    elif model_type in ("qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "qwen3_next"):
        if model_type == "qwen3_next":  # Gated DeltaNet layers, gated full attention every interval-th layer
            interval = _count(cfg, "full_attention_interval", where, 4)
            for key, name in (("linear_num_key_heads", "linear_num_key_heads"),
                              ("linear_num_value_heads", "linear_num_value_heads"),
                              ("linear_key_head_dim", "linear_key_head_dim"),
                              ("linear_value_head_dim", "linear_value_head_dim"),
                              ("linear_conv_kernel_dim", "linear_conv_kernel_dim")):
                fields[name] = _int(cfg, key, where)
            if types is None:
                types = tuple("full" if (i + 1) % interval == 0 else "linear" for i in range(layers))
            fields["layer_types"] = types
            fields["attention_output_gate"] = True
        elif _bool(cfg, "use_sliding_window", where, False) and _window(cfg, where):
            fields["sliding_window"] = _window(cfg, where)
            if types is None:
                first = _count(cfg, "max_window_layers", where, layers, 0)
                types = tuple("window" if i >= first else "full" for i in range(layers))
            fields["layer_types"] = types
        fields["qk_norm"] = model_type in ("qwen3", "qwen3_moe", "qwen3_next")
        if model_type in ("qwen2_moe", "qwen3_moe", "qwen3_next") and _int(cfg, "num_experts", where, 0):
            fields["num_local_experts"] = _int(cfg, "num_experts", where)
            fields["num_experts_per_tok"] = _int(cfg, "num_experts_per_tok", where)
            fields["moe_intermediate_size"] = _int(cfg, "moe_intermediate_size", where)
            step = _count(cfg, "decoder_sparse_step", where, 1)
            only = set(_int_list(cfg, "mlp_only_layers", where))
            dense = [i for i in range(layers) if i in only or (i + 1) % step]
            if dense:
                fields["dense_layers"] = tuple(dense)
            shared = _int(cfg, "shared_expert_intermediate_size", where, 0)
            if shared:
                fields.update(num_shared_experts=1, shared_expert_intermediate_size=shared)
    elif model_type in ("deepseek_v2", "deepseek_v3"):
        fields["q_lora_rank"] = cfg.get("q_lora_rank") and _int(cfg, "q_lora_rank", where) or 0
        for key in ("kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim"):
            fields[key] = _int(cfg, key, where)
        experts = _int(cfg, "n_routed_experts", where, 0)
        if experts:
            fields["num_local_experts"] = experts
            fields["num_experts_per_tok"] = _int(cfg, "num_experts_per_tok", where)
            fields["moe_intermediate_size"] = _int(cfg, "moe_intermediate_size", where)
            shared = _int(cfg, "n_shared_experts", where, 0)
            if shared:
                fields["num_shared_experts"] = shared
            first = _count(cfg, "first_k_dense_replace", where, 0, 0)
            freq = _count(cfg, "moe_layer_freq", where, 1)
            dense = [i for i in range(layers) if i < first or i % freq]
            if dense:
                fields["dense_layers"] = tuple(dense)
    elif model_type == "gpt_oss":
        fields["sliding_window"] = _window(cfg, where)
        if types is not None:
            fields["layer_types"] = types
        fields["attention_sinks"] = True
        fields["num_local_experts"] = _int(cfg, "num_local_experts", where)
        key = "num_experts_per_tok" if "num_experts_per_tok" in cfg else "experts_per_token"
        fields["num_experts_per_tok"] = _int(cfg, key, where)
    elif model_type in ("gemma2", "gemma3", "gemma3_text"):
        window = _window(cfg, where)
        fields["sliding_window"] = window
        fields["qk_norm"] = model_type != "gemma2"
        if types is None:
            pattern = _count(cfg, "sliding_window_pattern", where, 2 if model_type == "gemma2" else 6)
            types = tuple("full" if (i + 1) % pattern == 0 else "window" for i in range(layers))
        fields["layer_types"] = types
    elif model_type in ("llama4", "llama4_text"):
        experts = _int(cfg, "num_local_experts", where, 0)
        fields["intermediate_size"] = _int(cfg, "intermediate_size_mlp", where, fields["intermediate_size"])
        if experts:
            step = _count(cfg, "interleave_moe_layer_step", where, 1)
            moe = _int_list(cfg, "moe_layers", where) or list(range(step - 1, layers, step))
            fields.update(num_local_experts=experts, num_experts_per_tok=_int(cfg, "num_experts_per_tok", where),
                          moe_intermediate_size=_int(cfg, "intermediate_size", where), num_shared_experts=1)
            dense = [i for i in range(layers) if i not in set(moe)]
            if dense:
                fields["dense_layers"] = tuple(dense)
        chunk = _int(cfg, "attention_chunk_size", where, 0) if cfg.get("attention_chunk_size") else 0
        rope = _int_list(cfg, "no_rope_layers", where)
        if chunk and types is None:
            rope = rope or [int((i + 1) % 4 != 0) for i in range(layers)]
            if len(rope) != layers:
                raise CalculatorError(f"{where}: field 'no_rope_layers' must have one entry per layer")
            types = tuple("window" if r else "full" for r in rope)
        if chunk:
            fields.update(sliding_window=chunk, layer_types=types)
    elif types is not None and _window(cfg, where):
        fields.update(sliding_window=_window(cfg, where), layer_types=types)
