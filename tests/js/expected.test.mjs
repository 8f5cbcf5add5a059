// The browser's expected-time model (docs/assets/js/expected.js) against the Python one
// (calculator/expected.py): tests/calculator/fixtures/expected_vectors.json, written by `make calibrate`.
// Run: node --test tests/js/

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { deviceClass, expectedStageS, kindOf, parametersFor } from "../../docs/assets/js/expected.js";

const root = new URL("../../", import.meta.url);
const vectors = JSON.parse(readFileSync(new URL("tests/calculator/fixtures/expected_vectors.json", root)));
const params = JSON.parse(readFileSync(new URL("docs/assets/accuracy/parameters.json", root)));

test("every vector: same class and expected seconds as Python (1e-9 relative)", () => {
  assert.ok(vectors.length >= 6);
  for (const v of vectors) {
    assert.equal(deviceClass(v.hardware, v.info), v.class, v.id);
    const got = expectedStageS(v.stage, v.hardware, v.settings, params, v.info);
    assert.ok(Math.abs(got - v.expected_s) <= 1e-9 * v.expected_s, `${v.id}: ${got} vs ${v.expected_s}`);
    assert.ok(got >= v.stage.time_s, `${v.id}: expected below the bound`);
  }
});

test("without parameters the expected time is the bound", () => {
  for (const v of vectors) {
    const got = expectedStageS(v.stage, v.hardware, v.settings, null, v.info);
    assert.ok(Math.abs(got - v.stage.time_s) <= 1e-9 * v.stage.time_s, v.id);
  }
  assert.equal(parametersFor("apple", null).bw_fraction_16bit, 1.0);
});

test("row kinds", () => {
  assert.equal(kindOf("q_proj"), "gemm");
  assert.equal(kindOf("window_attention"), "attention");
  assert.equal(kindOf("mlp_allreduce"), "collective");
  assert.equal(kindOf("softmax"), "elementwise");
});
