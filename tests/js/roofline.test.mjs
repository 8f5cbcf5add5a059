// The browser's roofline maths against the Python calculator: every number of tests/js/vectors.json
// (written by tools/make_vectors.py from calculator.analyze) to 1e-9 relative.
// Run: node --test tests/js/

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  CalculatorError, NUMBER_FORMAT_PRESETS, analyze, computeFormat, expectedExperts, flashPairs, makeHardware, makeModel,
  makeSettings,
} from "../../docs/assets/js/roofline.js";

import { close, devices, models, vectors } from "./compare.mjs";

function inputs(c) {
  const model = typeof c.model === "string" ? models[c.model] : makeModel(c.model);
  const hardware = typeof c.hardware === "string" ? devices[c.hardware] : makeHardware(c.hardware);
  const settings = makeSettings(c.settings);
  return [model, hardware, settings];
}

function compare(c, result) {
  const e = c.expect;
  const where = c.id;
  close(result.model.parameters, e.model_parameters, `${where} parameters`);
  if (e.model_params_active !== undefined) {
    assert.equal(result.model.params_active, e.model_params_active, `${where} params_active`);
  }
  assert.deepEqual(result.formats, e.formats, `${where} formats`);
  assert.deepEqual(result.notes, e.notes, `${where} notes`);
  assert.deepEqual(Object.keys(result.stages), Object.keys(e.stages), `${where} stages`);
  for (const [name, stage] of Object.entries(e.stages)) {
    const got = result.stages[name];
    assert.equal(got.layers.length, stage.layers.length, `${where} ${name} row count`);
    stage.layers.forEach(([lname, count, ops, bytes, time, bound, fmt], i) => {
      const r = got.layers[i];
      const at = `${where} ${name}.${lname}`;
      assert.equal(r.name, lname, `${at} name`);
      assert.equal(r.count, count, `${at} count`);
      close(r.ops, ops, `${at} ops`);
      close(r.bytes, bytes, `${at} bytes`);
      close(r.time_s, time, `${at} time_s`);
      assert.equal(r.bound, bound, `${at} bound`);
      assert.equal(r.format, fmt, `${at} format`);
    });
    for (const key of ["ops", "bytes", "time_s", "interconnect_bytes"]) {
      close(got[key], stage[key], `${where} ${name}.${key}`);
    }
  }
  for (const [key, value] of Object.entries(e.memory)) close(result.memory[key], value, `${where} memory.${key}`);
  if (e.generate === null) {
    assert.equal(result.generate, null, `${where} generate`);
  } else {
    for (const [key, value] of Object.entries(e.generate)) {
      close(result.generate[key], value, `${where} generate.${key}`);
    }
  }
}

test("the vectors cover every catalogue model, device and stage", () => {
  const cases = vectors.cases;
  assert.ok(cases.length >= 300, `only ${cases.length} cases`);
  const usedModels = new Set(cases.map((c) => c.model).filter((m) => typeof m === "string"));
  const usedDevices = new Set(cases.map((c) => c.hardware).filter((h) => typeof h === "string"));
  assert.deepEqual([...usedModels].sort(), Object.keys(vectors.catalogue.models).sort());
  assert.deepEqual([...usedDevices].sort(), Object.keys(vectors.catalogue.hardware).sort());
  const stages = new Set(cases.filter((c) => c.expect).map((c) => c.settings.stage));
  assert.deepEqual([...stages].sort(), ["all", "decode", "generate", "prefill"]);
  assert.ok(cases.some((c) => c.tags.includes("split")), "no decode run crosses the ridge point");
  assert.ok(cases.some((c) => c.expect && c.settings.tp > 1), "no tensor-parallel case");
  assert.ok(cases.some((c) => c.expect && c.settings.flash_attention), "no fused-attention case");
});

for (const c of vectors.cases) {
  test(`case ${c.id}`, () => {
    if (c.error !== undefined) {
      assert.throws(() => analyze(...inputs(c)), (err) => {
        assert.ok(err instanceof CalculatorError, `${c.id}: ${err}`);
        assert.equal(err.message, c.error);
        return true;
      });
      return;
    }
    compare(c, analyze(...inputs(c)));
  });
}

test("helpers match the docstring examples", () => {
  close(expectedExperts(8, 2, 1), 2.0, "E=8 k=2 1 token");
  assert.equal(expectedExperts(8, 2, 4).toFixed(2), "5.47");
  close(flashPairs(2048, 2048), 2048 * 2049 / 2, "prefill pairs");
  assert.equal(flashPairs(1, 100), 100);
  const hw = makeHardware({ id: "x", memory_bandwidth: 1e12, peak_ops: { fp16: 1e14, int8: 2e14 } });
  assert.deepEqual(computeFormat(4, "int", hw), ["int8", 2e14, true]);
  assert.deepEqual(computeFormat(16, "int", hw), ["fp16", 1e14, false]);
  assert.deepEqual(computeFormat(8, "fp", hw), ["fp16", 1e14, true]);
});

test("inputs are frozen and defaults follow calculator.Settings", () => {
  const s = makeSettings();
  assert.equal(s.seq_len, 2048);
  assert.equal(s.gen_len, 128);
  assert.equal(s.stage, "all");
  assert.ok(Object.isFrozen(s));
  assert.ok(Object.isFrozen(models["llama-2-7b"]));
});

/** Every number of an expectation, in a fixed order (rows, totals, memory, generate). */
function numbers(e) {
  const out = [];
  for (const stage of Object.values(e.stages)) {
    for (const r of stage.layers) out.push(r[1], r[2], r[3], r[4]);
    out.push(stage.ops, stage.bytes, stage.time_s, stage.interconnect_bytes);
  }
  for (const v of Object.values(e.memory)) if (typeof v === "number") out.push(v);
  if (e.generate) for (const v of Object.values(e.generate)) if (typeof v === "number") out.push(v);
  return out;
}

// Bit-identical, not only within 1e-9: each language does the same floating-point operations in the same
// order. MoE models are held to 1e-9 only: expected_experts raises to a power (C pow against V8's pow,
// which may differ in the last bit).
test("every valid dense-model case is bit-identical: the same floating-point operations in the same order", () => {
  let checked = 0;
  for (const c of vectors.cases) {
    if (c.error !== undefined) continue;
    const [model] = inputs(c);
    if (model.num_local_experts) continue;
    checked += 1;
    const result = analyze(...inputs(c));
    const got = {
      stages: Object.fromEntries(Object.entries(result.stages).map(([k, st]) => [k, {
        layers: st.layers.map((r) => [r.name, r.count, r.ops, r.bytes, r.time_s]),
        ops: st.ops, bytes: st.bytes, time_s: st.time_s, interconnect_bytes: st.interconnect_bytes,
      }])),
      memory: result.memory,
      generate: result.generate,
    };
    const want = numbers(c.expect);
    const have = numbers({ ...got, memory: Object.fromEntries(Object.keys(c.expect.memory).map((k) => [k, result.memory[k]])),
      generate: c.expect.generate && Object.fromEntries(Object.keys(c.expect.generate).map((k) => [k, result.generate[k]])) });
    assert.equal(have.length, want.length, `${c.id} count of numbers`);
    have.forEach((v, i) => assert.ok(Object.is(v, want[i]) || v === want[i], `${c.id} number ${i}: ${v} !== ${want[i]}`));
  }
  assert.ok(checked > 300, `only ${checked} dense cases`);
});

test("the named number formats are Python's table, bit for bit", () => {
  assert.deepEqual(NUMBER_FORMAT_PRESETS, vectors.number_formats);
});
