// The range of every run setting the live calculator accepts: the same numbers as calculator/limits.py
// (tests/js/limits.test.mjs holds the two equal), so a value the page takes is one Python takes, every
// result stays finite, and what the page writes into its address it reads back.

import { CalculatorError } from "./roofline.js";

export const SETTING_LIMITS = Object.freeze({
  batch: [1, 1_000_000],
  seq_len: [1, 100_000_000],
  gen_len: [1, 100_000_000],
  tp: [1, 65_536],
  group_size: [1, 1_000_000],
  kv_group_size: [1, 1_000_000],
});

/** Python's `f"{x:g}"` for the bounds above (integers): 1000000 -> "1e+06", 65536 -> "65536". */
export function formatG(x) {
  if (Math.abs(x) < 1e6) return String(x);
  const [mantissa, exponent] = x.toExponential(5).split("e");
  const digits = mantissa.replace(/\.?0+$/, "");
  const exp = Number(exponent);
  return `${digits}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
}

/** True when `value` is an integer inside the range of setting `key` (keys without a range: true). */
export function inRange(key, value) {
  const range = SETTING_LIMITS[key];
  if (!range) return true;
  return Number.isInteger(value) && value >= range[0] && value <= range[1];
}

/** Throw CalculatorError, worded as Python's check_range, for the first setting out of its range. */
export function checkSettingRanges(fields) {
  for (const [key, [lo, hi]] of Object.entries(SETTING_LIMITS)) {
    const value = fields[key];
    if (typeof value !== "number" || !Number.isInteger(value) || value < lo) continue;  // makeSettings words these
    if (value > hi) throw new CalculatorError(`${key} must be at most ${formatG(hi)}, got ${value}`);
  }
}
