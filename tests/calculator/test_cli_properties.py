"""Property test (issue 20): every numeric option of ``python -m calculator``, fed a number of any
magnitude or spelling, gives a finite result or a one-line refusal; never a traceback, never an
internal error (status 3), never "inf" or "nan" in what it prints.

The options are read from the parser itself, so an option added later is covered without editing this file.
"""

from __future__ import annotations

import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calculator.cli import _parser, main
from tests.calculator.conftest import ROOT

BASE = ["--catalogue", ROOT, "--model", "llama-2-7b", "--hardware", "nvidia-a6000"]
NUMERIC = sorted(
    action.option_strings[0]
    for action in _parser()._actions
    if action.option_strings and action.type in (int, float)
)
# Numbers as a user or a script might type them: any size, any sign, exponents, specials, junk.
SPELLINGS = st.one_of(
    st.integers(-(10**400), 10**400).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["1e308", "1e309", "-1e309", "1e-320", "0", "-0", "0.5", "1_000", "0x10", "١٢", "inf",
                     "nan", "", " 7", "7 ", "1e6", "9" * 5000]),
)


def _finite(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


def test_the_parser_has_numeric_options():
    assert {"--batch", "--seq-len", "--gen-len", "--tp", "--w-bits", "--memory-bandwidth"} <= set(NUMERIC)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(option=st.sampled_from(NUMERIC), value=SPELLINGS, fmt=st.sampled_from(["table", "json"]))
def test_any_number_for_any_option_is_a_result_or_one_clean_line(capsys, option, value, fmt):
    status = main(BASE + ["--format", fmt, f"{option}={value}"])
    out, err = capsys.readouterr()
    assert status in (0, 2), (option, value, status, err)
    if status:
        assert out == "" and err.count("\n") == 1 and err.startswith("calculator: error: "), err
        assert len(err) < 400, err
        return
    assert err == ""
    if fmt == "json":
        doc = json.loads(out, parse_constant=lambda name: math.inf)  # Infinity/NaN would become inf
        assert _finite(doc), (option, value)
    else:
        words = out.lower().replace("-", " ").split()
        assert "inf" not in words and "nan" not in words and "infs" not in words, out
