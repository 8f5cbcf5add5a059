// The live calculator's setting ranges equal Python's (calculator/limits.py), and its bound messages read alike.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { SETTING_LIMITS, checkSettingRanges, formatG, inRange } from "../../docs/assets/js/limits.js";

const python = process.env.KB_PYTHON || ".venv/bin/python";

test("the setting ranges are Python's", () => {
  const keys = Object.keys(SETTING_LIMITS);
  const out = execFileSync(python, ["-c",
    `import json, sys; from calculator.limits import LIMITS; print(json.dumps({k: LIMITS[k] for k in sys.argv[1:]}))`,
    ...keys]).toString();
  assert.deepEqual(JSON.parse(out), Object.fromEntries(keys.map((k) => [k, [...SETTING_LIMITS[k]]])));
});

test("bounds print as Python's :g does", () => {
  assert.equal(formatG(1_000_000), "1e+06");
  assert.equal(formatG(100_000_000), "1e+08");
  assert.equal(formatG(65_536), "65536");
});

test("a batch beyond the range is refused with Python's words", () => {
  assert.throws(() => checkSettingRanges({ batch: 1e21 }), { message: "batch must be at most 1e+06, got 1e+21" });
  assert.doesNotThrow(() => checkSettingRanges({ batch: 1_000_000, seq_len: 4096 }));
  assert.equal(inRange("batch", 1e21), false);
  assert.equal(inRange("batch", 0), false);
  assert.equal(inRange("seq_len", 2048), true);
});
