"""``rgdata`` console script; it calls only the public API."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

DESCRIPTION = """\
Data-driven renormalization-group analysis: real-space PRG, momentum-space RG,
maximum-entropy models, parameter flows and lattice checks, written as HTML
reports with every exponent beside its error bar and nulls.

  rgdata datasets                          the recordings shipped with rgdata
  rgdata report --dataset retina           a canonical report of shipped data
  rgdata report cells.npy --kind spikes    a report of your own file
"""

REPORT_EPILOG = """\
your own file (PATH), reader chosen by suffix:
  .npy .npz                 an array; --kind is required, --layout if rows are time points
  .csv .csv.gz .parquet     --kind returns: daily prices (date column first) -> log returns;
                            any other kind: a numeric table, dates in the first column
                            make each row a time point
  .nwb                      the Units table (spikes; --bin-width required), or
                            --kind calcium for fluorescence

examples:
  rgdata report --dataset retina --quick
  rgdata report prices.csv --kind returns --out my_reports
  rgdata report traces.npy --kind calcium --layout time_unit --bin-width 0.033
  rgdata report session.nwb --bin-width 0.02

Sections that do not apply to the data (maximum-entropy models on continuous
data, say) are skipped and the report says why. Reports go to OUT/<name>/ and
OUT/index.html links them.
"""


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
    import shutil
    import textwrap

    from rgdata.datasets import list_datasets

    width = min(100, shutil.get_terminal_size((100, 24)).columns)
    for row in list_datasets().to_dict("records"):
        print(f"{row['name']}  ({row['kind']}, {row['shape']})")
        for label in ("description", "loader", "file", "analyses"):
            text = f"{label}: {row[label]}"
            print(textwrap.fill(text, width, initial_indent="  ", subsequent_indent="    "))
        print()
    print("Report one: rgdata report --dataset NAME   (rgdata report --help for more)")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from rgdata.report.recipes import RECIPES, check_output_folder, run_recipes

    if args.path is not None:
        return _report_file(args)
    for option in ("kind", "layout", "bin_width", "key", "sampling_rate", "title"):
        if getattr(args, option) is not None:
            args.parser.error(f"--{option.replace('_', '-')} applies only to a PATH of your own")
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


def _report_file(args: argparse.Namespace) -> int:
    """``rgdata report PATH``: read the user's file, then every section that applies."""
    from rgdata.io import read_file
    from rgdata.report.build import write_index
    from rgdata.report.recipes import check_output_folder, run_activity_report

    if args.dataset or args.with_ising:
        args.parser.error("give either PATH or --dataset/--with-ising, not both")
    path = Path(args.path)
    name = path.name.split(".")[0] or "report"
    try:
        target = check_output_folder(args.out / name, f"--out/{name}")
    except ValueError as err:
        args.parser.error(str(err))
    try:
        activity = read_file(
            path,
            kind=args.kind,
            layout=args.layout,
            bin_width=args.bin_width,
            key=args.key,
            sampling_rate=args.sampling_rate,
        )
    except (ValueError, TypeError, ImportError, OSError) as err:
        print(f"rgdata report: cannot read {str(path)!r}: {err}", file=sys.stderr)
        return 2
    title = args.title or path.name
    res = run_activity_report(
        activity,
        target,
        title=title,
        description=f"Recording {path.name}: {activity.attrs.get('kind')}, {dict(activity.sizes)}.",
        quick=args.quick,
        progress=not args.no_progress,
        random_state=args.seed,
        back_link="../index.html",
    )
    write_index(args.out, [{"name": name, "path": res["index"], "title": title}])
    print(f"{name}: {res['index']}")
    for sec, msg in res.get("failed", {}).items():
        print(f"FAILED {name}/{sec}: {msg}", file=sys.stderr)
    return 1 if res.get("failed") else 0


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``rgdata`` command."""
    from rgdata import __version__

    parser = argparse.ArgumentParser(
        prog="rgdata",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"rgdata {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("datasets", help="list the shipped datasets")
    p.set_defaults(func=_cmd_datasets)
    from rgdata.activity import KINDS
    from rgdata.report.recipes import RECIPES

    p = sub.add_parser(
        "report",
        help="write an HTML report of shipped data or of your own file",
        description="Write HTML reports: of the shipped datasets (--dataset, default all) "
        "or of your own recording (PATH).",
        epilog=REPORT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "path",
        nargs="?",
        metavar="PATH",
        help="your own recording (.npy, .npz, .csv, .csv.gz, .parquet, .nwb); see below",
    )
    own = p.add_argument_group("your own file (PATH)")
    own.add_argument("--kind", choices=KINDS, help="what the numbers are (required for arrays)")
    own.add_argument(
        "--layout",
        choices=("unit_time", "time_unit", "trial_unit_time", "trial_time_unit"),
        help="axis order of an array or table (time_unit: one row per time point)",
    )
    own.add_argument(
        "--bin-width",
        type=_positive_float,
        help="seconds per time bin (required for NWB spikes; recorded otherwise)",
    )
    own.add_argument("--key", help="which array of an .npz holding several")
    own.add_argument(
        "--sampling-rate", type=_positive_float, help="frames per second of calcium arrays"
    )
    own.add_argument("--title", help="report title (default: the file name)")
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
