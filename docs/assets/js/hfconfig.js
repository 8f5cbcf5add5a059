// A pasted Hugging Face config.json (already parsed) -> the model object roofline.js analyses: the mirror of
// calculator/hf.py, with the same model_types, the same defaults and the same one-line refusals, each naming
// the field. tests/js/hfconfig.test.mjs holds it equal to Python over every kb/models config block and a set
// of hostile configs (tests/js/hfconfig-fixture.json, written by tools/make_hfconfig_fixture.py).
//
// One difference JSON itself forces: Python reads 2.0 in a config as a float (refused where an integer is
// needed), JavaScript cannot tell it from 2, so 2.0 is read as 2 here.

import { CalculatorError, makeModel } from "./roofline.js";

/** model_type -> architecture (calculator.hf.MODEL_TYPES). */
export const MODEL_TYPES = Object.freeze({
  llama: "llama", mistral: "llama", phi3: "llama", mixtral: "mixtral", qwen2: "qwen2",
  qwen2_moe: "qwen2", qwen3: "llama", qwen3_moe: "llama", deepseek_v2: "llama",
  deepseek_v3: "llama", gpt_oss: "llama", gemma2: "llama", gemma3: "llama", gemma3_text: "llama",
  llama4: "llama", llama4_text: "llama", qwen3_next: "llama", yi: "llama", opt: "opt",
  mamba: "llama", falcon_mamba: "llama", mamba2: "llama", jamba: "llama", granitemoehybrid: "llama",
});
const MAMBA_ONLY = ["mamba", "falcon_mamba", "mamba2"]; // no attention, no MLP
const TIE_DEFAULT = { opt: true, gemma2: true, gemma3: true, gemma3_text: true, mamba: true, falcon_mamba: true,
  mamba2: true };
const WRAPPERS = ["gemma3", "llama4", "mistral3"]; // multimodal configs whose text model sits in text_config
const MAX_LAYERS = 100_000; // calculator.limits.LIMITS["num_hidden_layers"][1]

const has = (obj, key) => Object.prototype.hasOwnProperty.call(obj, key);
const isInt = (v) => typeof v === "number" && Number.isInteger(v);
const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

/** Python's repr() of a JSON value (str, int, float, bool, None, list, dict). */
export function pyRepr(value) {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "string") {
    const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
    const body = value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/\t/g, "\\t").replace(/\r/g, "\\r");
    return quote + (quote === "'" ? body.replace(/'/g, "\\'") : body) + quote;
  }
  if (typeof value === "number") {
    if (Number.isNaN(value)) return "nan";
    if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(", ")}]`;
  return `{${Object.entries(value).map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`).join(", ")}}`;
}

/** calculator.limits.show: a value for a one-line message, a long integer or text cut short. */
function show(value) {
  const text = pyRepr(value);
  if (isInt(value) && text.length > 20) return `${text.slice(0, 10)}...(${text.replace(/^-/, "").length} digits)`;
  return text.slice(0, 60) + (text.length > 60 ? "..." : "");
}

/** Python's type(x).__name__ of a JSON value. */
function typeName(value) {
  if (value === null || value === undefined) return "NoneType";
  if (typeof value === "boolean") return "bool";
  if (typeof value === "string") return "str";
  if (typeof value === "number") return Number.isInteger(value) ? "int" : "float";
  return Array.isArray(value) ? "list" : "dict";
}

/** Python truthiness of a JSON value. */
const truthy = (v) => !(v === null || v === undefined || v === false || v === 0 || v === ""
  || (Array.isArray(v) && !v.length) || (isObject(v) && !Object.keys(v).length));

function getInt(cfg, key, where, dflt = null) {
  const value = has(cfg, key) ? cfg[key] : dflt;
  if (value === null || value === undefined) throw new CalculatorError(`${where}: missing field '${key}'`);
  if (!isInt(value)) throw new CalculatorError(`${where}: field '${key}' must be an integer, got ${pyRepr(value)}`);
  return value;
}

function getCount(cfg, key, where, dflt, low = 1) {
  const value = getInt(cfg, key, where, dflt);
  if (!(low <= value && value <= MAX_LAYERS)) {
    throw new CalculatorError(`${where}: field '${key}' must be from ${low} to ${MAX_LAYERS}, got ${show(value)}`);
  }
  return value;
}

function getBool(cfg, key, where, dflt) {
  const value = has(cfg, key) ? cfg[key] : dflt;
  if (typeof value !== "boolean") {
    throw new CalculatorError(`${where}: field '${key}' must be true or false, got ${pyRepr(value)}`);
  }
  return value;
}

function getIntList(cfg, key, where) {
  const value = has(cfg, key) ? cfg[key] : null;
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => !isInt(v))) {
    throw new CalculatorError(`${where}: field '${key}' must be a list of integers`);
  }
  return value;
}

/** HF layer_types (sliding_attention / full_attention / chunked_attention ...) -> full / window / linear. */
function layerTypes(cfg, where, layers, mamba = false) {
  const types = has(cfg, "layer_types") ? cfg.layer_types : null;
  if (types === null || types === undefined) return null;
  if (!Array.isArray(types) || types.length !== layers) {
    throw new CalculatorError(`${where}: field 'layer_types' must list one type for each of the ${layers} layers`);
  }
  return types.map((kind) => {
    if (["full_attention", "attention", "global"].includes(kind)) return "full";
    if (["sliding_attention", "sliding_window", "local", "chunked_attention"].includes(kind)) return "window";
    if (kind === "linear_attention") return "linear";
    if (mamba && kind === "mamba") return "mamba";
    throw new CalculatorError(`${where}: layer type ${pyRepr(kind)} is not modelled (full_attention or `
      + "sliding_attention)");
  });
}

/** The text model's keys: a multimodal config's text_config, with the outer keys as defaults. */
function textConfig(cfg) {
  const inner = cfg.text_config;
  if (WRAPPERS.includes(cfg.model_type) && isObject(inner) && has(inner, "hidden_size")) {
    const merged = {};
    for (const [k, v] of Object.entries(cfg)) if (k !== "text_config") merged[k] = v;
    Object.assign(merged, inner);
    merged.model_type = cfg.model_type;
    return merged;
  }
  return cfg;
}

const range = (n) => Array.from({ length: n }, (_, i) => i);

/**
 * Build the model of a parsed Hugging Face config (calculator.hf.model_from_hf_config).
 * `id` names the model (default: the config's _name_or_path, else its model_type), `name` its label,
 * `where` the source in errors. Throws CalculatorError with one line, e.g.
 * "config: missing field 'hidden_size'", when the object is not a config of a supported model type.
 */
export function modelFromConfig(config, { id = "", name = "", where = "config" } = {}) {
  if (!isObject(config)) throw new CalculatorError(`${where}: expected a JSON object, got ${typeName(config)}`);
  const modelType = has(config, "model_type") ? config.model_type : null;
  if (typeof modelType !== "string" || !has(MODEL_TYPES, modelType)) {
    const supported = Object.keys(MODEL_TYPES).sort().join(", ");
    throw new CalculatorError(`${where}: unsupported model_type ${pyRepr(modelType)} (supported: ${supported})`);
  }
  const cfg = textConfig(config);
  const arch = MODEL_TYPES[modelType];
  const heads = MAMBA_ONLY.includes(modelType) ? 0 : getInt(cfg, "num_attention_heads", where);
  const layers = getInt(cfg, "num_hidden_layers", where);
  if (layers > MAX_LAYERS) {
    throw new CalculatorError(`${where}: num_hidden_layers must be at most ${MAX_LAYERS}, got ${show(layers)}`);
  }
  if (layers < 1) throw new CalculatorError(`${where}: num_hidden_layers must be at least 1, got ${show(layers)}`);
  const named = cfg._name_or_path;
  const fields = {
    id: id || (truthy(named) ? (typeof named === "string" ? named : pyRepr(named)) : modelType),
    architecture: arch,
    hidden_size: getInt(cfg, "hidden_size", where),
    num_hidden_layers: layers,
    num_attention_heads: heads,
    vocab_size: getInt(cfg, "vocab_size", where),
    max_position_embeddings: getInt(cfg, "max_position_embeddings", where, 0),
    tie_word_embeddings: getBool(cfg, "tie_word_embeddings", where, TIE_DEFAULT[modelType] || false),
  };
  if (name) fields.name = name;
  if (MAMBA_ONLY.includes(modelType)) {
    mambaOnly(cfg, modelType, fields, where, layers);
  } else if (arch === "opt") {
    fields.intermediate_size = getInt(cfg, "ffn_dim", where);
    const bias = getBool(cfg, "enable_bias", where, true);
    Object.assign(fields, { qkv_bias: bias, o_bias: bias, mlp_bias: bias });
  } else {
    fields.intermediate_size = getInt(cfg, "intermediate_size", where);
    fields.num_key_value_heads = getInt(cfg, "num_key_value_heads", where, heads);
    if (cfg.head_dim !== null && cfg.head_dim !== undefined) fields.head_dim = getInt(cfg, "head_dim", where);
    if (arch === "llama") {
      const attentionBias = getBool(cfg, "attention_bias", where, modelType === "gpt_oss");
      Object.assign(fields, { qkv_bias: attentionBias, o_bias: attentionBias,
        mlp_bias: getBool(cfg, "mlp_bias", where, modelType === "gpt_oss") });
    }
    if (arch === "mixtral") {
      fields.num_local_experts = getInt(cfg, "num_local_experts", where);
      fields.num_experts_per_tok = getInt(cfg, "num_experts_per_tok", where);
    }
    extend(cfg, modelType, fields, where, layers);
  }
  try {
    return makeModel(fields);
  } catch (exc) {
    if (exc instanceof CalculatorError) throw new CalculatorError(`${where}: ${exc.message}`);
    throw exc;
  }
}

function dtRank(cfg, key, where) {
  const value = has(cfg, key) ? cfg[key] : "auto";
  if (value === "auto") return Math.ceil(cfg.hidden_size / 16);
  return getInt(cfg, key, where);
}

function mambaOnly(cfg, modelType, fields, where, layers) {
  fields.mamba_d_state = getInt(cfg, "state_size", where, 16);
  fields.mamba_d_conv = getInt(cfg, "conv_kernel", where, 4);
  fields.mamba_proj_bias = getBool(cfg, "use_bias", where, false);
  fields.mamba_conv_bias = getBool(cfg, "use_conv_bias", where, true);
  if (modelType === "mamba2") {
    const heads = getInt(cfg, "num_heads", where);
    fields.mamba_n_heads = heads;
    fields.mamba_n_groups = getInt(cfg, "n_groups", where, 1);
    fields.mamba_inner_size = heads * getInt(cfg, "head_dim", where);
  } else {
    fields.mamba_inner_size = cfg.intermediate_size !== null && cfg.intermediate_size !== undefined
      ? getInt(cfg, "intermediate_size", where)
      : getInt(cfg, "expand", where, 2) * fields.hidden_size;
    fields.mamba_dt_rank = dtRank(cfg, "time_step_rank", where);
  }
  fields.intermediate_size = fields.mamba_inner_size; // no MLP: the field carries the inner width
  fields.layer_types = range(layers).map(() => "mamba");
  fields.no_mlp_layers = range(layers);
}

function jamba(cfg, fields, where, layers) {
  const kinds = has(cfg, "layers_block_type") ? cfg.layers_block_type : null;
  let types;
  if (kinds !== null && kinds !== undefined) {
    if (!Array.isArray(kinds) || kinds.length !== layers || kinds.some((k) => k !== "attention" && k !== "mamba")) {
      throw new CalculatorError(`${where}: field 'layers_block_type' must list 'attention' or 'mamba' for each of `
        + `the ${layers} layers`);
    }
    types = kinds.map((k) => (k === "attention" ? "full" : "mamba"));
  } else {
    const period = getCount(cfg, "attn_layer_period", where, 8);
    const offset = getCount(cfg, "attn_layer_offset", where, 4, 0);
    types = range(layers).map((i) => (i % period === offset ? "full" : "mamba"));
  }
  fields.layer_types = types;
  fields.mamba_d_state = getInt(cfg, "mamba_d_state", where, 16);
  fields.mamba_d_conv = getInt(cfg, "mamba_d_conv", where, 4);
  fields.mamba_inner_size = getInt(cfg, "mamba_expand", where, 2) * fields.hidden_size;
  fields.mamba_dt_rank = dtRank(cfg, "mamba_dt_rank", where);
  fields.mamba_conv_bias = getBool(cfg, "mamba_conv_bias", where, true);
  fields.mamba_proj_bias = getBool(cfg, "mamba_proj_bias", where, false);
  const experts = getInt(cfg, "num_experts", where, 16);
  if (experts > 1) {
    const period = getCount(cfg, "expert_layer_period", where, 2);
    const offset = getCount(cfg, "expert_layer_offset", where, 1, 0);
    fields.num_local_experts = experts;
    fields.num_experts_per_tok = getInt(cfg, "num_experts_per_tok", where, 2);
    const dense = range(layers).filter((i) => i % period !== offset);
    if (dense.length) fields.dense_layers = dense;
  }
}

/** Granite 4.0 hybrids: Mamba-2 and attention layers, each with a shared gated MLP and optional routed experts. */
function granite(cfg, fields, where, layers) {
  const types = layerTypes(cfg, where, layers, true);
  if (types === null) throw new CalculatorError(`${where}: missing field 'layer_types'`);
  fields.layer_types = types;
  if (types.includes("mamba")) {
    const heads = getInt(cfg, "mamba_n_heads", where);
    const inner = getInt(cfg, "mamba_expand", where) * fields.hidden_size;
    if (heads * getInt(cfg, "mamba_d_head", where) !== inner) {
      throw new CalculatorError(`${where}: field 'mamba_n_heads' x 'mamba_d_head' must equal mamba_expand x `
        + `hidden_size (${inner})`);
    }
    Object.assign(fields, { mamba_n_heads: heads, mamba_inner_size: inner,
      mamba_n_groups: getInt(cfg, "mamba_n_groups", where), mamba_d_state: getInt(cfg, "mamba_d_state", where),
      mamba_d_conv: getInt(cfg, "mamba_d_conv", where), mamba_conv_bias: getBool(cfg, "mamba_conv_bias", where, true),
      mamba_proj_bias: getBool(cfg, "mamba_proj_bias", where, false) });
  }
  const shared = getInt(cfg, "shared_intermediate_size", where);
  const experts = getInt(cfg, "num_local_experts", where, 0);
  if (experts) {
    Object.assign(fields, { num_local_experts: experts, num_experts_per_tok: getInt(cfg, "num_experts_per_tok", where),
      moe_intermediate_size: fields.intermediate_size, num_shared_experts: 1, shared_expert_intermediate_size: shared });
  } else {
    fields.intermediate_size = shared; // the shared MLP is the layer's only MLP
  }
}

function windowOf(cfg, where) {
  const value = has(cfg, "sliding_window") ? cfg.sliding_window : null;
  return value === null || value === undefined ? 0 : getInt(cfg, "sliding_window", where);
}

/** The architecture-as-data fields of each model_type (calculator.hf._extend). */
function extend(cfg, modelType, fields, where, layers) {
  if (modelType === "jamba") {
    jamba(cfg, fields, where, layers);
    return;
  }
  if (modelType === "granitemoehybrid") {
    granite(cfg, fields, where, layers);
    return;
  }
  let types = layerTypes(cfg, where, layers);
  if (["mistral", "phi3", "mixtral"].includes(modelType)) {
    const window = windowOf(cfg, where);
    if (window && window < fields.max_position_embeddings) fields.sliding_window = window;
  } else if (["qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "qwen3_next"].includes(modelType)) {
    if (modelType === "qwen3_next") { // Gated DeltaNet layers, gated full attention every interval-th layer
      const interval = getCount(cfg, "full_attention_interval", where, 4);
      for (const key of ["linear_num_key_heads", "linear_num_value_heads", "linear_key_head_dim",
        "linear_value_head_dim", "linear_conv_kernel_dim"]) fields[key] = getInt(cfg, key, where);
      if (types === null) types = range(layers).map((i) => ((i + 1) % interval === 0 ? "full" : "linear"));
      fields.layer_types = types;
      fields.attention_output_gate = true;
    } else if (getBool(cfg, "use_sliding_window", where, false) && windowOf(cfg, where)) {
      fields.sliding_window = windowOf(cfg, where);
      if (types === null) {
        const first = getCount(cfg, "max_window_layers", where, layers, 0);
        types = range(layers).map((i) => (i >= first ? "window" : "full"));
      }
      fields.layer_types = types;
    }
    fields.qk_norm = ["qwen3", "qwen3_moe", "qwen3_next"].includes(modelType);
    if (["qwen2_moe", "qwen3_moe", "qwen3_next"].includes(modelType) && getInt(cfg, "num_experts", where, 0)) {
      fields.num_local_experts = getInt(cfg, "num_experts", where);
      fields.num_experts_per_tok = getInt(cfg, "num_experts_per_tok", where);
      fields.moe_intermediate_size = getInt(cfg, "moe_intermediate_size", where);
      const step = getCount(cfg, "decoder_sparse_step", where, 1);
      const only = new Set(getIntList(cfg, "mlp_only_layers", where));
      const dense = range(layers).filter((i) => only.has(i) || (i + 1) % step);
      if (dense.length) fields.dense_layers = dense;
      const shared = getInt(cfg, "shared_expert_intermediate_size", where, 0);
      if (shared) Object.assign(fields, { num_shared_experts: 1, shared_expert_intermediate_size: shared });
    }
  } else if (modelType === "deepseek_v2" || modelType === "deepseek_v3") {
    fields.q_lora_rank = truthy(cfg.q_lora_rank) ? getInt(cfg, "q_lora_rank", where) || 0 : 0;
    for (const key of ["kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim"]) {
      fields[key] = getInt(cfg, key, where);
    }
    const experts = getInt(cfg, "n_routed_experts", where, 0);
    if (experts) {
      fields.num_local_experts = experts;
      fields.num_experts_per_tok = getInt(cfg, "num_experts_per_tok", where);
      fields.moe_intermediate_size = getInt(cfg, "moe_intermediate_size", where);
      const shared = getInt(cfg, "n_shared_experts", where, 0);
      if (shared) fields.num_shared_experts = shared;
      const first = getCount(cfg, "first_k_dense_replace", where, 0, 0);
      const freq = getCount(cfg, "moe_layer_freq", where, 1);
      const dense = range(layers).filter((i) => i < first || i % freq);
      if (dense.length) fields.dense_layers = dense;
    }
  } else if (modelType === "gpt_oss") {
    fields.sliding_window = windowOf(cfg, where);
    if (types !== null) fields.layer_types = types;
    fields.attention_sinks = true;
    fields.num_local_experts = getInt(cfg, "num_local_experts", where);
    const key = has(cfg, "num_experts_per_tok") ? "num_experts_per_tok" : "experts_per_token";
    fields.num_experts_per_tok = getInt(cfg, key, where);
  } else if (["gemma2", "gemma3", "gemma3_text"].includes(modelType)) {
    fields.sliding_window = windowOf(cfg, where);
    fields.qk_norm = modelType !== "gemma2";
    if (types === null) {
      const pattern = getCount(cfg, "sliding_window_pattern", where, modelType === "gemma2" ? 2 : 6);
      types = range(layers).map((i) => ((i + 1) % pattern === 0 ? "full" : "window"));
    }
    fields.layer_types = types;
  } else if (modelType === "llama4" || modelType === "llama4_text") {
    const experts = getInt(cfg, "num_local_experts", where, 0);
    fields.intermediate_size = getInt(cfg, "intermediate_size_mlp", where, fields.intermediate_size);
    if (experts) {
      const step = getCount(cfg, "interleave_moe_layer_step", where, 1);
      const listed = getIntList(cfg, "moe_layers", where);
      const moe = new Set(listed.length ? listed : range(layers).filter((i) => i >= step - 1 && (i - step + 1) % step === 0));
      Object.assign(fields, { num_local_experts: experts, num_experts_per_tok: getInt(cfg, "num_experts_per_tok", where),
        moe_intermediate_size: getInt(cfg, "intermediate_size", where), num_shared_experts: 1 });
      const dense = range(layers).filter((i) => !moe.has(i));
      if (dense.length) fields.dense_layers = dense;
    }
    const chunk = truthy(cfg.attention_chunk_size) ? getInt(cfg, "attention_chunk_size", where, 0) : 0;
    let rope = getIntList(cfg, "no_rope_layers", where);
    if (chunk && types === null) {
      if (!rope.length) rope = range(layers).map((i) => ((i + 1) % 4 !== 0 ? 1 : 0));
      if (rope.length !== layers) {
        throw new CalculatorError(`${where}: field 'no_rope_layers' must have one entry per layer`);
      }
      types = rope.map((r) => (r ? "window" : "full"));
    }
    if (chunk) Object.assign(fields, { sliding_window: chunk, layer_types: types });
  } else if (types !== null && windowOf(cfg, where)) {
    Object.assign(fields, { sliding_window: windowOf(cfg, where), layer_types: types });
  }
}
