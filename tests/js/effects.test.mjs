// The browser's method effects (docs/assets/js/effects.js) against the Python ones
// (calculator/effects.py): every `effect_cases` entry of tests/js/vectors.json, written by
// tools/make_vectors.py from calculator.effects.apply_effect, to 1e-9 relative.
// Run: node --test tests/js/

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  EFFECT_KINDS, applyEffect, baseline, effectSettings, expectedTokensPerStep, formatG4,
  hostBandwidthFromCatalogue, pyRound,
} from "../../docs/assets/js/effects.js";
import {
  CalculatorError, DEFAULT_SETTINGS, analyze, makeHardware, makeModel, makeSettings,
} from "../../docs/assets/js/roofline.js";

import { close, devices, models, vectors } from "./compare.mjs";

/** The arguments of applyEffect, looked up as the page does (catalogue ids, host link). */
function inputs(c) {
  const model = typeof c.model === "string" ? models[c.model] : makeModel(c.model);
  const hardware = typeof c.hardware === "string" ? devices[c.hardware] : makeHardware(c.hardware);
  const host = c.host_bandwidth ?? hostBandwidthFromCatalogue(vectors.catalogue.hardware[c.hardware]);
  const extra = {
    draft: models[c.effect.draft_model] ?? null,
    student: models[c.effect.student] ?? null,
    hostBandwidth: host,
  };
  return [model, hardware, makeSettings(c.settings), c.effect, extra];
}

function compareStage(got, want, where) {
  assert.equal(got.name, want.name, `${where} name`);
  assert.equal(got.layers.length, want.layers.length, `${where} row count`);
  want.layers.forEach(([lname, count, ops, bytes, time, bound, fmt], i) => {
    const r = got.layers[i];
    const at = `${where}.${lname}`;
    assert.equal(r.name, lname, `${at} name`);
    close(r.count, count, `${at} count`);
    close(r.ops, ops, `${at} ops`);
    close(r.bytes, bytes, `${at} bytes`);
    close(r.time_s, time, `${at} time_s`);
    assert.equal(r.bound, bound, `${at} bound`);
    assert.equal(r.format, fmt, `${at} format`);
    close(r.arithmetic_intensity, bytes ? ops / bytes : Infinity, `${at} intensity`);
  });
  for (const key of ["ops", "bytes", "time_s", "interconnect_bytes"]) close(got[key], want[key], `${where}.${key}`);
}

test("the effect vectors cover every effect kind on several models and devices", () => {
  const cases = vectors.effect_cases;
  assert.ok(cases.length + vectors.cases.length >= 300);
  const kinds = new Set(cases.map((c) => c.effect.kind));
  for (const kind of EFFECT_KINDS) assert.ok(kinds.has(kind), `no case of ${kind}`);
  // none and serving are refused by applyEffect (a serving method is analysed by --stage serve, not one run).
  for (const kind of EFFECT_KINDS.filter((k) => k !== "none" && k !== "serving")) {
    const valid = cases.filter((c) => c.expect && c.effect.kind === kind);
    const ms = new Set(valid.map((c) => JSON.stringify(c.model)));
    const hs = new Set(valid.map((c) => JSON.stringify(c.hardware)));
    // An architecture is its own model: its cases run the model it names, so two models suffice there.
    const need = kind === "architecture" ? 2 : 3;
    assert.ok(ms.size >= need && hs.size >= need, `${kind}: ${ms.size} models, ${hs.size} devices`);
  }
  assert.ok(cases.some((c) => c.effect.kind === "none" && c.error), "no refused kind none");
  assert.ok(cases.some((c) => c.effect.kind === "serving" && c.error), "no refused kind serving");
});

for (const c of vectors.effect_cases) {
  test(`effect case ${c.id}`, () => {
    if (c.error !== undefined) {
      assert.throws(() => applyEffect(...inputs(c)), (err) => {
        assert.ok(err instanceof CalculatorError, `${c.id}: ${err}`);
        assert.equal(err.message, c.error);
        return true;
      });
      return;
    }
    const out = applyEffect(...inputs(c));
    const e = c.expect;
    compareStage(out.prefill, e.prefill, `${c.id} prefill`);
    compareStage(out.decode, e.decode, `${c.id} decode`);
    close(out.decode_token_s, e.decode_token_s, `${c.id} decode_token_s`);
    for (const [key, value] of Object.entries(e.memory)) close(out.memory[key], value, `${c.id} memory.${key}`);
    assert.deepEqual(out.notes, e.notes, `${c.id} notes`);
    if (out.analysis) { // a plain analysis: its stages are the outcome's
      assert.equal(out.analysis.stages.decode.time_s, out.decode.time_s);
      assert.equal(out.analysis.memory.total_bytes, out.memory.total_bytes);
    }
  });
}

test("expected tokens per speculative step (Leviathan et al.)", () => {
  close(expectedTokensPerStep(0.8, 4), 3.3616, "a=0.8 g=4");
  assert.equal(expectedTokensPerStep(1, 4), 5);
});

test("Python's round and .4g formatting", () => {
  assert.deepEqual([0.5, 1.5, 2.5, 8.5, 2.4999, 2.5001, 3].map(pyRound), [0, 2, 2, 8, 2, 3, 3]);
  const cases = [[1.23456e-5, "1.235e-05"], [12345.6, "1.235e+04"], [0.0001, "0.0001"], [100, "100"],
    [1.5, "1.5"], [0.00012345, "0.0001234"], [9999.5, "1e+04"], [0.99995, "1"], [123.456, "123.5"],
    [2, "2"], [1e-7, "1e-07"], [0.1, "0.1"]];
  for (const [x, text] of cases) assert.equal(formatG4(x), text, String(x));
});

test("effectSettings: the inputs a method decides", () => {
  const base = { ...DEFAULT_SETTINGS, number_format: "fp", flash_attention: true };
  const q = effectSettings(base, { kind: "quantization", weights: { bits: 4, group_size: 128 }, kv_cache: { bits: 8 } });
  assert.deepEqual([q.settings.w_bits, q.settings.a_bits, q.settings.kv_bits, q.settings.group_size], [4, 16, 8, 128]);
  assert.equal(q.settings.number_format, "fp");
  assert.deepEqual(q.keys, ["w_bits", "a_bits", "kv_bits", "group_size", "kv_group_size"]);
  const d = effectSettings(base, { kind: "data_format", format: "int4-outlier", weights_bits: 4 });
  assert.deepEqual([d.settings.w_bits, d.settings.a_bits, d.settings.number_format], [4, 16, "int"]);
  // Fusing only the element-wise work leaves attention as the settings have it (fused by default).
  const f = effectSettings(base, { kind: "operator_fusion", flash_attention: false, fused_elementwise: true });
  assert.equal(f.settings.flash_attention, true);
  assert.deepEqual(f.keys, []);
  const fa = effectSettings({ ...base, flash_attention: false }, { kind: "operator_fusion", flash_attention: true });
  assert.equal(fa.settings.flash_attention, true);
  const s = effectSettings(base, { kind: "sparsity", pattern: "unstructured", sparsity: 0.5 });
  assert.deepEqual(s, { settings: base, keys: [] });
});

test("a plain analysis is kept where the method only changes the settings or the model", () => {
  const model = models["llama-2-7b"], hw = devices["nvidia-a6000"];
  const s = makeSettings({ stage: "decode" });
  const q = applyEffect(model, hw, s, { kind: "quantization", weights: { bits: 4 } });
  assert.ok(q.analysis && q.analysis.generate, "quantization keeps the request summary");
  assert.deepEqual(q.decode, analyze(model, hw, makeSettings({ w_bits: 4 })).stages.decode);
  const sp = applyEffect(model, hw, s, { kind: "speculative", draft_length: 4, acceptance_rate: 0.8, draft_cost: 0.1 });
  assert.equal(sp.analysis, null);
  assert.equal(sp.decode.step_tokens, 5);
  assert.ok(sp.decode_token_s < baseline(model, hw, s).decode_token_s);
});
