"""Property test (issue 20): a number of any magnitude in any numeric field of an effect, a claim, a
device or a model is either refused by the schema (what `kb check` runs) or analysed to finite figures.
Never an exception of another kind, never an inf or a nan in a result.

The fields come from real files: every numeric leaf of one entry per effect kind, of every device and of
every model, so a field added later is covered without editing this test.
"""

from __future__ import annotations

import math
from functools import lru_cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from calculator.core import analyze
from calculator.effects import apply_effect
from calculator.spec import CalculatorError, Settings
from kb.catalogue import CatalogueError, hardware_from_dict, load_hardware, load_model, model_from_dict
from kb.load import load
from kb.schema import Claim, Effect, Hardware, ModelArch
from tests.conftest import REPO

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MAGNITUDES = st.one_of(
    st.integers(-(10**400), 10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1, 2, 10**6, 10**9, 10**18, 10**300, 1e-300, 1e300, 1e308, 0.5, 0.999999]),
)


def _numeric_paths(value, path=()):
    """Paths to every int/float leaf (booleans are not numbers here)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _numeric_paths(item, path + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _numeric_paths(item, path + (i,))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield path


def _with(data, path, number):
    import copy

    data = copy.deepcopy(data)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = number
    return data


def _finite(*numbers) -> bool:
    return all(isinstance(x, (int, float)) and math.isfinite(x) for x in numbers)


@lru_cache(maxsize=1)
def _kb():
    return load(REPO)


@lru_cache(maxsize=None)
def _cases(kind):
    kb = _kb()
    if kind == "effect":
        seen = {}
        for method in sorted(kb.methods.values(), key=lambda m: m.id):
            effect = method.effect.model_dump(exclude_none=True)
            if effect["kind"] not in seen and any(_numeric_paths(effect)):
                seen[effect["kind"]] = effect
        return [(e, p) for e in seen.values() for p in _numeric_paths(e)]
    if kind == "claim":
        for method in sorted(kb.methods.values(), key=lambda m: m.id):
            for claim in method.claims:
                data = claim.model_dump(exclude_none=True, mode="json")
                if data.get("setting", {}).get("batch"):
                    return [(data, p) for p in _numeric_paths(data)]
    import yaml

    folder = {"hardware": "hardware", "model": "models"}[kind]
    out = []
    for path in sorted((REPO / "kb" / folder).glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        out += [(data, p) for p in _numeric_paths(data)]
    return out


EFFECT = TypeAdapter(Effect)
LLAMA = load_model("llama-2-7b")
A6000 = load_hardware("nvidia-a6000")


@pytest.mark.parametrize("kind", ["effect", "claim", "hardware", "model"])
def test_every_kind_has_numeric_fields_to_vary(kind):
    assert len(_cases(kind)) >= 3


@PROPERTY
@given(data=st.data(), number=MAGNITUDES)
def test_an_effect_number_of_any_magnitude_is_refused_or_analysed_finitely(data, number):
    effect, path = data.draw(st.sampled_from(_cases("effect")))
    changed = _with(effect, path, number)
    try:
        EFFECT.validate_python(changed)
    except ValidationError:
        return  # kb check refuses it, naming the field
    models = {m: load_model(m) for m in (changed.get("draft_model"), changed.get("student")) if m}
    try:
        out = apply_effect(LLAMA, A6000, Settings(), changed,
                           draft=models.get(changed.get("draft_model")), student=models.get(changed.get("student")),
                           host_bandwidth=64e9)
    except CalculatorError as exc:  # a clean refusal of this setting, one line
        assert "\n" not in str(exc)
        return
    assert _finite(out.prefill.time_s, out.decode.time_s, out.decode_token_s, out.memory_bytes), (path, number)


@PROPERTY
@given(data=st.data(), number=MAGNITUDES)
def test_a_claim_number_of_any_magnitude_is_refused_or_kept_finite(data, number):
    claim, path = data.draw(st.sampled_from(_cases("claim")))
    try:
        checked = Claim.model_validate(_with(claim, path, number))
    except ValidationError:
        return
    dumped = checked.model_dump(exclude_none=True)
    assert all(_finite(_leaf(dumped, p)) for p in _numeric_paths(dumped)), (path, number)
    if checked.setting.batch:
        Settings(batch=checked.setting.batch)  # a setting the schema takes is one the calculator takes


def _leaf(data, path):
    for key in path:
        data = data[key]
    return data


@PROPERTY
@given(data=st.data(), number=MAGNITUDES)
def test_a_device_or_model_number_of_any_magnitude_is_refused_or_analysed_finitely(data, number):
    kind = data.draw(st.sampled_from(["hardware", "model"]))
    raw, path = data.draw(st.sampled_from(_cases(kind)))
    changed = _with(raw, path, number)
    schema, build = (Hardware, hardware_from_dict) if kind == "hardware" else (ModelArch, model_from_dict)
    try:
        schema.model_validate(changed)
    except ValidationError:
        return
    try:
        built = build(changed, "changed")
    except CatalogueError as exc:
        assert "\n" not in str(exc)
        return
    model, hardware = (LLAMA, built) if kind == "hardware" else (built, A6000)
    try:
        result = analyze(model, hardware, Settings())
    except CalculatorError as exc:
        assert "\n" not in str(exc)
        return
    assert _finite(result.prefill.time_s, result.decode.time_s, result.memory.total_bytes,
                   result.generate.e2e_latency_s), (path, number)
