"""What the benchmark tables say about peers that are missing and about the FMA peak.

A missing peer is named, with its install command, instead of appearing as a column of nan.
The FMA peak is measured once per round, between the cases, so it sees the same drift as they
do; a product can still run in a faster moment than any burn, so the share of peak is taken
against the highest rate measured at all (a burn or a product) and never exceeds 100%.
"""
from __future__ import annotations

import math

from .._extras import install_hint, missing


def missing_peers(wanted, started) -> list:
    """One line per peer in `wanted` ({column name: import name}) that is not in `started`: not
    installed (with the install command) or installed but its worker failed to start."""
    lines = []
    for name, module in wanted.items():
        if name in started:
            continue
        if missing([module]):
            lines.append(f"peer {name} not installed, left out ({install_hint([module])})")
        else:
            lines.append(f"peer {name} failed to start, left out")
    return lines


def peak_summary(burns, rates):
    """The peak the shares are taken against, and the line that reports it.

    Args:
        burns: GFLOP/s of the FMA burn in each round (None or nan where it failed).
        rates: GFLOP/s of dlcore's products (medians over rounds), to bound the peak from below.
    Returns:
        (peak, line): peak is the highest finite value among burns and rates (nan if there is none);
        line says the burns' range and whether a product beat them all.
    """
    burns = [b for b in burns if b is not None and math.isfinite(b)]
    rates = [r for r in rates if r is not None and math.isfinite(r)]
    if not burns:
        return math.nan, "measured FMA peak: unavailable (the burn failed); no share of peak reported"
    lo, hi = min(burns), max(burns)
    line = (f"measured FMA peak {lo:.1f} - {hi:.1f} GFLOP/s (float32, one burn per round between the cases); "
            f"% peak is of the highest")
    best = max(rates, default=-math.inf)
    if best > hi:
        line += f": a product ran at {best:.1f} GFLOP/s, above every burn (a slower moment), so % peak is of it"
        hi = best
    return hi, line
