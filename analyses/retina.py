"""Canonical rgdata analysis of the `retina` dataset (recipe `rgdata.report.recipes.RECIPES["retina"]`).

Run: `python analyses/retina.py [--out reports/retina] [--quick]`; `make report` runs all of them.
"""

import sys

from rgdata.report.recipes import main

if __name__ == "__main__":
    sys.exit(main("retina"))
