// Expected time beside the roofline bound, in the browser: the same model as calculator/expected.py
// (see that file and docs/accuracy.md). Pure functions; the fitted parameters come from
// assets/accuracy/parameters.json, written by `make calibrate`.
//
//   import { expectedStageS, loadParameters } from "./expected.js";
//   const cal = await loadParameters(siteRoot);
//   expectedStageS(result.stages.decode, hardware, settings, cal, catalogueEntry)  // seconds, >= bound

export const CLASSES = ["datacenter-gpu", "consumer-gpu", "apple"];
export const FALLBACK = "datacenter-gpu";

export const NEUTRAL = Object.freeze({
  bw_fraction_16bit: 1.0,
  bw_fraction_quantized: 1.0,
  bw_fraction_kquant: 1.0,
  compute_fraction_gemm: 1.0,
  compute_fraction_gemm_quantized: 1.0,
  attention_fraction: 1.0,
  layer_overhead_s: 0.0,
  step_overhead_s: 0.0,
  gemm_half_tokens: 0.0,
  link_fraction: 1.0,
  collective_overhead_s: 0.0,
});

const GEMM = new Set(["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "router", "lm_head"]);
const ATTENTION = new Set(["attention", "qk_matmul", "sv_matmul"]);

/** Kernel kind of a row name: gemm, attention, elementwise or collective (calculator.expected.kind_of). */
export function kindOf(name) {
  if (GEMM.has(name) || name.endsWith("_proj") || name.endsWith("_absorb")) return "gemm";
  if (ATTENTION.has(name) || name.endsWith("attention") || name.endsWith("qk_matmul") || name.endsWith("sv_matmul")) {
    return "attention";
  }
  if (name.endsWith("allreduce")) return "collective";
  return "elementwise";
}

/**
 * Parameter class of a device. `info` is its catalogue entry (vendor, kind, segment) when known;
 * otherwise the id and name decide, as in calculator.expected.device_class.
 */
export function deviceClass(hardware, info = {}) {
  const vendor = String(info.vendor ?? "").toLowerCase();
  const kind = String(info.kind ?? "").toLowerCase();
  const segment = String(info.segment ?? "").toLowerCase();
  const name = `${hardware.id ?? ""} ${hardware.name ?? ""}`.toLowerCase();
  if (vendor === "apple" || (!vendor && name.includes("apple"))) return "apple";
  if (kind === "gpu" || (!kind && (name.includes("nvidia") || name.includes("radeon")))) {
    if (segment === "consumer" || segment === "workstation" || (!segment && (name.includes("geforce") || name.includes(" rtx")))) {
      return "consumer-gpu";
    }
    if (segment === "datacenter" || !segment) return "datacenter-gpu";
  }
  return FALLBACK;
}

/** Fitted values of one class as {name: value}; NEUTRAL (expected = bound) without a calibration. */
export function parametersFor(cls, calibration) {
  const classes = (calibration && calibration.classes) || {};
  const block = classes[cls] || classes[FALLBACK] || {};
  const values = { ...NEUTRAL };
  for (const [k, v] of Object.entries(block)) if (k in values) values[k] = typeof v === "object" ? v.value : v;
  for (const [k, v] of Object.entries((calibration && calibration.shared) || {})) {
    if (k in values) values[k] = typeof v === "object" ? v.value : v;
  }
  return values;
}

function quantized(settings) {
  return Boolean(settings) && settings.w_bits < 16 && settings.a_bits >= 16;
}

/** Expected seconds of one stage ({name, layers, time_s}); never below stage.time_s. */
export function expectedStageS(stage, hardware, settings, calibration, info = {}) {
  const v = parametersFor(deviceClass(hardware, info), calibration);
  const bw = hardware.memory_bandwidth;
  const quant = quantized(settings);
  const tokens = settings && stage.name === "prefill" ? settings.batch * settings.seq_len : 0;
  const batch = settings && stage.name === "prefill" ? settings.batch : 0;
  let total = 0.0, layers = 0, linkTime = 0.0, collectives = 0;
  for (const r of stage.layers) {
    const kind = kindOf(r.name);
    if (kind === "collective" || r.bound === "interconnect") {
      linkTime += r.count * r.time_s;
      collectives += r.count;
      continue;
    }
    if (r.name === "attn_norm") layers += r.count;
    let tc = r.peak_ops_per_s ? (r.count * r.ops) / r.peak_ops_per_s : 0.0;
    const tm = (r.count * r.bytes) / bw;
    let t;
    if (kind === "gemm") {
      const n = r.name === "lm_head" ? batch : tokens;
      if (n && v.gemm_half_tokens) tc *= 1.0 + v.gemm_half_tokens / n;
      if (quant && r.name !== "lm_head") t = Math.max(tc / v.compute_fraction_gemm_quantized, tm / v.bw_fraction_quantized);
      else t = Math.max(tc / v.compute_fraction_gemm, tm / v.bw_fraction_16bit);
    } else if (kind === "attention") {
      t = Math.max(tc, tm) / v.attention_fraction;
    } else {
      t = Math.max(tc, tm / v.bw_fraction_16bit);
    }
    total += t;
  }
  total += layers * v.layer_overhead_s + v.step_overhead_s;
  if (collectives) total += linkTime / v.link_fraction + collectives * v.collective_overhead_s;
  return Math.max(stage.time_s, total);
}

/** The parameters file of the site (null when it cannot be read: expected then equals the bound). */
export async function loadParameters(siteRoot = "") {
  try {
    const response = await fetch(`${siteRoot}assets/accuracy/parameters.json`);
    return response.ok ? await response.json() : null;
  } catch {
    return null;
  }
}
