"""Canonical rgdata analysis of the `retina` dataset.

The recipe (loader, sections, options) is `rgdata.report.recipes.RECIPES["retina"]`.
Run: `python analyses/retina.py [--out reports/retina] [--quick]`.
`make report` runs every shipped dataset.
"""

import sys

from rgdata.report.recipes import main

if __name__ == "__main__":
    sys.exit(main("retina"))
