// What a knowledge-base method does to the roofline, in the browser: a line-by-line mirror of
// calculator/effects.py (docs/roofline.md, "Method effects"), held to the Python numbers by
// tests/js/effects.test.mjs (tests/js/vectors.json, `effect_cases`) to 1e-9 relative.
//
// applyEffect(model, hardware, settings, effect, {draft, student, hostBandwidth}) returns an
// outcome {prefill, decode, decode_token_s, memory, notes, formats, analysis}:
// - prefill, decode: the stages with the method applied (decode is one step at a context of seq_len;
//   for speculative and parallel decoding it is the target's verify pass over several tokens);
// - decode_token_s: the time per generated token of one sequence-step (decode.time_s unless the
//   method changes it: speculative and parallel decoding divide by the tokens a step yields,
//   offloading adds the host-link transfer);
// - memory: the footprint per device (calculator.result.Memory, with total_bytes and fits);
// - analysis: when the outcome is a plain analysis of a changed model or settings (quantization,
//   data formats, fused attention alone, a student model, mixture of experts), that analysis with
//   stage "all", whose generate summary still holds; null when the method changes rows.
// It throws CalculatorError with Python's message where Python raises (effect kind none, ...).
//
// effectSettings(settings, effect) is the page's seam for the inputs a method decides: the settings
// fields with the method's bits, number format or fused attention applied, and their keys.

import {
  CalculatorError, analyze, expectedExperts, forwardPass, makeMemory, makeModel, makeSettings, repr,
} from "./roofline.js";

/** calculator.effects.refuse_other_layers: weight-row effects know one uniform stack of standard layers. */
function refuseOtherLayers(model, kind) {
  const groups = model.recipe, g = groups[0];
  const attention = kind === "contextual_sparsity" ? ["full"] : ["full", "window"];
  if (groups.length > 1 || !attention.includes(g.attention.kind) || g.mlp.shared) {
    throw new CalculatorError(
      `${kind} is modelled for models whose layers are all alike, with standard attention and a dense or `
      + `Mixtral-style MLP; ${model.id} is not one (latent, linear or mixed attention, shared experts or `
      + "dense-prefix layers)");
  }
}

/** calculator.effects.refuse_recurrent_state: cache-scaling effects know attention KV caches only. */
function refuseRecurrentState(model, kind) {
  if (model.recipe.some((g) => g.attention.kind === "mamba" || g.attention.kind === "linear")) {
    throw new CalculatorError(`${kind} is modelled for attention KV caches; ${model.id} keeps a recurrent state in `
      + "some layers (Mamba or linear attention), which does not shrink that way");
  }
}

export const EFFECT_KINDS = ["quantization", "sparsity", "low_rank", "distillation", "early_exit",
  "contextual_sparsity", "architecture", "speculative", "parallel_decoding", "kv_compression", "operator_fusion",
  "offloading", "data_format", "serving", "token_reduction", "sparse_attention", "prefix_reuse", "shared_prefix",
  "none"];
const LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "router"];
const MLP = ["gate_proj", "up_proj", "down_proj", "mlp_act"];
const HEADS = ["q_proj", "k_proj", "v_proj", "o_proj", "qk_matmul", "softmax", "sv_matmul", "attention"];
const ATTENTION = ["qk_matmul", "softmax", "sv_matmul", "attention"];
const ELEMENTWISE = ["attn_norm", "mlp_norm", "attn_add", "mlp_add", "mlp_act", "softmax"];

/** Tokens a speculative step yields on average: (1 - a^(g+1)) / (1 - a); g + 1 when a = 1. */
export function expectedTokensPerStep(acceptance, draftLength) {
  if (acceptance >= 1) return draftLength + 1.0;
  return (1 - acceptance ** (draftLength + 1)) / (1 - acceptance);
}

/** Python's round(): halves go to the even neighbour. */
export function pyRound(x) {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Python's format(x, ".4g"): 4 significant digits, exponent form below 1e-4 and from 1e4. */
export function formatG4(x) {
  if (!Number.isFinite(x)) return x > 0 ? "inf" : x < 0 ? "-inf" : "nan";
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  const [mantissa, expText] = x.toExponential(3).split("e");
  const exp = Number(expText);
  const strip = (t) => (t.includes(".") ? t.replace(/0+$/, "").replace(/\.$/, "") : t);
  if (exp < -4 || exp >= 4) {
    const e = Math.abs(exp);
    return `${strip(mantissa)}e${exp < 0 ? "-" : "+"}${e < 10 ? "0" : ""}${e}`;
  }
  return strip(x.toFixed(3 - exp));
}

/** tau: the acceptance length the paper gives, or the chain formula from a per-token acceptance rate. */
export function tokensPerStep(effect) {
  if (effect.tokens_per_step !== undefined && effect.tokens_per_step !== null) return Number(effect.tokens_per_step);
  return expectedTokensPerStep(Number(effect.acceptance_rate), Math.trunc(effect.draft_length));
}

/** An architecture entry describes its own model (calculator.effects.refuse_architecture). */
export function refuseArchitecture(model, effect) {
  if (model.id !== effect.model) {
    throw new CalculatorError(`this entry is an architecture (model ${effect.model}), not a method that applies to `
      + `${model.id}: analyse --model ${effect.model}; its page compares it with ${effect.baseline}`);
  }
}

/** A serving effect changes what a loaded server holds or schedules, not one forward pass
 * (calculator.effects.refuse_serving): refused with the --stage serve options that carry it. */
export function refuseServing(effect) {
  const opts = [];
  for (const [key, flag] of [["allocator", "--allocator"], ["block_size", "--block-size"],
    ["max_seq_len", "--max-seq-len"], ["token_budget", "--token-budget"], ["ttft_limit_s", "--ttft"],
    ["tpot_limit_s", "--tpot"]]) {
    const value = effect[key];
    if (value !== undefined && value !== null) {
      opts.push(typeof value === "string" ? `${flag} ${value}` : `${flag} ${formatG4(Number(value))}`);
    }
  }
  throw new CalculatorError("effect kind serving changes what a loaded server holds or schedules, not one forward "
    + "pass: analyse it with --stage serve" + (opts.length ? " " + opts.join(" ") : ""));
}

/** What a method is compared against (calculator.effects.baseline_settings): fused attention is itself the
 * method of an operator-fusion entry, whose baseline therefore runs the unfused attention rows. */
export function baselineSettings(settings, effect) {
  if (effect && effect.kind === "operator_fusion" && effect.flash_attention) {
    return { ...settings, flash_attention: false };
  }
  return settings;
}

// ------------------------------------------------------------------------------ rows and stages

function withRow(r, { count, ops, bytes }, bw) {
  const c = count === undefined ? r.count : count;
  const o = ops === undefined ? r.ops : ops;
  const b = bytes === undefined ? r.bytes : bytes;
  const out = { ...r, count: c, ops: o, bytes: b };
  if (r.bound !== "interconnect") {
    const ct = o / r.peak_ops_per_s, mt = b / bw;
    if (ct > mt) {
      out.time_s = ct;
      out.bound = "compute";
    } else {
      out.time_s = mt;
      out.bound = "memory";
    }
  }
  out.arithmetic_intensity = out.bytes ? out.ops / out.bytes : Infinity;
  out.attainable_ops_per_s = out.time_s ? out.ops / out.time_s : 0.0;
  return out;
}

function restage(stage, rows) {
  let ops = 0.0, bytes = 0.0, time = 0.0, link = 0.0;
  for (const r of rows) {
    ops += r.count * r.ops;
    bytes += r.count * r.bytes;
    time += r.count * r.time_s;
    if (r.bound === "interconnect") link += r.count * r.bytes;
  }
  bytes -= link; // all-reduce bytes cross the interconnect, not DRAM
  return {
    ...stage, layers: rows, ops, bytes, time_s: time, interconnect_bytes: link,
    arithmetic_intensity: bytes ? ops / bytes : Infinity,
  };
}

function scaleRows(stage, names, factor, bw) {
  return restage(stage, stage.layers.map((r) => (names.includes(r.name)
    ? withRow(r, { ops: r.ops * factor, bytes: r.bytes * factor }, bw) : r)));
}

/** Weight elements of each linear layer on one device (tensor-parallel share). */
function weightElements(model, s) {
  const n = s.tp;
  const h = model.hidden_size, d = model.head_dim;
  const qo = Math.floor(model.num_attention_heads / n) * d;
  const ko = Math.ceil(model.num_key_value_heads / n) * d;
  const i = Math.floor(model.recipe[0].mlp.width / n);  // per expert for a MoE (refuseOtherLayers: one group)
  return { q_proj: h * qo, k_proj: h * ko, v_proj: h * ko, o_proj: qo * h,
    gate_proj: h * i, up_proj: h * i, down_proj: i * h };
}

const bytesPerWeight = (s) => s.w_bits / 8 + (s.group_size ? 4 / s.group_size : 0.0);

/** Fraction of weights kept: n/m for an N:M pattern, else 1 - sparsity. */
const keptOf = (effect) => (effect.pattern === "n:m" ? effect.n / effect.m : 1 - effect.sparsity);

function metaBitsOf(effect) {
  const kept = keptOf(effect);
  return effect.pattern === "n:m" ? 2 : (effect.pattern === "unstructured" && kept ? 1 / kept : 0);
}

/** Resident bytes of every linear layer's weights on one device (all experts of a MoE). */
function linearWeightBytes(model, s) {
  const elements = weightElements(model, s);
  const experts = Math.max(1, model.num_local_experts || 0);
  let perLayer = 0;
  for (const [k, v] of Object.entries(elements)) perLayer += v * (MLP.includes(k) ? experts : 1);
  return model.num_hidden_layers * perLayer * bytesPerWeight(s);
}

function withLinearWeights(m, model, s, factor) {
  const lin = linearWeightBytes(model, s);
  return makeMemory(m.weights_bytes - lin + lin * factor, m.kv_cache_bytes, m.activations_bytes, m.capacity_bytes);
}

function sparsify(stage, model, s, effect, bw) {
  const kept = keptOf(effect);
  const pattern = effect.pattern;
  const metaBits = metaBitsOf(effect);
  const perWeight = bytesPerWeight(s);
  const elements = weightElements(model, s);
  return restage(stage, stage.layers.map((r) => {
    if (!Object.hasOwn(elements, r.name)) return r;
    let countW = elements[r.name];
    if (model.num_local_experts && MLP.includes(r.name)) { // only the experts this step touches are read
      const tokens = s.batch * (stage.name === "prefill" ? s.seq_len : 1);
      countW *= expectedExperts(model.num_local_experts, model.num_experts_per_tok, tokens);
    }
    const w = countW * perWeight;
    const newW = countW * kept * (perWeight + metaBits / 8);
    const ops = pattern === "unstructured" ? r.ops : r.ops * kept;
    return withRow(r, { ops, bytes: Math.max(r.bytes - w, 0.0) + newW }, bw);
  }));
}

/** Seconds of one draft forward pass (calculator.effects._draft_pass_s). */
function draftPassS(model, hardware, s, decode, effect, draft) {
  if (effect.draft_model) {
    if (!draft) throw new CalculatorError(`draft model ${effect.draft_model} is not in the catalogue`);
    return analyze(draft, hardware, makeSettings({ ...s, stage: "decode" })).stages.decode.time_s;
  }
  if (effect.draft_layers !== undefined && effect.draft_layers !== null) {
    const layers = Math.trunc(effect.draft_layers);
    if (layers > model.num_hidden_layers) {
      throw new CalculatorError(`draft_layers ${layers} exceeds the ${model.num_hidden_layers} layers of ${model.id}`);
    }
    const head = decode.layers.find((r) => r.name === "lm_head").time_s;
    return (decode.time_s - head) * layers / model.num_hidden_layers + head;
  }
  if (effect.draft_cost !== undefined && effect.draft_cost !== null) return Number(effect.draft_cost) * decode.time_s;
  throw new CalculatorError("speculative decoding needs a draft_model, draft_layers or draft_cost");
}

/** One target forward pass over `tokens` new tokens per sequence against a context of seq_len. */
function stepWithTokens(model, hardware, s, tokens) {
  const step = forwardPass(model, hardware, s, "verify", tokens, s.seq_len + tokens - 1);
  step.step_tokens = tokens;
  return step;
}

// ------------------------------------------------------------------------------ outcomes

function outcome(prefill, decode, decodeTokenS, memory, notes, formats, analysis = null) {
  return { prefill, decode, decode_token_s: decodeTokenS, memory, notes, formats, analysis };
}

/** The run without a method (calculator.effects.baseline): an analysis with stage "all". */
export function baseline(model, hardware, settings) {
  const s = makeSettings({ ...settings, stage: "all" });
  const r = analyze(model, hardware, s);
  return outcome(r.stages.prefill, r.stages.decode, r.stages.decode.time_s, r.memory, [...r.notes], r.formats, r);
}

/** The settings fields a method decides (quantization, data_format, operator_fusion) and their keys. */
export function effectSettings(settings, effect) {
  const s = { ...settings };
  const kind = effect && effect.kind;
  if (kind === "quantization") {
    const part = (key) => effect[key] || {};
    s.w_bits = part("weights").bits ?? 16;
    s.a_bits = part("activations").bits ?? 16;
    s.kv_bits = part("kv_cache").bits ?? 16;
    s.group_size = part("weights").group_size ?? null;
    s.kv_group_size = part("kv_cache").group_size ?? null;
    return { settings: s, keys: ["w_bits", "a_bits", "kv_bits", "group_size", "kv_group_size"] };
  }
  if (kind === "data_format") {
    s.number_format = String(effect.format ?? "").toLowerCase().startsWith("int") ? "int" : "fp";
    s.w_bits = effect.weights_bits || 16;
    s.a_bits = effect.activations_bits || 16;
    return { settings: s, keys: ["w_bits", "a_bits", "number_format"] };
  }
  if (kind === "operator_fusion" && effect.flash_attention) {
    s.flash_attention = true;
    return { settings: s, keys: ["flash_attention"] };
  }
  return { settings: s, keys: [] };
}

/** The run with a method's effect applied (calculator.effects.apply_effect). */
export function applyEffect(model, hardware, settings, effect, { draft = null, student = null,
  hostBandwidth = null } = {}) {
  const kind = effect.kind;
  const s = makeSettings({ ...settings, stage: "all" });
  const bw = hardware.memory_bandwidth;
  if (kind === "none") {
    throw new CalculatorError(`effect kind none cannot be modelled: ${effect.reason ?? ""}`);
  }
  if (kind === "serving") refuseServing(effect);
  if (kind === "quantization" || kind === "data_format") {
    return baseline(model, hardware, effectSettings(s, effect).settings);
  }
  if (kind === "operator_fusion") {
    const out = baseline(model, hardware, effectSettings(s, effect).settings);
    if (!effect.fused_elementwise) return out;
    const fuse = (st) => restage(st, st.layers.map((r) => (ELEMENTWISE.includes(r.name)
      ? withRow(r, { bytes: 0.0 }, bw) : r)));
    const dec = fuse(out.decode);
    return outcome(fuse(out.prefill), dec, dec.time_s, out.memory, out.notes, out.formats);
  }
  if (kind === "distillation" && student) return baseline(student, hardware, s);
  if (kind === "architecture") {
    refuseArchitecture(model, effect);
    const changes = effect.model_changes || {};
    return baseline(Object.keys(changes).length ? makeModel({ ...model, ...changes }) : model, hardware, s);
  }
  if (kind === "kv_compression" || kind === "shared_prefix") refuseRecurrentState(model, kind);
  if (kind === "kv_compression") {
    const base = baseline(model, hardware, s);
    const kept = Math.max(1, pyRound(effect.kv_kept * s.seq_len));
    const short = analyze(model, hardware, makeSettings({ ...s, seq_len: kept, stage: "decode" }));
    const m = base.memory;
    const memory = makeMemory(m.weights_bytes, m.kv_cache_bytes * kept / s.seq_len, m.activations_bytes,
      m.capacity_bytes);
    short.stages.decode.context_tokens = kept;
    return outcome(base.prefill, short.stages.decode, short.stages.decode.time_s, memory, base.notes, base.formats);
  }

  if (kind === "token_reduction") return tokenReduction(model, hardware, s, effect);
  if (kind === "prefix_reuse") return prefixReuse(model, hardware, s, effect, hostBandwidth);

  const base = baseline(model, hardware, s);
  let { prefill, decode, memory } = base;
  const { formats } = base;
  const notes = [...base.notes];
  const m = memory;
  if (["sparsity", "low_rank", "distillation", "contextual_sparsity"].includes(kind)) refuseOtherLayers(model, kind);
  if (kind === "sparsity") {
    const factor = keptOf(effect) * (1 + metaBitsOf(effect) / 8 / bytesPerWeight(s));
    prefill = sparsify(prefill, model, s, effect, bw);
    decode = sparsify(decode, model, s, effect, bw);
    memory = withLinearWeights(m, model, s, factor);
  } else if (kind === "low_rank" || kind === "distillation") {
    const kept = effect.params_kept;
    if (kept === undefined || kept === null) {
      throw new CalculatorError("distillation needs a student model or params_kept");
    }
    prefill = scaleRows(prefill, LINEAR, kept, bw);
    decode = scaleRows(decode, LINEAR, kept, bw);
    memory = withLinearWeights(m, model, s, kept);
  } else if (kind === "early_exit") {
    const depth = effect.average_depth;
    decode = restage(decode, decode.layers.map((r) => (r.name !== "lm_head"
      ? withRow(r, { count: r.count * depth }, bw) : r)));
  } else if (kind === "contextual_sparsity") {
    const mlp = effect.mlp_active, heads = effect.heads_active;
    if (mlp !== undefined && mlp !== null) decode = scaleRows(decode, MLP, mlp, bw);
    if (heads !== undefined && heads !== null) decode = scaleRows(decode, HEADS, heads, bw);
  } else if (kind === "sparse_attention") {
    if (effect.prefill_density !== undefined && effect.prefill_density !== null) {
      prefill = scaleRows(prefill, ATTENTION, Number(effect.prefill_density), bw);
    }
    let read = effect.decode_kv_read ?? null;
    if (effect.decode_kv_budget !== undefined && effect.decode_kv_budget !== null) {
      read = Math.min(1.0, Math.trunc(effect.decode_kv_budget) / s.seq_len);
    }
    if (read !== null) decode = scaleRows(decode, ATTENTION, Number(read), bw);
  } else if (kind === "shared_prefix") {
    const factor = (1 - effect.shared) + effect.shared / s.batch;
    decode = restage(decode, decode.layers.map((r) => (ATTENTION.includes(r.name)
      ? withRow(r, { bytes: r.bytes * factor }, bw) : r)));
    memory = makeMemory(m.weights_bytes, m.kv_cache_bytes * factor, m.activations_bytes, m.capacity_bytes);
    if (s.batch === 1) {
      notes.push("shared_prefix changes nothing at batch 1: the prefix is shared by the sequences of a batch");
    } else {
      prefill = sharedPrefill(model, hardware, s, effect.shared);
    }
  } else if (kind === "offloading") {
    if (!hostBandwidth) {
      throw new CalculatorError(`hardware ${hardware.id} has no host link bandwidth for offloading`);
    }
    const extra = effect.offloaded * m.weights_bytes / (hostBandwidth / 2);
    notes.push(`offloading adds ${formatG4(extra)} s per decode step over the host link`);
    memory = makeMemory(m.weights_bytes * (1 - effect.offloaded), m.kv_cache_bytes, m.activations_bytes,
      m.capacity_bytes);
    return outcome(prefill, decode, decode.time_s + extra, memory, notes, formats);
  } else if (kind === "speculative") {
    const g = Math.trunc(effect.draft_length);
    const verify = stepWithTokens(model, hardware, s, Math.trunc(effect.verify_tokens || g + 1));
    const draftS = draftPassS(model, hardware, s, decode, effect, draft);
    const perToken = (g * draftS + verify.time_s) / tokensPerStep(effect);
    return outcome(prefill, verify, perToken, memory, notes, formats);
  } else if (kind === "parallel_decoding") {
    const tau = Number(effect.tokens_per_step);
    const step = stepWithTokens(model, hardware, s, Math.trunc(effect.verify_tokens || Math.ceil(tau)));
    return outcome(prefill, step, step.time_s / tau, memory, notes, formats);
  } else {
    throw new CalculatorError(`unknown effect kind ${repr(kind)}; expected one of ${EFFECT_KINDS.join(", ")}`);
  }
  return outcome(prefill, decode, decode.time_s, memory, notes, formats);
}

/** Prefill with a prefix common to the batch (calculator.effects._shared_prefill): the prefix once at batch 1,
 * then every sequence's own tokens against the whole context; each row is the sum of its two passes. */
function sharedPrefill(model, hardware, s, shared) {
  const seq = s.seq_len;
  const prefix = seq > 1 ? Math.min(Math.max(1, pyRound(shared * seq)), seq - 1) : 0;
  if (!prefix) return analyze(model, hardware, makeSettings({ ...s, stage: "prefill" })).stages.prefill;
  const once = forwardPass(model, hardware, makeSettings({ ...s, batch: 1 }), "prefill", prefix, prefix);
  const own = forwardPass(model, hardware, s, "prefill", seq - prefix, seq);
  const rows = once.layers.map((a, i) => {
    const b = own.layers[i];
    if (!b || a.name !== b.name || a.count !== b.count) {
      throw new CalculatorError(`shared_prefix: the two prefill passes of ${model.id} have different rows`);
    }
    const r = {
      ...a, ops: a.ops + b.ops, bytes: a.bytes + b.bytes, time_s: a.time_s + b.time_s,
      bound: a.time_s > b.time_s ? a.bound : b.bound,
    };
    r.arithmetic_intensity = r.bytes ? r.ops / r.bytes : Infinity;
    r.attainable_ops_per_s = r.time_s ? r.ops / r.time_s : 0.0;
    return r;
  });
  return restage(own, rows);
}

/** Fewer tokens (calculator.effects._token_reduction): the prompt cut to prompt_kept, the answer to output_kept. */
function tokenReduction(model, hardware, s, effect) {
  const prompt = effect.prompt_kept ?? null;
  const out = baseline(model, hardware, prompt === null ? s
    : { ...s, seq_len: Math.max(1, pyRound(Number(prompt) * s.seq_len)) });
  const kept = effect.output_kept ?? null;
  const perToken = out.decode.time_s * (kept === null ? 1.0 : Number(kept));
  return outcome(out.prefill, out.decode, perToken, out.memory, out.notes, out.formats);
}

/** Prefill of the new tokens only against the whole prompt (calculator.effects._prefix_reuse); the reused KV
 * crosses the host link when it waits in host memory. */
function prefixReuse(model, hardware, s, effect, hostBandwidth) {
  const base = baseline(model, hardware, s);
  const bw = hardware.memory_bandwidth;
  const seq = s.seq_len;
  const fresh = Math.max(1, pyRound((1 - Number(effect.prompt_reused)) * seq));
  let prefill = forwardPass(model, hardware, s, "prefill", fresh, seq);
  const notes = [...base.notes];
  if ((effect.cache_tier ?? "device") === "host") {
    if (!hostBandwidth) {
      throw new CalculatorError(`hardware ${hardware.id} has no host link bandwidth for a cache in host memory`);
    }
    const moved = base.memory.kv_cache_bytes * (seq - fresh) / seq;
    const load = moved / (hostBandwidth / 2);
    const exposed = effect.overlap ? Math.max(0.0, load - prefill.time_s) : load;
    const row = {
      name: "kv_from_host", count: 1, ops: 0.0, bytes: moved, time_s: exposed, bound: "interconnect",
      format: "link", peak_ops_per_s: 0.0,
    };
    row.arithmetic_intensity = row.bytes ? row.ops / row.bytes : Infinity;
    row.attainable_ops_per_s = row.time_s ? row.ops / row.time_s : 0.0;
    prefill = restage(prefill, [...prefill.layers, row]);
    notes.push(`loading the reused KV over the host link takes ${formatG4(load)} s`
      + (effect.overlap ? ", overlapped with prefill" : ", added to prefill"));
  }
  return outcome(prefill, base.decode, base.decode.time_s, base.memory, notes, base.formats);
}

/** A device's host-link bandwidth in B/s from its data/catalogue.json record (null without one). */
export function hostBandwidthFromCatalogue(data) {
  const link = data && data.host_link;
  return link && link.bandwidth_gb_s ? link.bandwidth_gb_s * 1e9 : null;
}
