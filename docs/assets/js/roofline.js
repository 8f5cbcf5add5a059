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
  };
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) m[key] = value;
  const where = m.id ? `model ${m.id}: ` : "model: ";
  if (!ARCHITECTURES.includes(m.architecture)) {
    throw new CalculatorError(
      `${where}architecture must be one of ${ARCHITECTURES.join(", ")}, got ${repr(m.architecture)}`);
  }
  for (const field of ["hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
    "vocab_size"]) positiveInt(where, field, m[field]);
  if (m.num_key_value_heads === null) m.num_key_value_heads = m.num_attention_heads;
  positiveInt(where, "num_key_value_heads", m.num_key_value_heads);
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
  positiveInt(where, "head_dim", m.head_dim);
  if (m.architecture === "mixtral") {
    positiveInt(where, "num_local_experts", m.num_local_experts);
    positiveInt(where, "num_experts_per_tok", m.num_experts_per_tok);
    if (m.num_experts_per_tok > m.num_local_experts) {
      throw new CalculatorError(`${where}num_experts_per_tok (${m.num_experts_per_tok}) exceeds `
        + `num_local_experts (${m.num_local_experts})`);
    }
  } else if (m.num_local_experts || m.num_experts_per_tok) {
    throw new CalculatorError(
      `${where}experts are only modelled for architecture mixtral, not ${m.architecture}`);
  }
  const opt = m.architecture === "opt";
  if (m.qkv_bias === null) m.qkv_bias = opt || m.architecture === "qwen2";
  if (m.o_bias === null) m.o_bias = opt;
  if (m.mlp_bias === null) m.mlp_bias = opt;
  if (!m.name) m.name = m.id;
  m.gated_mlp = !opt;
  m.norm = opt ? "layernorm" : "rmsnorm";
  m.is_moe = m.num_local_experts > 0;
  m.parameters = modelParameters(m);
  return Object.freeze(m);
}

/** Total parameter count (all experts, embeddings, norms and biases; tied matrices once). */
function modelParameters(m) {
  const h = m.hidden_size, i = m.intermediate_size, d = m.head_dim;
  const q = m.num_attention_heads * d;
  const kv = m.num_key_value_heads * d;
  let layer = h * q + 2 * h * kv + q * h;
  if (m.qkv_bias) layer += q + 2 * kv;
  if (m.o_bias) layer += h;
  let mlp = (m.gated_mlp ? 3 : 2) * h * i;
  if (m.mlp_bias) mlp += i + h;
  if (m.is_moe) mlp = mlp * m.num_local_experts + h * m.num_local_experts;
  const normParams = m.norm === "layernorm" ? 2 * h : h;
  layer += mlp + 2 * normParams;
  let total = m.num_hidden_layers * layer + normParams;
  total += m.vocab_size * h * (m.tie_word_embeddings ? 1 : 2);
  if (m.architecture === "opt") total += m.max_position_embeddings * h;
  return total;
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
  "tie_word_embeddings", "num_local_experts", "num_experts_per_tok"];

/** A model from a `data/catalogue.json` record (kb.catalogue.model_from_dict). */
export function modelFromCatalogue(data) {
  const fields = { id: String(data.id ?? ""), name: String(data.name ?? "") };
  for (const key of MODEL_FIELDS) if (data[key] !== undefined && data[key] !== null) fields[key] = data[key];
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
  if (n > 1) {
    if (heads % n) throw new CalculatorError(`tp ${n} does not divide num_attention_heads (${heads})`);
    if (model.intermediate_size % n) {
      throw new CalculatorError(`tp ${n} does not divide intermediate_size (${model.intermediate_size})`);
    }
    if (kvHeads % n && n % kvHeads) {
      throw new CalculatorError(`tp ${n} and num_key_value_heads (${kvHeads}) must divide one another`);
    }
    if (!hardware.interconnect_bandwidth) {
      throw new CalculatorError(
        `hardware ${hardware.id} has no interconnect bandwidth; tensor parallelism needs one`);
    }
    if (kvHeads < n) notes.push(`${kvHeads} KV heads on ${n} devices: each device keeps a copy of one KV head`);
  }
  const p = {
    model, hardware, settings: s,
    b: s.batch,
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
  };
  p.w = s.w_bits / 8 + (s.group_size ? SCALE_ZERO_BYTES / s.group_size : 0.0);
  p.a = s.a_bits / 8;
  p.kv = s.kv_bits / 8 + (s.kv_group_size ? SCALE_ZERO_BYTES / s.kv_group_size : 0.0);
  const hiBits = Math.max(16, s.w_bits);
  p.hi = hiBits / 8;
  const headBits = s.quantize_head ? s.w_bits : hiBits;
  p.hb = s.quantize_head ? p.w : hiBits / 8;
  p.bw = hardware.memory_bandwidth;
  p.link = hardware.interconnect_bandwidth / 2;
  p.flash = s.flash_attention;
  const roles = [
    ["linear", Math.max(s.w_bits, s.a_bits)],
    ["attention", Math.max(s.a_bits, s.kv_bits)],
    ["lm_head", Math.max(headBits, s.a_bits)],
    ["elementwise", Math.max(16, s.a_bits)],
  ];
  const fmts = {}, peaks = {};
  const fallbacks = new Map(); // "kind fmt" -> [kind, fmt, roles], in first-seen order
  for (const [role, bits] of roles) {
    const [fmt, peak, fallback] = computeFormat(bits, s.number_format, hardware);
    fmts[role] = fmt;
    peaks[role] = peak;
    if (fallback && role !== "elementwise") {
      const kind = bits <= 8 ? `${s.number_format}${bits}` : bits <= 16 ? "fp16" : "fp32";
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

function attention(p, q, n) {
  const { b, d, hq, L, a, kv, bw } = p;
  const fmt = p.fmts.attention, peak = p.peaks.attention;
  const qoBytes = b * q * hq * d * a;
  const kvRead = b * n * p.hk * d * kv;
  if (p.flash) {
    const pairs = b * hq * flashPairs(q, n);
    return [row("attention", L, pairs * (4 * d + SOFTMAX_OPS), 2 * qoBytes + 2 * kvRead, fmt, peak, bw)];
  }
  const scores = b * hq * q * n;
  return [
    row("qk_matmul", L, 2 * scores * d, qoBytes + kvRead + scores * a, fmt, peak, bw),
    row("softmax", L, SOFTMAX_OPS * scores, 2 * scores * a, p.fmts.elementwise, p.peaks.elementwise, bw),
    row("sv_matmul", L, 2 * scores * d, scores * a + kvRead + qoBytes, fmt, peak, bw),
  ];
}

function allreduce(name, count, elements, a, n, link) {
  const sent = 2 * (n - 1) / n * elements * a;
  return {
    name, count, ops: (n - 1) / n * elements, bytes: sent, time_s: sent / link,
    bound: "interconnect", format: "link", peak_ops_per_s: 0.0,
  };
}

function stage(p, name, q, n) {
  const model = p.model;
  const { b, h, i, d, hq, hk, L, w, a, kv, hi, bw, fmts, peaks } = p;
  const fLin = fmts.linear, pLin = peaks.linear;
  const fEl = fmts.elementwise, pEl = peaks.elementwise;
  const t = b * q;
  const qo = hq * d;
  const ko = hk * d;

  const norm = row("attn_norm", L, NORM_OPS * t * h, 2 * t * h * a, fEl, pEl, bw);
  const qkvBias = model.qkv_bias;
  const kProj = linear("k_proj", L, t, h, ko, w, a, kv, qkvBias, hi, fLin, pLin, bw);
  const rows = [
    norm,
    linear("q_proj", L, t, h, qo, w, a, a, qkvBias, hi, fLin, pLin, bw),
    kProj,
    renamed(kProj, "v_proj"),
  ];
  rows.push(...attention(p, q, n));
  rows.push(linear("o_proj", L, t, qo, h, w, a, a, model.o_bias, hi, fLin, pLin, bw));
  let reduce = null;
  if (p.tp > 1) {
    reduce = allreduce("attn_allreduce", L, t * h, a, p.tp, p.link);
    rows.push(reduce);
  }
  const add = row("attn_add", L, ADD_OPS * t * h, 2 * t * h * a, fEl, pEl, bw);
  rows.push(add);
  rows.push(renamed(norm, "mlp_norm"));
  if (p.E) {
    rows.push(linear("router", L, t, h, p.E, w, a, a, false, hi, fLin, pLin, bw));
    const routed = t * p.k;
    const touched = expectedExperts(p.E, p.k, t);
    const gate = row("gate_proj", L, 2 * routed * h * i, touched * h * i * w + routed * (h + i) * a,
      fLin, pLin, bw);
    rows.push(gate);
    rows.push(renamed(gate, "up_proj"));
    rows.push(row("mlp_act", L, SILU_GATE_OPS * routed * i, 3 * routed * i * a, fEl, pEl, bw));
    rows.push(row("down_proj", L, 2 * routed * i * h, touched * i * h * w + routed * (i + h) * a,
      fLin, pLin, bw));
  } else {
    const mlpBias = model.mlp_bias;
    const up = linear("up_proj", L, t, h, i, w, a, a, mlpBias, hi, fLin, pLin, bw);
    if (model.gated_mlp) {
      rows.push(renamed(up, "gate_proj"));
      rows.push(up);
      rows.push(row("mlp_act", L, SILU_GATE_OPS * t * i, 3 * t * i * a, fEl, pEl, bw));
    } else {
      rows.push(up);
      rows.push(row("mlp_act", L, RELU_OPS * t * i, 2 * t * i * a, fEl, pEl, bw));
    }
    rows.push(linear("down_proj", L, t, i, h, w, a, a, mlpBias, hi, fLin, pLin, bw));
  }
  if (p.tp > 1) rows.push(renamed(reduce, "mlp_allreduce"));
  rows.push(renamed(add, "mlp_add"));
  // Totals = sum of count x value; every row so far is a block layer (count L).
  let sumOps = 0, sumBytes = 0, sumTime = 0;
  for (const r of rows) {
    sumOps += r.ops;
    sumBytes += r.bytes;
    sumTime += r.time_s;
  }
  const ops = L * sumOps, time = L * sumTime;
  let bytes = L * sumBytes;
  let link = 0.0;
  if (p.tp > 1) { // all-reduce bytes cross the interconnect, not DRAM
    link = 2 * L * reduce.bytes;
    bytes -= link;
  }
  // lm_head: logits of the last position of each sequence only (b tokens, also in prefill).
  const head = linear("lm_head", 1, b, h, p.v, p.hb, a, a, false, hi, fmts.lm_head, peaks.lm_head, bw);
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

function weightsBytes(p) {
  const model = p.model;
  const { h, i, d, hq, hk } = p;
  const qo = hq * d, ko = hk * d;
  const lin = 2 * h * qo + 2 * h * ko;
  let mlp = (model.gated_mlp ? 3 : 2) * h * i;
  let small = model.norm === "layernorm" ? 4 * h : 2 * h;
  if (model.qkv_bias) small += qo + 2 * ko;
  if (model.o_bias) small += h;
  let mlpSmall = model.mlp_bias ? i + h : 0;
  if (p.E) {
    mlp = mlp * p.E + h * p.E; // all experts are resident, plus the router
    mlpSmall *= p.E;
  }
  const perLayer = (lin + mlp) * p.w + (small + mlpSmall) * p.hi;
  const vocab = p.v * h * (model.tie_word_embeddings ? 1 : 2) * p.hb;
  const finalNorm = (model.norm === "layernorm" ? 2 * h : h) * p.hi;
  const positions = model.architecture === "opt" ? model.max_position_embeddings * h * p.hi : 0;
  return p.L * perLayer + vocab + finalNorm + positions;
}

function kvBytes(p, tokens) {
  return 2 * p.L * p.b * tokens * p.hk * p.d * p.kv;
}

function activationBytes(p) {
  const s = p.settings.seq_len;
  const t = p.b * s;
  const a = p.a;
  const attn = p.flash ? 2 * t * p.hq * p.d * a : 2 * p.b * p.hq * s * s * a;
  const routed = p.E ? t * p.k : t;
  const mlp = (p.model.gated_mlp ? 3 : 2) * routed * p.i * a;
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
    for (const r1 of attention(p, 1, prompt + steps - 1)) {
      const r0 = first[r1.name];
      decodeTime += r0.count * (sumSteps(r0, r1, steps, bw) - steps * r0.time_s);
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
    batch: p.b,
    ttft_s: prefill.time_s,
    decode_time_s: decodeTime,
    time_per_output_token_s: tpot,
    e2e_latency_s: e2e,
    tokens_per_s: p.b * gen / e2e,
    decode_tokens_per_s: tpot ? p.b / tpot : null,
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
