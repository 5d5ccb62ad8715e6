"""What each rank of ``isaac-rerun train --num_gpus N`` runs (:mod:`isaac_rerun.cli.launch` starts it with torchrun).

``python -m torch.distributed.run … worker.py ARGS --distributed`` runs this file once per rank, as Isaac Lab's own
``train_multigpu`` runs its worker. Every rank trains with Isaac Lab's own ``run_train_cli`` (Isaac Lab 3.x; 2.x:
isaac-rerun's own loop, :mod:`isaac_rerun.cli.loop`, with ``--distributed``):

* the global rank ``--rerun_rank`` (default 0; torchrun's ``RANK``) runs it with the recording injected, exactly as
  ``isaac-rerun train`` does in one process (:func:`isaac_rerun.cli.inject.run`): the same ``--rerun_*`` flags, the
  snippets under that rank's run folder (Isaac Lab's ``<run>/rank_<R>`` for ranks above 0);
* every other rank runs it plain: the ``--rerun_*`` flags are taken off its command line, nothing of isaac-rerun is
  installed.
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":  # run as a script by torchrun: its folder (isaac_rerun/cli) must not shadow top-level names
    _here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or os.curdir) == _here:
        sys.path.pop(0)

import argparse
from collections.abc import Callable
from typing import Any

from isaac_rerun.cli.options import CliError, add_rerun_args, non_negative_int, rerun_options

__all__ = ["main", "plain_argv", "rank"]


def rank() -> tuple[int, int]:
    """This process's global rank and the world size (torchrun's ``RANK`` and ``WORLD_SIZE``)."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def _split(argv: list[str]) -> tuple[int, list[str]]:
    """``--rerun_rank`` (taken off) and the rest of the command line."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--rerun_rank", type=non_negative_int, default=0)
    ns, rest = parser.parse_known_args(argv)
    return int(ns.rerun_rank), rest


def _peek(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--rl_library", default=None)
    parser.add_argument("--task", default=None)
    add_rerun_args(parser, "train")
    return parser.parse_known_args(argv)[0]


def plain_argv(argv: list[str]) -> list[str]:
    """``argv`` without the ``--rerun_*`` flags (what a rank that does not record hands to Isaac Lab)."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    add_rerun_args(parser, "train")
    return parser.parse_known_args(argv)[1]


def _main(argv: list[str] | None = None) -> int:
    record_rank, argv = _split(list(sys.argv[1:] if argv is None else argv))
    me, world = rank()
    if record_rank >= world:
        raise CliError(f"--rerun_rank: must be a global rank of this run, in [0, {world - 1}], got {record_rank}")
    ns = _peek(argv)
    opts = rerun_options(ns, "train")
    backend = opts.backend
    if backend == "auto":
        from isaac_rerun.cli.inject import available

        backend = "isaaclab" if available() else "loop"
    if backend == "loop":
        from isaac_rerun.cli import loop

        return loop.run("train", ns.rl_library, argv, opts, ns.task, record=me == record_rank)
    import warp as wp

    wp.config.enable_backward = False  # as Isaac Lab's own worker, before any Warp kernel module is built
    if me == record_rank:
        from isaac_rerun.cli.inject import run

        return run("train", ns.rl_library, argv, opts, ns.task, record_rank=me)
    from isaaclab_rl.entrypoints.dispatch import run_train_cli

    status = run_train_cli(plain_argv(argv))
    return 0 if status is None else int(status)


def main(argv: list[str] | None = None) -> int:
    """One rank; returns its exit status (2: a command-line error, 1: an injection error; any other failure is
    raised, for torchrun's error report)."""
    from isaac_rerun.cli.inject import InjectionError

    try:
        return _main(argv)
    except CliError as exc:
        print(f"isaac-rerun train (rank {rank()[0]}): error: {exc}", file=sys.stderr, flush=True)
        return 2
    except InjectionError as exc:
        print(f"isaac-rerun train (rank {rank()[0]}): error: {exc}", file=sys.stderr, flush=True)
        return 1


def _recorded(function: Callable[..., Any]) -> Callable[..., Any]:
    """torchrun's ``record``: a failing rank's traceback reaches the launcher's report (its console may be hidden)."""
    from torch.distributed.elastic.multiprocessing.errors import record

    return record(function)


if __name__ == "__main__":
    raise SystemExit(_recorded(main)())
