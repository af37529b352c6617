"""Property-based bad-input fuzzing of every registered op (issue 22), with hypothesis.

Each op gets a bounded number of derandomized examples (the same cases on every run, so CI is
reproducible): a sample of the op, a layout variant of its arrays, and maybe one argument
replaced by an awkward or extreme value (tests/opinfo_fuzz.py's POOL and EXTREME).  Whatever
comes in, the op returns or raises ValueError/TypeError/IndexError/MemoryError/RuntimeError
whose message starts with its name: never a SystemError, never another exception type.  The long run, with each call in a
subprocess (so a crash or a hang is reported, not fatal), is tools/fuzz.
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.opinfo import REGISTRY
from tests.opinfo_fuzz import EXTREME, POOL, VARIANT_NAMES, positions, run_case

EXAMPLES_PER_OP = 12


def _known(name):
    """An op's registry entry may mark a known fuzz finding: xfail(strict) until it is fixed."""
    reason = REGISTRY[name].xfail.get("fuzz")
    return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []


@pytest.mark.parametrize("name", [pytest.param(n, marks=_known(n)) for n in sorted(REGISTRY)])
@settings(max_examples=EXAMPLES_PER_OP, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_bad_inputs_raise_clean_errors_naming_the_op(name, data):
    sample_i = data.draw(st.integers(0, 7), label="sample")
    variant = data.draw(st.sampled_from(VARIANT_NAMES), label="variant")
    pos = data.draw(st.one_of(st.none(), st.sampled_from(positions(name))), label="position")
    values = POOL + EXTREME  # the overflow and ndarray-shape values too, anywhere (safe=False)
    value = data.draw(st.sampled_from(range(len(values))), label="value")
    outcome, exc = run_case(name, sample_i, variant, pos, values[value], safe=False)
    if outcome in ("ok", "clean"):
        return
    raise AssertionError(f"{name}: {outcome} {type(exc).__name__}: {exc}") from exc
