"""Canonical rgdata analysis of the `ftse100` dataset (recipe `rgdata.report.recipes.RECIPES["ftse100"]`).

Run: `python analyses/ftse100.py [--out reports/ftse100] [--quick]`; `make report` runs all of them.
"""

import sys

from rgdata.report.recipes import main

if __name__ == "__main__":
    sys.exit(main("ftse100"))
