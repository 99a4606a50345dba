"""Canonical rgdata analysis of the `stocks_intraday` dataset.

The recipe (loader, sections, options) is `rgdata.report.recipes.RECIPES["stocks_intraday"]`.
Run: `python analyses/stocks_intraday.py [--out reports/stocks_intraday] [--quick]`.
`make report` runs every shipped dataset.
"""

import sys

from rgdata.report.recipes import main

if __name__ == "__main__":
    sys.exit(main("stocks_intraday"))
