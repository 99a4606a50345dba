"""Canonical rgdata analysis of the `ftse100` dataset.

The recipe (loader, sections, options) is `rgdata.report.recipes.RECIPES["ftse100"]`.
Run: `python analyses/ftse100.py [--out reports/ftse100] [--quick]`.
`make report` runs every shipped dataset.
"""

import sys

from rgdata.report.recipes import main

if __name__ == "__main__":
    sys.exit(main("ftse100"))
