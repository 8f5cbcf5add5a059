// The live calculator page (/calculator/): two configurations, A and B, side by side.
//
// Every change recomputes with roofline.js (the mirror of the Python calculator) and rewrites the
// query string, so a link reproduces the page: A's keys plain (model, hardware, batch, ...), B's
// with a `b_` prefix. Every number shown carries `data-output="<name>"` and the raw value in
// `data-value`, which the browser tests compare with calculator.analyze (and, with a method chosen,
// with calculator.effects.apply_effect, whose effects.js mirror applies every effect kind).

import { rooflineSvg } from "./chart.js";
import { SITE_ROOT, bytesText, debounce, esc, loadData, number, seconds, si, writeQuery } from "./common.js";
import { applyEffect, effectSettings, hostBandwidthFromCatalogue, tokensPerStep } from "./effects.js";
import { checkSettingRanges, inRange } from "./limits.js";
import { expectedStageS, loadParameters } from "./expected.js";
import { ALLOCATORS, StepModel, capacity, curve, point, sla } from "./serving.js";
import {
  ALLOWED_BITS, DEFAULT_SETTINGS, STAGES, analyze, hardwareFromCatalogue, makeSettings, modelFromCatalogue,
} from "./roofline.js";

const CONFIGS = [
  { id: "a", prefix: "", title: "A" },
  { id: "b", prefix: "b_", title: "B" },
];

// The form's defaults: the calculator's own settings (flash_attention is the form's `flash`).
const { flash_attention: _flash, ...SETTING_DEFAULTS } = DEFAULT_SETTINGS;
const BASE_DEFAULTS = {
  model: "llama-2-7b", hardware: "nvidia-a6000", method: "", ...SETTING_DEFAULTS, flash: _flash,
};
// The plain precision a method is applied to: a method chosen in a column replaces these with its own,
// and whatever the reader then changes on top is shown as combined with it (never hidden).
const PLAIN = { w_bits: 16, a_bits: 16, kv_bits: 16, group_size: null, kv_group_size: null, number_format: "int",
  quantize_head: false, flash: _flash };
// B starts as A with one method applied (shown in B's method box), so the first view compares something.
const DEFAULTS = { a: BASE_DEFAULTS, b: { ...BASE_DEFAULTS, method: "awq" } };

// [key, label, kind]; `key` is the query-string name (B's carry the b_ prefix).
const FIELDS = [
  ["model", "Model", "select"],
  ["hardware", "Device", "select"],
  ["method", "Method", "select"],
  ["stage", "Stage", "select"],
  ["batch", "Batch (sequences)", "int"],
  ["seq_len", "Prompt / context (tokens)", "int"],
  ["gen_len", "Generated tokens", "int"],
  ["tp", "Tensor-parallel devices", "int"],
  ["w_bits", "Weight bits", "bits"],
  ["a_bits", "Activation bits", "bits"],
  ["kv_bits", "KV-cache bits", "bits"],
  ["number_format", "Low-bit compute", "select"],
  ["group_size", "Weight group size", "group"],
  ["kv_group_size", "KV group size", "group"],
  ["flash", "Fused (flash) attention", "bool"],
  ["quantize_head", "Quantize embedding and lm_head", "bool"],
];
const KIND = Object.fromEntries(FIELDS.map(([key, , kind]) => [key, kind]));
// Settings field -> form field, for the inputs a method decides.
const SETTING_TO_FIELD = { flash_attention: "flash" };

// Every number the page shows: data-output name -> value of an analysis (undefined: not shown).
const OUTPUTS = {
  "prefill.time_s": (r) => r.stages.prefill?.time_s,
  "prefill.ops": (r) => r.stages.prefill?.ops,
  "prefill.bytes": (r) => r.stages.prefill?.bytes,
  "prefill.arithmetic_intensity": (r) => r.stages.prefill?.arithmetic_intensity,
  "prefill.interconnect_bytes": (r) => (r.settings.tp > 1 ? r.stages.prefill?.interconnect_bytes : undefined),
  "decode.time_s": (r) => r.stages.decode?.time_s,
  "decode.ops": (r) => r.stages.decode?.ops,
  "decode.bytes": (r) => r.stages.decode?.bytes,
  "decode.arithmetic_intensity": (r) => r.stages.decode?.arithmetic_intensity,
  "decode.interconnect_bytes": (r) => (r.settings.tp > 1 ? r.stages.decode?.interconnect_bytes : undefined),
  "decode_token_s": (r) => r.decode_token_s,
  "prefill.expected_time_s": (r) => r.expected?.prefill,
  "decode.expected_time_s": (r) => r.expected?.decode,
  "generate.ttft_s": (r) => r.generate?.ttft_s,
  "generate.tpot_s": (r) => r.generate?.time_per_output_token_s,
  "generate.e2e_latency_s": (r) => r.generate?.e2e_latency_s,
  "generate.tokens_per_s": (r) => r.generate?.tokens_per_s,
  "generate.decode_tokens_per_s": (r) => r.generate?.decode_tokens_per_s,
  "generate.decode_time_s": (r) => r.generate?.decode_time_s,
  "generate.kv_cache_bytes_end": (r) => r.generate?.kv_cache_bytes_end,
  "generate.memory_end_bytes": (r) => r.generate?.memory_end_bytes,
  "memory.weights_bytes": (r) => r.memory.weights_bytes,
  "memory.kv_cache_bytes": (r) => r.memory.kv_cache_bytes,
  "memory.activations_bytes": (r) => r.memory.activations_bytes,
  "memory.total_bytes": (r) => r.memory.total_bytes,
  "memory.capacity_bytes": (r) => r.memory.capacity_bytes || undefined,
  "model.parameters": (r) => r.model.parameters,
};

const rate = (v) => `${number(v)} tok/s`;
const intensity = (v) => `${number(v)} ops/B`;

// [output, label, formatter, better] for the key figures and the A/B comparison.
const FIGURES = [
  ["generate.ttft_s", "Time to first token", seconds, "lower"],
  ["generate.tpot_s", "Time per output token", seconds, "lower"],
  ["decode_token_s", "Time per generated token", seconds, "lower"],
  ["generate.tokens_per_s", "Throughput (end to end)", rate, "higher"],
  ["generate.decode_tokens_per_s", "Decode throughput", rate, "higher"],
  ["generate.e2e_latency_s", "End-to-end latency", seconds, "lower"],
  ["prefill.time_s", "Prefill time", seconds, "lower"],
  ["prefill.expected_time_s", "Prefill, expected", seconds, "lower"],
  ["prefill.ops", "Prefill OPs", (v) => si(v), "lower"],
  ["prefill.bytes", "Prefill DRAM traffic", bytesText, "lower"],
  ["prefill.arithmetic_intensity", "Prefill intensity", intensity, null],
  ["prefill.interconnect_bytes", "Prefill link traffic", bytesText, "lower"],
  ["decode.time_s", "Decode step", seconds, "lower"],
  ["decode.expected_time_s", "Decode step, expected", seconds, "lower"],
  ["decode.ops", "Decode-step OPs", (v) => si(v), "lower"],
  ["decode.bytes", "Decode-step DRAM traffic", bytesText, "lower"],
  ["decode.arithmetic_intensity", "Decode intensity", intensity, null],
  ["decode.interconnect_bytes", "Decode link traffic", bytesText, "lower"],
];
const COMPARED = ["generate.ttft_s", "generate.tpot_s", "decode_token_s", "generate.tokens_per_s",
  "prefill.time_s", "decode.time_s", "memory.total_bytes"];
const EXPECTED_TIP = "Expected on real hardware: the bound slowed by the fractions of peak bandwidth and compute "
  + "and the per-layer overheads fitted to published measurements for this class of device (see the Accuracy page); "
  + "an estimate, where the other times are ideal bounds.";
const TIPS = {
  "prefill.expected_time_s": EXPECTED_TIP,
  "decode.expected_time_s": EXPECTED_TIP,
  decode_token_s: "One decode step at the full context per token it yields: a method's figure (speculative and "
    + "parallel decoding divide by the tokens per step, offloading adds the host-link transfer).",
};
const LABELS = Object.fromEntries(FIGURES.map(([key, label, fmt, better]) => [key, { label, fmt, better }]));
LABELS["memory.total_bytes"] = { label: "Memory per device", fmt: bytesText, better: "lower" };

const STAGE_TEXT = {
  all: "all (prefill, decode, generate)",
  prefill: "prefill",
  decode: "decode (one step)",
  generate: "generate (request summary)",
};

function output(key, value, text, tag = "span", extra = "") {
  if (value === undefined) return "";
  const raw = value === null ? "" : String(value);
  return `<${tag} data-output="${key}" data-value="${raw}"${extra}>${esc(text)}</${tag}>`;
}

// ------------------------------------------------------------------------------ state <-> URL

function parseInt10(text) {
  return /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
}

function readState(params, cfg, known, notes) {
  const state = { ...DEFAULTS[cfg.id] };
  if (state.method && !known.methods.has(state.method)) state.method = "";
  if (!known.models.has(state.model)) state.model = known.models.keys().next().value;
  if (!known.devices.has(state.hardware)) state.hardware = known.devices.keys().next().value;
  for (const [key, label, kind] of FIELDS) {
    const raw = params.get(cfg.prefix + key);
    if (raw === null) continue;
    const bad = () => notes.push(`${cfg.title}: ignored ${cfg.prefix}${key}=${raw} (${label.toLowerCase()})`);
    if (key === "model" || key === "hardware" || key === "method") {
      const table = { model: known.models, hardware: known.devices, method: known.methods }[key];
      if (raw === "" && key === "method") state.method = "";
      else if (table.has(raw)) state[key] = raw;
      else bad();
    } else if (key === "stage") {
      if (STAGES.includes(raw)) state.stage = raw; else bad();
    } else if (key === "number_format") {
      if (raw === "int" || raw === "fp") state.number_format = raw; else bad();
    } else if (kind === "bool") {
      if (raw === "1" || raw === "0") state[key] = raw === "1"; else bad();
    } else if (kind === "group") {
      const n = parseInt10(raw);
      if (raw === "" || raw === "none") state[key] = null;
      else if (n > 0 && inRange(key, n)) state[key] = n;
      else bad();
    } else if (kind === "bits") {
      const n = parseInt10(raw);
      if (ALLOWED_BITS.includes(n)) state[key] = n; else bad();
    } else {
      const n = parseInt10(raw);
      if (n > 0 && inRange(key, n)) state[key] = n; else bad();
    }
  }
  return state;
}

function writeState(params, cfg, state) {
  for (const [key, , kind] of FIELDS) {
    const value = state[key];
    let text;
    if (kind === "bool") text = value ? "1" : "0";
    else if (value === null || value === undefined) text = kind === "group" ? "none" : "";
    else text = String(value);
    if (key === "method" && !text) continue;
    if (key === "model" && value === PASTED) continue; // a pasted config.json is not kept in the address
    // Only what readState accepts back goes into the address (the page shows its error for the rest).
    if ((kind === "int" || kind === "group") && value !== null && !(value > 0 && inRange(key, value))) continue;
    params.set(cfg.prefix + key, text);
  }
}

// ------------------------------------------------------------------------------ the page

function effectSummary(effect) {
  switch (effect.kind) {
    case "quantization": {
      const w = effect.weights?.bits ?? 16, a = effect.activations?.bits ?? 16, kv = effect.kv_cache?.bits ?? 16;
      const g = effect.weights?.group_size ? ` g${effect.weights.group_size}` : "";
      return `W${w}A${a}${kv !== 16 ? `KV${kv}` : ""}${g}`;
    }
    case "data_format":
      return `${effect.format}, W${effect.weights_bits || 16}A${effect.activations_bits || 16}`;
    case "operator_fusion":
      return [effect.flash_attention && "fused attention", effect.fused_elementwise && "fused element-wise"]
        .filter(Boolean).join(", ") || "no fusion";
    case "sparsity":
      return `${pct(effect.sparsity)} ${effect.pattern === "n:m" ? `${effect.n}:${effect.m}` : effect.pattern} sparsity`;
    case "low_rank":
      return `${pct(effect.params_kept)} of linear weights kept`;
    case "distillation":
      return effect.student ? `student ${effect.student}` : `${pct(effect.params_kept ?? NaN)} of linear weights kept`;
    case "early_exit":
      return `${pct(effect.average_depth)} of the layers per token`;
    case "contextual_sparsity":
      return [effect.mlp_active != null && `MLP ${pct(effect.mlp_active)} active`,
        effect.heads_active != null && `heads ${pct(effect.heads_active)} active`].filter(Boolean).join(", ");
    case "architecture":
      return `the ${effect.model} model, compared with ${effect.baseline}`;
    case "speculative": {
      const draft = effect.draft_model ? `draft model ${effect.draft_model}`
        : effect.draft_layers ? `${effect.draft_layers}-layer draft` : `draft at ${pct(effect.draft_cost)} of a step`;
      const tau = effect.tokens_per_step ? `${effect.tokens_per_step} tokens per step`
        : `acceptance ${effect.acceptance_rate}`;
      return `${effect.draft_length} draft passes (${draft}), ${effect.verify_tokens || effect.draft_length + 1} `
        + `tokens verified, ${tau}`;
    }
    case "parallel_decoding":
      return `${effect.tokens_per_step} tokens per step${effect.verify_tokens ? `, ${effect.verify_tokens} verified` : ""}`;
    case "kv_compression":
      return `${pct(effect.kv_kept)} of the KV cache kept`;
    case "offloading":
      return `${pct(effect.offloaded)} of the weights over the host link`;
    case "serving":
      return "a serving method (KV allocator, chunked prefill or separate pools), compared as two servers on its page";
    case "none":
      return "not shown on a roofline";
    default:
      return effect.kind.replace(/_/g, " ");
  }
}

const pct = (v) => `${number(100 * v)}%`;

const KIND_TITLES = {
  quantization: "Quantization", data_format: "Number formats", sparsity: "Sparsity (pruning)",
  low_rank: "Low rank", distillation: "Distillation", early_exit: "Early exit",
  contextual_sparsity: "Contextual sparsity", architecture: "Architectures (their own model)",
  speculative: "Speculative decoding",
  parallel_decoding: "Parallel decoding", kv_compression: "KV-cache compression",
  operator_fusion: "Operator fusion", offloading: "Offloading", serving: "Serving (compared on their pages)",
  none: "Not shown on a roofline",
};

function optionsHtml(items, selected) {
  return items.map(([value, text]) => `<option value="${esc(value)}"${value === selected ? " selected" : ""}>`
    + `${esc(text)}</option>`).join("");
}

function grouped(entries, groupOf, textOf) {
  const groups = new Map();
  for (const [id, item] of entries) {
    const g = groupOf(item);
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g).push(`<option value="${esc(id)}">${esc(textOf(item))}</option>`);
  }
  return [...groups].map(([g, opts]) => `<optgroup label="${esc(g)}">${opts.join("")}</optgroup>`).join("");
}

function formHtml(cfg, known) {
  const id = (key) => `kbc-${cfg.id}-${key}`;
  const parts = [];
  for (const [key, label, kind] of FIELDS) {
    let control;
    if (key === "model") {
      control = `<select id="${id(key)}" name="${key}">${grouped(known.models,
        (m) => m.family || m.architecture, (m) => `${m.name} (${si(m.parameters)} params)`)}</select>`;
    } else if (key === "hardware") {
      control = `<select id="${id(key)}" name="${key}">${grouped(known.devices,
        (d) => d.vendor || "Other", (d) => (d.memory_bytes ? `${d.name} (${number(d.memory_bytes / 2 ** 30)} GiB)` : d.name))}</select>`;
    } else if (key === "method") {
      const byKind = new Map(Object.keys(KIND_TITLES).map((k) => [k, []]));
      for (const [mid, m] of known.methods) {
        const opt = `<option value="${esc(mid)}">${esc(m.name)} (${esc(effectSummary(m.effect))})</option>`;
        if (!byKind.has(m.effect.kind)) byKind.set(m.effect.kind, []);
        byKind.get(m.effect.kind).push(opt);
      }
      const groups = [...byKind].filter(([, opts]) => opts.length).map(([kind, opts]) =>
        `<optgroup label="${esc(KIND_TITLES[kind] || kind)}">${opts.join("")}</optgroup>`);
      control = `<select id="${id(key)}" name="${key}"><option value="">none (plain settings)</option>`
        + `${groups.join("")}</select>`;
    } else if (key === "stage") {
      control = `<select id="${id(key)}" name="${key}">${optionsHtml(STAGES.map((s) => [s, STAGE_TEXT[s]]))}</select>`;
    } else if (key === "number_format") {
      control = `<select id="${id(key)}" name="${key}">${optionsHtml([["int", "integer (INT8, INT4)"],
        ["fp", "floating point (FP8, FP6, FP4)"]])}</select>`;
    } else if (kind === "bits") {
      control = `<select id="${id(key)}" name="${key}">${optionsHtml(ALLOWED_BITS.map((b) => [String(b), String(b)]))}</select>`;
    } else if (kind === "bool") {
      parts.push(`<div class="kbc-field kbc-check"><input type="checkbox" id="${id(key)}" name="${key}">`
        + `<label for="${id(key)}">${esc(label)}</label></div>`);
      continue;
    } else {
      const placeholder = kind === "group" ? ' placeholder="none"' : "";
      control = `<input type="number" inputmode="numeric" min="1" step="1" id="${id(key)}" name="${key}"${placeholder}>`;
    }
    parts.push(`<div class="kbc-field kbc-field-${key}"><label for="${id(key)}">${esc(label)}</label>${control}</div>`);
  }
  return `<form class="kbc-form" autocomplete="off" novalidate>${parts.join("")}</form>`;
}

function sectionHtml(cfg, known) {
  return `<section class="kbc-config" data-config="${cfg.id}" aria-labelledby="kbc-${cfg.id}-title">`
    + `<h2 id="kbc-${cfg.id}-title" class="kbc-title">Configuration ${cfg.title}</h2>`
    + formHtml(cfg, known)
    + `<div class="kbc-method" data-role="method" hidden></div>`
    + `<div class="kbc-results" data-role="results"></div>`
    + `</section>`;
}

// ------------------------------------------------------------------------------ one analysis

function baseFields(state) {
  return {
    stage: state.stage,
    batch: state.batch,
    seq_len: state.seq_len,
    gen_len: state.gen_len,
    w_bits: state.w_bits,
    a_bits: state.a_bits,
    kv_bits: state.kv_bits,
    group_size: state.group_size,
    kv_group_size: state.kv_group_size,
    number_format: state.number_format,
    flash_attention: state.flash,
    tp: state.tp,
    quantize_head: state.quantize_head,
  };
}

/**
 * The page's view of a method's outcome (effects.js): the stages the chosen stage asks for, the
 * method's memory and time per generated token; the request summary only where the outcome is a
 * plain analysis (a method that changes rows has none, as in `python -m calculator --method`).
 */
function methodResult(out, settings, model, hardware) {
  const st = settings.stage;
  const stages = {};
  if (st === "prefill" || st === "all") stages.prefill = out.prefill;
  if (st === "decode" || st === "all") stages.decode = out.decode;
  const a = out.analysis;
  return {
    model: a ? a.model : model,
    hardware,
    settings: a ? { ...a.settings, stage: st } : settings,
    stages,
    memory: out.memory,
    generate: a && (st === "generate" || st === "all") ? a.generate : null,
    formats: out.formats,
    notes: out.notes,
    decode_token_s: st === "prefill" ? undefined : out.decode_token_s,
  };
}

/** {result, error, effect, method, fields} for one configuration's state. */
function evaluate(state, known) {
  const method = state.method ? known.methods.get(state.method) : null;
  const own = baseFields(state);
  // Group scales exist only for quantized values: a 16-bit tensor ignores its group size.
  if (!(own.w_bits < 16)) own.group_size = null;
  if (!(own.kv_bits < 16)) own.kv_group_size = null;
  const effect = method ? effectSettings(own, method.effect) : { settings: own, keys: [] };
  // What the reader set on top of the method: plain-precision fields the method does not decide.
  const combined = !method ? [] : Object.keys(PLAIN).filter((k) => {
    const settingKey = k === "flash" ? "flash_attention" : k;
    return !effect.keys.includes(settingKey) && state[k] !== PLAIN[k];
  }).map((k) => `${k === "flash" ? "fused attention" : k.replace(/_/g, " ")} ${state[k] === true ? "on"
    : state[k] === false ? "off" : state[k] ?? "none"}`);
  const fields = effect.settings; // what the inputs show: the method's bits where it decides them
  const found = {
    draftFound: Boolean(method && known.models.has(method.effect.draft_model)),
    studentFound: Boolean(method && known.models.has(method.effect.student)),
  };
  if (!(fields.w_bits < 16)) own.group_size = fields.group_size = null;
  if (!(fields.kv_bits < 16)) own.kv_group_size = fields.kv_group_size = null;
  try {
    checkSettingRanges(own);
    const settings = makeSettings(own);
    const model = known.models.get(state.model), hardware = known.devices.get(state.hardware);
    let result;
    if (method) {
      const e = method.effect;
      const out = applyEffect(model, hardware, settings, e, {
        draft: known.models.get(e.draft_model) ?? null,
        student: known.models.get(e.student) ?? null,
        hostBandwidth: known.hosts.get(state.hardware) ?? null,
      });
      result = methodResult(out, settings, model, hardware);
    } else {
      result = analyze(model, hardware, settings);
      result.decode_token_s = result.stages.decode?.time_s;
    }
    if (known.calibration) {  // the same estimate as calculator.expected.expected_stage_s
      const st = result.stages;
      result.expected = {
        prefill: st.prefill ? expectedStageS(st.prefill, hardware, settings, known.calibration) : undefined,
        decode: st.decode ? expectedStageS(st.decode, hardware, settings, known.calibration) : undefined,
      };
    }
    return { result, error: null, effect, method, fields, combined, ...found };
  } catch (err) {
    return { result: null, error: err.message || String(err), effect, method, fields, combined, ...found };
  }
}

function figuresHtml(result) {
  const items = [];
  for (const [key, label, fmt] of FIGURES) {
    const value = OUTPUTS[key](result);
    if (value === undefined) continue;
    const text = value === null ? "n/a" : fmt(value);
    const tip = TIPS[key] ? ` title="${esc(TIPS[key])}"` : "";
    items.push(`<div class="kbc-figure"><dt${tip}>${esc(label)}</dt>${output(key, value, text, "dd")}</div>`);
  }
  return `<dl class="kbc-figures">${items.join("")}</dl>`;
}

function memoryHtml(result) {
  const m = result.memory;
  const cap = m.capacity_bytes;
  const scale = Math.max(cap || 0, m.total_bytes, result.generate ? result.generate.memory_end_bytes : 0);
  const pct = (v) => `${(100 * v / scale).toFixed(2)}%`;
  const per = result.settings.tp > 1 ? ` per device (${result.settings.tp} devices)` : " per device";
  const fits = m.fits === null ? "capacity unknown" : m.fits ? "fits" : "does not fit";
  let end = "";
  if (result.generate) {
    const g = result.generate;
    end = `<li>After ${g.gen_len} generated tokens: KV cache `
      + `${output("generate.kv_cache_bytes_end", g.kv_cache_bytes_end, bytesText(g.kv_cache_bytes_end))}, total `
      + `${output("generate.memory_end_bytes", g.memory_end_bytes, bytesText(g.memory_end_bytes))}`
      + `${g.fits_end === false ? " (does not fit)" : ""}</li>`;
  }
  const capText = cap ? ` of ${output("memory.capacity_bytes", cap, bytesText(cap))} (${number(cap / 2 ** 30)} GiB)` : "";
  return `<div class="kbc-memory"><h3>Memory${esc(per)}</h3>`
    + `<div class="kbc-bar" role="img" aria-label="weights, KV cache and activations against the device memory">`
    + `<span class="kbc-bar-w" style="width:${pct(m.weights_bytes)}"></span>`
    + `<span class="kbc-bar-kv" style="width:${pct(m.kv_cache_bytes)}"></span>`
    + `<span class="kbc-bar-act" style="width:${pct(m.activations_bytes)}"></span>`
    + (cap ? `<span class="kbc-bar-cap" style="left:${pct(cap)}"></span>` : "")
    + `</div><ul class="kbc-memory-list">`
    + `<li><span class="kbc-key kbc-key-w"></span>Weights ${output("memory.weights_bytes", m.weights_bytes, bytesText(m.weights_bytes))}</li>`
    + `<li><span class="kbc-key kbc-key-kv"></span>KV cache at ${result.settings.seq_len} tokens `
    + `${output("memory.kv_cache_bytes", m.kv_cache_bytes, bytesText(m.kv_cache_bytes))}</li>`
    + `<li><span class="kbc-key kbc-key-act"></span>Peak prefill activations `
    + `${output("memory.activations_bytes", m.activations_bytes, bytesText(m.activations_bytes))}</li>`
    + `<li><strong>Total ${output("memory.total_bytes", m.total_bytes, bytesText(m.total_bytes))}</strong>`
    + `${capText}: <span class="kbc-fit kbc-fit-${m.fits === false ? "no" : "yes"}" data-output="memory.fits" `
    + `data-value="${m.fits}">${fits}</span></li>${end}</ul></div>`;
}

function layersHtml(result) {
  const out = [];
  for (const [name, stage] of Object.entries(result.stages)) {
    const rows = stage.layers.map((r) => {
      const total = r.count * r.time_s;
      const share = stage.time_s ? total / stage.time_s : 0;
      const key = `${name}.layers.${r.name}`;
      const intensityText = r.bound === "interconnect" ? "link" : number(r.arithmetic_intensity);
      return `<tr data-layer="${esc(r.name)}"><th scope="row">${esc(r.name)}</th>`
        + `<td>${r.count}</td>`
        + output(`${key}.ops`, r.ops, si(r.ops), "td")
        + output(`${key}.bytes`, r.bytes, si(r.bytes), "td")
        + `<td>${intensityText}</td>`
        + output(`${key}.time_s`, r.time_s, seconds(r.time_s), "td")
        + `<td><span class="kbc-share" style="--share:${(100 * share).toFixed(1)}%">${(100 * share).toFixed(1)}%</span></td>`
        + `<td class="kbc-bound kbc-b-${r.bound}">${r.bound} <small>${esc(r.format)}</small></td></tr>`;
    }).join("");
    out.push(`<div class="kbc-table-wrap"><table class="kbc-layers" data-stage="${name}">`
      + `<caption>${name === "prefill" ? `Prefill: ${result.settings.batch} × ${result.settings.seq_len} tokens`
        : stage.step_tokens ? `Decode step: one target pass over ${stage.step_tokens} tokens per sequence `
          + `against ${result.settings.seq_len} cached`
          : `Decode: one token per sequence against ${stage.context_tokens ?? result.settings.seq_len} cached`}</caption>`
      + "<thead><tr><th scope=\"col\">Layer</th><th scope=\"col\" title=\"occurrences\">×</th>"
      + "<th scope=\"col\">OPs</th><th scope=\"col\">Bytes</th><th scope=\"col\">OPs/byte</th>"
      + "<th scope=\"col\">Time (each)</th><th scope=\"col\">Share</th><th scope=\"col\">Bound</th></tr></thead>"
      + `<tbody>${rows}</tbody><tfoot><tr><th scope="row">Total</th><td></td>`
      + `<td>${esc(si(stage.ops))}</td><td>${esc(si(stage.bytes))}</td><td>${esc(number(stage.arithmetic_intensity))}</td>`
      + `<td>${esc(seconds(stage.time_s))}</td><td>100%</td><td></td></tr></tfoot></table></div>`);
  }
  if (!out.length) {
    return '<p class="kbc-hint">Per-layer tables are shown for the stages prefill, decode and all.</p>';
  }
  return out.join("");
}

function resultsHtml(cfg, ev, known) {
  if (ev.error) {
    return `<p class="kbc-error" role="alert" data-role="error">${esc(ev.error)}</p>`;
  }
  const r = ev.result;
  const notes = r.notes.map((n) => `<li>${esc(n)}</li>`).join("");
  const hw = r.hardware;
  const link = r.settings.tp > 1 && hw.interconnect_name ? `, ${hw.interconnect_name}` : "";
  return `<p class="kbc-summary">${esc(r.model.name)} (${output("model.parameters", r.model.parameters,
    `${si(r.model.parameters)} parameters`)}) on ${esc(hw.name)}${r.settings.tp > 1 ? ` × ${r.settings.tp}${esc(link)}` : ""}; `
    + `linear layers at ${esc(r.formats.linear)} ${esc(si(hw.peaks[r.formats.linear]))}OPS, `
    + `${esc(si(hw.memory_bandwidth))}B/s.</p>`
    + (notes ? `<ul class="kbc-notes">${notes}</ul>` : "")
    + figuresHtml(r)
    + memoryHtml(r)
    + `<figure class="kbc-figure-chart">${rooflineSvg(r, `Roofline of configuration ${cfg.title}: `
      + `${r.model.name} on ${hw.name}`)}<figcaption>Each layer is a point at its arithmetic intensity and `
      + "attainable OPs/s; the lines are the device's memory slope and compute ceilings. Hover a point for its "
      + "name (on a touch screen, tap it).</figcaption></figure>"
    + layersHtml(r);
}

/** What the method changes, in words, for the kinds that change rows or the model. */
function effectNotes(e, ev) {
  const out = [];
  const r = ev.result;
  switch (e.kind) {
    case "data_format":
      out.push(`${e.format} is modelled as ${ev.fields.w_bits}-bit weights and ${ev.fields.a_bits}-bit activations `
        + `computed in ${ev.fields.number_format === "fp" ? "floating point" : "integer"} formats.`);
      break;
    case "operator_fusion":
      if (e.fused_elementwise) out.push("Norms, activations, softmax and residual adds move no DRAM bytes.");
      break;
    case "sparsity":
      out.push(e.pattern === "unstructured"
        ? "Linear weights shrink to the kept ones plus a 1-bit mask per weight; ops stay (dense tensor cores)."
        : `Linear weights and ops shrink to the kept ${pct(1 - e.sparsity)}${e.pattern === "n:m" ? " (2 index bits per kept weight)" : ""}.`);
      break;
    case "low_rank":
    case "distillation":
      if (e.student && ev.studentFound) out.push(`Analysed as the student model ${e.student}.`);
      else out.push(`${e.student ? `The student ${e.student} is not in the catalogue: ` : ""}`
        + "linear rows' ops and bytes are scaled by the kept fraction.");
      break;
    case "early_exit":
      out.push("Decode block layers run on average for the given share of the layers; prefill runs every layer.");
      break;
    case "contextual_sparsity":
      out.push("Only the decode step changes: MLP rows and attention rows are scaled by their active shares.");
      break;
    case "architecture":
      out.push(`An architecture is its own model: choose ${e.model} as the model; its page compares it with `
        + `${e.baseline}${Object.keys(e.baseline_changes || {}).length ? " (a variant)" : ""}.`);
      break;
    case "speculative": {
      const g = Math.trunc(e.draft_length);
      const draft = ev.draftFound ? `the draft model ${e.draft_model}`
        : e.draft_layers ? `${e.draft_layers} decoder layers of the target plus its lm_head`
          : `${pct(e.draft_cost)} of a target step`;
      out.push(`${number(tokensPerStep(e))} tokens per step on average; a step costs ${g} draft passes `
        + `(${draft} each) plus the target's pass over ${Math.trunc(e.verify_tokens || g + 1)} tokens, shown as `
        + "the decode table.");
      break;
    }
    case "parallel_decoding":
      out.push(`One target pass over ${Math.trunc(e.verify_tokens || Math.ceil(e.tokens_per_step))} tokens per step `
        + `(the decode table) yields ${e.tokens_per_step} tokens on average.`);
      break;
    case "kv_compression":
      out.push("Decode attends to the kept share of the context; the KV cache shrinks by the same share.");
      break;
    case "offloading":
      out.push("The offloaded weights cross the host link (at half its two-way bandwidth) every decode step.");
      break;
    default:
  }
  if (r && !r.generate && e.kind !== "none" && r.settings.stage !== "prefill" && r.settings.stage !== "decode") {
    out.push("No request summary (time to first token, throughput): this method changes layer rows, so the "
      + "time per generated token stands for the decode stage.");
  }
  return out;
}

function methodHtml(ev) {
  if (!ev.method) return "";
  const m = ev.method;
  const e = m.effect;
  const url = new URL(m.url, SITE_ROOT).pathname;
  const head = e.kind === "none"
    ? `<strong>${esc(m.name)}</strong> cannot be shown on a roofline: ${esc(e.reason || "")}`
    : `<strong>${esc(m.name)}</strong> applied: ${esc(effectSummary(e))}.`;
  const basis = e.basis ? ` <span class="kbc-basis">${esc(e.basis)}</span>` : "";
  const extra = ev.combined.length && e.kind !== "none"
    ? [`Combined with your own settings, not part of the method: ${ev.combined.join(", ")}.`] : [];
  const notes = [...extra, ...effectNotes(e, ev)].map((n) => `<li data-role="${extra.includes(n) ? "combined" : "note"}">`
    + `${esc(n)}</li>`).join("");
  return `<p>${head}${basis} <a href="${esc(url)}">About ${esc(m.name)}</a></p>${notes ? `<ul>${notes}</ul>` : ""}`;
}

function comparisonHtml(evs) {
  const [a, b] = evs;
  const rows = [];
  if (a.result && b.result) {
    for (const key of COMPARED) {
      const va = OUTPUTS[key](a.result), vb = OUTPUTS[key](b.result);
      if (va === undefined || vb === undefined || va === null || vb === null) continue;
      const { label, fmt, better } = LABELS[key];
      let verdict = "same";
      if (va !== vb && va > 0 && vb > 0) {
        const bBetter = better === "higher" ? vb > va : vb < va;
        const factor = better === "higher" ? Math.max(va, vb) / Math.min(va, vb) : Math.max(va, vb) / Math.min(va, vb);
        const word = key.startsWith("memory") ? (bBetter ? "smaller" : "larger")
          : bBetter ? (better === "higher" ? "higher" : "faster") : (better === "higher" ? "lower" : "slower");
        verdict = `B ${number(factor)}× ${word}`;
      }
      rows.push(`<tr data-compare="${key}"><th scope="row">${esc(label)}</th><td>${esc(fmt(va))}</td>`
        + `<td>${esc(fmt(vb))}</td><td data-value="${vb / va}">${esc(verdict)}</td></tr>`);
    }
  }
  if (!rows.length) return "";
  return `<table class="kbc-compare"><caption>B against A</caption><thead><tr><th scope="col">Metric</th>`
    + `<th scope="col">A</th><th scope="col">B</th><th scope="col">B vs A</th></tr></thead>`
    + `<tbody>${rows.join("")}</tbody></table>`;
}

// ------------------------------------------------------------------------------ serving (issue 15.9)
//
// One panel for A and B: capacity (calculator.serving.capacity), the throughput-latency curve of static
// batches with its capacity end and knee (serving.curve), and the SLA answer for each configuration's
// device and setup (calculator.search for one group), all from serving.js, held to Python by
// tests/js/serving_vectors.json. Every figure is a roofline bound, and says so.

// The serving view's own keys in the address (written only when they differ from these defaults).
const SERVING_DEFAULTS = { serve_alloc: "paged", sla_ttft_ms: "1000", sla_tpot_ms: "50" };
const SERVING_KEYS = Object.keys(SERVING_DEFAULTS);
// Methods the serving model takes: those that only set the run's formats (as python -m calculator
// --stage serve); a method that changes layer rows is refused there and here.
const SERVING_EFFECTS = ["quantization", "data_format"];
const SLA_MAX_MS = 1e9; // search.search refuses limits of 1e6 s and more
const ALLOCATOR_TEXT = {
  paged: "paged, blocks of 16 tokens (PagedAttention, vLLM)",
  reserve: "reserve the model's whole context per request",
};

function readServing(params, notes) {
  const out = { ...SERVING_DEFAULTS };
  for (const key of SERVING_KEYS) {
    const raw = params.get(key);
    if (raw === null) continue;
    const ok = key === "serve_alloc" ? ALLOCATORS.includes(raw) : slaLimit(raw, key).error === null;
    if (ok) out[key] = raw;
    else notes.push(`ignored ${key}=${raw} (${key === "serve_alloc" ? "KV-cache allocator" : "SLA limit"})`);
  }
  return out;
}

function writeServing(params, serving) {
  for (const key of SERVING_KEYS) {
    const value = serving[key];
    if (value === SERVING_DEFAULTS[key]) continue;
    if (key !== "serve_alloc" && slaLimit(value, key).error !== null) continue; // never write a refused value
    params.set(key, value.trim());
  }
}

/** {value (seconds), error (text or null)} for one SLA input, in milliseconds, range-checked like limits.js. */
function slaLimit(text, key) {
  const name = key === "sla_ttft_ms" ? "TTFT limit" : "TPOT limit";
  const raw = String(text ?? "").trim();
  if (raw === "") return { value: null, error: `${name}: give a number of milliseconds` };
  const ms = /^[0-9]*\.?[0-9]+(e[+-]?[0-9]+)?$/i.test(raw) ? Number(raw) : NaN;
  if (!(ms > 0 && ms < SLA_MAX_MS)) {
    return { value: null, error: `${name} must be a number of milliseconds above 0 and below 1e+09 `
      + `(1e+06 s, the search's own limit), got '${raw}'` };
  }
  return { value: ms / 1e3, error: null };
}

/** The serving figures of one configuration: {refusal} or {step, cap, curve, knees, settings, model, hardware}. */
function serveOne(ev, state, known, serving) {
  if (ev.error) return { refusal: "no serving figures: the setting is refused (the message is under the configuration)" };
  if (ev.method && !SERVING_EFFECTS.includes(ev.method.effect.kind)) {
    return { refusal: `no serving figures with ${ev.method.name}: a ${ev.method.effect.kind.replace(/_/g, " ")} `
      + "effect changes layer rows, and the serving model takes only methods that set formats (quantization, "
      + "number formats), as python -m calculator --stage serve does" };
  }
  const model = known.models.get(state.model), hardware = known.devices.get(state.hardware);
  try {
    const settings = makeSettings(ev.fields);
    const step = new StepModel(model, hardware, settings);
    const cap = capacity(model, hardware, settings, { allocator: serving.serve_alloc, step });
    const out = { model, hardware, settings, step, cap };
    if (cap.max_batch === 0) return out;
    out.curve = curve(model, hardware, settings, { step, cap });
    out.knees = {};
    for (const name of ["knee_batch", "weights_knee_batch"]) {
      const b = out.curve[name];
      if (b !== null && (cap.max_batch === null || b <= cap.max_batch)) {
        out.knees[name] = point(step, b, settings.seq_len, settings.gen_len);
      }
    }
    return out;
  } catch (err) {
    return { refusal: `no serving figures: ${err.message || err}` };
  }
}

/** The SLA answer (search for one group) of a served configuration, or null. */
function slaOne(sv, limits) {
  if (!sv.step || limits.error) return null;
  const s = sv.settings;
  return sla(sv.step, sv.cap, s.seq_len, s.gen_len, limits.ttft, limits.tpot);
}

const GROUPED = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
function count(v) { // 120992 -> "120,992"
  return GROUPED.format(v);
}
const tokS = (v) => `${v >= 1000 ? count(v) : number(v)} tok/s`;
const ms = (v) => seconds(v);

function capacityHtml(cfg, sv) {
  const head = `<strong class="kbc-serve-name kbc-serve-name-${cfg.id}">${cfg.title}</strong>`;
  if (sv.refusal) {
    return `<div class="kbc-serve-cap kbc-serve-off" data-serving="${cfg.id}" data-role="serving-refusal">`
      + `<p class="kbc-serve-line">${head}: ${esc(sv.refusal)}.</p></div>`;
  }
  const { cap, settings: s, hardware: hw, model } = sv;
  const shape = `${count(s.seq_len)} + ${count(s.gen_len)} tokens`;
  const per = s.tp > 1 ? ` per device (${s.tp} devices)` : "";
  const where = `${model.name} on ${hw.name}${s.tp > 1 ? ` × ${s.tp}` : ""}`;
  const kvText = cap.allocator === "paged"
    ? `paged KV cache ${bytesText(cap.kv_bytes_per_sequence)} a sequence (${count(cap.kv_tokens_allocated)} slots in blocks of ${cap.block_size})`
    : `reserved KV cache ${bytesText(cap.kv_bytes_per_sequence)} a sequence (${count(cap.kv_tokens_allocated)} tokens)`;
  const notes = cap.notes.filter((n) => n !== "one request of this shape does not fit").map((n) => ` ${n}.`).join("");
  const detail = (text) => `<p class="kbc-serve-detail">${esc(where)}. ${text}${esc(notes)}</p>`;
  const wrap = (cls, line, more) => `<div class="kbc-serve-cap${cls}" data-serving="${cfg.id}" data-role="serving-capacity">`
    + `<p class="kbc-serve-line">${line}</p>${more}</div>`;
  if (cap.max_batch === 0) {
    const act = sv.step.activationBytes(s.seq_len);
    const one = cap.weights_bytes + cap.kv_bytes_per_sequence + act;
    const why = cap.weights_bytes > cap.usable_bytes
      ? `The weights alone, ${bytesText(cap.weights_bytes)}${per}, exceed the device's ${bytesText(cap.usable_bytes)}.`
      : `Weights ${bytesText(cap.weights_bytes)} + one sequence's KV cache ${bytesText(cap.kv_bytes_per_sequence)} + its `
        + `prompt activations ${bytesText(act)} = ${bytesText(one)}${per}, more than the device's ${bytesText(cap.usable_bytes)}.`;
    return wrap(" kbc-serve-off", `${head}: ${output("serving.max_batch", 0, "no")} request of ${esc(shape)} fits, so `
      + "no curve and no SLA answer.", detail(esc(why)));
  }
  const top = sv.curve.points[sv.curve.points.length - 1];
  const fit = cap.max_batch === null
    ? `${output("serving.max_batch", null, "no batch limit")} (the device states no memory; drawn to 1,024)`
    : `up to ${output("serving.max_batch", cap.max_batch, count(cap.max_batch), "strong")} sequences of ${esc(shape)} fit`;
  const line = `${head}: ${fit}; at batch ${count(top.batch)} up to `
    + `${output("serving.top_tokens_per_s_per_device", top.tokens_per_s_per_device, tokS(top.tokens_per_s_per_device))} `
    + `per device, TPOT at least ${output("serving.top_tpot_s", top.tpot_s, ms(top.tpot_s))}.`;
  const bound = cap.max_batch === null ? "" : `An upper bound: only weights ${bytesText(cap.weights_bytes)}, ${kvText} `
    + `and prompt activations take the device's ${bytesText(cap.usable_bytes)}${per}. `;
  const longest = cap.longest_context === null ? ""
    : `At batch ${count(cap.batch)} the longest context is ${output("serving.longest_context", cap.longest_context,
      count(cap.longest_context))} tokens. `;
  const k = sv.curve.knee_batch, kw = sv.curve.weights_knee_batch;
  const within = (b) => b !== null && (cap.max_batch === null || b <= cap.max_batch);
  const knee = k === null ? "The decode step stays memory-bound at every batch"
    : `The decode step turns compute-bound at batch ${output("serving.knee_batch", k, count(k))}`
      + (within(k) ? " (the knee)" : ", beyond the capacity");
  const kneeW = kw === null ? "." : `; its linear layers alone at batch ${output("serving.weights_knee_batch", kw, count(kw))}`
    + `${within(kw) ? "" : ", beyond the capacity"}.`;
  return wrap("", line, detail(`${esc(bound)}${longest}${knee}${kneeW}`));
}

function slaHtml(cfg, sv, answer, limits) {
  const head = `<strong>${cfg.title}</strong>`;
  if (limits.error) return "";
  if (sv.refusal) return `<li data-serving="${cfg.id}" class="kbc-serve-off">${head}: no answer (no serving figures).</li>`;
  if (!answer || answer.limit < 1) {
    return `<li data-serving="${cfg.id}" data-role="sla-none" class="kbc-serve-off">${head}: no answer: `
      + "one request does not fit.</li>";
  }
  const b = answer.best;
  if (!b) {
    const f = answer.first;
    const over = [f.ttft_s > limits.ttft && `TTFT of at least ${ms(f.ttft_s)}`,
      f.tpot_s > limits.tpot && `TPOT of at least ${ms(f.tpot_s)}`].filter(Boolean).join(" and ");
    return `<li data-serving="${cfg.id}" data-role="sla-none" class="kbc-serve-off">${head}: no batch meets both `
      + `limits: batch 1 already needs a ${esc(over)} (lower bounds).</li>`;
  }
  const items = [
    ["batch", `batch ${output("serving.sla.batch", b.batch, String(b.batch), "strong")}`],
    ["device", `up to ${output("serving.sla.tokens_per_s_per_device", b.tokens_per_s_per_device, tokS(b.tokens_per_s_per_device))} per device`],
    ["user", `up to ${output("serving.sla.tokens_per_s_per_user", b.tokens_per_s_per_user, tokS(b.tokens_per_s_per_user))} per user`],
    ["ttft", `TTFT at least ${output("serving.sla.ttft_s", b.ttft_s, ms(b.ttft_s))}`],
    ["tpot", `TPOT at least ${output("serving.sla.tpot_s", b.tpot_s, ms(b.tpot_s))}`],
  ];
  return `<li data-serving="${cfg.id}" data-role="sla-best">${head}: `
    + items.map(([k, html]) => `<span class="kbc-sla-item" data-item="${k}">${html}</span>`).join(" ")
    + ` <span class="kbc-serve-kind">(${count(answer.evaluated)} batches tried)</span></li>`;
}

// The chart: tokens/s per device against TPOT, log-log, both configurations. `width` follows the panel
// (a ResizeObserver), so the text keeps its size on a phone.
const SH = 300, SL = 52, SR = 12, ST = 10, SB = 38;

function logTicks(lo, hi) {
  const out = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
    }
  }
  return out.length > 7 ? out.filter((v) => /^1/.test(v.toExponential())) : out;
}

function logRange(values, minRatio = 4) {
  let lo = Math.min(...values) / 1.25, hi = Math.max(...values) * 1.25;
  if (hi / lo < minRatio) {
    const mid = Math.sqrt(lo * hi), half = Math.sqrt(minRatio);
    [lo, hi] = [mid / half, mid * half];
  }
  return [lo, hi];
}

function servingSvg(series, limits, width = 520) {
  const drawn = series.filter((s) => s.sv.curve && s.sv.curve.points.length);
  const label = "Output tokens/s per device against time per output token, configurations A and B";
  if (!drawn.length) {
    return '<p class="kbc-hint" data-role="serving-chart-empty">No curve to draw: neither configuration has a '
      + "batch that fits.</p>";
  }
  const SW = Math.round(width);
  const xs = [], ys = [];
  for (const s of drawn) {
    for (const p of s.sv.curve.points) {
      xs.push(p.tpot_s * 1e3);
      ys.push(p.tokens_per_s_per_device);
    }
  }
  const [x0, x1] = logRange(xs), [y0, y1] = logRange(ys);
  const pw = SW - SL - SR, ph = SH - ST - SB;
  const lx = (v) => SL + (Math.log10(v) - Math.log10(x0)) / (Math.log10(x1) - Math.log10(x0)) * pw;
  const ly = (v) => ST + (Math.log10(y1) - Math.log10(v)) / (Math.log10(y1) - Math.log10(y0)) * ph;
  const f = (v) => v.toFixed(1);
  const out = [`<svg class="kbc-chart kbc-serve-chart" viewBox="0 0 ${SW} ${SH}" role="img" aria-label="${esc(label)}">`,
    `<title>${esc(label)}</title>`];
  for (const v of logTicks(x0, x1)) {
    out.push(`<line class="kbc-grid" x1="${f(lx(v))}" y1="${ST}" x2="${f(lx(v))}" y2="${ST + ph}"/>`
      + `<text class="kbc-tick" x="${f(lx(v))}" y="${ST + ph + 14}" text-anchor="middle">${number(v)}</text>`);
  }
  for (const v of logTicks(y0, y1)) {
    out.push(`<line class="kbc-grid" x1="${SL}" y1="${f(ly(v))}" x2="${SL + pw}" y2="${f(ly(v))}"/>`
      + `<text class="kbc-tick" x="${SL - 5}" y="${f(ly(v))}" dy="0.32em" text-anchor="end">${si(v)}</text>`);
  }
  out.push(`<rect class="kbc-frame" x="${SL}" y="${ST}" width="${pw}" height="${ph}"/>`);
  out.push(`<text class="kbc-axis" x="${SL + pw / 2}" y="${SH - 5}" text-anchor="middle">TPOT, ms (lower bound)</text>`);
  out.push(`<text class="kbc-axis" transform="translate(12 ${ST + ph / 2}) rotate(-90)" text-anchor="middle">`
    + "tokens/s per device (upper bound)</text>");
  if (!limits.error) {
    const t = limits.tpot * 1e3;
    if (t > x0 && t < x1) {
      out.push(`<line class="kbc-serve-limit" data-marker="tpot-limit" x1="${f(lx(t))}" y1="${ST}" x2="${f(lx(t))}" `
        + `y2="${ST + ph}"/><text class="kbc-roof-label" x="${f(lx(t) - 3)}" y="${ST + ph - 5}" `
        + `text-anchor="end">TPOT limit</text>`);
    }
  }
  for (const s of drawn) {
    const { id, title } = s.cfg;
    const pts = s.sv.curve.points;
    const xy = (p) => [lx(p.tpot_s * 1e3), ly(p.tokens_per_s_per_device)];
    out.push(`<polyline class="kbc-serve-curve-${id}" data-curve="${id}" data-points="${pts.length}" points="`
      + `${pts.map((p) => xy(p).map(f).join(",")).join(" ")}"/>`);
    const tip = (p, what) => `${title}${what}, batch ${count(p.batch)}: TPOT ≥ ${ms(p.tpot_s)}, TTFT ≥ ${ms(p.ttft_s)}, `
      + `≤ ${tokS(p.tokens_per_s_per_device)} per device, ${p.decode_bound}-bound decode`;
    pts.forEach((p, i) => {
      const [cx, cy] = xy(p);
      if (i < pts.length - 1) {
        out.push(`<circle class="kbc-serve-pt-${id}" cx="${f(cx)}" cy="${f(cy)}" r="3.5"><title>${esc(tip(p, ""))}</title></circle>`);
        return;
      }
      const capped = s.sv.cap.max_batch !== null;
      // A's label under its square, B's over it: two ends close together stay readable.
      const dy = id === "a" ? 17 : -9;
      out.push(`<rect class="kbc-serve-pt-${id}" data-marker="capacity" data-config="${id}" data-batch="${p.batch}" `
        + `x="${f(cx - 5)}" y="${f(cy - 5)}" width="10" height="10"><title>${esc(tip(p, capped ? " at capacity" : " (no stated capacity)"))}`
        + `</title></rect><text class="kbc-legend" x="${f(Math.min(cx, SL + pw - 4))}" y="${f(cy + dy)}" text-anchor="end">`
        + `${title} ${count(p.batch)}</text>`);
    });
    for (const [name, p] of Object.entries(s.sv.knees)) {
      const [cx, cy] = xy(p);
      const whole = name === "knee_batch";
      const d = `M${f(cx)},${f(cy - 6)} L${f(cx + 6)},${f(cy)} L${f(cx)},${f(cy + 6)} L${f(cx - 6)},${f(cy)} Z`;
      out.push(`<path class="kbc-serve-knee-${id}${whole ? "" : " kbc-serve-knee-open"}" data-tip="" `
        + `data-marker="${whole ? "knee" : "weights-knee"}" data-config="${id}" data-batch="${p.batch}" d="${d}"><title>`
        + `${esc(tip(p, whole ? ": the decode step turns compute-bound (knee)" : ": the linear layers turn compute-bound"))}`
        + "</title></path>");
    }
    if (s.answer && s.answer.best) {
      const [cx, cy] = xy(s.answer.best);
      out.push(`<circle class="kbc-serve-sla-${id}" data-marker="sla" data-config="${id}" data-batch="${s.answer.best.batch}" `
        + `cx="${f(cx)}" cy="${f(cy)}" r="8"><title>${esc(tip(s.answer.best, ": the best batch within the SLA limits"))}</title></circle>`);
    }
  }
  out.push("</svg>");
  return out.join("");
}

function servingLegendHtml(series) {
  const items = series.map(({ cfg, sv }) => `<span class="kbc-serve-key kbc-serve-key-${cfg.id}">${cfg.title}`
    + `${sv.curve ? "" : sv.refusal ? " (not shown)" : " (does not fit)"}</span>`);
  return `<p class="kbc-serve-legend">${items.join(" ")} <span>■ capacity</span> <span>◆ knee</span> `
    + "<span>◇ linear-layer knee</span> <span>○ SLA answer</span></p>";
}

function servingPanelHtml(serving) {
  const field = (key, label) => `<div class="kbc-field"><label for="kbc-${key}">${label}</label>`
    + `<input type="text" inputmode="decimal" id="kbc-${key}" name="${key}" value="${esc(serving[key])}" `
    + 'autocomplete="off" spellcheck="false"></div>';
  return `<details class="kbc-serving" data-role="serving" open id="kbc-serving">`
    + `<summary><h2 class="kbc-title">Serving A and B: capacity, throughput against latency, SLA</h2></summary>`
    + `<p class="kbc-hint">Static batches of each configuration's prompt and generated tokens (calculator/serving.py, `
    + "run in your browser). Every figure is a roofline <em>bound</em>, none an estimate: capacity and tokens/s are "
    + "upper bounds, TTFT and TPOT lower bounds.</p>"
    + `<div data-role="serving-capacity-list"></div>`
    + `<figure class="kbc-figure-chart kbc-serve-figure" data-role="serving-chart"></figure>`
    + `<form class="kbc-sla-form" data-role="sla-form" autocomplete="off" novalidate>`
    + field("sla_ttft_ms", "TTFT limit (ms)") + field("sla_tpot_ms", "TPOT limit (ms)")
    + `<div class="kbc-field"><label for="kbc-serve_alloc">KV-cache allocator</label><select id="kbc-serve_alloc" `
    + `name="serve_alloc">${optionsHtml(ALLOCATORS.map((a) => [a, ALLOCATOR_TEXT[a]]), serving.serve_alloc)}</select></div>`
    + "</form>"
    + `<p class="kbc-error" role="alert" data-role="sla-error" hidden></p>`
    + `<p class="kbc-hint">SLA answer: the batch with the most output tokens/s per device whose TTFT and TPOT meet `
    + "both limits, searched as calculator/search.py does for one device and setup (every batch to 256, then steps "
    + "of 5%, to the capacity). The times are bounds: a real server meets the limits at this batch or a smaller one.</p>"
    + `<ul class="kbc-sla-answers" data-role="sla-answer"></ul>`
    + "</details>";
}

// ------------------------------------------------------------------------------ a pasted config.json
//
// hfconfig.js (the mirror of calculator/hf.py, as `python -m calculator --config config.json` reads a file)
// turns a pasted Hugging Face config.json into a model; it joins the model lists as "Pasted config.json" and
// is analysed and served like any catalogue model. It lives in the page only (not in the address).

const PASTED = "pasted-config";

function pasteHtml() {
  return `<details class="kbc-paste" data-role="paste"><summary>Paste a Hugging Face config.json as a model</summary>`
    + `<p class="kbc-hint">Read as <code>python -m calculator --config config.json</code> reads it (calculator/hf.py): `
    + "the model types it knows, their defaults, one-line refusals. The pasted model stays in this page, not in "
    + "the address.</p>"
    + `<label class="kbc-paste-label" for="kbc-paste-text">config.json</label>`
    + `<textarea id="kbc-paste-text" name="config" rows="6" spellcheck="false" autocomplete="off" `
    + `placeholder='{"model_type": "llama", "hidden_size": 4096, ...}'></textarea>`
    + `<div class="kbc-paste-actions">${CONFIGS.map((cfg) => `<button type="button" class="md-button" `
      + `data-paste="${cfg.id}">Use in ${cfg.title}</button>`).join("")}</div>`
    + `<p class="kbc-paste-status" data-role="paste-status" role="status" aria-live="polite"></p></details>`;
}

/** {model} or {error} for the pasted text (JSON.parse, then hfconfig.js's modelFromConfig, loaded on first use). */
async function pastedModel(text) {
  let modelFromConfig;
  try {
    ({ modelFromConfig } = await import("./hfconfig.js"));
  } catch (err) {
    return { error: `the config reader (assets/js/hfconfig.js) could not load: ${err.message || err}` };
  }
  let config;
  try {
    config = JSON.parse(text);
  } catch (err) {
    return { error: `not a config.json: the text is not JSON (${err.message})` };
  }
  try {
    const named = config && typeof config === "object" && typeof config._name_or_path === "string"
      ? config._name_or_path : "";
    const model = modelFromConfig(config, { id: PASTED, name: `Pasted config.json${named ? ` (${named})` : ""}` });
    return { model: { ...model, family: "Pasted config.json" } };
  } catch (err) {
    return { error: err.message || String(err) };
  }
}

// ------------------------------------------------------------------------------ mount

async function loadKnown() {
  const [catalogue, methodsDoc, calibration] = await Promise.all([loadData("catalogue.json"),
    loadData("calculator-methods.json"), loadParameters(SITE_ROOT)]);
  const known = { models: new Map(), devices: new Map(), hosts: new Map(), methods: new Map(), skipped: [], calibration };
  const byName = (x, y) => x[1].name.localeCompare(y[1].name, "en", { numeric: true });
  const models = [], devices = [];
  for (const [id, data] of Object.entries(catalogue.models || {})) {
    try {
      const m = modelFromCatalogue(data);
      models.push([id, { ...m, family: data.family || "" }]);
    } catch (err) {
      known.skipped.push(`model ${id}: ${err.message}`);
    }
  }
  for (const [id, data] of Object.entries(catalogue.hardware || {})) {
    try {
      const d = hardwareFromCatalogue(data);
      devices.push([id, { ...d, vendor: data.vendor || "" }]);
      const host = hostBandwidthFromCatalogue(data);
      if (host) known.hosts.set(id, host);
    } catch (err) {
      known.skipped.push(`hardware ${id}: ${err.message}`);
    }
  }
  models.sort((x, y) => (x[1].family || "").localeCompare(y[1].family || "") || x[1].parameters - y[1].parameters);
  devices.sort((x, y) => (x[1].vendor || "").localeCompare(y[1].vendor || "") || byName(x, y));
  for (const [id, m] of models) known.models.set(id, m);
  for (const [id, d] of devices) known.devices.set(id, d);
  const methods = (methodsDoc.methods || []).filter((m) => m.effect).map((m) => [m.id, m]);
  methods.sort(byName);
  for (const [id, m] of methods) known.methods.set(id, m);
  if (!known.models.size || !known.devices.size) throw new Error("the catalogue has no models or no devices");
  return known;
}

export function mount(root) {
  const path = location.pathname;
  let alive = true;
  root.setAttribute("aria-busy", "true");
  const fail = (err) => {
    if (!alive) return;
    root.removeAttribute("aria-busy");
    root.innerHTML = `<p class="kbc-error" role="alert">The calculator could not start: ${esc(err.message || err)}. `
      + "It needs data/catalogue.json and data/calculator-methods.json from this site.</p>";
  };
  loadKnown().then((known) => {
    if (alive) start(root, known, () => alive && location.pathname === path);
  }).catch(fail);
  return () => {
    alive = false;
  };
}

function start(root, known, stillHere) {
  const params = new URLSearchParams(location.search);
  const urlNotes = [];
  const state = {};
  for (const cfg of CONFIGS) state[cfg.id] = readState(params, cfg, known, urlNotes);
  // A link that sets only A: with a method, A becomes the same settings without it and B the method (the
  // reading "B n x faster"); without one, B is A's plain baseline.
  const serving = readServing(params, urlNotes);
  const keys = [...params.keys()].filter((k) => !SERVING_KEYS.includes(k)); // the serving view's keys set no config
  // B's demonstration method is for a bare visit only: a link means exactly what it says.
  if (keys.length && params.get("b_method") === null) state.b.method = "";
  if (keys.length && !keys.some((k) => k.startsWith("b_"))) {
    if (state.a.method) [state.a, state.b] = [{ ...state.a, method: "" }, { ...state.a }];
    else state.b = { ...state.a, ...PLAIN, method: "" };
  }

  root.removeAttribute("aria-busy");
  root.classList.add("kbc-ready");
  root.innerHTML = `<div class="kbc-toolbar">`
    + `<button type="button" class="md-button" data-action="copy-link">Copy link</button>`
    + `<button type="button" class="md-button" data-action="a-to-b">Copy A to B</button>`
    + `<button type="button" class="md-button" data-action="swap">Swap A and B</button>`
    + `<button type="button" class="md-button" data-action="reset">Reset</button>`
    + `<span class="kbc-status" data-role="status" aria-live="polite"></span></div>`
    + pasteHtml()
    + (urlNotes.length || known.skipped.length
      ? `<ul class="kbc-notes" data-role="url-notes">${[...urlNotes, ...known.skipped].map((n) => `<li>${esc(n)}</li>`).join("")}</ul>` : "")
    + `<div class="kbc-compare-wrap" data-role="compare" aria-live="polite"></div>`
    + servingPanelHtml(serving)
    // On a narrow screen one configuration at a time, under the comparison: no scrolling past A to reach B.
    + `<div class="kbc-show" role="group" aria-label="Configuration shown">`
    + CONFIGS.map((cfg) => `<button type="button" class="md-button" data-show="${cfg.id}" `
      + `aria-pressed="${cfg.id === "a"}">Show ${cfg.title}</button>`).join("")
    + "</div>"
    + `<div class="kbc-columns">${CONFIGS.map((cfg) => sectionHtml(cfg, known)).join("")}</div>`
    + `<p class="kbc-timing" data-role="timing"></p>`;

  const sections = Object.fromEntries(CONFIGS.map((cfg) => [cfg.id, root.querySelector(`section[data-config="${cfg.id}"]`)]));
  const evs = {};
  const status = root.querySelector('[data-role="status"]');

  const saveUrl = debounce(() => {
    if (!stillHere() || !root.isConnected) return;
    const out = new URLSearchParams();
    for (const cfg of CONFIGS) writeState(out, cfg, state[cfg.id]);
    writeServing(out, serving);
    writeQuery(out);
  }, 120);

  function syncForm(cfg) {
    const form = sections[cfg.id].querySelector("form");
    const st = state[cfg.id];
    const ev = evs[cfg.id];
    const locked = new Set((ev && ev.method ? ev.effect.keys : [])
      .map((k) => SETTING_TO_FIELD[k] || k));
    for (const [key, , kind] of FIELDS) {
      const el = form.elements.namedItem(key);
      // A locked input shows what the method sets; the state keeps the user's own value.
      const settingKey = Object.keys(SETTING_TO_FIELD).find((k) => SETTING_TO_FIELD[k] === key) || key;
      const value = locked.has(key) ? ev.fields[settingKey] : st[key];
      if (kind === "bool") el.checked = Boolean(value);
      else el.value = value === null || value === undefined ? "" : String(value);
      let disabled = locked.has(key);
      if (key === "group_size") disabled ||= !((locked.has("w_bits") ? ev.fields.w_bits : st.w_bits) < 16);
      if (key === "kv_group_size") disabled ||= !((locked.has("kv_bits") ? ev.fields.kv_bits : st.kv_bits) < 16);
      el.disabled = disabled;
      el.title = locked.has(key) ? "set by the chosen method" : "";
      el.closest(".kbc-field").classList.toggle("kbc-locked", locked.has(key));
    }
  }

  function readForm(cfg) {
    const form = sections[cfg.id].querySelector("form");
    const st = state[cfg.id];
    for (const [key, , kind] of FIELDS) {
      const el = form.elements.namedItem(key);
      if (el.disabled) continue;
      if (kind === "bool") st[key] = el.checked;
      else if (kind === "int" || kind === "group" || kind === "bits") {
        const text = el.value.trim();
        if (text === "") st[key] = null;
        else {
          const n = Number(text);
          st[key] = Number.isFinite(n) ? n : text;
        }
      } else st[key] = el.value;
    }
  }

  function render(cfg) {
    const ev = evaluate(state[cfg.id], known);
    evs[cfg.id] = ev;
    const section = sections[cfg.id];
    const methodBox = section.querySelector('[data-role="method"]');
    methodBox.innerHTML = methodHtml(ev);
    methodBox.hidden = !ev.method;
    methodBox.classList.toggle("kbc-method-off", Boolean(ev.method && (ev.method.effect.kind === "none" || ev.error)));
    section.querySelector('[data-role="results"]').innerHTML = resultsHtml(cfg, ev, known);
  }

  function renderCompare() {
    root.querySelector('[data-role="compare"]').innerHTML = comparisonHtml(CONFIGS.map((c) => evs[c.id]));
  }

  // The serving panel: each configuration's serving figures (svs) are recomputed with it; the SLA answers
  // and the chart whenever a limit changes.
  const svs = {};
  const panel = root.querySelector('[data-role="serving"]');
  let chartWidth = 520;
  if (typeof ResizeObserver === "function") {
    const chartBox = panel.querySelector('[data-role="serving-chart"]');
    new ResizeObserver(([entry]) => {
      const w = Math.max(300, Math.min(640, entry.contentRect.width));
      if (Math.abs(w - chartWidth) < 16) return;
      chartWidth = w;
      if (svs.a && svs.b) renderServing([]);
    }).observe(chartBox);
  }
  const slaForm = panel.querySelector('[data-role="sla-form"]');

  function renderServing(ids = ["a", "b"]) {
    for (const id of ids) svs[id] = serveOne(evs[id], state[id], known, serving);
    const t = slaLimit(serving.sla_ttft_ms, "sla_ttft_ms"), p = slaLimit(serving.sla_tpot_ms, "sla_tpot_ms");
    const limits = { ttft: t.value, tpot: p.value, error: t.error || p.error };
    const series = CONFIGS.map((cfg) => ({ cfg, sv: svs[cfg.id], answer: slaOne(svs[cfg.id], limits) }));
    root.dataset.servingAnswers = series.map((x) => (x.answer && x.answer.best ? x.answer.best.batch : "none")).join(",");
    panel.querySelector('[data-role="serving-capacity-list"]').innerHTML = series.map((x) => capacityHtml(x.cfg, x.sv)).join("");
    panel.querySelector('[data-role="serving-chart"]').innerHTML = servingLegendHtml(series)
      + servingSvg(series, limits, chartWidth)
      + "<figcaption>Static batches 1, 2, 4, ... to the capacity (the square). The knee is the smallest batch whose "
      + "decode step is compute-bound. Hover or tap a point for its figures.</figcaption>";
    const error = panel.querySelector('[data-role="sla-error"]');
    error.hidden = !limits.error;
    error.textContent = limits.error || "";
    for (const key of ["sla_ttft_ms", "sla_tpot_ms"]) {
      slaForm.elements.namedItem(key).setAttribute("aria-invalid", String(slaLimit(serving[key], key).error !== null));
    }
    panel.querySelector('[data-role="sla-answer"]').innerHTML = series.map((x) => slaHtml(x.cfg, x.sv, x.answer, limits)).join("");
  }

  function syncServing() {
    for (const key of SERVING_KEYS) slaForm.elements.namedItem(key).value = serving[key];
  }

  const onServing = () => {
    for (const key of SERVING_KEYS) serving[key] = slaForm.elements.namedItem(key).value;
    const t0 = performance.now();
    renderServing();
    root.dataset.servingMs = String(performance.now() - t0);
    saveUrl();
  };
  slaForm.addEventListener("input", onServing);
  slaForm.addEventListener("change", onServing);
  slaForm.addEventListener("submit", (event) => event.preventDefault());

  function recompute(ids = ["a", "b"]) {
    const t0 = performance.now();
    for (const id of ids) render(CONFIGS.find((c) => c.id === id));
    renderCompare();
    renderServing(ids);
    const ms = performance.now() - t0;
    root.dataset.recomputeMs = String(ms);
    root.querySelector('[data-role="timing"]').textContent = `Computed in your browser in ${ms.toFixed(1)} ms.`;
    return ms;
  }

  for (const cfg of CONFIGS) {
    render(cfg);
    syncForm(cfg);
    const form = sections[cfg.id].querySelector("form");
    const onChange = (event) => {
      readForm(cfg);
      // A method applies to the column's plain baseline: choosing one resets the precision it would stack on.
      if (event.target.name === "method" && event.type === "change") Object.assign(state[cfg.id], PLAIN);
      recompute([cfg.id]);
      if (event.target.name === "method" || event.target.name === "w_bits" || event.target.name === "kv_bits"
        || event.type === "change") {
        syncForm(cfg);
      }
      saveUrl();
    };
    form.addEventListener("input", onChange);
    form.addEventListener("change", onChange);
    form.addEventListener("submit", (event) => event.preventDefault());
  }
  renderCompare();
  saveUrl();

  root.dataset.show = "a";
  root.addEventListener("click", (event) => {
    const show = event.target.closest("button[data-show]");
    if (show) {
      root.dataset.show = show.dataset.show;
      for (const b of root.querySelectorAll("button[data-show]")) b.setAttribute("aria-pressed", String(b === show));
      return;
    }
    const paste = event.target.closest("button[data-paste]");
    if (paste) {
      usePasted(paste.dataset.paste);
      return;
    }
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const action = button.dataset.action;
    if (action === "copy-link") {
      saveUrl.flush();
      const done = () => { status.textContent = "Link copied."; };
      const text = location.href;
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, () => { status.textContent = text; });
      } else {
        status.textContent = text;
      }
      return;
    }
    if (action === "a-to-b") state.b = { ...state.a };
    else if (action === "swap") [state.a, state.b] = [state.b, state.a];
    else if (action === "reset") {
      state.a = readState(new URLSearchParams(), CONFIGS[0], known, []);
      state.b = readState(new URLSearchParams(), CONFIGS[1], known, []);
      Object.assign(serving, SERVING_DEFAULTS);
      syncServing();
    }
    recompute();
    for (const cfg of CONFIGS) syncForm(cfg);
    saveUrl();
    status.textContent = "";
  });

  async function usePasted(id) {
    const box = root.querySelector('[data-role="paste"]');
    const out = box.querySelector('[data-role="paste-status"]');
    out.textContent = "";
    const got = await pastedModel(box.querySelector("textarea").value);
    if (!stillHere() || !root.isConnected) return;
    out.classList.toggle("kbc-error", Boolean(got.error));
    if (got.error) {
      out.textContent = `Not used: ${got.error}`;
      return;
    }
    const m = got.model;
    known.models.set(PASTED, m);
    for (const cfg of CONFIGS) {
      const select = sections[cfg.id].querySelector('select[name="model"]');
      select.querySelector(`optgroup[data-pasted]`)?.remove();
      const group = document.createElement("optgroup");
      group.label = "Pasted config.json";
      group.dataset.pasted = "";
      group.append(new Option(`${m.name} (${si(m.parameters)} params)`, PASTED));
      select.prepend(group);
    }
    state[id].model = PASTED;
    const cfg = CONFIGS.find((c) => c.id === id);
    recompute([id]);
    syncForm(cfg);
    saveUrl();
    out.textContent = `${cfg.title} now analyses the pasted model: ${m.architecture}, ${m.num_hidden_layers} layers, `
      + `${si(m.parameters)} parameters.`;
  }

  // For the browser tests and the curious: recompute both configurations, return the time in ms.
  root.kbcRecompute = () => recompute();
  root.kbcState = state;
  recompute();
}
