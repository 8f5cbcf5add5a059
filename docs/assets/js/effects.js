// What a knowledge-base method does to the calculator's settings, in the browser.
//
// The seam: `applyEffect(settings, effect)` takes plain settings fields (as makeSettings accepts
// them) and an entry's `effect` (as in data/methods.json) and returns
//   {settings, modelled, keys, notes}
// - settings: the fields with the method applied (a new object);
// - modelled: false when the browser cannot show this kind yet (settings come back unchanged);
// - keys: the settings the method decides (the page locks those inputs while the method is chosen);
// - notes: plain sentences for the reader.
// The mappings follow calculator/effects.py (quantization and data_format set the bits and the
// number format, operator_fusion switches fused attention). A kind that changes rows or the model
// (sparsity, speculative decoding, ...) is added with `registerEffect(kind, fn)`, where `fn` may
// also return `transform(result)`, a function the page applies to the analysis afterwards.

const HANDLERS = new Map();

/** Add (or replace) the browser handler of one effect kind. */
export function registerEffect(kind, fn) {
  HANDLERS.set(kind, fn);
}

/** Effect kinds the browser applies. */
export function modelledKinds() {
  return [...HANDLERS.keys()];
}

export function isModelled(effect) {
  return Boolean(effect) && HANDLERS.has(effect.kind);
}

export function applyEffect(settings, effect) {
  if (!effect) return { settings: { ...settings }, modelled: true, keys: [], notes: [] };
  const handler = HANDLERS.get(effect.kind);
  if (!handler) {
    return {
      settings: { ...settings },
      modelled: false,
      keys: [],
      notes: [`Effect kind "${effect.kind}" is not modelled in the browser yet: the numbers are without it.`],
    };
  }
  const out = handler({ ...settings }, effect);
  return { modelled: true, keys: [], notes: [], ...out };
}

registerEffect("quantization", (s, e) => {
  const part = (key) => e[key] || {};
  s.w_bits = part("weights").bits ?? 16;
  s.a_bits = part("activations").bits ?? 16;
  s.kv_bits = part("kv_cache").bits ?? 16;
  s.group_size = part("weights").group_size ?? null;
  s.kv_group_size = part("kv_cache").group_size ?? null;
  return { settings: s, keys: ["w_bits", "a_bits", "kv_bits", "group_size", "kv_group_size"] };
});

registerEffect("data_format", (s, e) => {
  const name = String(e.format ?? "").toLowerCase();
  s.number_format = name.startsWith("int") ? "int" : "fp";
  s.w_bits = e.weights_bits || 16;
  s.a_bits = e.activations_bits || 16;
  const notes = [`${e.format} is modelled as ${s.w_bits}-bit weights and ${s.a_bits}-bit activations `
    + `computed in ${s.number_format === "fp" ? "floating point" : "integer"} formats.`];
  return { settings: s, keys: ["w_bits", "a_bits", "number_format"], notes };
});

registerEffect("operator_fusion", (s, e) => {
  s.flash_attention = Boolean(e.flash_attention);
  const notes = [];
  if (e.fused_elementwise) {
    notes.push("Fused element-wise kernels (norms, activations, adds) are not modelled in the browser yet; "
      + "only the attention fusion is applied.");
  }
  return { settings: s, keys: ["flash_attention"], notes };
});
