"""Canonical rgdata analysis of the simulated 2D Ising model (ground truth).

Simulates the model with the Wolff sampler and compares every measured number
with its exact value (Kaufman, Onsager, Yang, exact exponents); see
:func:`rgdata.report.sections.ising.add_ising_section` and docs/lattice.md.

Run: `python analyses/ising.py [--out reports/ising] [--quick] [--seed 0]`.
The recipe is `rgdata.report.recipes.RECIPES["ising"]`.
"""

import sys
from pathlib import Path

from rgdata.report.recipes import main

if __name__ == "__main__":
    sys.exit(main(Path(__file__).stem))
