"""Architecture entries link to the catalogue models that use them (issue 14.8).

An entry lists the features it introduced (`features: [latent-attention]` on MLA); each feature is read
from a model's layer recipe as the calculator builds it, so a model added to kb/models appears on the
right pages without anyone listing it there.
"""

from __future__ import annotations

from kb.markup import text

__all__ = ["FEATURES", "features_section", "models_with"]

# feature -> (words for the page, test on a calculator.Model)
FEATURES = {
    "latent-attention": ("multi-head latent attention", lambda m: bool(m.kv_lora_rank)),
    "grouped-query-attention": ("grouped-query attention (fewer KV heads than query heads, more than one)",
                                lambda m: not m.kv_lora_rank and 1 < m.num_key_value_heads < m.num_attention_heads),
    "multi-query-attention": ("multi-query attention (one KV head)",
                              lambda m: not m.kv_lora_rank and m.num_key_value_heads == 1 < m.num_attention_heads),
    "mixture-of-experts": ("a mixture of experts", lambda m: bool(m.num_local_experts)),
    "shared-experts": ("shared experts beside the routed ones", lambda m: bool(m.num_shared_experts)),
    "sliding-window": ("sliding-window attention", lambda m: bool(m.sliding_window)),
    "linear-attention": ("linear-attention layers", lambda m: bool(m.linear_num_value_heads)),
    "state-space": ("Mamba state-space layers", lambda m: bool(m.mamba_d_state)),
    "state-space-2": ("Mamba-2 state-space layers", lambda m: bool(m.mamba_n_heads)),
}


def models_with(models: dict, features: list[str]) -> list:
    """The calculator models (id -> Model) that have every one of `features`, by name."""
    tests = [FEATURES[f][1] for f in features]
    return sorted((m for m in models.values() if all(t(m) for t in tests)), key=lambda m: m.name)


def features_section(models: dict, models_page: str = "models.md"):
    """A method-page section listing the catalogue models with the entry's features (none: no section)."""
    def section(method, page: str) -> str:
        if not method.features:
            return ""
        words = " and ".join(FEATURES[f][0] for f in method.features)
        found = models_with(models, method.features)
        depth = page.count("/")
        link = "../" * depth + models_page
        out = [f"\n## Catalogue models with this architecture\n\nModels of the [catalogue]({link}) with {text(words)}: "]
        out.append(", ".join(text(m.name) for m in found) + "." if found else "none yet.")
        return "".join(out) + "\n"
    return section
