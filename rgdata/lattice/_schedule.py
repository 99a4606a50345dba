"""Burn-in and spacing of the Ising samplers: the tau_int pilot and the output check.

:func:`_schedule` burns a chain in and chooses the spacing between samples,
from a pilot run that doubles until the integrated autocorrelation time of
energy, ``|m|`` and ``m^2`` is reliably measured (:func:`_pilot`);
:func:`_output_check` measures the correlation left in the returned samples
and :func:`_warn_schedule` reports either failure once per call.
"""

from __future__ import annotations

import contextlib
import math
import threading
from typing import Any

import numpy as np

from .._validation import check_int
from .._warnings import warn_user
from ._autocorr import tau_int_estimate

__all__ = [
    "BURN_IN_TAUS",
    "SPACING_TAUS",
    "PILOT_TAUS",
    "OUTPUT_SE",
    "check_schedule",
    "_schedule",
    "_pilot",
    "_output_check",
    "_warn_schedule",
    "_quiet_tau_warning",
]

#: Automatic burn-in and spacing, in units of the integrated autocorrelation time.
BURN_IN_TAUS = 20
SPACING_TAUS = 2
#: A pilot's tau_int is accepted when the measured series (its second half) is
#: at least this many tau_int and ``_PILOT_MIN_SERIES`` points long (fewer, down
#: to 512, on lattices above ``_PILOT_WORK / 4096`` sites), with the window
#: ``M <= series / 10``. Shorter series miss rare slow events (domain walls below
#: T_c) and underestimated tau(|m|) by 30-45% at T = 2.0 with 512 points.
PILOT_TAUS = 200
_PILOT_MIN_SERIES = 2048
#: Output check: the returned samples fail it when their tau_int (in samples)
#: exceeds ``1 + OUTPUT_SE * se``.
OUTPUT_SE = 2.0
#: Sweep-equivalents per Wolff calibration pass (see ``_Chain.calibrate_wolff``).
WOLFF_CALIBRATION = 5
_PILOT_MAX = 4096
#: Small lattices may extend the pilot up to this many site updates in total.
_PILOT_WORK = 2**28


def _tau_of(series: list[np.ndarray], min_length: int) -> tuple[float, float, bool]:
    """Largest integrated autocorrelation time over several series, its error, reliability.

    Returns ``(tau, se, reliable)``: ``tau`` and ``se`` of the slowest series
    (largest tau), ``reliable`` only if every series passes
    :func:`~rgdata.lattice._autocorr.tau_int_estimate`'s test.
    """
    estimates = [tau_int_estimate(x, min_taus=PILOT_TAUS, min_length=min_length) for x in series]
    slowest = max(estimates, key=lambda est: est.tau)
    return slowest.tau, slowest.se, all(est.reliable for est in estimates)


def _slow_series(energy: np.ndarray, absm: np.ndarray) -> list[np.ndarray]:
    """The series whose tau_int sets the schedule: energy, |m| and m^2.

    |m| and m^2 (not the signed m, which decorrelates by global flips) are the
    slow modes near T_c on finite lattices.
    """
    return [energy, absm, absm**2]


def _pilot(chain) -> tuple[float, bool, int]:
    """Run the chain, doubling the pilot until tau_int is reliably measured (or the cap).

    *chain* has ``run(n_sweeps)`` and ``measure() -> (energy, |m|)``. The
    observables are measured after every sweep; tau is estimated on the second
    half of the series (the first half is burn-in), on energy, |m| and m^2,
    and accepted when that half is at least ``PILOT_TAUS`` tau and
    ``_PILOT_MIN_SERIES`` sweeps long (down to 512 on lattices above
    ``_PILOT_WORK / 4096`` sites) with Sokal's window ``M <= half / 10``.
    Returns ``(tau, reliable, sweeps_run)``.
    """
    energy, mag = [], []
    min_series = int(np.clip(_PILOT_WORK // (2 * chain.n_sites), 512, _PILOT_MIN_SERIES))
    target = 2 * min_series
    cap = max(_PILOT_MAX, _PILOT_WORK // chain.n_sites)
    while True:
        while len(energy) < target:
            chain.run(1)
            e, m = chain.measure()
            energy.append(e)
            mag.append(m)
        half = target // 2
        series = _slow_series(np.asarray(energy[half:]), np.asarray(mag[half:]))
        tau, _, reliable = _tau_of(series, min_series)
        if reliable or target >= cap:
            return tau, reliable, target
        target *= 2


def _output_check(energy: np.ndarray, absm: np.ndarray) -> tuple[float, float, int]:
    """tau_int of the returned samples (in samples), its error, and whether spacing suffices.

    Returns ``(tau, se, adequate)`` with ``adequate`` 1 when ``tau <= 1 +
    OUTPUT_SE * se`` and every series with ``tau > 1`` has its window
    ``M <= n / 10`` (from 32 samples on), 0 otherwise, -1 (and NaN) for fewer
    than 4 samples.
    """
    if energy.size < 4:
        return math.nan, math.nan, -1
    estimates = [tau_int_estimate(x) for x in _slow_series(energy, absm)]
    slowest = max(estimates, key=lambda est: est.tau)
    n = energy.size
    # a correlated series (tau > 1) whose window is not well inside it (M > n / 10, or
    # no window at all) is correlated beyond what its error estimate can bound
    inside = all(est.tau <= 1.0 or est.window <= n / 10 for est in estimates) or n < 32
    adequate = inside and slowest.tau <= 1.0 + OUTPUT_SE * slowest.se
    return slowest.tau, slowest.se, int(adequate)


#: Thread-local switch: the ensemble runner silences the per-run tau warning (it
#: collects the ``tau_int_reliable`` flags and warns once, in the calling thread).
_QUIET = threading.local()


@contextlib.contextmanager
def _quiet_tau_warning():
    previous = getattr(_QUIET, "on", False)
    _QUIET.on = True
    try:
        yield
    finally:
        _QUIET.on = previous


def check_schedule(burn_in: Any, spacing: Any) -> tuple[int | None, int | None]:
    """Check the requested ``burn_in`` (>= 0) and ``spacing`` (>= 1); None means automatic."""
    if burn_in is not None:
        burn_in = check_int(burn_in, "burn_in", min_value=0)
    if spacing is not None:
        spacing = check_int(spacing, "spacing", min_value=1)
    return burn_in, spacing


def _schedule(chain, burn_in: int | None, spacing: int | None):
    """Burn the chain in and choose the spacing (the automatic rule when either is None).

    Returns ``(tau_pilot, reliable, spacing, pilot_sweeps)``; ``tau_pilot`` is
    NaN (and ``pilot_sweeps`` 0) without a pilot.
    """
    tau_pilot, reliable, pilot_sweeps = math.nan, True, 0
    if burn_in is not None:
        chain.run(burn_in)
    if burn_in is None or spacing is None:
        tau_pilot, reliable, pilot_sweeps = _pilot(chain)
        if burn_in is None:
            chain.run(max(0, math.ceil(BURN_IN_TAUS * tau_pilot) - pilot_sweeps))
        if spacing is None:
            spacing = max(1, math.ceil(SPACING_TAUS * tau_pilot))
    return tau_pilot, reliable, spacing, pilot_sweeps


def _warn_schedule(
    where: str,
    tau_pilot: float,
    pilot_ok: bool,
    pilot_sweeps: int,
    tau_samples: float,
    tau_samples_se: float,
    adequate: int,
    spacing: int,
) -> None:
    """One warning per call for an unreliable pilot and/or a failed output check.

    ``warn_user`` names the user's line. Silent inside :func:`_quiet_tau_warning`
    (the ensemble runner collects the flags and warns once).
    """
    if getattr(_QUIET, "on", False) or (pilot_ok and adequate != 0):
        return
    parts = []
    if not pilot_ok:
        parts.append(
            f"the integrated autocorrelation time ({tau_pilot:.1f} sweeps) could not be "
            f"measured reliably within a {pilot_sweeps}-sweep pilot (needs a series of "
            f">= {PILOT_TAUS} tau); burn-in and spacing derived from it may be too short"
        )
    if adequate == 0:
        parts.append(
            f"the returned samples are correlated: tau_int of their energy/|m|/m^2 is "
            f"{tau_samples:.2f} +- {tau_samples_se:.2f} samples (> 1 + {OUTPUT_SE:g} se) "
            f"at spacing {spacing}"
        )
    warn_user(
        f"{where}: {'; '.join(parts)} (attrs tau_int_reliable=0, spacing_adequate="
        f"{adequate}). Use a cluster algorithm near T_c or a longer spacing"
    )
