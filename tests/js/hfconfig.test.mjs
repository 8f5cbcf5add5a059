// docs/assets/js/hfconfig.js against calculator/hf.py: every kb/models config block and the synthetic and
// hostile configs of tests/js/hfconfig-fixture.json (tools/make_hfconfig_fixture.py) give the same model, or
// the same one-line error, in both languages.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { MODEL_TYPES, modelFromConfig } from "../../docs/assets/js/hfconfig.js";
import { MODEL_LIMITS, analyze, makeSettings, makeHardware } from "../../docs/assets/js/roofline.js";

const fixture = JSON.parse(readFileSync(new URL("./hfconfig-fixture.json", import.meta.url), "utf8"));

test("the model types and their architectures are Python's", () => {
  assert.deepEqual({ ...MODEL_TYPES }, fixture.model_types);
});

test("the model-shape ranges are calculator.limits.LIMITS", () => {
  for (const [key, bounds] of Object.entries(fixture.limits)) assert.deepEqual(MODEL_LIMITS[key], bounds, key);
});

const DEVICE = makeHardware(fixture.device);
const close = (x, y, where) => assert.ok(x === y || Math.abs(x - y) <= 1e-9 * Math.max(Math.abs(x), Math.abs(y)),
  `${where}: ${x} != ${y}`);

for (const c of fixture.models) {
  test(`config of ${c.id || "(no id)"} reads as Python reads it`, () => {
    const m = modelFromConfig(c.config, { id: c.id, name: c.name });
    for (const [key, value] of Object.entries(c.expect.fields)) {
      const actual = Array.isArray(m[key]) ? [...m[key]] : m[key];
      assert.deepEqual(actual, value, `${c.id}: ${key}`);
    }
    assert.equal(m.params_total, c.expect.params_total, `${c.id}: params_total`);
    assert.equal(m.params_active, c.expect.params_active, `${c.id}: params_active`);
    assert.equal(m.recipe.length, c.expect.recipe.length, `${c.id}: layer groups`);
    c.expect.recipe.forEach((group, i) => {
      const g = m.recipe[i];
      assert.equal(g.count, group.count, `${c.id}: group ${i} count`);
      for (const [key, value] of Object.entries(group.attention)) assert.equal(g.attention[key], value, `${c.id}: ${key}`);
      for (const [key, value] of Object.entries(group.mlp)) assert.equal(g.mlp[key], value, `${c.id}: mlp ${key}`);
    });
    const r = analyze(m, DEVICE, makeSettings(fixture.settings)); // the same analysis as Python's, row by row
    const want = c.expect.analysis;
    for (const [stage, rows] of Object.entries(want.stages)) {
      const got = r.stages[stage].layers;
      assert.deepEqual(got.map((x) => [x.name, x.count]), rows.map((x) => [x[0], x[1]]), `${c.id} ${stage}: rows`);
      rows.forEach((x, i) => {
        close(got[i].ops, x[2], `${c.id} ${stage} ${x[0]} ops`);
        close(got[i].bytes, x[3], `${c.id} ${stage} ${x[0]} bytes`);
      });
    }
    close(r.memory.weights_bytes, want.memory[0], `${c.id}: weights`);
    close(r.memory.kv_cache_bytes, want.memory[1], `${c.id}: kv cache`);
    close(r.memory.activations_bytes, want.memory[2], `${c.id}: activations`);
    close(r.generate.decode_time_s, want.decode_time_s, `${c.id}: decode time`);
  });
}

for (const [i, e] of fixture.errors.entries()) {
  test(`hostile config ${i} is refused with Python's line: ${e.error.slice(0, 60)}`, () => {
    assert.throws(() => modelFromConfig(e.config), (exc) => {
      assert.equal(exc.name, "CalculatorError");
      assert.equal(exc.message, e.error);
      assert.ok(!exc.message.includes("\n"));
      return true;
    });
  });
}
