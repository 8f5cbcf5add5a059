"""Catalogue ids -> calculator inputs: reads kb/hardware/<id>.yaml and kb/models/<id>.yaml.

This is the fast path of ``python -m calculator``: it parses one small YAML file with libyaml's
safe loader and builds the calculator's frozen dataclasses. It does not validate (that is
`kb.schema`'s job, run by ``python -m kb check`` and the site build) and must not import pydantic
or anything heavy. Field meanings and units: .notes/CATALOGUE_FORMAT.md.

    >>> load_model("llama-2-7b").hidden_size
    4096
"""

from __future__ import annotations

import os
import re

from calculator.spec import CalculatorError, Hardware, Model

__all__ = [
    "CatalogueError",
    "UnknownIdError",
    "hardware_from_dict",
    "hardware_ids",
    "load_effect",
    "load_hardware",
    "load_model",
    "model_from_dict",
    "model_ids",
]

ROOT = os.path.dirname(os.path.abspath(__file__))
"""Default catalogue root: the folder holding `hardware/` and `models/`."""

_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_MODEL_FIELDS = (
    "architecture",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
    "vocab_size",
    "max_position_embeddings",
    "tie_word_embeddings",
    "num_local_experts",
    "num_experts_per_tok",
    "qkv_bias",
    "o_bias",
    "mlp_bias",
    "sliding_window",
    "layer_types",
    "attention_sinks",
    "qk_norm",
    "q_lora_rank",
    "kv_lora_rank",
    "qk_nope_head_dim",
    "qk_rope_head_dim",
    "v_head_dim",
    "moe_intermediate_size",
    "num_shared_experts",
    "shared_expert_intermediate_size",
    "dense_layers",
    "linear_num_key_heads",
    "linear_num_value_heads",
    "linear_key_head_dim",
    "linear_value_head_dim",
    "linear_conv_kernel_dim",
    "mamba_d_state",
    "mamba_d_conv",
    "mamba_inner_size",
    "mamba_dt_rank",
    "mamba_n_heads",
    "mamba_n_groups",
    "mamba_conv_bias",
    "mamba_proj_bias",
    "no_mlp_layers",
    "attention_output_gate",
)
_TUPLE_FIELDS = ("layer_types", "dense_layers", "no_mlp_layers")
_REQUIRED_MODEL = ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                   "vocab_size")


class CatalogueError(Exception):
    """A catalogue file that cannot be read or turned into calculator inputs (invalid data)."""


class UnknownIdError(LookupError):
    """No catalogue file for an id; `matches` holds the closest existing ids."""

    def __init__(self, kind: str, wanted: str, matches: list[str]):
        self.kind, self.id, self.matches = kind, wanted, matches
        hint = f"; close matches: {', '.join(matches)}" if matches else ""
        super().__init__(f"unknown {kind} id {wanted!r}{hint}")

    def __str__(self) -> str:
        return self.args[0]


def _ids(root: str | None, folder: str) -> list[str]:
    path = os.path.join(root or ROOT, folder)
    try:
        names = os.listdir(path)
    except OSError:
        return []
    return sorted(name[:-5] for name in names if name.endswith(".yaml"))


def hardware_ids(root: str | None = None) -> list[str]:
    """Ids of every device file, sorted."""
    return _ids(root, "hardware")


def model_ids(root: str | None = None) -> list[str]:
    """Ids of every model file, sorted."""
    return _ids(root, "models")


def close_matches(wanted: str, known: list[str]) -> list[str]:
    """Up to 3 ids like `wanted`: those that contain it (h100 -> nvidia-h100-pcie, nvidia-h100-sxm), then
    difflib's closest (llama2-7b -> llama-2-7b)."""
    import difflib

    word = str(wanted).lower()
    found = [k for k in known if word and word in k] if len(word) >= 2 else []
    found += difflib.get_close_matches(word, known, n=3, cutoff=0.5)
    return list(dict.fromkeys(found))[:3]


def _read(root: str | None, folder: str, kind: str, wanted: str) -> tuple[dict, str]:
    path = os.path.join(root or ROOT, folder, f"{wanted}.yaml")
    if not isinstance(wanted, str) or not _ID.match(wanted) or not os.path.isfile(path):
        raise UnknownIdError(kind, str(wanted), close_matches(wanted, _ids(root, folder)))
    base = os.path.realpath(root or ROOT)
    if os.path.commonpath([base, os.path.realpath(path)]) != base:
        raise CatalogueError(f"{path}: refused: it is a link to a file outside {base}")
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.load(handle.read(1 << 20), Loader=loader)  # noqa: S506 (a safe loader; 1 MiB at most)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError) as exc:
        raise CatalogueError(f"{path}: cannot read: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise CatalogueError(f"{path}: expected a mapping of fields")
    return data, path


def model_from_dict(data: dict, where: str = "model") -> Model:
    """A catalogue model mapping (CATALOGUE_FORMAT field names) -> `Model`.

    A file with a verbatim `config:` block (the publisher's config.json) and no shape fields is read by
    `calculator.hf`, as `--config` reads a config.json."""
    config = data.get("config")
    if config is not None and data.get("hidden_size") is None:
        from calculator.hf import model_from_hf_config

        try:
            model = model_from_hf_config(config, model_id=str(data.get("id", "")), where=f"{where}: config")
            return Model(**{**_fields_of(model), "name": str(data.get("name", "")) or model.id})
        except (CalculatorError, TypeError, ValueError) as exc:
            raise CatalogueError(str(exc) if str(exc).startswith(where) else f"{where}: {exc}") from None
    types = data.get("layer_types")
    if data.get("num_attention_heads") is None and isinstance(types, list) and types and all(
            t == "mamba" for t in types):
        data = {**data, "num_attention_heads": 0}  # no attention layer (pure Mamba): no heads stated
    missing = [key for key in _REQUIRED_MODEL if data.get(key) is None]
    if missing:
        raise CatalogueError(f"{where}: missing field {', '.join(missing)}")
    fields = {key: data[key] for key in _MODEL_FIELDS if data.get(key) is not None}
    for key in _TUPLE_FIELDS:
        if isinstance(fields.get(key), list):
            fields[key] = tuple(fields[key])
    try:
        return Model(id=str(data.get("id", "")), name=str(data.get("name", "")), **fields)
    except (CalculatorError, TypeError, ValueError) as exc:
        raise CatalogueError(f"{where}: {exc}") from None


def _fields_of(model: Model) -> dict:
    """The constructor fields of `model` (everything but the derived recipe)."""
    return {key: getattr(model, key) for key in ("id",) + _MODEL_FIELDS}


def hardware_from_dict(data: dict, where: str = "hardware") -> Hardware:
    """A catalogue device mapping -> `Hardware` (GB/s -> B/s, TOPS -> ops/s, GiB -> bytes)."""
    try:
        bandwidth = data["memory_bandwidth_gb_s"]
        peaks = data["peak_tops"]
    except KeyError as exc:
        raise CatalogueError(f"{where}: missing field {exc.args[0]}") from None
    try:
        link = data.get("interconnect") or {}
        return Hardware(
            id=str(data.get("id", "")),
            name=str(data.get("name", "")),
            memory_bandwidth=bandwidth * 1e9,
            peak_ops={fmt: tops * 1e12 for fmt, tops in peaks.items()},
            memory_bytes=(data.get("memory_gib") or 0) * 2**30,
            interconnect_bandwidth=(link.get("bandwidth_gb_s") or 0) * 1e9,
            interconnect_name=str(link.get("name", "")),
            host_link_bandwidth=((data.get("host_link") or {}).get("bandwidth_gb_s") or 0) * 1e9,
        )
    except (CalculatorError, TypeError, AttributeError, ValueError, OverflowError) as exc:
        raise CatalogueError(f"{where}: {exc}") from None


def load_model(model_id: str, root: str | None = None) -> Model:
    """The model of kb/models/<model_id>.yaml (or `root`/models/); UnknownIdError if none."""
    data, path = _read(root, "models", "model", model_id)
    return model_from_dict(data, path)


def load_hardware(hardware_id: str, root: str | None = None) -> Hardware:
    """The device of kb/hardware/<hardware_id>.yaml (or `root`/hardware/); UnknownIdError if none."""
    data, path = _read(root, "hardware", "hardware", hardware_id)
    return hardware_from_dict(data, path)


def load_effect(method_id: str, root: str | None = None) -> dict:
    """The `effect` mapping of method entry `method_id`, validated first as `kb check` validates it
    (CatalogueError with kb check's `path:line: field: message` when the entry is invalid)."""
    from pathlib import Path

    base = Path(root or ROOT) / "methods"
    found = sorted(base.rglob(f"{method_id}.yaml")) if _ID.match(str(method_id)) else []
    if not found:
        ids = sorted(p.stem for p in base.rglob("*.yaml"))
        raise UnknownIdError("method", str(method_id), close_matches(method_id, ids))
    from kb.load import check_entry

    entry, problems = check_entry(Path(root or ROOT).parent, found[0])
    if problems or entry is None:
        more = f" (and {len(problems) - 1} more; run python -m kb check)" if len(problems) > 1 else ""
        raise CatalogueError(f"{problems[0] if problems else found[0]}{more}")
    return entry.effect.model_dump(exclude_none=True)
