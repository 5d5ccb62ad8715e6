"""What both ways of running ``isaac-rerun train|play`` share: the tasks, the checkpoint, the play loop, the summary.

Importing this module imports neither Isaac Lab nor torch; the functions that need them import them when called.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import importlib.metadata
import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from isaac_rerun.cli.options import CliError, RerunOptions

__all__ = [
    "CHECKPOINT_SELECTORS",
    "check_checkpoint",
    "check_task",
    "default_library",
    "isaaclab_version",
    "load_tasks",
    "play_steps",
    "print_summary",
]

CHECKPOINT_SELECTORS = ("latest", "best", "pretrained")
"""``--checkpoint`` values Isaac Lab resolves itself (besides W&B and remote URLs)."""


def isaaclab_version() -> str:
    """The installed Isaac Lab's version, or ``"unknown"``."""
    try:
        return importlib.metadata.version("isaaclab")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def check_checkpoint(checkpoint: str | None, *, required: bool) -> None:
    """``--checkpoint``: a local path that exists (a selector or a URL is left to Isaac Lab). Raises
    :class:`~isaac_rerun.cli.options.CliError` naming the flag."""
    if checkpoint is None:
        if required:
            raise CliError("--checkpoint: required by isaac-rerun's own loop (a checkpoint file)")
        return
    if checkpoint in CHECKPOINT_SELECTORS or "://" in checkpoint or checkpoint.startswith(("wandb:", "omniverse:")):
        return
    if not Path(checkpoint).expanduser().exists():
        raise CliError(f"--checkpoint: {checkpoint} does not exist")


def load_tasks() -> None:
    """Register Isaac Lab's tasks and those of installed packages (the ``isaaclab.tasks`` entry points, as
    ``isaaclab train`` does: this package registers its test bed there)."""
    import isaaclab_tasks  # noqa: F401  (registers Isaac Lab's tasks)

    try:
        from isaaclab.cli import load_external_tasks
    except ImportError:  # Isaac Lab 2.x: no unified CLI
        for entry_point in importlib.metadata.entry_points(group="isaaclab.tasks"):
            entry_point.load()
    else:
        load_external_tasks()


def check_task(task: str | None) -> str:
    """``--task``: a registered Gymnasium id (after :func:`load_tasks`), else a :class:`CliError` naming the flag."""
    import gymnasium as gym

    if task is None:
        raise CliError("--task: required (a registered Isaac Lab task, e.g. IsaacRerun-Testbed-Direct)")
    name = task.split(":")[-1]
    if name not in gym.registry:
        close = difflib.get_close_matches(name, list(gym.registry), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise CliError(
            f"--task: {task!r} is not a registered task (Isaac Lab's, or one an installed package registers through "
            f"the 'isaaclab.tasks' entry points){hint}"
        )
    return name


def default_library(task: str, libraries: Sequence[str]) -> str:
    """The library the task names as its ``default_agent`` (what ``isaaclab train`` uses without ``--rl_library``)."""
    import gymnasium as gym

    library = gym.spec(task).kwargs.get("default_agent")
    if library not in libraries:
        raise CliError(f"--rl_library: required (one of {', '.join(libraries)}; the task names no default_agent)")
    return str(library)


def play_steps(
    step: Callable[[], None],
    recording: Any,
    opts: RerunOptions,
    *,
    dt: float | None = None,
    real_time: bool = False,
) -> int:
    """Call ``step()`` (one env step of the policy, under ``torch.inference_mode``) until ``--rerun_episodes`` episodes
    of the tracked env ended, ``--rerun_max_steps`` steps ran, or Ctrl+C; returns the steps run. ``recording`` is the
    :class:`~isaac_rerun.LogRerun` on the env (its ``episode_id`` counts the tracked env's episodes)."""
    import torch

    steps = 0
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            if opts.max_steps is not None and steps >= opts.max_steps:
                break
            if opts.episodes is not None and recording.episode_id >= opts.episodes:
                break
            start = time.monotonic()
            with torch.inference_mode():
                step()
            steps += 1
            if real_time and dt is not None:
                time.sleep(max(0.0, dt - (time.monotonic() - start)))
    episodes = max(int(recording.episode_id), 0)
    print(f"isaac-rerun: played {steps} env steps, {episodes} whole episode(s) of env {recording.recorder.tracked_env}")
    return steps


def describe(opts: RerunOptions, envs: Iterable[int], where: str) -> str:
    """One line: what is recorded, when, and where."""
    from isaac_rerun.cli.options import DEFAULT_INTERVAL

    interval = opts.interval if opts.interval is not None else DEFAULT_INTERVAL.get((opts.action, opts.trigger))
    length = "whole episodes" if opts.length == 0 else f"{opts.length} frames"
    when = {
        "iteration": f"every {interval} training iteration(s)",
        "step": f"every {interval} env steps",
        "episode": "every episode"
        if interval == 1
        else "episodes 0, 1, 8, 27, ..."
        if interval is None
        else f"every {interval}th episode",
        "none": "nothing before the fact",
    }[opts.trigger]
    after = []
    if opts.keep is not None:
        after.append(f"keeps {opts.keep} episodes")
    if opts.nan_guard:
        after.append("NaN guard")
    extra = f"; {', '.join(after)}" if after else ""
    if opts.trigger == "none":
        candidates = opts.envs if opts.envs_given else "all"
        return f"isaac-rerun: recording after the fact ({', '.join(after)}; candidate envs: {candidates}) -> {where}"
    return f"isaac-rerun: recording env(s) {list(envs)}: {when} ({length}){extra} -> {where}"


def print_summary(sessions: Sequence[Any], save_dir: Path | None, viewer: str | None) -> int:
    """Print where the snippets went and how to list and open them; returns how many were written."""
    paths: list[Path] = []
    metrics: list[Path] = []
    count = 0
    for session in sessions:
        count += len(session.finished)
        paths += session.paths
        metrics += session.metrics_paths
    if viewer is not None:
        print(f"isaac-rerun: {count} snippet(s) streamed to the viewer {viewer}")
        return count
    where = save_dir if save_dir is not None else (paths[0].parent if paths else None)
    if count == 0:
        print(
            f"isaac-rerun: no snippet was recorded (the trigger never fired in this run: see --rerun_trigger and "
            f"--rerun_interval){f'; folder {where}' if where is not None else ''}"
        )
        return 0
    print(f"isaac-rerun: {count} snippet(s) in {where}")
    for m in metrics:
        print(f"isaac-rerun: training curves: {m}")
    if where is not None:
        print(f"  list them:  isaac-rerun ls {_quoted(where)}")
        print(f"  open them:  isaac-rerun view {_quoted(where)}  (--web on a machine without a display)")
    return count


def _quoted(path: Path) -> str:
    text = os.fspath(path)
    return f"'{text}'" if any(c.isspace() for c in text) else text


def import_attr(path: str) -> Any:
    """``"module:attr"`` → the attribute."""
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)
