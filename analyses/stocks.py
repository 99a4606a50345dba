"""Canonical rgdata analysis of the `stocks` dataset.

The recipe (loader, sections, options) is `rgdata.report.recipes.RECIPES["stocks"]`.
Run: `python analyses/stocks.py [--out reports/stocks] [--quick]`.
`make report` runs every shipped dataset.
"""

import sys

from rgdata.report.recipes import main

if __name__ == "__main__":
    sys.exit(main("stocks"))
