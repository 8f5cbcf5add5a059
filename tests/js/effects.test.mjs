// The browser's method effects (docs/assets/js/effects.js): the settings each kind sets, as
// calculator/effects.py does for quantization, data_format and operator_fusion.
// Run: node --test tests/js/

import assert from "node:assert/strict";
import { test } from "node:test";

import { applyEffect, isModelled, modelledKinds, registerEffect } from "../../docs/assets/js/effects.js";
import { DEFAULT_SETTINGS, analyze, makeHardware, makeModel, makeSettings } from "../../docs/assets/js/roofline.js";

const base = { ...DEFAULT_SETTINGS, number_format: "fp", flash_attention: true, group_size: null };

test("quantization sets every bit-width and group size, 16 where the entry is silent", () => {
  const out = applyEffect(base, { kind: "quantization", weights: { bits: 4, group_size: 128 }, kv_cache: { bits: 8 } });
  assert.equal(out.modelled, true);
  assert.deepEqual([out.settings.w_bits, out.settings.a_bits, out.settings.kv_bits], [4, 16, 8]);
  assert.equal(out.settings.group_size, 128);
  assert.equal(out.settings.kv_group_size, null);
  assert.equal(out.settings.number_format, "fp"); // untouched
  assert.deepEqual(out.keys, ["w_bits", "a_bits", "kv_bits", "group_size", "kv_group_size"]);
  makeSettings(out.settings); // valid
});

test("data_format picks the number format from the format name", () => {
  const fp = applyEffect(base, { kind: "data_format", format: "fp8-e4m3", weights_bits: 8, activations_bits: 8 });
  assert.deepEqual([fp.settings.w_bits, fp.settings.a_bits, fp.settings.number_format], [8, 8, "fp"]);
  const int = applyEffect(base, { kind: "data_format", format: "int4-outlier", weights_bits: 4 });
  assert.deepEqual([int.settings.w_bits, int.settings.a_bits, int.settings.number_format], [4, 16, "int"]);
});

test("operator_fusion switches fused attention; fused element-wise kernels are only noted", () => {
  const off = applyEffect(base, { kind: "operator_fusion", flash_attention: false, fused_elementwise: true });
  assert.equal(off.settings.flash_attention, false);
  assert.match(off.notes.join(" "), /not modelled in the browser yet/);
  const on = applyEffect({ ...base, flash_attention: false }, { kind: "operator_fusion", flash_attention: true });
  assert.equal(on.settings.flash_attention, true);
});

test("other kinds leave the settings alone and say so", () => {
  const out = applyEffect(base, { kind: "sparsity", pattern: "unstructured", sparsity: 0.5 });
  assert.equal(out.modelled, false);
  assert.deepEqual(out.settings, base);
  assert.match(out.notes[0], /not modelled in the browser yet/);
  assert.equal(isModelled({ kind: "speculative" }), false);
  assert.deepEqual(modelledKinds().sort(), ["data_format", "operator_fusion", "quantization"]);
});

test("a new kind plugs in through registerEffect, with an optional transform of the result", () => {
  registerEffect("test_halve_decode", (s) => ({
    settings: s,
    transform: (r) => ({ ...r, stages: { ...r.stages, decode: { ...r.stages.decode, time_s: r.stages.decode.time_s / 2 } } }),
  }));
  const out = applyEffect(DEFAULT_SETTINGS, { kind: "test_halve_decode" });
  const model = makeModel({ id: "m", hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2,
    num_attention_heads: 4, vocab_size: 100 });
  const hw = makeHardware({ id: "d", memory_bandwidth: 1e12, peak_ops: { fp16: 1e14 } });
  const plain = analyze(model, hw, makeSettings(out.settings));
  assert.equal(out.transform(plain).stages.decode.time_s, plain.stages.decode.time_s / 2);
});
