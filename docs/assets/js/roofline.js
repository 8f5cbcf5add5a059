// The roofline model of a decoder-only transformer, in the browser.
//
// A line-by-line mirror of the Python package `calculator` (calculator/spec.py, core.py and
// result.py): the same formulas, the same order of floating-point operations, the same error
// messages. docs/roofline.md explains every formula. tests/js/roofline.test.mjs holds this file to
// the Python numbers (tests/js/vectors.json, written by tools/make_vectors.py) to 1e-9 relative.
//
// Units: bytes, bytes per second, operations per second (1 multiply-accumulate = 2 ops).
// No DOM, no imports: usable from node and from the page alike.

export const ARCHITECTURES = ["llama", "opt", "mixtral", "qwen2"];
export const ALLOWED_BITS = [1, 2, 3, 4, 5, 6, 8, 16, 32];
export const FORMATS = ["fp32", "tf32", "bf16", "fp16", "fp8", "fp6", "fp4", "int8", "int4"];
export const STAGES = ["prefill", "decode", "generate", "all"];
export const NUMBER_FORMATS = ["int", "fp"];

const NORM_OPS = 7; // per element of RMSNorm / LayerNorm
const SOFTMAX_OPS = 5; // per score: max, sub, exp, sum, div
const ADD_OPS = 1; // per element of a residual add
const SILU_GATE_OPS = 6; // silu(g) * u
const RELU_OPS = 1;
const SIGMOID_GATE_OPS = 5; // o * sigmoid(g): negate, exp, add, divide, multiply
const SCALE_ZERO_BYTES = 4; // one fp16 scale + one fp16 zero point per quantization group

/** A value the calculator cannot work with; the message is one line meant for a user. */
export class CalculatorError extends Error {
  constructor(message) {
    super(message);
    this.name = "CalculatorError";
  }
}

/** Python's repr() for the values an error message may quote. */
export function repr(value) {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "string") return `'${value}'`;
  return String(value);
}

const isInt = (v) => typeof v === "number" && Number.isInteger(v);

function positiveInt(owner, name, value) {
  if (!isInt(value) || value <= 0) {
    throw new CalculatorError(`${owner}${name} must be a positive integer, got ${repr(value)}`);
  }
}

// The model-shape ranges of calculator/limits.py (LIMITS), checked as calculator.spec.Model checks them.
export const MODEL_LIMITS = Object.freeze({
  hidden_size: [1, 1_000_000], intermediate_size: [1, 10_000_000], num_hidden_layers: [1, 100_000],
  num_attention_heads: [1, 100_000], num_key_value_heads: [1, 100_000], head_dim: [1, 100_000],
  vocab_size: [1, 100_000_000], max_position_embeddings: [0, 1_000_000_000], num_local_experts: [1, 100_000],
  num_experts_per_tok: [1, 100_000], seq_len: [1, 100_000_000],
});

/** Python's f"{x:g}" for an integer bound. */
function formatBound(x) {
  if (Math.abs(x) < 1e6) return String(x);
  const [mantissa, exponent] = x.toExponential(5).split("e");
  const exp = Number(exponent);
  return `${mantissa.replace(/\.?0+$/, "")}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
}

/** calculator.limits.check_range for an integer field: within MODEL_LIMITS[key or name] (others: any). */
function checkRange(owner, name, value, key) {
  if (!isInt(value)) throw new CalculatorError(`${owner}${name} must be an integer, got ${repr(value)}`);
  const bounds = MODEL_LIMITS[key || name];
  if (!bounds) return;
  if (value > bounds[1]) throw new CalculatorError(`${owner}${name} must be at most ${formatBound(bounds[1])}, got ${value}`);
  if (value < bounds[0]) throw new CalculatorError(`${owner}${name} must be at least ${formatBound(bounds[0])}, got ${value}`);
}

function positiveIntInRange(owner, name, value) {
  positiveInt(owner, name, value);
  checkRange(owner, name, value);
}

function positiveNumber(owner, name, value) {
  if (typeof value !== "number" || !(value > 0) || value === Infinity) {
    throw new CalculatorError(`${owner}${name} must be a positive number, got ${repr(value)}`);
  }
}

// ------------------------------------------------------------------------------------ inputs

/** A model from Hugging Face-style fields (calculator.Model); defaults and checks as in Python. */
export function makeModel(fields) {
  const m = {
    id: "",
    name: "",
    architecture: "llama",
    num_key_value_heads: null,
    head_dim: null,
    max_position_embeddings: 0,
    tie_word_embeddings: false,
    num_local_experts: 0,
    num_experts_per_tok: 0,
    qkv_bias: null,
    o_bias: null,
    mlp_bias: null,
    sliding_window: 0,
    layer_types: null,
    attention_sinks: false,
    qk_norm: false,
    q_lora_rank: 0,
    kv_lora_rank: 0,
    qk_nope_head_dim: 0,
    qk_rope_head_dim: 0,
    v_head_dim: 0,
    moe_intermediate_size: 0,
    num_shared_experts: 0,
    shared_expert_intermediate_size: 0,
    dense_layers: [],
    linear_num_key_heads: 0,
    linear_num_value_heads: 0,
    linear_key_head_dim: 0,
    linear_value_head_dim: 0,
    linear_conv_kernel_dim: 0,
    mamba_d_state: 0,
    mamba_d_conv: 0,
    mamba_inner_size: 0,
    mamba_dt_rank: 0,
    mamba_n_heads: 0,
    mamba_n_groups: 0,
    mamba_conv_bias: false,
    mamba_proj_bias: false,
    no_mlp_layers: [],
    attention_output_gate: false,
  };
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) m[key] = value;
  const where = m.id ? `model ${m.id}: ` : "model: ";
  if (!ARCHITECTURES.includes(m.architecture)) {
    throw new CalculatorError(
      `${where}architecture must be one of ${ARCHITECTURES.join(", ")}, got ${repr(m.architecture)}`);
  }
  const types0 = m.layer_types;
  const noAttention = m.num_attention_heads === 0 && Array.isArray(types0) && types0.length > 0
    && types0.every((t) => t === "mamba");
  for (const field of ["hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
    "vocab_size"]) if (!(noAttention && field === "num_attention_heads")) positiveIntInRange(where, field, m[field]);
  checkRange(where, "max_position_embeddings", m.max_position_embeddings);
  if (noAttention) { // every layer a Mamba layer: no heads
    if (![null, 0].includes(m.num_key_value_heads) || ![null, 0].includes(m.head_dim)) {
      throw new CalculatorError(`${where}a model without attention layers has no num_key_value_heads or head_dim`);
    }
    m.num_key_value_heads = 0;
    m.head_dim = 0;
  } else {
    if (m.num_key_value_heads === null) m.num_key_value_heads = m.num_attention_heads;
    positiveIntInRange(where, "num_key_value_heads", m.num_key_value_heads);
    if (m.num_attention_heads % m.num_key_value_heads) {
      throw new CalculatorError(`${where}num_attention_heads (${m.num_attention_heads}) must be a multiple of `
        + `num_key_value_heads (${m.num_key_value_heads})`);
    }
    if (m.head_dim === null) {
      if (m.hidden_size % m.num_attention_heads) {
        throw new CalculatorError(`${where}hidden_size (${m.hidden_size}) is not a multiple of `
          + `num_attention_heads (${m.num_attention_heads}); give head_dim`);
      }
      m.head_dim = Math.floor(m.hidden_size / m.num_attention_heads);
    }
    positiveIntInRange(where, "head_dim", m.head_dim);
  }
  if (m.architecture === "mixtral") {
    positiveIntInRange(where, "num_local_experts", m.num_local_experts);
    positiveIntInRange(where, "num_experts_per_tok", m.num_experts_per_tok);
    if (m.num_experts_per_tok > m.num_local_experts) {
      throw new CalculatorError(`${where}num_experts_per_tok (${m.num_experts_per_tok}) exceeds `
        + `num_local_experts (${m.num_local_experts})`);
    }
  } else if (m.num_local_experts || m.num_experts_per_tok) {
    if (m.architecture === "opt") throw new CalculatorError(`${where}experts are not modelled for architecture opt`);
    positiveIntInRange(where, "num_local_experts", m.num_local_experts);
    positiveIntInRange(where, "num_experts_per_tok", m.num_experts_per_tok);
    if (m.num_experts_per_tok > m.num_local_experts) {
      throw new CalculatorError(`${where}num_experts_per_tok (${m.num_experts_per_tok}) exceeds `
        + `num_local_experts (${m.num_local_experts})`);
    }
  }
  checkRecipe(m, where);
  const opt = m.architecture === "opt";
  if (m.qkv_bias === null) m.qkv_bias = opt || m.architecture === "qwen2";
  if (m.o_bias === null) m.o_bias = opt;
  if (m.mlp_bias === null) m.mlp_bias = opt;
  if (!m.name) m.name = m.id;
  m.gated_mlp = !opt;
  m.norm = opt ? "layernorm" : "rmsnorm";
  m.is_moe = m.num_local_experts > 0;
  m.recipe = recipe(m);
  const [total, active] = paramCounts(m);
  m.parameters = total;
  m.params_total = total;
  m.params_active = active;
  return Object.freeze(m);
}

const RECIPE_INTS = ["sliding_window", "q_lora_rank", "kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim",
  "v_head_dim", "moe_intermediate_size", "num_shared_experts", "shared_expert_intermediate_size",
  "linear_num_key_heads", "linear_num_value_heads", "linear_key_head_dim", "linear_value_head_dim",
  "linear_conv_kernel_dim", "mamba_d_state", "mamba_d_conv", "mamba_inner_size", "mamba_dt_rank", "mamba_n_heads",
  "mamba_n_groups"];
const RECIPE_KEYS = { sliding_window: "seq_len", q_lora_rank: "hidden_size", kv_lora_rank: "hidden_size",
  qk_nope_head_dim: "head_dim", qk_rope_head_dim: "head_dim", v_head_dim: "head_dim",
  moe_intermediate_size: "intermediate_size", num_shared_experts: "num_local_experts",
  shared_expert_intermediate_size: "intermediate_size", linear_num_key_heads: "num_attention_heads",
  linear_num_value_heads: "num_attention_heads", linear_key_head_dim: "head_dim", linear_value_head_dim: "head_dim",
  linear_conv_kernel_dim: "head_dim", mamba_d_state: "head_dim", mamba_d_conv: "head_dim",
  mamba_inner_size: "intermediate_size", mamba_dt_rank: "hidden_size", mamba_n_heads: "num_attention_heads",
  mamba_n_groups: "num_attention_heads" };
const LINEAR_FIELDS = ["linear_num_key_heads", "linear_num_value_heads", "linear_key_head_dim",
  "linear_value_head_dim", "linear_conv_kernel_dim"];

/** The architecture-as-data fields (calculator.spec.Model._check_recipe), same order and messages. */
function checkRecipe(m, where) {
  for (const name of RECIPE_INTS) {
    const value = m[name];
    if (value && typeof value !== "boolean") {
      positiveInt(where, name, value);
      checkRange(where, name, value, RECIPE_KEYS[name]);
    } else if ((value !== null && value !== undefined && value !== 0) || typeof value === "boolean") {
      throw new CalculatorError(`${where}${name} must be a positive integer, got ${repr(value)}`);
    } else m[name] = 0;
  }
  for (const name of ["attention_sinks", "qk_norm", "mamba_conv_bias", "mamba_proj_bias", "attention_output_gate"]) {
    if (typeof m[name] !== "boolean") {
      throw new CalculatorError(`${where}${name} must be true or false, got ${repr(m[name])}`);
    }
  }
  if (m.kv_lora_rank) {
    for (const name of ["qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim"]) {
      if (!m[name]) throw new CalculatorError(`${where}latent attention (kv_lora_rank) needs ${name}`);
    }
  } else if (m.q_lora_rank) {
    throw new CalculatorError(`${where}q_lora_rank needs kv_lora_rank (latent attention)`);
  }
  const expertFields = ["moe_intermediate_size", "num_shared_experts", "shared_expert_intermediate_size"];
  const dense = m.dense_layers || [];
  if (!m.num_local_experts && (expertFields.some((n) => m[n]) || dense.length)) {
    throw new CalculatorError(`${where}expert fields need num_local_experts`);
  }
  if (m.shared_expert_intermediate_size && !m.num_shared_experts) {
    throw new CalculatorError(`${where}shared_expert_intermediate_size needs num_shared_experts`);
  }
  if (LINEAR_FIELDS.some((n) => m[n]) && !LINEAR_FIELDS.every((n) => m[n])) {
    throw new CalculatorError(`${where}linear attention needs all of ${LINEAR_FIELDS.join(", ")}`);
  }
  if (m.linear_num_value_heads % (m.linear_num_key_heads || 1)) {
    throw new CalculatorError(`${where}linear_num_value_heads (${m.linear_num_value_heads}) must be a multiple `
      + `of linear_num_key_heads (${m.linear_num_key_heads})`);
  }
  const mamba = m.mamba_d_state || m.mamba_d_conv || m.mamba_inner_size || m.mamba_dt_rank || m.mamba_n_heads
    || m.mamba_n_groups;
  if (mamba) {
    for (const name of ["mamba_d_state", "mamba_d_conv", "mamba_inner_size"]) {
      if (!m[name]) throw new CalculatorError(`${where}Mamba layers need ${name}`);
    }
    if (Boolean(m.mamba_dt_rank) === Boolean(m.mamba_n_heads)) {
      throw new CalculatorError(`${where}Mamba layers need mamba_dt_rank (Mamba-1) or mamba_n_heads (Mamba-2), `
        + "not both");
    }
    if (m.mamba_n_heads) {
      if (!m.mamba_n_groups) throw new CalculatorError(`${where}Mamba-2 layers (mamba_n_heads) need mamba_n_groups`);
      if (m.mamba_inner_size % m.mamba_n_heads || m.mamba_n_heads % m.mamba_n_groups) {
        throw new CalculatorError(`${where}mamba_n_heads (${m.mamba_n_heads}) must divide mamba_inner_size `
          + `(${m.mamba_inner_size}) and be a multiple of mamba_n_groups (${m.mamba_n_groups})`);
      }
    } else if (m.mamba_n_groups) {
      throw new CalculatorError(`${where}mamba_n_groups needs mamba_n_heads (Mamba-2)`);
    }
  }
  const layers = m.num_hidden_layers;
  if (m.layer_types !== null && m.layer_types !== undefined) {
    const types = Array.from(m.layer_types);
    if (types.length !== layers || types.some((t) => !["full", "window", "linear", "mamba"].includes(t))) {
      const kinds = mamba ? "'full', 'window', 'linear' or 'mamba'" : "'full', 'window' or 'linear'";
      throw new CalculatorError(`${where}layer_types must list ${kinds} for each of the ${layers} layers`);
    }
    if (types.includes("mamba") && !mamba) {
      throw new CalculatorError(`${where}mamba layers need mamba_d_state and the other mamba_ fields`);
    }
    if (types.includes("window") && !m.sliding_window) {
      throw new CalculatorError(`${where}window layers need sliding_window`);
    }
    if (types.includes("linear") && !m.linear_num_value_heads) {
      throw new CalculatorError(`${where}linear layers need linear_num_value_heads and the other linear_ fields`);
    }
    m.layer_types = types;
  } else {
    m.layer_types = null;
    if (m.linear_num_value_heads) {
      throw new CalculatorError(`${where}linear attention fields need layer_types naming the linear layers`);
    }
  }
  if (mamba && (!m.layer_types || !m.layer_types.includes("mamba"))) {
    throw new CalculatorError(`${where}mamba fields need layer_types naming the mamba layers`);
  }
  for (const name of ["dense_layers", "no_mlp_layers"]) {
    const indices = Array.from(m[name] || []);
    if (indices.some((i) => !isInt(i) || i < 0 || i >= layers)) {
      throw new CalculatorError(`${where}${name} must be layer indices from 0 to ${layers - 1}`);
    }
    m[name] = [...new Set(indices)].sort((x, y) => x - y);
  }
}

const NO_SSM = { ssm_inner: 0, ssm_state: 0, ssm_dt_rank: 0, ssm_heads: 0, ssm_groups: 0, ssm_conv_bias: false,
  ssm_proj_bias: false, output_gate: false };

function attentionKind(kind, window, m) {
  if (kind === "linear") {
    return {
      kind, window: 0, sinks: false, qk_norm: false, q_lora_rank: 0, kv_lora_rank: 0, qk_nope_head_dim: 0,
      qk_rope_head_dim: 0, v_head_dim: 0, linear_key_heads: m.linear_num_key_heads,
      linear_value_heads: m.linear_num_value_heads, linear_key_dim: m.linear_key_head_dim,
      linear_value_dim: m.linear_value_head_dim, conv_kernel: m.linear_conv_kernel_dim, ...NO_SSM,
    };
  }
  if (kind === "mamba") {
    return {
      kind, window: 0, sinks: false, qk_norm: false, q_lora_rank: 0, kv_lora_rank: 0, qk_nope_head_dim: 0,
      qk_rope_head_dim: 0, v_head_dim: 0, linear_key_heads: 0, linear_value_heads: 0, linear_key_dim: 0,
      linear_value_dim: 0, conv_kernel: m.mamba_d_conv, ssm_inner: m.mamba_inner_size, ssm_state: m.mamba_d_state,
      ssm_dt_rank: m.mamba_dt_rank, ssm_heads: m.mamba_n_heads, ssm_groups: m.mamba_n_groups,
      ssm_conv_bias: m.mamba_conv_bias, ssm_proj_bias: m.mamba_proj_bias, output_gate: false,
    };
  }
  return {
    ...NO_SSM,
    linear_key_heads: 0, linear_value_heads: 0, linear_key_dim: 0, linear_value_dim: 0, conv_kernel: 0,
    kind, window, sinks: m.attention_sinks, qk_norm: m.qk_norm,
    q_lora_rank: kind === "latent" ? m.q_lora_rank : 0, kv_lora_rank: kind === "latent" ? m.kv_lora_rank : 0,
    qk_nope_head_dim: kind === "latent" ? m.qk_nope_head_dim : 0,
    qk_rope_head_dim: kind === "latent" ? m.qk_rope_head_dim : 0, v_head_dim: kind === "latent" ? m.v_head_dim : 0,
    output_gate: kind !== "latent" && m.attention_output_gate,
  };
}

/** The layer groups of a model (calculator.recipe.recipe): [{count, attention, mlp}] in first-layer order. */
function recipe(m) {
  let full, win;
  if (m.kv_lora_rank) {
    full = attentionKind("latent", 0, m);
    win = full;
  } else {
    full = attentionKind("full", 0, m);
    win = attentionKind("window", m.sliding_window, m);
  }
  let moe, dense;
  if (m.num_local_experts) {
    moe = {
      kind: "moe", width: m.moe_intermediate_size || m.intermediate_size, experts: m.num_local_experts,
      top_k: m.num_experts_per_tok, shared: m.num_shared_experts,
      shared_width: m.shared_expert_intermediate_size || m.moe_intermediate_size || m.intermediate_size,
    };
    dense = { kind: "gated", width: m.intermediate_size, experts: 0, top_k: 0, shared: 0, shared_width: 0 };
  } else {
    moe = { kind: m.architecture !== "opt" ? "gated" : "plain", width: m.intermediate_size, experts: 0, top_k: 0,
      shared: 0, shared_width: 0 };
    dense = moe;
  }
  const lin = m.linear_num_value_heads ? attentionKind("linear", 0, m) : null;
  const ssm = m.mamba_d_state ? attentionKind("mamba", 0, m) : null;
  const types = m.layer_types;
  if (!types && !m.dense_layers.length && !m.no_mlp_layers.length) {
    return [{ count: m.num_hidden_layers, attention: m.sliding_window ? win : full, mlp: moe }];
  }
  const denseSet = new Set(m.dense_layers), noMlp = new Set(m.no_mlp_layers);
  const groups = new Map();
  for (let index = 0; index < m.num_hidden_layers; index++) {
    const kind = types ? types[index] : (m.sliding_window ? "window" : "full");
    const att = kind === "window" ? win : kind === "linear" ? lin : kind === "mamba" ? ssm : full;
    const mlp = noMlp.has(index) ? NO_MLP : denseSet.has(index) ? dense : moe;
    const key = `${att === full ? 0 : att === win ? 1 : att === lin ? 2 : 3}${mlp === moe ? 0 : mlp === dense ? 1 : 2}`;
    if (groups.has(key)) groups.get(key).count += 1;
    else groups.set(key, { count: 1, attention: att, mlp });
  }
  return [...groups.values()];
}

const NO_MLP = Object.freeze({ kind: "none", width: 0, experts: 0, top_k: 0, shared: 0, shared_width: 0 });

/**
 * [linear elements, small elements] of one Mamba mixer per device, without its norm
 * (calculator.recipe.mamba_weights).
 */
export function mambaWeights(att, h, n) {
  const inner = Math.floor(att.ssm_inner / n), N = att.ssm_state, c = att.conv_kernel;
  let lin, small, proj, channels;
  if (att.ssm_heads) {
    const heads = Math.floor(att.ssm_heads / n);
    const bc = 2 * Math.ceil(att.ssm_groups / n) * N;
    proj = 2 * inner + bc + heads;
    channels = inner + bc;
    lin = h * proj + inner * h;
    small = channels * c + 3 * heads + inner;
  } else {
    const r = att.ssm_dt_rank;
    proj = 2 * inner;
    channels = inner;
    lin = h * proj + inner * (r + 2 * N) + r * inner + inner * h;
    small = channels * c + inner + inner * N + inner;
  }
  if (att.ssm_conv_bias) small += channels;
  if (att.ssm_proj_bias) small += proj + h;
  return [lin, small];
}

/** [total, active] parameters (calculator.spec.Model._counts): every expert, or top_k of them. */
function paramCounts(m) {
  const h = m.hidden_size, d = m.head_dim;
  const heads = m.num_attention_heads, kvHeads = m.num_key_value_heads;
  const normParams = m.norm === "layernorm" ? 2 * h : h;
  let total = 0, active = 0;
  for (const group of m.recipe) {
    const att = group.attention, mlp = group.mlp;
    let layer;
    if (att.kind === "latent") {
      const rq = att.q_lora_rank, r = att.kv_lora_rank;
      const dn = att.qk_nope_head_dim, dr = att.qk_rope_head_dim, dv = att.v_head_dim;
      const qk = heads * (dn + dr);
      layer = rq ? h * rq + rq + rq * qk : h * qk;
      layer += h * (r + dr) + r + r * heads * (dn + dv) + heads * dv * h;
    } else if (att.kind === "linear") {
      const kd = att.linear_key_heads * att.linear_key_dim, vd = att.linear_value_heads * att.linear_value_dim;
      const nv = att.linear_value_heads;
      layer = h * (2 * kd + 2 * vd) + h * 2 * nv + (2 * kd + vd) * att.conv_kernel + 2 * nv;
      layer += att.linear_value_dim + vd * h;
    } else if (att.kind === "mamba") {
      const [lin, small] = mambaWeights(att, h, 1);
      layer = lin + small;
    } else {
      const q = heads * d, kv = kvHeads * d;
      layer = h * q + 2 * h * kv + q * h + (att.output_gate ? h * q : 0);
      if (m.qkv_bias) layer += q + 2 * kv + (att.output_gate ? q : 0);
      if (m.o_bias) layer += h;
      if (att.qk_norm) layer += 2 * d;
    }
    if (att.sinks) layer += heads;
    layer += 2 * normParams;
    const i = mlp.width;
    if (mlp.kind === "none") { // no MLP, no MLP norm
      total += group.count * (layer - normParams);
      active += group.count * (layer - normParams);
      continue;
    }
    if (mlp.kind === "moe") {
      const expert = 3 * h * i + (m.mlp_bias ? 2 * i + h : 0);
      let base = layer + h * mlp.experts + (m.mlp_bias ? mlp.experts : 0);
      base += mlp.shared * 3 * h * mlp.shared_width;
      total += group.count * (base + mlp.experts * expert);
      active += group.count * (base + mlp.top_k * expert);
      continue;
    }
    layer += (mlp.kind === "gated" ? 3 : 2) * h * i;
    if (m.mlp_bias) layer += i + h;
    total += group.count * layer;
    active += group.count * layer;
  }
  let rest = normParams + m.vocab_size * h * (m.tie_word_embeddings ? 1 : 2);
  if (m.architecture === "opt") rest += m.max_position_embeddings * h;
  return [total + rest, active + rest];
}

/** A device (calculator.Hardware): bandwidth in B/s, `peak_ops` {format: ops/s}, capacity in bytes. */
export function makeHardware(fields) {
  const hw = {
    id: "",
    name: "",
    memory_bytes: 0,
    interconnect_bandwidth: 0,
    interconnect_name: "",
  };
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) hw[key] = value;
  const where = hw.id ? `hardware ${hw.id}: ` : "hardware: ";
  positiveNumber(where, "memory_bandwidth", hw.memory_bandwidth);
  const raw = hw.peak_ops;
  if (raw === null || typeof raw !== "object") {
    throw new CalculatorError(`${where}peak_ops must map formats to ops/s`);
  }
  const pairs = (Array.isArray(raw) ? raw : Object.entries(raw)).map(([k, v]) => [String(k), v]);
  pairs.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  if (!pairs.length) {
    throw new CalculatorError(`${where}peak_ops is empty: at least one compute format is needed`);
  }
  for (const [fmt, value] of pairs) {
    if (!FORMATS.includes(fmt)) {
      throw new CalculatorError(`${where}unknown compute format ${repr(fmt)} (known: ${FORMATS.join(", ")})`);
    }
    positiveNumber(where, `peak_ops[${fmt}]`, value);
  }
  hw.peak_ops = pairs;
  hw.peaks = Object.fromEntries(pairs);
  if (hw.memory_bytes !== 0) positiveNumber(where, "memory_bytes", hw.memory_bytes);
  if (hw.interconnect_bandwidth !== 0) positiveNumber(where, "interconnect_bandwidth", hw.interconnect_bandwidth);
  if (!hw.name) hw.name = hw.id;
  return Object.freeze(hw);
}

const MODEL_FIELDS = ["architecture", "hidden_size", "intermediate_size", "num_hidden_layers",
  "num_attention_heads", "num_key_value_heads", "head_dim", "vocab_size", "max_position_embeddings",
  "tie_word_embeddings", "num_local_experts", "num_experts_per_tok", "qkv_bias", "o_bias", "mlp_bias",
  "sliding_window", "layer_types", "attention_sinks", "qk_norm", "q_lora_rank", "kv_lora_rank",
  "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim", "moe_intermediate_size", "num_shared_experts",
  "shared_expert_intermediate_size", "dense_layers", "linear_num_key_heads", "linear_num_value_heads",
  "linear_key_head_dim", "linear_value_head_dim", "linear_conv_kernel_dim", "mamba_d_state", "mamba_d_conv",
  "mamba_inner_size", "mamba_dt_rank", "mamba_n_heads", "mamba_n_groups", "mamba_conv_bias", "mamba_proj_bias",
  "no_mlp_layers", "attention_output_gate"];

/** A model from a `data/catalogue.json` record (kb.catalogue.model_from_dict). */
export function modelFromCatalogue(data) {
  const fields = { id: String(data.id ?? ""), name: String(data.name ?? "") };
  for (const key of MODEL_FIELDS) if (data[key] !== undefined && data[key] !== null) fields[key] = data[key];
  const types = fields.layer_types;
  if (fields.num_attention_heads === undefined && Array.isArray(types) && types.length
    && types.every((t) => t === "mamba")) fields.num_attention_heads = 0; // no attention layer: no heads stated
  return makeModel(fields);
}

/** A device from a `data/catalogue.json` record (GB/s -> B/s, TOPS -> ops/s, GiB -> bytes). */
export function hardwareFromCatalogue(data) {
  const link = data.interconnect || {};
  const peaks = {};
  for (const [fmt, tops] of Object.entries(data.peak_tops)) peaks[fmt] = tops * 1e12;
  return makeHardware({
    id: String(data.id ?? ""),
    name: String(data.name ?? ""),
    memory_bandwidth: data.memory_bandwidth_gb_s * 1e9,
    peak_ops: peaks,
    memory_bytes: (data.memory_gib || 0) * 2 ** 30,
    interconnect_bandwidth: (link.bandwidth_gb_s || 0) * 1e9,
    interconnect_name: String(link.name ?? ""),
  });
}

export const DEFAULT_SETTINGS = Object.freeze({
  batch: 1,
  seq_len: 2048,
  gen_len: 128,
  w_bits: 16,
  a_bits: 16,
  kv_bits: 16,
  group_size: null,
  kv_group_size: null,
  number_format: "int",
  flash_attention: true,
  tp: 1,
  quantize_head: false,
  stage: "all",
  weight_format: null,
  kv_format: null,
  ep: 1,
});

/**
 * Named number formats (calculator.formats.PRESETS): [bits per value with scales, element bits, int|fp].
 * Held equal to Python's table by tests/js/roofline.test.mjs.
 */
export const NUMBER_FORMAT_PRESETS = Object.freeze({
  "fp32": [32.0, 32, "fp"],
  "fp16": [16.0, 16, "fp"],
  "bf16": [16.0, 16, "fp"],
  "fp8": [8.0, 8, "fp"],
  "fp8-block128": [8 + 32 / (128 * 128), 8, "fp"],
  "mxfp8": [8 + 8 / 32, 8, "fp"],
  "int8": [8.0, 8, "int"],
  "int4-g128": [4 + 32 / 128, 4, "int"],
  "nvfp4": [4 + 8 / 16, 4, "fp"],
  "mxfp4": [4 + 8 / 32, 4, "fp"],
  "q8_0": [34 * 8 / 32, 8, "int"],
  "q4_0": [18 * 8 / 32, 4, "int"],
  "q6_k": [210 * 8 / 256, 6, "int"],
  "q4_k_m": [4.8, 4, "int"],
  "q5_k_m": [5.65, 5, "int"],
});

/** Run settings (calculator.Settings), checked in the same order with the same messages. */
export function makeSettings(fields = {}) {
  const s = { ...DEFAULT_SETTINGS };
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) s[key] = value;
  for (const field of ["batch", "seq_len", "gen_len", "tp"]) positiveInt("", field, s[field]);
  for (const field of ["w_bits", "a_bits", "kv_bits"]) {
    if (!ALLOWED_BITS.includes(s[field])) {
      throw new CalculatorError(`${field} must be one of ${ALLOWED_BITS.join(", ")}, got ${repr(s[field])}`);
    }
  }
  for (const [field, bitsField] of [["group_size", "w_bits"], ["kv_group_size", "kv_bits"]]) {
    const value = s[field];
    if (value === null) continue;
    positiveInt("", field, value);
    if (s[bitsField] >= 16) {
      throw new CalculatorError(
        `${field} needs ${bitsField} below 16 (scales are only stored for quantized values)`);
    }
  }
  if (!NUMBER_FORMATS.includes(s.number_format)) {
    throw new CalculatorError(`number_format must be 'int' or 'fp', got ${repr(s.number_format)}`);
  }
  if (!STAGES.includes(s.stage)) {
    throw new CalculatorError(`stage must be one of ${STAGES.join(", ")}, got ${repr(s.stage)}`);
  }
  if (typeof s.flash_attention !== "boolean" || typeof s.quantize_head !== "boolean") {
    throw new CalculatorError("flash_attention and quantize_head must be true or false");
  }
  const names = Object.keys(NUMBER_FORMAT_PRESETS);
  for (const [field, bitsField, groupField] of [["weight_format", "w_bits", "group_size"],
    ["kv_format", "kv_bits", "kv_group_size"]]) {
    const name = s[field];
    if (name === null || name === undefined) {
      s[field] = null;
      continue;
    }
    const found = typeof name === "string" && Object.hasOwn(NUMBER_FORMAT_PRESETS, name)
      ? NUMBER_FORMAT_PRESETS[name] : null;
    if (found === null) throw new CalculatorError(`${field} must be one of ${names.join(", ")}, got ${repr(name)}`);
    if (s[groupField] !== null) throw new CalculatorError(`${field} ${name} includes its scales; give no ${groupField}`);
    if (s[bitsField] !== 16 && s[bitsField] !== found[1]) {
      throw new CalculatorError(`${field} ${name} stores ${found[1]}-bit elements; `
        + `${bitsField} ${s[bitsField]} contradicts it`);
    }
    s[bitsField] = found[1];
  }
  positiveInt("", "ep", s.ep);
  if (s.ep > 1) {
    if (s.tp > 1) throw new CalculatorError("ep runs attention data-parallel on each device: give tp 1 with ep");
    if (s.batch % s.ep) {
      throw new CalculatorError(`batch (${s.batch}) must be a multiple of ep (${s.ep}): each device `
        + "serves batch/ep sequences");
    }
  }
  return Object.freeze(s);
}

// ------------------------------------------------------------------------------------ formulas

/** [format, peak ops/s, fallback] for `bits`-wide operands (calculator.core.compute_format). */
export function computeFormat(bits, numberFormat, hardware) {
  let chain;
  if (bits > 16) chain = ["fp32", "tf32", "fp16", "bf16"];
  else if (bits > 8) chain = ["fp16", "bf16", "fp32"];
  else if (numberFormat === "fp") {
    if (bits <= 4) chain = ["fp4", "fp6", "fp8", "fp16", "bf16", "fp32"];
    else if (bits <= 6) chain = ["fp6", "fp8", "fp16", "bf16", "fp32"];
    else chain = ["fp8", "fp16", "bf16", "fp32"];
  } else if (bits <= 4) chain = ["int4", "int8", "fp16", "bf16", "fp32"];
  else chain = ["int8", "fp16", "bf16", "fp32"];
  const peaks = hardware.peaks;
  for (let i = 0; i < chain.length; i++) {
    const peak = peaks[chain[i]];
    if (peak) return [chain[i], peak, i > 0];
  }
  // None of the chain's formats: the fastest listed one (the first of equals, in sorted order).
  let best = hardware.peak_ops[0];
  for (const pair of hardware.peak_ops) if (pair[1] > best[1]) best = pair;
  return [best[0], best[1], true];
}

/** Expected distinct experts that `tokens` tokens touch when each picks `topK` of `numExperts`. */
export function expectedExperts(numExperts, topK, tokens) {
  return numExperts * (1.0 - (1.0 - topK / numExperts) ** tokens);
}

/** Query-key pairs of causal fused attention: q new tokens after n - q earlier ones. */
export function flashPairs(q, n) {
  return q * (n - q) + q * (q + 1) / 2;
}

function plan(model, hardware, s) {
  const n = s.tp;
  const heads = model.num_attention_heads, kvHeads = model.num_key_value_heads;
  const notes = [];
  const latent = Boolean(model.kv_lora_rank);
  if (n > 1) {
    if (heads % n) throw new CalculatorError(`tp ${n} does not divide num_attention_heads (${heads})`);
    if (model.intermediate_size % n) {
      throw new CalculatorError(`tp ${n} does not divide intermediate_size (${model.intermediate_size})`);
    }
    for (const name of ["moe_intermediate_size", "shared_expert_intermediate_size"]) {
      if (model[name] % n) throw new CalculatorError(`tp ${n} does not divide ${name} (${model[name]})`);
    }
    for (const name of ["linear_num_key_heads", "linear_num_value_heads", "mamba_inner_size", "mamba_n_heads"]) {
      if (model[name] % n) throw new CalculatorError(`tp ${n} does not divide ${name} (${model[name]})`);
    }
    if (kvHeads % n && n % kvHeads && !latent) {
      throw new CalculatorError(`tp ${n} and num_key_value_heads (${kvHeads}) must divide one another`);
    }
    if (!hardware.interconnect_bandwidth) {
      throw new CalculatorError(
        `hardware ${hardware.id} has no interconnect bandwidth; tensor parallelism needs one`);
    }
    if (kvHeads > 0 && kvHeads < n && !latent) notes.push(`${kvHeads} KV heads on ${n} devices: each device keeps a copy of one KV head`);
    if (latent) notes.push(`latent attention on ${n} devices: each device keeps the whole latent KV cache`);
  }
  const ep = s.ep || 1;
  if (ep > 1) {
    if (!model.num_local_experts) throw new CalculatorError(`ep ${ep} needs a MoE model; ${model.id} has no experts`);
    if (model.num_local_experts % ep) {
      throw new CalculatorError(`ep ${ep} does not divide num_local_experts (${model.num_local_experts})`);
    }
    if (!hardware.interconnect_bandwidth) {
      throw new CalculatorError(
        `hardware ${hardware.id} has no interconnect bandwidth; expert parallelism needs one`);
    }
    notes.push(`expert parallelism on ${ep} devices: each runs attention on ${Math.floor(s.batch / ep)} of the `
      + `${s.batch} sequences and holds ${Math.floor(model.num_local_experts / ep)} experts; tokens reach `
      + "them by all-to-all");
  }
  const p = {
    model, hardware, settings: s,
    ep,
    b: Math.floor(s.batch / ep),
    h: model.hidden_size,
    i: Math.floor(model.intermediate_size / n),
    d: model.head_dim,
    hq: Math.floor(heads / n),
    hk: Math.ceil(kvHeads / n),
    v: model.vocab_size / n,
    L: model.num_hidden_layers,
    E: model.num_local_experts,
    k: model.num_experts_per_tok,
    tp: n,
    groups: model.recipe,
    ie: 0,
    ish: 0,
  };
  if (p.E) {
    for (const g of p.groups) {
      if (g.mlp.kind === "moe") {
        p.ie = Math.floor(g.mlp.width / n);
        p.ish = Math.floor(g.mlp.shared * g.mlp.shared_width / n);
      }
    }
  }
  if (p.groups.length === 1) {
    const g = p.groups[0];
    p.attKinds = [[g.attention, g.count]];
    p.mlpKinds = [[g.mlp, g.count]];
    p.uniform = g.mlp.kind !== "none";
  } else {
    const atts = new Map(), mlps = new Map();
    for (const g of p.groups) {
      atts.set(g.attention, (atts.get(g.attention) || 0) + g.count);
      mlps.set(g.mlp, (mlps.get(g.mlp) || 0) + g.count);
    }
    p.attKinds = [...atts.entries()];
    p.mlpKinds = [...mlps.entries()];
    p.uniform = atts.size === 1 && mlps.size === 1 && p.mlpKinds[0][0].kind !== "none";
  }
  p.mixedMlp = p.mlpKinds.filter(([k]) => k.kind !== "none").length > 1;
  p.hybrid = p.attKinds.some(([k]) => RECURRENT.includes(k.kind));
  if (ep > 1) p.uniform = false; // the all-to-all rows: totals by count
  p.w = s.w_bits / 8 + (s.group_size ? SCALE_ZERO_BYTES / s.group_size : 0.0);
  p.a = s.a_bits / 8;
  p.kv = s.kv_bits / 8 + (s.kv_group_size ? SCALE_ZERO_BYTES / s.kv_group_size : 0.0);
  let wNf = s.number_format, kvNf = s.number_format;
  if (s.weight_format) {
    const wf = NUMBER_FORMAT_PRESETS[s.weight_format];
    p.w = wf[0] / 8;
    wNf = wf[2];
  }
  if (s.kv_format) {
    const kf = NUMBER_FORMAT_PRESETS[s.kv_format];
    p.kv = kf[0] / 8;
    kvNf = kf[2];
  }
  const hiBits = Math.max(16, s.w_bits);
  p.hi = hiBits / 8;
  const headBits = s.quantize_head ? s.w_bits : hiBits;
  p.hb = s.quantize_head ? p.w : hiBits / 8;
  p.bw = hardware.memory_bandwidth;
  p.link = hardware.interconnect_bandwidth / 2;
  p.flash = s.flash_attention;
  const nf = s.number_format;
  const roles = [
    ["linear", Math.max(s.w_bits, s.a_bits), wNf],
    ["attention", Math.max(s.a_bits, s.kv_bits), kvNf],
    ["lm_head", Math.max(headBits, s.a_bits), s.quantize_head ? wNf : nf],
    ["elementwise", Math.max(16, s.a_bits), nf],
  ];
  const fmts = {}, peaks = {};
  const fallbacks = new Map(); // "kind fmt" -> [kind, fmt, roles], in first-seen order
  for (const [role, bits, numberFormat] of roles) {
    const [fmt, peak, fallback] = computeFormat(bits, numberFormat, hardware);
    fmts[role] = fmt;
    peaks[role] = peak;
    if (fallback && role !== "elementwise") {
      const kind = bits <= 8 ? `${numberFormat}${bits}` : bits <= 16 ? "fp16" : "fp32";
      const key = `${kind} ${fmt}`;
      if (!fallbacks.has(key)) fallbacks.set(key, [kind, fmt, []]);
      fallbacks.get(key)[2].push(role);
    }
  }
  for (const [kind, fmt, names] of fallbacks.values()) {
    notes.push(`${hardware.id} lists no peak for ${kind} compute: ${names.join(", ")} layers use `
      + `its ${fmt} peak`);
  }
  p.fmts = fmts;
  p.peaks = peaks;
  p.notes = notes;
  p.fLin = fmts.linear;
  p.pLin = peaks.linear;
  p.fEl = fmts.elementwise;
  p.pEl = peaks.elementwise;
  return p;
}

/** One roofline row: time = max(ops / peak, bytes / bandwidth). Values are for ONE occurrence. */
function row(name, count, ops, bytes, fmt, peak, bw) {
  const ct = ops / peak;
  const mt = bytes / bw;
  if (ct > mt) return { name, count, ops, bytes, time_s: ct, bound: "compute", format: fmt, peak_ops_per_s: peak };
  return { name, count, ops, bytes, time_s: mt, bound: "memory", format: fmt, peak_ops_per_s: peak };
}

function linear(name, count, tokens, nIn, nOut, w, a, outBytes, bias, hi, fmt, peak, bw) {
  let ops = 2 * tokens * nIn * nOut;
  let bytes = nIn * nOut * w + tokens * (nIn * a + nOut * outBytes);
  if (bias) {
    ops += tokens * nOut;
    bytes += nOut * hi;
  }
  return row(name, count, ops, bytes, fmt, peak, bw);
}

const renamed = (r, name) => ({ ...r, name });

/** Query-key pairs where each query sees at most `window` tokens (calculator.core.window_pairs). */
export function windowPairs(q, n, window) {
  if (n <= window) return flashPairs(q, n);
  const before = n - q;
  if (before >= window) return q * window;
  return window * (window + 1) / 2 - before * (before + 1) / 2 + (n - window) * window;
}

/** Latent attention runs absorbed with cached context or one new token, naive for a prefill (core._latent_form). */
const latentAbsorbed = (q, n) => q < n || q === 1;

/** Context-dependent rows of one attention kind (calculator.core._attention_core). */
function attentionCore(p, att, count, q, n) {
  const { b, hq, a, kv, bw } = p;
  const fmt = p.fmts.attention, peak = p.peaks.attention;
  const kind = att.kind;
  if (kind === "linear" || kind === "mamba") return []; // a fixed state: nothing depends on the context
  if (kind === "full") {
    const d = p.d;
    const qoBytes = b * q * hq * d * a;
    const kvRead = b * n * p.hk * d * kv;
    if (p.flash) {
      const pairs = b * hq * flashPairs(q, n);
      return [row("attention", count, pairs * (4 * d + SOFTMAX_OPS), 2 * qoBytes + 2 * kvRead, fmt, peak, bw)];
    }
    const scores = b * hq * q * n;
    return [
      row("qk_matmul", count, 2 * scores * d, qoBytes + kvRead + scores * a, fmt, peak, bw),
      row("softmax", count, SOFTMAX_OPS * scores, 2 * scores * a, p.fEl, p.pEl, bw),
      row("sv_matmul", count, 2 * scores * d, scores * a + kvRead + qoBytes, fmt, peak, bw),
    ];
  }
  if (kind === "latent") {
    const r = att.kv_lora_rank, dr = att.qk_rope_head_dim;
    const t = b * q;
    let dqk, dv, qBytes, oBytes, kRead, vRead, vUnfused;
    if (latentAbsorbed(q, n)) {
      dqk = r + dr;
      dv = r;
      qBytes = t * hq * dqk * a;
      oBytes = t * hq * dv * a;
      kRead = b * n * dqk * kv;
      vRead = 0.0;
      vUnfused = b * n * r * kv;
    } else {
      dqk = att.qk_nope_head_dim + dr;
      dv = att.v_head_dim;
      qBytes = t * hq * dqk * a;
      oBytes = t * hq * dv * a;
      kRead = b * n * hq * dqk * a;
      vRead = b * n * hq * dv * a;
      vUnfused = vRead;
    }
    if (p.flash) {
      const pairs = b * hq * flashPairs(q, n);
      return [row("attention", count, pairs * (2 * dqk + 2 * dv + SOFTMAX_OPS),
        qBytes + oBytes + kRead + vRead, fmt, peak, bw)];
    }
    const scores = b * hq * q * n;
    return [
      row("qk_matmul", count, 2 * scores * dqk, qBytes + kRead + scores * a, fmt, peak, bw),
      row("softmax", count, SOFTMAX_OPS * scores, 2 * scores * a, p.fEl, p.pEl, bw),
      row("sv_matmul", count, 2 * scores * dv, scores * a + vUnfused + oBytes, fmt, peak, bw),
    ];
  }
  const d = p.d; // window
  const qoBytes = b * q * hq * d * a;
  const window = att.window;
  const kvRead = b * Math.min(n, window + q - 1) * p.hk * d * kv;
  if (p.flash) {
    const pairs = b * hq * windowPairs(q, n, window);
    return [row("window_attention", count, pairs * (4 * d + SOFTMAX_OPS), 2 * qoBytes + 2 * kvRead, fmt, peak, bw)];
  }
  const scores = b * hq * q * Math.min(n, window);
  return [
    row("window_qk_matmul", count, 2 * scores * d, qoBytes + kvRead + scores * a, fmt, peak, bw),
    row("window_softmax", count, SOFTMAX_OPS * scores, 2 * scores * a, p.fEl, p.pEl, bw),
    row("window_sv_matmul", count, 2 * scores * d, scores * a + kvRead + qoBytes, fmt, peak, bw),
  ];
}

/** [attention kind, layers of that kind] in first-occurrence order (calculator.core._attention_kinds). */
const attentionKinds = (p) => p.attKinds;

function projections(p, kinds, L, q, n, t, rows) {
  const { h, w, a, kv, hi, bw, fLin, pLin, fEl, pEl } = p;
  const model = p.model;
  const qkvBias = model.qkv_bias;
  const recurrent = p.hybrid ? kinds.filter(([kind]) => RECURRENT.includes(kind.kind)) : [];
  if (recurrent.length) { // a hybrid: the attention layers project as below, the recurrent ones after them
    const others = kinds.filter(([kind]) => !RECURRENT.includes(kind.kind));
    let count = 0;
    for (const [, c] of others) count += c;
    if (others.length) projections(p, others, count, q, n, t, rows);
    for (const [kind, c] of recurrent) {
      if (kind.kind === "linear") linearAttention(p, kind, c, t, rows);
      else mambaRows(p, kind, c, t, rows);
    }
    return;
  }
  const att = kinds[0][0];
  const cores = () => { for (const [kind, count] of kinds) rows.push(...attentionCore(p, kind, count, q, n)); };
  if (att.kind !== "latent") {
    const qo = p.hq * p.d, ko = p.hk * p.d;
    const kProj = linear("k_proj", L, t, h, ko, w, a, kv, qkvBias, hi, fLin, pLin, bw);
    const gate = att.output_gate; // q_proj also writes a gate per query element (Qwen3-Next)
    rows.push(linear("q_proj", L, t, h, gate ? 2 * qo : qo, w, a, a, qkvBias, hi, fLin, pLin, bw));
    rows.push(kProj);
    rows.push(renamed(kProj, "v_proj"));
    if (att.qk_norm) {
      rows.push(row("q_norm", L, NORM_OPS * t * qo, 2 * t * qo * a, fEl, pEl, bw));
      rows.push(row("k_norm", L, NORM_OPS * t * ko, 2 * t * ko * a, fEl, pEl, bw));
    }
    cores();
    if (gate) rows.push(row("attn_gate", L, SIGMOID_GATE_OPS * t * qo, 3 * t * qo * a, fEl, pEl, bw));
    rows.push(linear("o_proj", L, t, qo, h, w, a, a, model.o_bias, hi, fLin, pLin, bw));
    return;
  }
  const hq = p.hq;
  const rq = att.q_lora_rank, r = att.kv_lora_rank;
  const dn = att.qk_nope_head_dim, dr = att.qk_rope_head_dim, dv = att.v_head_dim;
  const qk = hq * (dn + dr);
  if (rq) {
    rows.push(linear("q_a_proj", L, t, h, rq, w, a, a, false, hi, fLin, pLin, bw));
    rows.push(row("q_a_norm", L, NORM_OPS * t * rq, 2 * t * rq * a, fEl, pEl, bw));
    rows.push(linear("q_b_proj", L, t, rq, qk, w, a, a, false, hi, fLin, pLin, bw));
  } else {
    rows.push(linear("q_proj", L, t, h, qk, w, a, a, false, hi, fLin, pLin, bw));
  }
  rows.push(linear("kv_a_proj", L, t, h, r + dr, w, a, kv, false, hi, fLin, pLin, bw));
  rows.push(row("kv_a_norm", L, NORM_OPS * t * r, 2 * t * r * a, fEl, pEl, bw));
  if (latentAbsorbed(q, n)) {
    rows.push(row("q_absorb", L, 2 * t * hq * dn * r, hq * dn * r * w + t * hq * (dn + r) * a, fLin, pLin, bw));
    cores();
    rows.push(row("o_absorb", L, 2 * t * hq * r * dv, hq * r * dv * w + t * hq * (r + dv) * a, fLin, pLin, bw));
  } else {
    rows.push(linear("kv_b_proj", L, p.b * n, r, hq * (dn + dv), w, kv, a, false, hi, fLin, pLin, bw));
    cores();
  }
  rows.push(linear("o_proj", L, t, hq * dv, h, w, a, a, false, hi, fLin, pLin, bw));
}

/** A Gated DeltaNet layer (calculator.core._linear_attention). */
function linearAttention(p, att, L, t, rows) {
  const { h, w, a, kv, hi, bw, b, fLin, pLin, fEl, pEl } = p;
  const n = p.tp;
  const kh = Math.floor(att.linear_key_heads / n), vh = Math.floor(att.linear_value_heads / n);
  const dk = att.linear_key_dim, dv = att.linear_value_dim, c = att.conv_kernel;
  const kd = kh * dk, vd = vh * dv;
  const channels = 2 * kd + vd;
  rows.push(linear("in_proj_qkvz", L, t, h, 2 * kd + 2 * vd, w, a, a, false, hi, fLin, pLin, bw));
  rows.push(linear("in_proj_ba", L, t, h, 2 * vh, w, a, a, false, hi, fLin, pLin, bw));
  rows.push(row("conv1d", L, 2 * t * channels * c, channels * c * hi + 2 * t * channels * a
    + 2 * b * channels * (c - 1) * kv, fEl, pEl, bw));
  const state = b * vh * dk * dv * kv;
  rows.push(row("linear_attention", L, 7 * t * vh * dk * dv, t * (2 * kd + 2 * vd + 2 * vh) * a + 2 * state,
    p.fmts.attention, p.peaks.attention, bw));
  rows.push(row("linear_norm", L, (NORM_OPS + 1) * t * vd, 3 * t * vd * a, fEl, pEl, bw));
  rows.push(linear("out_proj", L, t, vd, h, w, a, a, false, hi, fLin, pLin, bw));
}

const RECURRENT = ["linear", "mamba"];
const MAMBA1_SCAN_OPS = 7; // per channel and state element: dt*A, exp, (dt*x)*B, decay and add, C read-out
const MAMBA2_SCAN_OPS = 5; // A one scalar per head
const SSM_SKIP_OPS = 2; // per channel: dt*x and D*x + y
const SSM_GATED_NORM_OPS = NORM_OPS + SILU_GATE_OPS; // Mamba-2: RMSNorm(y * silu(z))

/** A Mamba layer (calculator.core._mamba): in_proj, conv1d, [x_proj, dt_proj], selective_scan, gate/norm, out_proj. */
function mambaRows(p, att, L, t, rows) {
  const { h, w, a, kv, hi, bw, b, fLin, pLin, fEl, pEl } = p;
  const n = p.tp;
  const inner = Math.floor(att.ssm_inner / n), N = att.ssm_state, c = att.conv_kernel, bias = att.ssm_proj_bias;
  const state = 2 * b * inner * N * kv;
  let channels, heads = 0, bc = 0;
  if (att.ssm_heads) {
    heads = Math.floor(att.ssm_heads / n);
    bc = 2 * Math.ceil(att.ssm_groups / n) * N;
    channels = inner + bc;
    rows.push(linear("in_proj", L, t, h, 2 * inner + bc + heads, w, a, a, bias, hi, fLin, pLin, bw));
  } else {
    channels = inner;
    rows.push(linear("in_proj", L, t, h, 2 * inner, w, a, a, bias, hi, fLin, pLin, bw));
  }
  let convOps = 2 * t * channels * c;
  let convBytes = channels * c * hi + 2 * t * channels * a + 2 * b * channels * (c - 1) * kv;
  if (att.ssm_conv_bias) {
    convOps += t * channels;
    convBytes += channels * hi;
  }
  rows.push(row("conv1d", L, convOps, convBytes, fEl, pEl, bw));
  const fAtt = p.fmts.attention, pAtt = p.peaks.attention;
  if (att.ssm_heads) {
    rows.push(row("selective_scan", L, t * inner * (MAMBA2_SCAN_OPS * N + SSM_SKIP_OPS),
      t * (2 * inner + bc + heads) * a + state + 3 * heads * hi, fAtt, pAtt, bw));
    rows.push(row("ssm_norm", L, SSM_GATED_NORM_OPS * t * inner, 3 * t * inner * a, fEl, pEl, bw));
  } else {
    const r = att.ssm_dt_rank;
    rows.push(linear("x_proj", L, t, inner, r + 2 * N, w, a, a, false, hi, fLin, pLin, bw));
    rows.push(linear("dt_proj", L, t, r, inner, w, a, a, true, hi, fLin, pLin, bw));
    rows.push(row("selective_scan", L, t * inner * (MAMBA1_SCAN_OPS * N + SSM_SKIP_OPS),
      t * (3 * inner + 2 * N) * a + state + inner * (N + 1) * hi, fAtt, pAtt, bw));
    rows.push(row("ssm_gate", L, SILU_GATE_OPS * t * inner, 3 * t * inner * a, fEl, pEl, bw));
  }
  rows.push(linear("out_proj", L, t, inner, h, w, a, a, bias, hi, fLin, pLin, bw));
}

function mlpRows(p, mlp, L, t, rows) {
  if (mlp.kind === "none") return;
  const { h, w, a, hi, bw, fLin, pLin, fEl, pEl } = p;
  const mlpBias = p.model.mlp_bias;
  if (mlp.kind === "moe") {
    const i = p.ie;
    rows.push(linear("router", L, t, h, p.E, w, a, a, mlpBias, hi, fLin, pLin, bw));
    const routed = t * p.k;
    const ep = p.ep;
    const touched = expectedExperts(p.E, p.k, t * ep) / ep;
    let gateOps = 2 * routed * h * i, gateBytes = touched * h * i * w + routed * (h + i) * a;
    let downOps = 2 * routed * i * h, downBytes = touched * i * h * w + routed * (i + h) * a;
    if (mlpBias) {
      gateOps += routed * i;
      gateBytes += touched * i * hi;
      downOps += routed * h;
      downBytes += touched * h * hi;
    }
    let dispatch = null;
    if (ep > 1) {
      dispatch = alltoall("moe_dispatch", L, routed * h, a, ep, p.link);
      rows.push(dispatch);
    }
    const gate = row("gate_proj", L, gateOps, gateBytes, fLin, pLin, bw);
    rows.push(gate);
    rows.push(renamed(gate, "up_proj"));
    rows.push(row("mlp_act", L, SILU_GATE_OPS * routed * i, 3 * routed * i * a, fEl, pEl, bw));
    rows.push(row("down_proj", L, downOps, downBytes, fLin, pLin, bw));
    if (ep > 1) rows.push(renamed(dispatch, "moe_combine"));
    if (p.ish) {
      const sw = p.ish;
      const up = linear("shared_up_proj", L, t, h, sw, w, a, a, false, hi, fLin, pLin, bw);
      rows.push(renamed(up, "shared_gate_proj"));
      rows.push(up);
      rows.push(row("shared_mlp_act", L, SILU_GATE_OPS * t * sw, 3 * t * sw * a, fEl, pEl, bw));
      rows.push(linear("shared_down_proj", L, t, sw, h, w, a, a, false, hi, fLin, pLin, bw));
    }
    return;
  }
  const i = p.i;
  const pre = p.mixedMlp ? "dense_" : "";
  const up = linear(pre + "up_proj", L, t, h, i, w, a, a, mlpBias, hi, fLin, pLin, bw);
  if (mlp.kind === "gated") {
    rows.push(renamed(up, pre + "gate_proj"));
    rows.push(up);
    rows.push(row(pre + "mlp_act", L, SILU_GATE_OPS * t * i, 3 * t * i * a, fEl, pEl, bw));
  } else {
    rows.push(up);
    rows.push(row(pre + "mlp_act", L, RELU_OPS * t * i, 2 * t * i * a, fEl, pEl, bw));
  }
  rows.push(linear(pre + "down_proj", L, t, i, h, w, a, a, mlpBias, hi, fLin, pLin, bw));
}

/** All-to-all of token copies over n expert-parallel devices (calculator.core._alltoall). */
function alltoall(name, count, elements, a, n, link) {
  const sent = (n - 1) / n * elements * a;
  return {
    name, count, ops: 0.0, bytes: sent, time_s: sent / link, bound: "interconnect", format: "link", peak_ops_per_s: 0.0,
  };
}

function allreduce(name, count, elements, a, n, link) {
  const sent = 2 * (n - 1) / n * elements * a;
  return {
    name, count, ops: (n - 1) / n * elements, bytes: sent, time_s: sent / link,
    bound: "interconnect", format: "link", peak_ops_per_s: 0.0,
  };
}

/** Rows of the decoder layers, each kind's rows with its layer count (calculator.core._block). */
function block(p, q, n) {
  const { b, h, a, bw, fEl, pEl } = p;
  const L = p.L;
  const t = b * q;
  const norm = row("attn_norm", L, NORM_OPS * t * h, 2 * t * h * a, fEl, pEl, bw);
  const rows = [norm];
  projections(p, p.attKinds, L, q, n, t, rows);
  let reduce = null;
  if (p.tp > 1) {
    reduce = allreduce("attn_allreduce", L, t * h, a, p.tp, p.link);
    rows.push(reduce);
  }
  const add = row("attn_add", L, ADD_OPS * t * h, 2 * t * h * a, fEl, pEl, bw);
  rows.push(add);
  let withMlp = L; // layers with an MLP
  for (const [mlp, count] of p.mlpKinds) if (mlp.kind === "none") withMlp -= count;
  if (!withMlp) return rows;
  const recount = (r, name) => (withMlp === L ? renamed(r, name) : { ...r, name, count: withMlp });
  rows.push(recount(norm, "mlp_norm"));
  for (const [mlp, count] of p.mlpKinds) mlpRows(p, mlp, count, t, rows);
  if (p.tp > 1) rows.push(recount(reduce, "mlp_allreduce"));
  rows.push(recount(add, "mlp_add"));
  return rows;
}

function stage(p, name, q, n) {
  const rows = block(p, q, n);
  let ops, bytes, time, link = 0.0;
  if (p.uniform) {
    const L = p.L;
    // Totals = sum of count x value; every row so far is a block layer (count L).
    let sumOps = 0, sumBytes = 0, sumTime = 0;
    for (const r of rows) {
      sumOps += r.ops;
      sumBytes += r.bytes;
      sumTime += r.time_s;
    }
    ops = L * sumOps;
    time = L * sumTime;
    bytes = L * sumBytes;
    if (p.tp > 1) { // all-reduce bytes cross the interconnect, not DRAM
      link = 2 * L * rows[rows.length - 2].bytes;
      bytes -= link;
    }
  } else {
    ops = 0.0;
    bytes = 0.0;
    time = 0.0;
    for (const r of rows) {
      const c = r.count;
      ops += c * r.ops;
      bytes += c * r.bytes;
      time += c * r.time_s;
      if (r.bound === "interconnect") link += c * r.bytes;
    }
    bytes -= link;
  }
  // lm_head: logits of the last position of each sequence only (b tokens, also in prefill).
  const head = linear("lm_head", 1, p.b, p.h, p.v, p.hb, p.a, p.a, false, p.hi, p.fmts.lm_head, p.peaks.lm_head, p.bw);
  rows.push(head);
  for (const r of rows) {
    r.arithmetic_intensity = r.bytes ? r.ops / r.bytes : Infinity;
    r.attainable_ops_per_s = r.time_s ? r.ops / r.time_s : 0.0;
  }
  const totalBytes = bytes + head.bytes;
  return {
    name, layers: rows, ops: ops + head.ops, bytes: totalBytes, time_s: time + head.time_s,
    interconnect_bytes: link,
    arithmetic_intensity: totalBytes ? (ops + head.ops) / totalBytes : Infinity,
  };
}

/**
 * One forward pass of `q` new tokens per sequence against a context of `n` (calculator.core._stage
 * on a fresh plan): the verify pass of speculative and parallel decoding.
 */
export function forwardPass(model, hardware, settings, name, q, n) {
  return stage(plan(model, hardware, settings), name, q, n);
}

/** A memory footprint (calculator.result.Memory) with its total and whether it fits. */
export function makeMemory(weights, kvCache, activations, capacity) {
  const total = weights + kvCache + activations;
  return {
    weights_bytes: weights,
    kv_cache_bytes: kvCache,
    activations_bytes: activations,
    total_bytes: total,
    capacity_bytes: capacity,
    fits: capacity ? total <= capacity : null,
  };
}

/** [linear elements, small elements] of one layer of a group, per device (calculator.core._layer_weights). */
function layerWeights(p, group) {
  const model = p.model;
  const att = group.attention, mlp = group.mlp;
  const { h, hq, hk, d } = p;
  let lin, small;
  if (att.kind === "latent") {
    const rq = att.q_lora_rank, r = att.kv_lora_rank;
    const dn = att.qk_nope_head_dim, dr = att.qk_rope_head_dim, dv = att.v_head_dim;
    const qk = hq * (dn + dr);
    lin = (rq ? h * rq + rq * qk : h * qk) + h * (r + dr) + r * hq * (dn + dv) + hq * dv * h;
    small = 2 * h + rq + r;
  } else if (att.kind === "linear") {
    const kh = Math.floor(att.linear_key_heads / p.tp), vh = Math.floor(att.linear_value_heads / p.tp);
    const kd = kh * att.linear_key_dim, vd = vh * att.linear_value_dim;
    lin = h * (2 * kd + 2 * vd) + h * 2 * vh + vd * h;
    small = 2 * h + (2 * kd + vd) * att.conv_kernel + 2 * vh + att.linear_value_dim;
  } else if (att.kind === "mamba") {
    [lin, small] = mambaWeights(att, h, p.tp);
    small += 2 * h;
  } else {
    const qo = hq * d, ko = hk * d;
    lin = 2 * h * qo + 2 * h * ko + (att.output_gate ? h * qo : 0);
    small = model.norm === "layernorm" ? 4 * h : 2 * h;
    if (model.qkv_bias) small += qo + 2 * ko + (att.output_gate ? qo : 0);
    if (model.o_bias) small += h;
    if (att.qk_norm) small += 2 * d;
  }
  if (att.sinks) small += hq;
  let mlpW, mlpSmall;
  if (mlp.kind === "none") return [lin, small - h]; // no MLP and no MLP norm
  if (mlp.kind === "moe") {
    const i = p.ie, E = p.E;
    const local = Math.floor(E / p.ep);
    mlpW = 3 * h * i * local + h * E + 3 * h * p.ish;
    mlpSmall = model.mlp_bias ? local * (2 * i + h) + E : 0;
  } else {
    const i = p.i;
    mlpW = (mlp.kind === "gated" ? 3 : 2) * h * i;
    mlpSmall = model.mlp_bias ? i + h : 0;
  }
  return [lin + mlpW, small + mlpSmall];
}

function weightsBytes(p) {
  const model = p.model;
  const h = p.h;
  let layers = 0.0;
  for (const g of p.groups) {
    const [lin, small] = layerWeights(p, g);
    layers += g.count * (lin * p.w + small * p.hi);
  }
  const vocab = p.v * h * (model.tie_word_embeddings ? 1 : 2) * p.hb;
  const finalNorm = (model.norm === "layernorm" ? 2 * h : h) * p.hi;
  const positions = model.architecture === "opt" ? model.max_position_embeddings * h * p.hi : 0;
  return layers + vocab + finalNorm + positions;
}

function kvBytes(p, tokens) {
  const groups = p.groups;
  if (groups.length === 1 && groups[0].attention.kind === "full") {
    return 2 * groups[0].count * p.b * tokens * p.hk * p.d * p.kv;
  }
  let total = 0;
  for (const [att, L] of attentionKinds(p)) {
    if (att.kind === "latent") {
      total += L * p.b * tokens * (att.kv_lora_rank + att.qk_rope_head_dim) * p.kv;
    } else if (att.kind === "linear") {
      const kh = Math.floor(att.linear_key_heads / p.tp), vh = Math.floor(att.linear_value_heads / p.tp);
      const channels = 2 * kh * att.linear_key_dim + vh * att.linear_value_dim;
      total += L * p.b * (vh * att.linear_key_dim * att.linear_value_dim
        + channels * (att.conv_kernel - 1)) * p.kv;
    } else if (att.kind === "mamba") {
      const inner = Math.floor(att.ssm_inner / p.tp);
      const channels = inner + (att.ssm_heads ? 2 * Math.ceil(att.ssm_groups / p.tp) * att.ssm_state : 0);
      total += L * p.b * (inner * att.ssm_state + channels * (att.conv_kernel - 1)) * p.kv;
    } else {
      const kept = att.kind === "window" ? Math.min(tokens, att.window) : tokens;
      total += 2 * L * p.b * kept * p.hk * p.d * p.kv;
    }
  }
  return total;
}

function activationBytes(p) {
  const s = p.settings.seq_len;
  const t = p.b * s;
  const a = p.a;
  const found = p.attKinds.find(([k]) => !RECURRENT.includes(k.kind));
  const att = found ? found[0] : p.attKinds[0][0];
  let attn;
  if (att.kind === "mamba") { // no attention layer: the mixer's in_proj output and scan output
    const inner = Math.floor(att.ssm_inner / p.tp);
    const proj = att.ssm_heads
      ? 2 * inner + 2 * Math.ceil(att.ssm_groups / p.tp) * att.ssm_state + Math.floor(att.ssm_heads / p.tp)
      : 2 * inner;
    attn = t * (proj + inner) * a;
  } else if (att.kind === "latent") {
    const width = att.qk_nope_head_dim + att.qk_rope_head_dim + att.v_head_dim;
    attn = p.flash ? 2 * t * p.hq * width * a : 2 * p.b * p.hq * s * s * a + 2 * t * p.hq * width * a;
  } else {
    attn = p.flash ? 2 * t * p.hq * p.d * a : 2 * p.b * p.hq * s * s * a;
  }
  let mlp = 0;
  for (const g of p.groups) {
    if (g.mlp.kind === "none") continue;
    if (g.mlp.kind === "moe") mlp = Math.max(mlp, 3 * t * p.k * p.ie * a, 3 * t * p.ish * a);
    else mlp = Math.max(mlp, (g.mlp.kind === "gated" ? 3 : 2) * t * p.i * a);
  }
  return t * p.h * a + Math.max(attn, mlp);
}

/** Exact sum of a decode row's time over m steps whose context grows by one token per step. */
function sumSteps(r0, r1, m, bw) {
  if (m === 1 || (r0.ops === r1.ops && r0.bytes === r1.bytes)) return m * r0.time_s;
  const peak = r0.peak_ops_per_s;
  const p0 = r0.ops / peak, p1 = r1.ops / peak;
  const q0 = r0.bytes / bw, q1 = r1.bytes / bw;
  const d0 = p0 - q0, d1 = p1 - q1;
  if (d0 >= 0 && d1 >= 0) return m * (p0 + p1) / 2;
  if (d0 <= 0 && d1 <= 0) return m * (q0 + q1) / 2;
  const last = m - 1;
  const k = Math.min(last - 1, Math.floor(d0 / (d0 - d1) * last));
  const [f0, f1] = d0 > 0 ? [p0, p1] : [q0, q1];
  const [g0, g1] = d0 > 0 ? [q0, q1] : [p0, p1];
  const first = (k + 1) * (f0 + (f0 + (f1 - f0) * k / last)) / 2;
  const second = (last - k) * ((g0 + (g1 - g0) * (k + 1) / last) + g1) / 2;
  return first + second;
}

function generate(p, prefill, decode, memory) {
  const s = p.settings;
  const prompt = s.seq_len, gen = s.gen_len;
  const steps = gen - 1;
  let decodeTime = 0.0;
  if (steps) {
    const bw = p.bw;
    decodeTime = steps * decode.time_s;
    const first = {};
    for (const r of decode.layers) first[r.name] = r;
    const lastN = prompt + steps - 1;
    for (const [att, count] of attentionKinds(p)) {
      const window = att.kind === "window" ? att.window : 0;
      const ends = attentionCore(p, att, count, 1, lastN);
      if (window && prompt < window && window < lastN) { // grows for W - P + 1 steps, then flat
        const grow = window - prompt + 1;
        const mids = attentionCore(p, att, count, 1, window);
        ends.forEach((r1, idx) => {
          const rw = mids[idx];
          const r0 = first[r1.name];
          const total = sumSteps(r0, rw, grow, bw) + (steps - grow) * rw.time_s;
          decodeTime += r0.count * (total - steps * r0.time_s);
        });
        continue;
      }
      for (const r1 of ends) {
        const r0 = first[r1.name];
        decodeTime += r0.count * (sumSteps(r0, r1, steps, bw) - steps * r0.time_s);
      }
    }
  }
  const kvEnd = kvBytes(p, prompt + steps);
  const memEnd = memory.weights_bytes + kvEnd + memory.activations_bytes;
  const capacity = memory.capacity_bytes;
  const tpot = steps ? decodeTime / steps : 0.0;
  const e2e = prefill.time_s + decodeTime;
  return {
    prompt_len: prompt,
    gen_len: gen,
    batch: s.batch,
    ttft_s: prefill.time_s,
    decode_time_s: decodeTime,
    time_per_output_token_s: tpot,
    e2e_latency_s: e2e,
    tokens_per_s: s.batch * gen / e2e,
    decode_tokens_per_s: tpot ? s.batch / tpot : null,
    kv_cache_bytes_end: kvEnd,
    memory_end_bytes: memEnd,
    capacity_bytes: capacity,
    fits_end: capacity ? memEnd <= capacity : null,
  };
}

/**
 * Roofline analysis of `model` on `hardware` under `settings` (calculator.analyze).
 * Returns {model, hardware, settings, stages: {prefill?, decode?}, memory, generate (or null),
 * formats, notes}; throws CalculatorError for a combination it cannot model.
 */
export function analyze(model, hardware, settings) {
  const s = settings || makeSettings();
  const p = plan(model, hardware, s);
  const st = s.stage;
  const seq = s.seq_len;
  const stages = {};
  const wantGen = st === "generate" || st === "all";
  let prefill = null, decode = null;
  if (st === "prefill" || st === "all" || wantGen) prefill = stage(p, "prefill", seq, seq);
  if (st === "decode" || st === "all" || wantGen) decode = stage(p, "decode", 1, seq);
  if (st === "prefill" || st === "all") stages.prefill = prefill;
  if (st === "decode" || st === "all") stages.decode = decode;
  const memory = makeMemory(weightsBytes(p), kvBytes(p, seq), activationBytes(p), hardware.memory_bytes);
  const gen = wantGen ? generate(p, prefill, decode, memory) : null;
  return { model, hardware, settings: s, stages, memory, generate: gen, formats: p.fmts, notes: p.notes };
}
