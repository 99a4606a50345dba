"""Canonical rgdata analysis of one shipped dataset, named by this file.

The analysis (loader options, sections, their options) is the entry of the
same name in the dataset registry `rgdata.datasets.DATASETS`, run through
`rgdata.report.recipes.RECIPES`. The script is the same for every dataset:
copy it to `analyses/<analysis name>.py` when you register a new one.

Run: `python analyses/<name>.py [--out reports/<name>] [--quick] [--seed 0]`.
`make report` runs every shipped dataset.
"""

import sys
from pathlib import Path

from rgdata.report.recipes import main

if __name__ == "__main__":
    sys.exit(main(Path(__file__).stem))
