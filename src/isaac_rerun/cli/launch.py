"""``isaac-rerun train --num_gpus N``: Isaac Lab's multi-GPU launcher, with isaac-rerun's worker on every rank.

Isaac Lab 3.x trains on several GPUs with ``isaaclab train_multigpu`` (``isaaclab_rl.entrypoints.multigpu``): a
supervisor process builds a ``torchrun`` command (``isaaclab.cli.multigpu.build_launch_command``) that runs a worker
script once per rank, and every rank runs ``run_train_cli`` with ``--distributed``. The in-process injection of
:mod:`isaac_rerun.cli.inject` never reaches those processes, so ``isaac-rerun`` starts the **same launcher** with the
**same configuration** (``isaaclab_rl.entrypoints.multigpu.LAUNCHER_CFG``), only its ``worker_script`` replaced by
:mod:`isaac_rerun.cli.worker`, and the same run timestamp forwarded to every rank (``--run_timestamp``, as Isaac Lab
does, so all ranks name one run folder). Each rank then runs Isaac Lab's own training; the rank ``--rerun_rank``
(default: global rank 0) gets the recording injected exactly as a single-process run, the other ranks install
nothing. The command is printed before it starts.

Isaac Lab's launcher functions are not a public API: :func:`isaaclab_launcher` checks them before anything is
started (they exist, take the arguments isaac-rerun passes, the launcher configuration names a worker script) and
raises :class:`~isaac_rerun.cli.inject.InjectionError` otherwise; a built command that does not run isaac-rerun's
worker fails the same way.

Isaac Lab 2.x has no launcher of its own (its documentation runs ``python -m torch.distributed.run --nproc_per_node N
train.py --distributed``): there the command is built here, the same way, with isaac-rerun's own loop
(:mod:`isaac_rerun.cli.loop`, ``--distributed``) on every rank. Importing this module imports neither Isaac Lab nor
torch.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import importlib.util
import inspect
import os
import shlex
import signal
import subprocess
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from isaac_rerun.cli.common import isaaclab_version
from isaac_rerun.cli.inject import TESTED_ISAACLAB, InjectionError
from isaac_rerun.cli.options import CliError, RerunOptions

__all__ = [
    "ISAACLAB_LAUNCHER",
    "ISAACLAB_TRAIN_LAUNCHER",
    "WORKER_SCRIPT",
    "Launch",
    "isaaclab_launcher",
    "launch_command",
    "run",
]

WORKER_SCRIPT = str(Path(__file__).resolve().with_name("worker.py"))
"""The script each rank runs (:mod:`isaac_rerun.cli.worker`)."""

ISAACLAB_LAUNCHER = "isaaclab.cli.multigpu"
"""Isaac Lab 3.x's launcher functions (``parse_launcher_args``, ``build_launch_command``, ``run_launch_command``)."""

ISAACLAB_TRAIN_LAUNCHER = "isaaclab_rl.entrypoints.multigpu"
"""Isaac Lab 3.x's ``train_multigpu`` (its ``LAUNCHER_CFG``)."""

TIMESTAMP_FORMAT = "%Y-%m-%d_%H-%M-%S"
"""Isaac Lab's run folder names (``logs/<library>/<experiment>/<timestamp>``)."""

_TORCHRUN_FLAGS = ("nnodes", "node_rank", "master_addr", "master_port", "rdzv_backend", "rdzv_endpoint", "rdzv_id")
"""The torchrun flags of the command built here (Isaac Lab 2.x, which has no launcher of its own)."""


@dataclass(frozen=True)
class Launch:
    """One multi-GPU launch: the command and what it means.

    Attributes
    ----------
    command:
        The full command line (``python -m torch.distributed.run … <worker> …``).
    timestamp:
        The run timestamp every rank names its run folder with.
    nproc_per_node:
        Processes (ranks) per node.
    nnodes:
        torchrun's ``--nnodes`` (``"1"`` when not given; may be a range ``"1:4"``).
    rerun_rank:
        The global rank that records.
    dry_run:
        Print the command only (Isaac Lab's ``--dry_run``).
    supervise:
        Runs the command and returns its exit status (Isaac Lab's supervisor where it has one).
    """

    command: list[str]
    timestamp: str
    nproc_per_node: int
    nnodes: str
    rerun_rank: int
    dry_run: bool
    supervise: Callable[[list[str]], int]


def _fail(where: str, problem: str) -> InjectionError:
    return InjectionError(
        f"isaac-rerun cannot launch multi-GPU training through Isaac Lab {isaaclab_version()}'s launcher: {where} "
        f"{problem}. isaac-rerun starts Isaac Lab's launcher with its own worker script (built and tested with "
        f"Isaac Lab {TESTED_ISAACLAB}.x); an Isaac Lab upgrade moved it. Record with the Python API in your own "
        "training script instead (rsl_rl: RerunRunnerMixin with record_rank; docs/reliability.md)."
    )


def _takes(module: types.ModuleType, name: str, params: tuple[str, ...]) -> Callable[..., Any]:
    where = f"{module.__name__}.{name}"
    function = getattr(module, name, None)
    if function is None:
        raise _fail(where, "does not exist")
    try:
        have = list(inspect.signature(function).parameters)
    except (TypeError, ValueError) as exc:
        raise _fail(where, f"is not a function ({type(function).__name__})") from exc
    if have[: len(params)] != list(params):
        raise _fail(where, f"no longer takes {list(params)} (its parameters are {have})")
    return function


def isaaclab_launcher() -> tuple[types.ModuleType, Any] | None:
    """Isaac Lab's launcher module and its ``train_multigpu`` configuration with isaac-rerun's worker in place of
    Isaac Lab's; None where Isaac Lab has no unified entrypoints (2.x: the command is built here).

    Raises
    ------
    InjectionError
        Isaac Lab 3.x's launcher is not what isaac-rerun starts (moved by an upgrade).
    """
    if importlib.util.find_spec("isaaclab_rl") is None or importlib.util.find_spec("isaaclab_rl.entrypoints") is None:
        return None
    try:
        launcher = importlib.import_module(ISAACLAB_LAUNCHER)
    except ImportError as exc:
        raise _fail(ISAACLAB_LAUNCHER, f"cannot be imported ({exc})") from exc
    _takes(launcher, "parse_launcher_args", ("argv", "cfg"))
    _takes(launcher, "build_launch_command", ("args_cli", "worker_args", "cfg"))
    _takes(launcher, "run_launch_command", ("command",))
    try:
        train_launcher = importlib.import_module(ISAACLAB_TRAIN_LAUNCHER)
    except ImportError as exc:
        raise _fail(ISAACLAB_TRAIN_LAUNCHER, f"cannot be imported ({exc})") from exc
    cfg = getattr(train_launcher, "LAUNCHER_CFG", None)
    where = f"{ISAACLAB_TRAIN_LAUNCHER}.LAUNCHER_CFG"
    if cfg is None:
        raise _fail(where, "does not exist")
    if not dataclasses.is_dataclass(cfg) or isinstance(cfg, type):
        raise _fail(where, f"is no longer a launcher configuration (it is {cfg!r})")
    fields = {f.name for f in dataclasses.fields(cfg)}
    missing = sorted({"prog", "worker_script", "worker_flags", "rl_libraries"} - fields)
    if missing:
        raise _fail(where, f"has no {missing} (its fields are {sorted(fields)})")
    worker_flags = tuple(getattr(cfg, "worker_flags", ()))
    if "--distributed" not in worker_flags:
        raise _fail(where, f"no longer passes --distributed to the ranks (worker_flags={worker_flags!r})")
    return launcher, dataclasses.replace(cfg, prog="isaac-rerun train", worker_script=WORKER_SCRIPT)


def _with_timestamp(argv: list[str], timestamp: str | None) -> tuple[list[str], str]:
    """``argv`` with ``--run_timestamp`` (Isaac Lab's flag naming the run folder) unless it has one."""
    for i, arg in enumerate(argv):
        if arg.startswith("--run_timestamp="):
            return argv, arg.partition("=")[2]
        if arg == "--run_timestamp" and i + 1 < len(argv):
            return argv, argv[i + 1]
    stamp = timestamp or datetime.now().strftime(TIMESTAMP_FORMAT)
    return [*argv, f"--run_timestamp={stamp}"], stamp


def _local_rank(rerun_rank: int, nproc_per_node: int) -> int:
    return rerun_rank % nproc_per_node


def launch_command(argv: list[str], *, rerun_rank: int = 0, timestamp: str | None = None) -> Launch:
    """The launch of ``isaac-rerun train --num_gpus N ARGV`` (``argv``: the command line after ``train``, with
    ``--rl_library``); nothing is started.

    Isaac Lab's launcher shows the console output of local rank 0 only (unless ``--log_all_ranks`` or
    ``--local_ranks_filter``); where the recording rank is another local rank, its output is shown too.
    """
    if not any(a == "--num_gpus" or a.startswith("--num_gpus=") for a in argv):
        raise CliError("--num_gpus: required for a multi-GPU launch")
    argv, stamp = _with_timestamp(list(argv), timestamp)
    found = isaaclab_launcher()
    if found is None:
        return _own_launch(argv, stamp, rerun_rank)
    launcher, cfg = found
    args_cli, worker_args = launcher.parse_launcher_args(argv, cfg)
    nproc = int(str(args_cli.nproc_per_node))
    local = _local_rank(rerun_rank, nproc)
    if local != 0 and not getattr(args_cli, "log_all_ranks", False) and args_cli.local_ranks_filter is None:
        args_cli.local_ranks_filter = f"0,{local}"
    command = [str(c) for c in launcher.build_launch_command(args_cli, worker_args, cfg)]
    if WORKER_SCRIPT not in command:
        raise _fail(
            f"{ISAACLAB_LAUNCHER}.build_launch_command",
            f"no longer runs the configuration's worker_script on each rank (it built {shlex.join(command)})",
        )
    return Launch(
        command=command,
        timestamp=stamp,
        nproc_per_node=nproc,
        nnodes=str(args_cli.nnodes or 1),
        rerun_rank=rerun_rank,
        dry_run=bool(getattr(args_cli, "dry_run", False)),
        supervise=launcher.run_launch_command,
    )


def _own_launch(argv: list[str], stamp: str, rerun_rank: int) -> Launch:
    """Isaac Lab 2.x: ``python -m torch.distributed.run --nproc_per_node N [torchrun flags] <worker> ARGS
    --distributed``, as Isaac Lab 2.x's documentation runs its ``train.py``."""
    parser = argparse.ArgumentParser(prog="isaac-rerun train", add_help=False, allow_abbrev=False)
    parser.add_argument("--num_gpus", dest="nproc_per_node", type=int, required=True)
    for name in _TORCHRUN_FLAGS:
        parser.add_argument(f"--{name}", default=None)
    parser.add_argument("--dry_run", action="store_true")
    ns, worker_args = parser.parse_known_args(argv)
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(ns.nproc_per_node)]
    for name in _TORCHRUN_FLAGS:
        if getattr(ns, name) is not None:
            command += [f"--{name}", str(getattr(ns, name))]
    flags = [] if "--distributed" in worker_args else ["--distributed"]
    return Launch(
        command=[*command, WORKER_SCRIPT, *worker_args, *flags],
        timestamp=stamp,
        nproc_per_node=int(ns.nproc_per_node),
        nnodes=str(ns.nnodes or 1),
        rerun_rank=rerun_rank,
        dry_run=ns.dry_run,
        supervise=_supervise,
    )


def _supervise(command: list[str]) -> int:
    """Run the launcher in its own process group; Ctrl+C / SIGTERM go to the whole group (Isaac Lab 2.x)."""
    proc = subprocess.Popen(command, start_new_session=True)

    def forward(signum: int, _frame: Any) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signum)

    previous = [(sig, signal.signal(sig, forward)) for sig in (signal.SIGINT, signal.SIGTERM)]
    try:
        return proc.wait()
    finally:
        for sig, handler in previous:
            signal.signal(sig, handler)


def describe_ranks(launch: Launch, rerun_dir: str | None = None, viewer: str | None = None) -> str:
    """What each rank records and where (printed before the launch)."""
    world = f"{launch.nproc_per_node} rank(s) per node x {launch.nnodes} node(s)"
    run = f"logs/<library>/<experiment>/{launch.timestamp}*"
    if viewer is not None:
        where = f"streamed to {viewer}"
    elif rerun_dir is not None:
        where = f"snippets in {rerun_dir}"
    elif launch.rerun_rank == 0:
        where = f"snippets in {run}/rerun"
    else:
        where = f"snippets in {run}/rank_{launch.rerun_rank}/rerun"
    return (
        f"isaac-rerun: multi-GPU training, {world}, one run folder {run}; global rank {launch.rerun_rank} records "
        f"({where}), the other ranks train without recording"
    )


def _library(library: str | None, task: str | None) -> str:
    """The RL library of the launch (the task's ``default_agent`` where not given); sb3 is refused."""
    if library is None:
        from isaac_rerun.cli.common import check_task, default_library, load_tasks
        from isaac_rerun.cli.options import LIBRARIES

        load_tasks()
        library = default_library(check_task(task), LIBRARIES)
    if library == "sb3":
        raise CliError(
            "--rl_library: sb3 has no multi-GPU training in Isaac Lab (its launcher drives rsl_rl and skrl); "
            "train sb3 without --num_gpus, or use rsl_rl or skrl"
        )
    return library


def run(argv: list[str], *, library: str | None, task: str | None, rerun_rank: int | None, opts: RerunOptions) -> int:
    """``isaac-rerun train --num_gpus N …``: print what each rank records and the launcher command, then run it
    (Isaac Lab's supervisor: Ctrl+C and SIGTERM reach every rank); returns the launcher's exit status."""
    if library is None:
        argv = ["--rl_library", _library(library, task), *argv]
    else:
        _library(library, task)
    rank = 0 if rerun_rank is None else rerun_rank
    launch = launch_command(argv, rerun_rank=rank)
    try:
        world = launch.nproc_per_node * int(launch.nnodes)
    except ValueError:  # an elastic range of nodes ("1:4"): the workers check it
        world = None
    if world is not None and rank >= world:
        raise CliError(
            f"--rerun_rank: must be a global rank of this run, in [0, {world - 1}] "
            f"({launch.nproc_per_node} per node x {launch.nnodes} node(s)), got {rank}"
        )
    print(describe_ranks(launch, None if opts.dir is None else str(opts.dir), opts.viewer), flush=True)
    print(f"isaac-rerun: launching: {shlex.join(launch.command)}", flush=True)
    if launch.dry_run:
        return 0
    return int(launch.supervise(launch.command))
