// Shared by the vector tests: the vectors, the 1e-9 relative comparison and the catalogue they carry.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { hardwareFromCatalogue, modelFromCatalogue } from "../../docs/assets/js/roofline.js";

export const vectors = JSON.parse(readFileSync(new URL("./vectors.json", import.meta.url), "utf8"));
export const REL = 1e-9;

export function close(actual, expected, where) {
  if (expected === null || typeof expected !== "number") {
    assert.equal(actual, expected, where);
    return;
  }
  assert.equal(typeof actual, "number", `${where}: not a number (${actual})`);
  const scale = Math.max(Math.abs(expected), Math.abs(actual));
  const ok = actual === expected || Math.abs(actual - expected) <= REL * scale;
  assert.ok(ok, `${where}: ${actual} != ${expected} (rel ${Math.abs(actual - expected) / scale})`);
}

export const models = {};
export const devices = {};
for (const [id, data] of Object.entries(vectors.catalogue.models)) models[id] = modelFromCatalogue(data);
for (const [id, data] of Object.entries(vectors.catalogue.hardware)) devices[id] = hardwareFromCatalogue(data);
