"""What the examples share: their common command-line flags and building the task they point at."""

from __future__ import annotations

import argparse
import contextlib
from typing import Any


def task_parser(description: str | None, *, num_envs: int = 16, rerun_length: int = 0) -> argparse.ArgumentParser:
    """A parser with the flags every example takes (each adds its own ``--timesteps`` / ``--rerun_interval``)."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", default=None, help="Gymnasium task id (default: the bundled test bed)")
    p.add_argument("--num_envs", type=int, default=num_envs)
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--rerun_length", type=int, default=rerun_length, help="frames per snippet (0 = until the episode ends)"
    )
    p.add_argument("--rerun_dir", default="runs/rerun", help="folder for the .rrd snippets")
    p.add_argument("--rerun_envs", default="0,1", help="comma-separated env indices to record")
    p.add_argument(
        "--rerun_trails",
        default="",
        help="comma-separated body names (regular expressions) whose paths are drawn as trails; 'root' for each "
        "articulation's root body (default: none)",
    )
    p.add_argument(
        "--rerun_layout",
        choices=("world", "origin"),
        default="world",
        help="'world': envs where they are; 'origin': each logged env drawn at the origin",
    )
    return p


def logged_envs(args: argparse.Namespace) -> list[int]:
    """``--rerun_envs`` as a list of env indices."""
    return [int(e) for e in args.rerun_envs.split(",")]


def scene_log_cfg(args: argparse.Namespace) -> dict[str, Any]:
    """``--rerun_trails`` and ``--rerun_layout`` as the integrations' ``scene_log_cfg``."""
    names = [n.strip() for n in args.rerun_trails.split(",") if n.strip()]
    trails: bool | list[str] = True if names == ["root"] else (names or False)
    return {"trails": trails, "env_layout": args.rerun_layout}


def make_task_env(args: argparse.Namespace) -> Any:
    """The task of ``--task`` built as Isaac Lab's scripts build it (``gym.make(task, cfg=env_cfg)`` inside
    ``launch_simulation``); the bundled test bed when ``--task`` is not given. ``env.close()`` also closes the
    simulation launch context."""
    if args.task is None:
        from isaac_rerun.testbed import make_env

        return make_env(num_envs=args.num_envs, device=args.device, seed=args.seed)
    import gymnasium as gym
    import isaaclab_tasks  # noqa: F401  (registers Isaac Lab's tasks)
    from isaaclab.app import launch_simulation
    from isaaclab_tasks.utils import parse_env_cfg

    cfg = parse_env_cfg(args.task, device=args.device, num_envs=args.num_envs)
    cfg.seed = args.seed
    stack = contextlib.ExitStack()
    stack.enter_context(launch_simulation(cfg, {"device": args.device}))
    try:
        env = gym.make(args.task, cfg=cfg)
    except BaseException:
        stack.close()
        raise
    _close_with(env, stack)
    return env


def _close_with(env: Any, stack: contextlib.ExitStack) -> None:
    """Make ``env.close()`` close ``stack`` after the env (as :func:`isaac_rerun.testbed.make_env` does)."""
    close = env.close

    def close_both() -> None:
        try:
            close()
        finally:
            stack.close()

    env.close = close_both


def print_recordings(folder: Any, files: list[Any], metrics: list[Any] | None = None, curves: str = "") -> None:
    """The examples' closing lines: the snippet files written, the training-curves files, how to open them."""
    print(f"\nwrote {len(files)} recordings to {folder}:")
    for f in files:
        print(f"  {f}")
    for m in metrics or []:
        print(f"training curves{f' ({curves})' if curves else ''}: {m}")
    print(f"\nopen them with:  .venv/bin/rerun {folder}/*.rrd")
