"""``isaac-rerun``: record Isaac Lab training and playback to Rerun from the command line, and browse the snippets.

==================================================== =================================================================
``isaac-rerun train --rl_library L --task T …``      Isaac Lab's own ``isaaclab train`` with recording added (every
                                                     Isaac Lab flag and Hydra override works; the ``--rerun_*`` flags
                                                     choose what is recorded); snippets go to
                                                     ``<the run's log dir>/rerun``
``isaac-rerun train --num_gpus N …``                 Isaac Lab's multi-GPU launcher (torchrun), every rank training,
                                                     one rank (``--rerun_rank``, default 0) recorded
                                                     (:mod:`isaac_rerun.cli.launch`, :mod:`isaac_rerun.cli.worker`)
``isaac-rerun play --rl_library L --task T …``       Isaac Lab's ``isaaclab play`` (a checkpoint's policy) recorded,
                                                     into ``<the checkpoint's run dir>/rerun/play``
``isaac-rerun ls PATH``                              a table of the snippets in a folder, read from the files
``isaac-rerun view PATH [--last N | --worst N]``     open them in the Rerun viewer (``--web`` on a headless machine)
``isaac-rerun compare SNIPPETS… | DIR [...]``        snippets side by side in one recording, on one ``frame`` timeline
==================================================== =================================================================

How the recording gets into Isaac Lab's entrypoint: :mod:`isaac_rerun.cli.inject`; where Isaac Lab has none (2.x):
:mod:`isaac_rerun.cli.loop`; the flags: :mod:`isaac_rerun.cli.options`; ``ls`` / ``view``:
:mod:`isaac_rerun.cli.browse`. Guide: ``docs/cli.md``. Importing this package imports neither Isaac Lab nor torch.

Exit status: 0 on success, 2 for a command-line error (the message names the flag; nothing was written), 1 when the
run failed (including :class:`~isaac_rerun.cli.inject.InjectionError`: an Isaac Lab upgrade moved an injection
point), 130 on Ctrl+C outside a training loop.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable, Sequence

from isaac_rerun.cli.options import (
    ACTIONS,
    LAUNCH_FLAGS,
    LIBRARIES,
    CliError,
    add_launch_args,
    add_rerun_args,
    check_envs,
    rerun_options,
)

__all__ = ["main"]

_HELP_NOTE = """\
Every flag of Isaac Lab's `isaaclab {action}` works here too ({isaaclab_flags}, Hydra overrides such as
env.scene.num_envs=8 or agent.device=cpu, ...): `isaac-rerun {action} --rl_library {{rsl_rl,skrl,sb3}} --help` lists
them all with the rerun group (it imports Isaac Lab: 10-20 s). Above: the flags isaac-rerun reads itself.

examples:
  isaac-rerun {action} --rl_library rsl_rl --task IsaacRerun-Testbed-Direct --device cpu --num_envs 16{example}
"""


def _front_parser(action: str) -> argparse.ArgumentParser:
    """The flags isaac-rerun reads itself before handing the command line to Isaac Lab (the rest is Isaac Lab's)."""
    p = argparse.ArgumentParser(
        prog=f"isaac-rerun {action}",
        add_help=False,
        description=(
            "Train an RL agent with Isaac Lab's own `isaaclab train` and record snippets of the scene to Rerun."
            if action == "train"
            else "Play a checkpoint with Isaac Lab's own `isaaclab play` and record its episodes to Rerun."
        ),
        epilog=_HELP_NOTE.format(
            action=action,
            isaaclab_flags="--num_envs, --seed, --max_iterations, --checkpoint, --device, --video"
            if action == "train"
            else "--num_envs, --seed, --device, --real-time",
            example=" --max_iterations 300 --rerun_interval 50 --rerun_envs 0,1"
            if action == "train"
            else " --checkpoint logs/rsl_rl/isaac_rerun_testbed/<run>/model_299.pt --rerun_episodes 5",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g = p.add_argument_group("Isaac Lab flags isaac-rerun reads too")
    g.add_argument("-h", "--help", action="store_true", help="show this help (with --rl_library: Isaac Lab's, in full)")
    g.add_argument(
        "--rl_library",
        choices=LIBRARIES,
        default=None,
        help="the RL library (default: the task's default_agent)",
    )
    g.add_argument("--task", default=None, help="a registered Isaac Lab task (required)")
    g.add_argument("--num_envs", type=int, default=None, help="number of envs (default: the task's)")
    g.add_argument("--device", default=None, help="simulation device (Isaac Lab's default: cuda:0)")
    g.add_argument(
        "--checkpoint",
        default=None,
        help="checkpoint file (or Isaac Lab's 'latest' / 'best'); play: which policy (default: Isaac Lab's choice)",
    )
    g.add_argument("--ml_framework", default=None, help="skrl: torch (the only one recorded)")
    g.add_argument(
        "--distributed",
        action="store_true",
        default=False,
        help="multi-GPU: give --num_gpus N instead (isaac-rerun then starts the ranks)",
    )
    add_rerun_args(p, action)
    if action == "train":
        add_launch_args(p)
    return p


def _train_or_play(action: str, argv: list[str]) -> int:
    front = _front_parser(action)
    ns, _ = front.parse_known_args(argv)
    opts = rerun_options(ns, action)
    backend = opts.backend
    if backend == "auto":
        from isaac_rerun.cli.inject import available

        backend = "isaaclab" if available() else "loop"
    if ns.help:
        if backend == "loop":
            from isaac_rerun.cli.loop import loop_parser

            parser = loop_parser(action)
            if action == "train":
                add_launch_args(parser)  # isaac-rerun train --num_gpus starts the own loop on every rank too
            parser.print_help()
            return 0
        if ns.rl_library is None:
            front.print_help()
            return 0
    else:
        if ns.task is None:
            raise CliError("--task: required (a registered Isaac Lab task, e.g. IsaacRerun-Testbed-Direct)")
        if ns.num_envs is not None:
            if ns.num_envs < 1:
                raise CliError(f"--num_envs: must be >= 1, got {ns.num_envs}")
            check_envs(opts, ns.num_envs)
        launch = getattr(ns, "num_gpus", None) is not None
        given = [a.partition("=")[0] for a in argv if a.partition("=")[0] in LAUNCH_FLAGS]
        if given and not launch:
            raise CliError(
                f"{given[0]}: only with isaac-rerun train --num_gpus N (a multi-GPU launch)"
                if action == "train"
                else f"{given[0]}: isaac-rerun play runs on one GPU (only train has multi-GPU flags)"
            )
        if ns.distributed and not launch:
            raise CliError(
                "--distributed: give --num_gpus N instead: isaac-rerun starts Isaac Lab's multi-GPU launcher with "
                "one process per GPU and records on one of them (--rerun_rank)"
            )
        if ns.rl_library == "skrl" and ns.ml_framework not in (None, "torch"):
            raise CliError(f"--ml_framework: isaac-rerun records skrl's torch runner only, got {ns.ml_framework!r}")
        from isaac_rerun.cli.common import check_checkpoint

        check_checkpoint(ns.checkpoint, required=False)
        if launch:
            from isaac_rerun.cli import launch as multigpu

            return multigpu.run(argv, library=ns.rl_library, task=ns.task, rerun_rank=ns.rerun_rank, opts=opts)
    if backend == "isaaclab":
        from isaac_rerun.cli.inject import available, run

        if not available():
            raise CliError(
                "--rerun_backend: isaaclab needs Isaac Lab 3.x's isaaclab_rl.entrypoints, which is not installed"
            )
        return run(action, ns.rl_library, argv, opts, ns.task)
    from isaac_rerun.cli import loop

    return loop.run(action, ns.rl_library, argv, opts, ns.task)


def _parser() -> argparse.ArgumentParser:
    from isaac_rerun import __version__
    from isaac_rerun.cli import compare
    from isaac_rerun.cli.browse import add_parsers

    p = argparse.ArgumentParser(
        prog="isaac-rerun",
        description="Record Isaac Lab robot-learning scenes to Rerun .rrd files, and find and open the snippets.",
        epilog="`isaac-rerun train --help`, `isaac-rerun play --help`: the recording flags. Guide: docs/cli.md.",
    )
    p.add_argument("--version", action="version", version=f"isaac-rerun {__version__}")
    sub = p.add_subparsers(dest="command", metavar="{train,play,ls,view,compare}")
    sub.add_parser("train", help="Isaac Lab's `isaaclab train`, recorded", add_help=False)
    sub.add_parser("play", help="Isaac Lab's `isaaclab play` (a checkpoint's policy), recorded", add_help=False)
    add_parsers(sub)
    compare.add_parser(sub)
    return p


def _guarded(command: str, run: Callable[[], int]) -> int:
    """Run a subcommand: usage errors → 2 (one line naming the flag), failures → 1, Ctrl+C → 130."""
    from isaac_rerun.cli.inject import InjectionError

    try:
        return run()
    except CliError as exc:
        print(f"isaac-rerun {command}: error: {exc}", file=sys.stderr)
        return 2
    except InjectionError as exc:
        print(f"isaac-rerun {command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"isaac-rerun {command}: interrupted", file=sys.stderr)
        return 130
    except SystemExit as exc:  # argparse inside a backend
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception:
        traceback.print_exc()
        print(f"isaac-rerun {command}: failed (see above)", file=sys.stderr)
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    """The ``isaac-rerun`` console script; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ACTIONS:
        return _guarded(args[0], lambda: _train_or_play(args[0], args[1:]))
    parser = _parser()
    try:
        ns = parser.parse_args(args)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    if ns.command is None:
        parser.print_help()
        return 2
    return _guarded(ns.command, lambda: ns.func(ns))
