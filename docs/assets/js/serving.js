// Serving in the browser: capacity, the throughput-latency curve and its knee, and the SLA answer for one
// device and setup.
//
// A mirror of calculator/serving.py (StepModel, capacity, longest_context, knee, curve) and of the part
// of calculator/search.py that one (device, tp, formats) group runs (_Group, _batch_grid, the choice of
// `best`): the same fits, the same formulas in the same order, the same one-line refusals. Built on
// roofline.js's `analyze`, so a model the page analyses is a model it serves. tests/js/serving.test.mjs
// holds every number to tests/js/serving_vectors.json (tools/make_serving_vectors.py, from Python) to
// 1e-9 relative, integers exactly.
//
// Times are roofline times (lower bounds on real time), so every throughput here is an upper bound and
// every latency a lower bound; capacity counts weights, KV cache and activations only (an upper bound on
// the batch: no framework overhead, no fragmentation beyond the allocator's).
// No DOM: usable from node and from the page alike.

import { CalculatorError, analyze, expectedExperts, flashPairs, windowPairs } from "./roofline.js";

export const ALLOCATORS = ["paged", "reserve"];
const MAX_BATCH = 1 << 20; // serving._MAX_BATCH: where no memory limit can be stated
const TAB_MAX = 65536;

/** Python's f"{x:.6g}" (the numbers of StepModel's refusal). */
export function formatG6(x) {
  if (x === 0) return "0";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : x < 0 ? "-inf" : "nan";
  const exp = Number(x.toExponential(5).split("e")[1]);
  if (exp < -4 || exp >= 6) {
    const [mantissa, e] = x.toExponential(5).split("e");
    const digits = mantissa.includes(".") ? mantissa.replace(/\.?0+$/, "") : mantissa;
    const n = Number(e);
    return `${digits}e${n < 0 ? "-" : "+"}${String(Math.abs(n)).padStart(2, "0")}`;
  }
  const fixed = x.toFixed(Math.max(0, 5 - exp));
  return fixed.includes(".") ? fixed.replace(/\.?0+$/, "") : fixed;
}

/** serving._sum_max: sum over j = 0..m-1 of max(f0 + f1*j, g0 + g1*j), exactly. */
export function sumMax(f0, f1, g0, g1, m) {
  if (m <= 0) return 0.0;
  const last = m - 1;
  const d0 = f0 - g0, d1 = (f0 + f1 * last) - (g0 + g1 * last);
  if (d0 >= 0 && d1 >= 0) return m * f0 + f1 * last * m / 2;
  if (d0 <= 0 && d1 <= 0) return m * g0 + g1 * last * m / 2;
  const k = Math.min(last - 1, Math.max(0, Math.floor(d0 / (d0 - d1) * last)));
  const [a0, a1, b0, b1] = d0 > 0 ? [f0, f1, g0, g1] : [g0, g1, f0, f1];
  const n1 = k + 1, n2 = last - k;
  const first = n1 * a0 + a1 * k * n1 / 2;
  const second = n2 * b0 + b1 * (k + 1 + last) * n2 / 2;
  return first + second;
}

const maxOf = (c, m) => (c > m ? c : m);

/** serving.StepModel: one iteration of the model as affine rows (see the Python docstring). */
export class StepModel {
  constructor(model, hardware, settings) {
    this.model = model;
    this.hardware = hardware;
    const s = { ...settings, stage: "decode" };
    this.settings = s;
    this.flash = settings.flash_attention;
    this.devices = settings.tp;
    this.window = Math.trunc(model.sliding_window || 0);
    const w = this.window;
    [this.C0, this.C1] = !w || w >= 32 ? [16, 32] : [Math.max(1, Math.floor(w / 4)), Math.max(2, Math.floor(w / 2))];
    this.S0 = 16;
    this.S1 = 48;
    const { C0, C1, S0, S1 } = this;
    const run = (name, b, n) => analyze(model, hardware, { ...s, stage: name, batch: b, seq_len: n });
    const stage = (name, b, n) => run(name, b, n).stages[name].layers;
    const first = run("decode", 1, C0);
    const d11 = first.stages.decode.layers, d21 = stage("decode", 2, C0), d12 = stage("decode", 1, C1);
    const d31 = stage("decode", 3, C0);
    const p11 = stage("prefill", 1, S0), p21 = stage("prefill", 2, S0), p12 = stage("prefill", 1, S1);
    const names = d11.map((r) => r.name);
    const pnames = p11.map((r) => r.name);
    const same = (o, want) => o.length === want.length && o.every((r, i) => r.name === want[i]);
    if ([d21, d12, d31].some((o) => !same(o, names)) || [p21, p12].some((o) => !same(o, pnames))) {
      throw new CalculatorError("the serving model needs the same layers at every batch and context");
    }
    const shared = pnames.length === names.length && pnames.every((n, i) => n === names[i]);
    const bw = hardware.memory_bandwidth;
    const rates = (r) => (r.bound === "interconnect" ? [0.0, r.bytes ? r.time_s / r.bytes : 0.0]
      : [1.0 / r.peak_ops_per_s, 1.0 / bw]);
    this.rows = [];
    this.tabulated = [];
    this._table = new Map();
    this.expert_rows = [];
    const E = Math.trunc(model.num_local_experts || 0), k = Math.trunc(model.num_experts_per_tok || 0);
    this.E = E;
    this.k = k;
    const expertNames = new Set();
    const dBig = E ? stage("decode", 1000, C0) : null;
    const F = ["ops", "bytes"];
    names.forEach((name, i) => {
      const r11 = d11[i], r21 = d21[i], r12 = d12[i], r31 = d31[i];
      const head = name === "lm_head", win = name.startsWith("window_");
      let coef = [];
      for (const f of F) {
        const S = (r12[f] - r11[f]) / (C1 - C0);
        const B = r21[f] - r11[f] - S * C0;
        const A = r11[f] - B - S * C0;
        if (Math.abs(A + 3 * B + 3 * S * C0 - r31[f]) > 1e-9 * Math.max(Math.abs(r31[f]), 1.0)) {
          coef = null;
          break;
        }
        let P;
        if (S === 0) P = 0.0;
        else if (shared) {
          const x = head ? 1 : S0;
          const pairs0 = this.pairs(S0, S0, win);
          P = (p11[i][f] - A - B * x - S * S0) / (pairs0 - S0);
        } else P = f === "ops" ? S : 0.0;
        coef.push([A, B, P, S - P]);
      }
      const [ip, ir] = rates(r11);
      if (coef === null) {
        const expert = E ? this._fitExperts(r11, r21, r31, dBig ? dBig[i] : null) : null;
        if (expert === null) this.tabulated.push([i, r11.count, ip, ir]);
        else {
          this.expert_rows.push([r11.count, ip, ir, ...expert]);
          expertNames.add(name);
        }
        return;
      }
      const [[Ao, Bo, Po, Ko], [Ay, By, Py, Ky]] = coef;
      this.rows.push([r11.count, ip, ir, head, win, Ao, Bo, Po, Ko, Ay, By, Py, Ky]);
    });
    this.expert_names = expertNames;
    // whole-prompt prefill rows: value = A + M * (b*s, or b for lm_head) + Pc * b * pairs(s, s)
    this.pre_rows = [];
    const lookedUp = new Set([...this.tabulated.map(([i]) => names[i]), ...expertNames]);
    pnames.forEach((name, i) => {
      if (lookedUp.has(name)) return;
      const r11 = p11[i], r21 = p21[i], r12 = p12[i];
      const head = name === "lm_head", win = name.startsWith("window_");
      const [x0, x1] = head ? [1, 1] : [S0, S1];
      const q0 = this.pairs(S0, S0, win), q1 = this.pairs(S1, S1, win);
      const coef = [];
      for (const f of F) {
        const dB = r21[f] - r11[f], dS = r12[f] - r11[f];
        let M, Pc;
        if (head) {
          Pc = dS / (q1 - q0);
          M = dB - Pc * q0;
        } else {
          const det = x0 * (q1 - q0) - q0 * (x1 - x0);
          M = (dB * (q1 - q0) - q0 * dS) / det;
          Pc = (x0 * dS - (x1 - x0) * dB) / det;
        }
        const A = r11[f] - M * x0 - Pc * q0;
        coef.push([A, M, Pc]);
      }
      const [ip, ir] = rates(r11);
      const [[Ao, Mo, Qo], [Ay, My, Qy]] = coef;
      this.pre_rows.push([r11.count, ip, ir, head, win, Ao, Mo, Qo, Ay, My, Qy]);
    });
    this.capacity_bytes = hardware.memory_bytes || 0;
    this.weights_bytes = first.memory.weights_bytes;
    this._mem = new Map([[C0, first.memory]]);
    this.kv_token_bytes = first.memory.kv_cache_bytes / C0;
    this._verify(model, hardware, s);
  }

  _fitExperts(r1, r2, r3, r1000) {
    const taus = [1, 2, 3, 1000].map((t) => expectedExperts(this.E, this.k, t));
    const coef = [];
    for (const f of ["ops", "bytes"]) {
      const v1 = r1[f], v2 = r2[f], v3 = r3[f];
      const d1 = taus[1] - taus[0], d2 = taus[2] - taus[1];
      if (Math.abs(d1 - d2) < 1e-12) return null;
      const C = ((v2 - v1) - (v3 - v2)) / (d1 - d2);
      const B = (v2 - v1) - C * d1;
      const A = v1 - B - C * taus[0];
      if (r1000 === null || Math.abs(A + 1000 * B + C * taus[3] - r1000[f]) > 1e-7 * Math.max(Math.abs(r1000[f]), 1.0)) {
        return null;
      }
      coef.push(A, B, C);
    }
    return coef;
  }

  _moe(tokens) {
    if (!this.expert_rows.length || tokens <= 0) return 0.0;
    const tau = expectedExperts(this.E, this.k, tokens);
    let total = 0.0;
    for (const [n, ip, ir, Ao, Bo, Co, Ay, By, Cy] of this.expert_rows) {
      const c = (Ao + Bo * tokens + Co * tau) * ip;
      const m = (Ay + By * tokens + Cy * tau) * ir;
      total += n * maxOf(c, m);
    }
    return total;
  }

  _verify(model, hardware, s) {
    const checks = [["decode", 5, 65536, (b, n) => this.decodeStep(b, n)], ["prefill", 2, 200, (b, n) => this.prefill(b, n)]];
    for (const [stage, b, n, mine] of checks) {
      const want = analyze(model, hardware, { ...s, stage, batch: b, seq_len: n }).stages[stage].time_s;
      const got = mine(b, n);
      if (Math.abs(got - want) > 1e-6 * want) {
        throw new CalculatorError(`the serving model cannot reproduce the ${stage} time of ${model.id} at batch ${b}, `
          + `${n} tokens (${formatG6(got)} s against ${formatG6(want)} s)`);
      }
    }
  }

  // the counts ----------------------------------------------------------------------------------
  pairs(q, n, window = false) {
    if (window && this.window) return this.flash ? windowPairs(q, n, this.window) : q * Math.min(n, this.window);
    return this.flash ? flashPairs(q, n) : q * n;
  }

  reads(q, n, window = false) {
    return window && this.window ? Math.min(n, this.window + q - 1) : n;
  }

  /** analyze's memory footprint of one sequence of `tokens` tokens (kv_bytes and activation_bytes share it). */
  _memory(tokens) {
    const t = Math.max(1, Math.trunc(tokens));
    let got = this._mem.get(t);
    if (got === undefined) {
      got = analyze(this.model, this.hardware, { ...this.settings, batch: 1, seq_len: t }).memory;
      this._mem.set(t, got);
    }
    return got;
  }

  kvBytes(tokens) {
    return this._memory(tokens).kv_cache_bytes;
  }

  activationBytes(tokens) {
    return this._memory(tokens).activations_bytes;
  }

  _tab(tokens) {
    if (!this.tabulated.length || tokens <= 0) return 0.0;
    const lo = Math.max(1, Math.floor(tokens));
    const hi = tokens > lo ? lo + 1 : lo;
    const at = (t) => {
      let got = this._table.get(t);
      if (got === undefined) {
        const layers = analyze(this.model, this.hardware, { ...this.settings, batch: t, seq_len: this.C0 })
          .stages.decode.layers;
        got = 0.0;
        for (const [i, count, invPeak, invRate] of this.tabulated) {
          const row = layers[i];
          got += count * Math.max(row.ops * invPeak, row.bytes * invRate);
        }
        this._table.set(t, got);
      }
      return got;
    };
    if (lo >= TAB_MAX) {
      const top = at(TAB_MAX);
      return top + (tokens - TAB_MAX) * (top - at(TAB_MAX - 1));
    }
    if (hi === lo) return at(lo) * (tokens < 1 ? tokens / lo : 1.0);
    const w = tokens - lo;
    return at(lo) * (1 - w) + at(hi) * w;
  }

  // costs ---------------------------------------------------------------------------------------
  time(tokens, seqs, pairs, kv, wpairs = null, wkv = null) {
    const wp = wpairs === null ? pairs : wpairs;
    const wk = wkv === null ? kv : wkv;
    let total = 0.0;
    for (const [n, ip, ir, head, win, Ao, Bo, Po, Ko, Ay, By, Py, Ky] of this.rows) {
      const x = head ? seqs : tokens;
      const pp = win ? wp : pairs, kk = win ? wk : kv;
      const c = (Ao + Bo * x + Po * pp + Ko * kk) * ip;
      const m = (Ay + By * x + Py * pp + Ky * kk) * ir;
      total += n * maxOf(c, m);
    }
    return total + this._tab(tokens) + this._moe(tokens);
  }

  split(tokens, seqs, pairs, kv, weightsOnly = false, wpairs = null, wkv = null) {
    const wp = wpairs === null ? pairs : wpairs;
    const wk = wkv === null ? kv : wkv;
    let comp = 0.0, mem = 0.0;
    for (const [n, ip, ir, head, win, Ao, Bo, Po, Ko, Ay, By, Py, Ky] of this.rows) {
      if (weightsOnly && (Po || Ko || Py || Ky)) continue;
      const x = head ? seqs : tokens;
      const pp = win ? wp : pairs, kk = win ? wk : kv;
      comp += n * (Ao + Bo * x + Po * pp + Ko * kk) * ip;
      mem += n * (Ay + By * x + Py * pp + Ky * kk) * ir;
    }
    if (this.expert_rows.length && tokens > 0) {
      const tau = expectedExperts(this.E, this.k, tokens);
      for (const [n, ip, ir, Ao, Bo, Co, Ay, By, Cy] of this.expert_rows) {
        comp += n * (Ao + Bo * tokens + Co * tau) * ip;
        mem += n * (Ay + By * tokens + Cy * tau) * ir;
      }
    }
    const tab = this._tab(tokens);
    return [comp + tab / 2, mem + tab / 2];
  }

  decodeCounts(batch, context) {
    return [batch, batch, batch * this.pairs(1, context), batch * context,
      batch * this.pairs(1, context, true), batch * this.reads(1, context, true)];
  }

  decodeStep(batch, context) {
    const [t, s, p, k, wp, wk] = this.decodeCounts(batch, context);
    return this.time(t, s, p, k, wp, wk);
  }

  prefill(batch, prompt) {
    let total = 0.0;
    const full = this.pairs(prompt, prompt), win = this.pairs(prompt, prompt, true);
    for (const [n, ip, ir, head, w, Ao, Mo, Qo, Ay, My, Qy] of this.pre_rows) {
      const x = head ? batch : batch * prompt;
      const q = batch * (w ? win : full);
      const c = (Ao + Mo * x + Qo * q) * ip;
      const m = (Ay + My * x + Qy * q) * ir;
      total += n * maxOf(c, m);
    }
    return total + this._tab(batch * prompt) + this._moe(batch * prompt);
  }

  decodeTotal(batch, prompt, gen) {
    const m = gen - 1;
    if (m <= 0) return 0.0;
    let total = 0.0;
    const b = batch, W = this.window;
    for (const [n, ip, ir, , win, Ao, Bo, Po, Ko, Ay, By, Py, Ky] of this.rows) {
      const Sc = Po + Ko, Sy = Py + Ky;
      if (Sc === 0 && Sy === 0) {
        const o0 = (Ao + Bo * b) * ip, y0 = (Ay + By * b) * ir;
        total += n * m * maxOf(o0, y0);
        continue;
      }
      const grow = !(win && W) ? m : Math.max(0, Math.min(m, W - prompt + 1));
      if (grow) {
        const o0 = (Ao + Bo * b + Sc * b * prompt) * ip;
        const y0 = (Ay + By * b + Sy * b * prompt) * ir;
        total += n * sumMax(o0, Sc * b * ip, y0, Sy * b * ir, grow);
      }
      if (grow < m) {
        const o0 = (Ao + Bo * b + Sc * b * W) * ip;
        const y0 = (Ay + By * b + Sy * b * W) * ir;
        total += n * (m - grow) * maxOf(o0, y0);
      }
    }
    return total + m * (this._tab(b) + this._moe(b));
  }
}

// --- capacity -----------------------------------------------------------------------------------

const isInt = (v) => typeof v === "number" && Number.isInteger(v);
const pyRepr = (v) => (v === null || v === undefined ? "None" : typeof v === "string" ? `'${v}'`
  : v === true ? "True" : v === false ? "False" : String(v));

function checkAllocator(allocator, blockSize, memoryFraction) {
  if (!ALLOCATORS.includes(allocator)) {
    throw new CalculatorError(`allocator must be one of ${ALLOCATORS.join(", ")}, got ${pyRepr(allocator)}`);
  }
  if (!isInt(blockSize) || !(blockSize >= 1 && blockSize <= 1_000_000)) {
    throw new CalculatorError(`block_size must be an integer from 1 to 1e+06, got ${pyRepr(blockSize)}`);
  }
  if (typeof memoryFraction !== "number" || !(memoryFraction > 0 && memoryFraction <= 1)) {
    throw new CalculatorError(`memory_fraction must be above 0 and at most 1, got ${pyRepr(memoryFraction)}`);
  }
}

/** serving._allocated: cache slots one sequence holds for `tokens` cached tokens. */
export function allocated(tokens, allocator, blockSize, reserve) {
  if (allocator === "paged") return Math.ceil(tokens / blockSize) * blockSize;
  return Math.max(reserve, tokens);
}

/**
 * serving.capacity: the largest batch of requests (prompt seq_len, gen_len out) one instance holds, with
 * the same fields as Python's Capacity (snake_case) and its notes. Options: allocator ("paged"),
 * blockSize (16), maxSeqLen (model positions), prefillTokens (null), memoryFraction (1), step.
 */
export function capacity(model, hardware, settings, { allocator = "paged", blockSize = 16, maxSeqLen = null,
  prefillTokens = null, memoryFraction = 1.0, step = null } = {}) {
  checkAllocator(allocator, blockSize, memoryFraction);
  const st = step || new StepModel(model, hardware, settings);
  const P = settings.seq_len, G = settings.gen_len;
  const end = P + G - 1;
  const notes = [];
  let maxSeq = maxSeqLen === null ? (model.max_position_embeddings || end) : maxSeqLen;
  if (!isInt(maxSeq) || maxSeq <= 0) {
    throw new CalculatorError(`max_seq_len must be a positive integer, got ${pyRepr(maxSeq)}`);
  }
  if (allocator === "reserve" && maxSeq < end) {
    notes.push(`max_seq_len ${maxSeq} is below the request's ${end} tokens: the reservation grows to the request`);
  }
  if (model.max_position_embeddings && end > model.max_position_embeddings) {
    notes.push(`the request's ${end} tokens exceed the model's ${model.max_position_embeddings} positions`);
  }
  if (prefillTokens !== null && (!isInt(prefillTokens) || prefillTokens <= 0)) {
    throw new CalculatorError(`prefill_tokens must be a positive integer, got ${pyRepr(prefillTokens)}`);
  }
  const slots = allocated(end, allocator, blockSize, maxSeq);
  const kvSeq = st.kvBytes(slots);
  let actFixed, actSeq;
  if (prefillTokens === null) [actFixed, actSeq] = [0.0, st.activationBytes(P)];
  else [actFixed, actSeq] = [st.activationBytes(prefillTokens), 0.0];
  const cap = st.capacity_bytes;
  const usable = cap * memoryFraction;
  let longest = null, maxBatch;
  if (!cap) {
    maxBatch = null;
    notes.push(`hardware ${hardware.id} states no memory capacity: no batch limit`);
  } else {
    const W = st.weights_bytes;
    const free = usable - W - actFixed;
    const per = kvSeq + actSeq;
    maxBatch = free > 0 ? Math.max(0, Math.trunc(Math.floor(free / per))) : 0;
    while (maxBatch > 0 && W + actFixed + maxBatch * per > usable) maxBatch -= 1;
    while (W + actFixed + (maxBatch + 1) * per <= usable) maxBatch += 1;
    if (maxBatch === 0) notes.push("one request of this shape does not fit");
    longest = longestContext(st, settings.batch, usable, { allocator, blockSize, maxSeqLen: maxSeq, prefillTokens });
  }
  return {
    max_batch: maxBatch,
    capacity_bytes: cap,
    usable_bytes: usable,
    weights_bytes: st.weights_bytes,
    kv_bytes_per_sequence: kvSeq,
    kv_tokens_per_sequence: end,
    kv_tokens_allocated: slots,
    activation_bytes: actFixed + actSeq * (maxBatch || 0),
    allocator,
    block_size: blockSize,
    reserved_tokens: allocator === "reserve" ? maxSeq : 0,
    waste_fraction: slots ? (slots - end) / slots : 0.0,
    batch: settings.batch,
    longest_context: longest,
    notes,
  };
}

/** serving.longest_context: the largest n with W + batch*k*alloc(n) + act <= usable (0 when none fits). */
export function longestContext(step, batch, usable, { allocator = "paged", blockSize = 16, maxSeqLen = 0,
  prefillTokens = null } = {}) {
  const fits = (n) => {
    const act = prefillTokens ? step.activationBytes(prefillTokens) : batch * step.activationBytes(n);
    return step.weights_bytes + batch * step.kvBytes(allocated(n, allocator, blockSize, maxSeqLen)) + act <= usable;
  };
  if (!fits(1)) return 0;
  let lo = 1, hi = 2;
  while (hi <= 100_000_000 && fits(hi)) [lo, hi] = [hi, hi * 2];
  if (hi > 100_000_000) return lo;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) lo = mid; else hi = mid;
  }
  return lo;
}

// --- the throughput-latency curve ---------------------------------------------------------------

/** serving._point: one static batch of the request shape. */
export function point(step, b, P, G) {
  const ttft = step.prefill(b, P);
  const decode = step.decodeTotal(b, P, G);
  const tpot = G > 1 ? decode / (G - 1) : step.decodeStep(b, P);
  const mid = G > 1 ? P + (G - 2) / 2 : P;
  const [tk, sq, pr, kv, wp, wk] = step.decodeCounts(b, mid);
  const [comp, mem] = step.split(tk, sq, pr, kv, false, wp, wk);
  const n = step.devices;
  return {
    batch: b,
    ttft_s: ttft,
    tpot_s: tpot,
    e2e_latency_s: ttft + decode,
    tokens_per_s_per_device: b * G / (ttft + decode) / n,
    decode_tokens_per_s_per_device: b / tpot / n,
    tokens_per_s_per_user: 1 / tpot,
    decode_bound: comp > mem ? "compute" : "memory",
  };
}

/** serving.knee: the smallest batch whose decode step (at the mean context) is compute-bound, or null. */
export function knee(step, P, G, limit = MAX_BATCH, weightsOnly = false) {
  const mid = G > 1 ? P + (G - 2) / 2 : P;
  const computeBound = (b) => {
    const [tk, sq, pr, kv, wp, wk] = step.decodeCounts(b, mid);
    const [comp, mem] = step.split(tk, sq, pr, kv, weightsOnly, wp, wk);
    return comp >= mem;
  };
  if (computeBound(1)) return 1;
  if (!computeBound(limit)) return null;
  let lo = 1, hi = limit;
  while (hi - lo > 1) {
    const m = Math.floor((lo + hi) / 2);
    if (computeBound(m)) hi = m; else lo = m;
  }
  return hi;
}

/** serving._batches: powers of two below the limit, and the limit. */
export function batches(limit) {
  const out = [];
  let b = 1;
  while (b < limit) {
    out.push(b);
    b *= 2;
  }
  out.push(limit);
  return out;
}

/** serving.curve: {points, max_batch, knee_batch, weights_knee_batch, knees_within_capacity}. */
export function curve(model, hardware, settings, { batches: chosen = null, step = null, cap = null, ...options } = {}) {
  const st = step || new StepModel(model, hardware, settings);
  const c = cap || capacity(model, hardware, settings, { step: st, ...options });
  const P = settings.seq_len, G = settings.gen_len;
  const limit = c.max_batch !== null ? c.max_batch : 1024;
  const bs = chosen !== null ? chosen : limit > 0 ? batches(limit) : [];
  const points = bs.map((b) => point(st, b, P, G));
  const k = knee(st, P, G), kw = knee(st, P, G, MAX_BATCH, true);
  const within = c.max_batch === null ? null : {
    knee_batch: k !== null && k <= c.max_batch,
    weights_knee_batch: kw !== null && kw <= c.max_batch,
  };
  return { points, max_batch: c.max_batch, knee_batch: k, weights_knee_batch: kw, knees_within_capacity: within };
}

// --- the SLA answer for one device and setup (calculator/search.py, one group) -------------------

/** search._batch_grid: every batch 1..min(limit, dense), then steps of `ratio`, and the limit itself. */
export function batchGrid(limit, dense, ratio = 1.05) {
  const out = [];
  for (let b = 1; b <= Math.min(limit, dense); b++) out.push(b);
  let b = out.length ? out[out.length - 1] : 1.0;
  for (;;) {
    b = Math.max(b * ratio, b + 1);
    if (Math.trunc(b) >= limit) break;
    out.push(Math.trunc(b));
  }
  if (limit > (out.length ? out[out.length - 1] : 0)) out.push(limit);
  return out;
}

/** search._Group: one (device, tp, formats) group compiled for evaluation over the batch. */
export class Group {
  constructor(step, P, G) {
    const m = G - 1;
    this.G = G;
    this.devices = step.devices;
    const W = step.window;
    this.const = [];
    this.ctx = [];
    this.prefill = [];
    for (const [n, ip, ir, , win, Ao, Bo, Po, Ko, Ay, By, Py, Ky] of step.rows) {
      const Sc = Po + Ko, Sy = Py + Ky;
      if (Sc === 0 && Sy === 0) {
        this.const.push([m * n * ip * Ao, m * n * ip * Bo, m * n * ir * Ay, m * n * ir * By]);
        continue;
      }
      const grow = !(win && W) ? m : Math.max(0, Math.min(m, W - P + 1));
      if (grow) {
        this.ctx.push([n * ip * Ao, n * ip * (Bo + Sc * P), n * ip * Sc,
          n * ir * Ay, n * ir * (By + Sy * P), n * ir * Sy, grow]);
      }
      if (grow < m) {
        const k = m - grow;
        this.const.push([k * n * ip * Ao, k * n * ip * (Bo + Sc * W), k * n * ir * Ay, k * n * ir * (By + Sy * W)]);
      }
    }
    const full = step.pairs(P, P), winPairs = step.pairs(P, P, true);
    for (const [n, ip, ir, head, w, Ao, Mo, Qo, Ay, My, Qy] of step.pre_rows) {
      const x = head ? 1 : P, q = w ? winPairs : full;
      this.prefill.push([n * ip * Ao, n * ip * (Mo * x + Qo * q), n * ir * Ay, n * ir * (My * x + Qy * q)]);
    }
    this.head = step;
  }

  /** [TTFT, decode time over the gen_len - 1 steps] at batch b. */
  evaluate(b, P) {
    let ttft = 0.0;
    for (const [a0, a1, c0, c1] of this.prefill) ttft += maxOf(a0 + a1 * b, c0 + c1 * b);
    let dec = 0.0;
    for (const [a0, a1, c0, c1] of this.const) dec += maxOf(a0 + a1 * b, c0 + c1 * b);
    const m = this.G - 1;
    for (const [oa, ob, oj, ya, yb, yj, steps] of this.ctx) dec += sumMax(oa + ob * b, oj * b, ya + yb * b, yj * b, steps);
    const step = this.head;
    if (step.expert_rows.length) {
      ttft += step._moe(b * P);
      dec += m * step._moe(b);
    }
    if (step.tabulated.length) {
      ttft += step._tab(b * P);
      dec += m * step._tab(b);
    }
    return [ttft, dec];
  }
}

/** The range of an SLA limit, as search.search checks it: a positive number of seconds below 1e6. */
export function checkLimit(name, value) {
  if (typeof value !== "number" || !(value > 0 && value < 1e6)) {
    throw new CalculatorError(`${name} must be a positive number of seconds, got ${pyRepr(value)}`);
  }
}

/**
 * The SLA answer of calculator.search for one device and setup: over the batches of `batchGrid` up to the
 * capacity limit (1024 where the device states none), the point with the most output tokens/s per device
 * among those with TTFT <= ttftLimit and TPOT <= tpotLimit (ties: the larger batch). Returns {best (null
 * when none meets the limits), evaluated, limit, first: the batch-1 point}; a setup with no batch that fits
 * returns limit 0 and best null.
 */
export function sla(step, cap, P, G, ttftLimit, tpotLimit, dense = 256) {
  checkLimit("ttft_limit", ttftLimit);
  checkLimit("tpot_limit", tpotLimit);
  const limit = cap.max_batch !== null ? cap.max_batch : 1024;
  if (limit < 1) return { best: null, evaluated: 0, limit, first: null };
  const group = new Group(step, P, G);
  const tp = step.devices;
  let best = null, first = null, evaluated = 0;
  for (const b of batchGrid(limit, dense)) {
    const [ttft, dec] = group.evaluate(b, P);
    const tpot = G > 1 ? dec / (G - 1) : ttft;
    const row = {
      batch: b, ttft_s: ttft, tpot_s: tpot, tokens_per_s_per_user: 1 / tpot,
      tokens_per_s_per_device: b * G / (ttft + dec) / tp, meets_limits: ttft <= ttftLimit && tpot <= tpotLimit,
    };
    evaluated += 1;
    if (first === null) first = row;
    if (row.meets_limits && (best === null || row.tokens_per_s_per_device > best.tokens_per_s_per_device
      || (row.tokens_per_s_per_device === best.tokens_per_s_per_device && row.batch > best.batch))) best = row;
  }
  return { best, evaluated, limit, first };
}
