"""``rgdata`` console script; it calls only the public API."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

#: Seeds accepted by ``--seed`` (numpy's legacy seeding range).
MAX_SEED = 2**32


def seed_argument(text: str) -> int:
    """``--seed`` value: an integer with ``0 <= seed < 2**32`` (argparse type)."""
    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"seed must be an integer 0 <= seed < 2**32, got {text!r}"
        ) from None
    if not 0 <= seed < MAX_SEED:
        raise argparse.ArgumentTypeError(f"seed must satisfy 0 <= seed < 2**32, got {seed}")
    return seed


def output_folder_argument(text: str) -> Path:
    """``--out`` value: a folder that exists and is writable or can be created."""
    from rgdata.report.recipes import check_output_folder

    try:
        return check_output_folder(text, "--out")
    except ValueError as err:  # argparse already says "argument --out: "
        raise argparse.ArgumentTypeError(str(err).removeprefix("--out: ")) from None


def _cmd_datasets(args: argparse.Namespace) -> int:
    from rgdata.datasets import list_datasets

    table = list_datasets()
    import pandas as pd

    frame = table if isinstance(table, pd.DataFrame) else pd.DataFrame(table)
    print(frame.to_string(index=False))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from rgdata.report.recipes import RECIPES, check_output_folder, run_recipes

    names = args.dataset or [n for n in RECIPES if n != "ising" or args.with_ising]
    for name in names:  # before any computation
        try:
            check_output_folder(args.out / name, f"--out/{name}")
        except ValueError as err:
            args.parser.error(str(err))
    results = run_recipes(
        args.out, names, quick=args.quick, progress=not args.no_progress, random_state=args.seed
    )
    bad = {n: r["failed"] for n, r in results.items() if r.get("failed")}
    for name, res in results.items():
        print(f"{name}: {res['index']}")
    if bad:
        for name, failed in bad.items():
            for sec, msg in failed.items():
                print(f"FAILED {name}/{sec}: {msg}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``rgdata`` command."""
    from rgdata import __version__

    parser = argparse.ArgumentParser(prog="rgdata", description=__doc__)
    parser.add_argument("--version", action="version", version=f"rgdata {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("datasets", help="list the shipped datasets")
    p.set_defaults(func=_cmd_datasets)
    from rgdata.report.recipes import RECIPES

    p = sub.add_parser("report", help="run the canonical analyses and write report folders")
    p.add_argument(
        "--dataset",
        action="append",
        choices=sorted(RECIPES),
        help="dataset to analyse (repeatable; default: all shipped data)",
    )
    p.add_argument(
        "--out",
        default="reports",
        type=output_folder_argument,
        help="output folder (default: reports); must be a writable folder or creatable, "
        "checked before any computation; each dataset goes to OUT/<dataset>/",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="smaller, faster analyses: fewer trials or dates, fewer nulls, no bin-width "
        "sweep (the reduced parameters are stated in each report)",
    )
    p.add_argument(
        "--with-ising",
        action="store_true",
        help="also run the simulated Ising analysis when no --dataset is given",
    )
    p.add_argument(
        "--seed",
        type=seed_argument,
        default=0,
        help="random seed, an integer 0 <= seed < 2**32 (default 0)",
    )
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(func=_cmd_report, parser=p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rgdata`` console script."""
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
