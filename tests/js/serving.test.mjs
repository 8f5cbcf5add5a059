// The browser's serving view against the Python calculator: every number of tests/js/serving_vectors.json
// (written by tools/make_serving_vectors.py from calculator.serving and calculator.search) to 1e-9
// relative, integers and words exactly.
// Run: node --test tests/js/

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { makeHardware, makeModel, makeSettings } from "../../docs/assets/js/roofline.js";
import {
  StepModel, batchGrid, batches, capacity, checkLimit, curve, formatG6, point, sla, sumMax,
} from "../../docs/assets/js/serving.js";

import { close } from "./compare.mjs";

const doc = JSON.parse(readFileSync(new URL("./serving_vectors.json", import.meta.url), "utf8"));
const models = Object.fromEntries(Object.entries(doc.models).map(([id, f]) => [id, makeModel(f)]));
const devices = Object.fromEntries(Object.entries(doc.hardware).map(([id, f]) => [id, makeHardware(f)]));

/** Deep comparison: numbers to 1e-9 relative (integers exactly), everything else equal. */
function same(actual, expected, where) {
  if (typeof expected === "number") {
    if (Number.isInteger(expected) && Number.isInteger(actual) && Math.abs(expected) < 2 ** 53) {
      assert.equal(actual, expected, where);
    } else close(actual, expected, where);
  } else if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${where}: not a list`);
    assert.equal(actual.length, expected.length, `${where} length`);
    expected.forEach((v, i) => same(actual[i], v, `${where}[${i}]`));
  } else if (expected && typeof expected === "object") {
    assert.ok(actual && typeof actual === "object", `${where}: not an object (${actual})`);
    assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), `${where} keys`);
    for (const [k, v] of Object.entries(expected)) same(actual[k], v, `${where}.${k}`);
  } else {
    assert.equal(actual, expected, where);
  }
}

function setup(c) {
  return [models[c.model], devices[c.hardware], makeSettings(c.settings)];
}

const valid = doc.cases.filter((c) => c.expect);

test("the vectors cover the kinds of model, the allocators and the options", () => {
  assert.ok(valid.length >= 20);
  assert.ok(doc.cases.filter((c) => c.error).length >= 4);
  const kinds = valid.map((c) => models[c.model]);
  assert.ok(kinds.some((m) => m.kv_lora_rank), "MLA");
  assert.ok(kinds.some((m) => m.num_local_experts), "MoE");
  assert.ok(kinds.some((m) => m.sliding_window), "window");
  assert.ok(kinds.some((m) => m.num_key_value_heads < m.num_attention_heads), "GQA");
  assert.ok(kinds.some((m) => m.architecture === "opt"), "OPT");
  assert.ok(valid.some((c) => c.options.allocator === "reserve"));
  assert.ok(valid.some((c) => c.options.prefillTokens));
  assert.ok(valid.some((c) => c.expect.capacity.max_batch === 0), "a setup that does not fit");
  assert.ok(valid.some((c) => c.expect.capacity.max_batch === null), "no stated memory");
  assert.ok(valid.some((c) => c.settings.tp > 1));
  assert.ok(valid.some((c) => c.expect.step.expert_rows > 0));
});

for (const c of valid) {
  test(`serving: ${c.id}`, () => {
    const [model, hw, settings] = setup(c);
    const e = c.expect;
    const step = new StepModel(model, hw, settings);
    for (const key of ["weights_bytes", "kv_token_bytes", "window"]) same(step[key], e.step[key], `${c.id} step.${key}`);
    same(step.rows.length, e.step.rows, `${c.id} rows`);
    same(step.pre_rows.length, e.step.pre_rows, `${c.id} pre_rows`);
    same(step.expert_rows.length, e.step.expert_rows, `${c.id} expert_rows`);
    same(step.tabulated.length, e.step.tabulated, `${c.id} tabulated`);
    for (const p of e.probes) {
      const at = `${c.id} ${p.kind}(${p.b}, ${p.n}${p.g ? `, ${p.g}` : ""})`;
      if (p.kind === "decode_step") {
        same(step.decodeStep(p.b, p.n), p.value, at);
        const counts = step.decodeCounts(p.b, p.n);
        same(step.split(...counts.slice(0, 4), false, ...counts.slice(4)), p.split, `${at} split`);
        same(step.split(...counts.slice(0, 4), true, ...counts.slice(4)), p.split_weights, `${at} split weights`);
      } else if (p.kind === "prefill") same(step.prefill(p.b, p.n), p.value, at);
      else same(step.decodeTotal(p.b, p.n, p.g), p.value, at);
    }
    const cap = capacity(model, hw, settings, { ...c.options, step });
    same(cap, e.capacity, `${c.id} capacity`);
    const other = (c.options.allocator || "paged") === "paged" ? "reserve" : "paged";
    same(capacity(model, hw, settings, { ...c.options, allocator: other, step }), e.capacity_other,
      `${c.id} capacity (${other})`);
    same(curve(model, hw, settings, { step, cap }), e.curve, `${c.id} curve`);
    for (const [name, want] of Object.entries(e.knee_points)) {
      same(point(step, e.curve[name], settings.seq_len, settings.gen_len), want, `${c.id} ${name} point`);
    }
    for (const s of e.sla) {
      const got = sla(step, cap, settings.seq_len, settings.gen_len, s.ttft_limit, s.tpot_limit);
      same({ best: got.best, evaluated: got.evaluated, limit: got.limit },
        { best: s.best, evaluated: s.evaluated, limit: s.limit }, `${c.id} sla(${s.ttft_limit}, ${s.tpot_limit})`);
    }
  });
}

test("refusals: the same one-line message as Python", () => {
  for (const c of doc.cases.filter((x) => x.error)) {
    const [model, hw, settings] = setup(c);
    assert.throws(() => capacity(model, hw, settings, c.options), (err) => {
      assert.equal(err.message, c.error, c.id);
      return true;
    });
  }
});

test("helpers: the sum of maxima, the batch grids, %g and the SLA limits", () => {
  // brute force against the closed form, on lines that cross and lines that do not
  for (const [f0, f1, g0, g1, m] of [[1, 2, 5, 1, 10], [5, 0, 1, 1, 9], [0, 1, 0, 1, 4], [3, -1, 0, 0.5, 7], [1, 1, 2, 2, 0]]) {
    let want = 0;
    for (let j = 0; j < m; j++) want += Math.max(f0 + f1 * j, g0 + g1 * j);
    close(sumMax(f0, f1, g0, g1, m), want, `sumMax ${[f0, f1, g0, g1, m]}`);
  }
  assert.deepEqual(batches(1), [1]);
  assert.deepEqual(batches(5), [1, 2, 4, 5]);
  assert.deepEqual(batches(8), [1, 2, 4, 8]);
  assert.deepEqual(batchGrid(3, 256), [1, 2, 3]);
  const grid = batchGrid(1000, 256);
  assert.equal(grid[255], 256);
  assert.equal(grid.at(-1), 1000);
  assert.ok(grid.every((b, i) => i === 0 || b > grid[i - 1]));
  assert.equal(formatG6(0.0123456789), "0.0123457");
  assert.equal(formatG6(1234567), "1.23457e+06");
  assert.equal(formatG6(4.108e-3), "0.004108");
  assert.equal(formatG6(2.5e-7), "2.5e-07");
  assert.equal(formatG6(100), "100");
  assert.throws(() => checkLimit("ttft_limit", 0), /ttft_limit must be a positive number of seconds, got 0/);
  assert.throws(() => checkLimit("tpot_limit", 1e6), /got 1000000/);
  assert.throws(() => checkLimit("tpot_limit", NaN), /got NaN/);
});
