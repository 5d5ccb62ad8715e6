"""``isaac-rerun compare``: the chosen snippets side by side in one recording, on one ``frame`` timeline.

The parser and the entry; the work is the Python API :func:`isaac_rerun.compare` (:mod:`isaac_rerun.compare`),
whose :class:`~isaac_rerun.compare.CompareError` becomes a one-line error with exit status 2. ``--view`` / ``--web``
then open the written file the way ``isaac-rerun view`` does. Guide: ``docs/compare.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from isaac_rerun.cli.options import CliError, positive_int

__all__ = ["add_parser", "run"]


def _envs(text: str) -> list[int]:
    """``--envs``: ``0`` or ``0,2``."""
    try:
        ids = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be env ids like 0 or 0,2, got {text!r}") from None
    if not ids or any(e < 0 for e in ids):
        raise argparse.ArgumentTypeError(f"must be env ids >= 0 like 0 or 0,2, got {text!r}")
    return ids


def _port(text: str) -> int:
    value = positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be a port number <= 65535, got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    """``isaac-rerun compare SNIPPETS… | DIR [...]``."""
    headless = sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if args.view and headless:  # before writing anything (`isaac-rerun view` says the same)
        raise CliError("--view: no display here (DISPLAY and WAYLAND_DISPLAY are unset): use --web instead")
    from isaac_rerun.compare import CompareError, compare_snippets

    try:  # the package's public API, as a script calls it
        done = compare_snippets(
            args.paths,
            every=args.every,
            worst=args.worst,
            best=args.best,
            why=args.why,
            envs=args.envs,
            out=args.out,
            max_columns=args.max,
            recursive=args.recursive,
        )
    except CompareError as exc:  # bad input, named in the message: a usage error (exit status 2)
        raise CliError(str(exc)) from None
    from isaac_rerun.cli.browse import _size

    out = done.out
    print(f"isaac-rerun: compared {len(done.columns)} snippet(s) into {out} ({_size(out.stat().st_size)}):")
    for column in done.columns:
        print(f"  {column.name}")
    if not (args.view or args.web):
        print(f"open it: rerun {os.fspath(out)}   (or: isaac-rerun view {os.fspath(out)} --web)")
        return 0
    from isaac_rerun.cli.browse import view

    return view(
        argparse.Namespace(
            path=os.fspath(out),
            last=None,
            worst=None,
            why=None,
            recursive=False,
            web=args.web,
            web_port=args.web_port,
            grpc_port=args.grpc_port,
            timeout=args.timeout,
            dry_run=False,
        )
    )


def add_parser(sub: Any) -> None:
    """The ``compare`` subcommand."""
    p = sub.add_parser(
        "compare",
        help="put snippets side by side on one timeline (one recording)",
        description="Write one recording in which each chosen snippet is a labelled column with its own 3D view\n"
        "(the same camera), all on one `frame` timeline from each snippet's first frame, their plots overlaid (a\n"
        "series per snippet per signal). The data are copied unchanged under a prefix per snippet. Needs rerun-sdk\n"
        "0.41 or newer.",
        epilog="examples:\n  isaac-rerun compare logs/rsl_rl/a1/<run>/rerun --every 5 --envs 0 --web\n"
        "  isaac-rerun compare runs/today/rerun runs/last_week/rerun --worst 3 --out worst.rrd\n"
        "Guide: docs/compare.md.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "paths",
        nargs="+",
        metavar="SNIPPETS|DIR",
        help="snippet .rrd files and folders of them, in any mix (a folder's *-metrics.rrd are skipped)",
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument("--every", type=positive_int, metavar="N", help="every N-th snippet, oldest first")
    which.add_argument("--worst", type=positive_int, metavar="K", help="the K with the lowest episode return")
    which.add_argument("--best", type=positive_int, metavar="K", help="the K with the highest episode return")
    which.add_argument(
        "--why",
        metavar="REASON",
        help="the snippets with an episode that ended for REASON (a termination term, e.g. base_contact, "
        "time_out) or recorded for it (a trigger, e.g. nan, worst)",
    )
    p.add_argument("--envs", type=_envs, metavar="IDS", help="show only these envs of each snippet: 0 or 0,2")
    p.add_argument("--out", type=Path, default=Path("compare.rrd"), help="the .rrd to write (default: compare.rrd)")
    p.add_argument(
        "--max",
        type=positive_int,
        default=16,  # isaac_rerun.compare.DEFAULT_MAX_COLUMNS (a test checks they agree)
        metavar="M",
        help="refuse to compare more than M snippets (default: 16)",
    )
    p.add_argument("-r", "--recursive", action="store_true", help="also the folders below each DIR")
    opened = p.add_mutually_exclusive_group()
    opened.add_argument("--view", action="store_true", help="then open it in a native Rerun viewer")
    opened.add_argument("--web", action="store_true", help="then serve it in the web viewer (until Ctrl+C)")
    p.add_argument("--web_port", type=_port, default=9090, help="--web: HTTP port of the viewer (default: 9090)")
    p.add_argument("--grpc_port", type=_port, default=9876, help="--web: gRPC port of the data (default: 9876)")
    p.add_argument("--timeout", type=float, default=60.0, help="--web: seconds to wait for it (default: 60)")
    p.set_defaults(func=run)
