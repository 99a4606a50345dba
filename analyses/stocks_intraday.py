"""Canonical rgdata analysis of the `stocks_intraday` dataset (recipe `rgdata.report.recipes.RECIPES["stocks_intraday"]`).

Run: `python analyses/stocks_intraday.py [--out reports/stocks_intraday] [--quick]`; `make report` runs all of them.
"""

import sys

from rgdata.report.recipes import main

if __name__ == "__main__":
    sys.exit(main("stocks_intraday"))
