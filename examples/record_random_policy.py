"""Record an Isaac Lab task driven by a random policy with ``LogRerun``, into a folder of ``.rrd`` snippets.

Runs the bundled test-bed task kit-less on the CPU by default (local assets only)::

    .venv/bin/python examples/record_random_policy.py --steps 600 --rerun_dir runs/rerun

On a GPU machine with Isaac Lab's tasks installed, point it at any task:
``--task Isaac-Cartpole-Direct --device cuda:0``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", default=None, help="Gymnasium task id (default: the bundled test bed)")
    p.add_argument("--num_envs", type=int, default=16)
    p.add_argument("--device", default="cpu")
    p.add_argument("--steps", type=int, default=600, help="vector env steps to run")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rerun_interval", type=int, default=3, help="record every N-th episode of the tracked env")
    p.add_argument("--rerun_length", type=int, default=0, help="frames per snippet (0 = whole episodes)")
    p.add_argument("--rerun_dir", default="runs/rerun", help="folder for the .rrd snippets")
    p.add_argument("--rerun_envs", default="0,1", help="comma-separated env indices to record")
    return p.parse_args()


def make_env(args: argparse.Namespace):
    """The task as Isaac Lab's scripts build it; returns the env and an exit stack to close after it."""
    import contextlib

    import gymnasium as gym
    from isaaclab.app import launch_simulation

    if args.task is None:
        from isaac_rerun.testbed import make_env as make_testbed

        return make_testbed(num_envs=args.num_envs, device=args.device, seed=args.seed), contextlib.ExitStack()
    import isaaclab_tasks  # noqa: F401  (registers Isaac Lab's tasks)
    from isaaclab_tasks.utils import parse_env_cfg

    cfg = parse_env_cfg(args.task, device=args.device, num_envs=args.num_envs)
    cfg.seed = args.seed
    stack = contextlib.ExitStack()
    stack.enter_context(launch_simulation(cfg, {"device": args.device}))
    return gym.make(args.task, cfg=cfg), stack


def main() -> None:
    args = parse_args()
    import torch

    from isaac_rerun import LogRerun, every_n

    env, stack = make_env(args)
    env = LogRerun(
        env,
        logged_envs=[int(e) for e in args.rerun_envs.split(",")],
        save_dir=args.rerun_dir,
        episode_trigger=every_n(args.rerun_interval),
        recording_length=args.rerun_length,
        name_prefix="random-policy",
        verbose=1,
    )
    base = env.unwrapped
    env.reset(seed=args.seed)
    action_dim = env.action_space.shape[-1]
    t0 = time.perf_counter()
    with stack:
        try:
            for step in range(args.steps):
                actions = 2 * torch.rand(base.num_envs, action_dim, device=base.device) - 1
                env.step(actions)
                if (step + 1) % 100 == 0:
                    rate = (step + 1) * base.num_envs / (time.perf_counter() - t0)
                    print(
                        f"step {step + 1}/{args.steps}  episodes(env {env.recorder.tracked_env}) "
                        f"{env.episode_id}  {rate:.0f} env-steps/s"
                    )
        finally:
            env.close()
    files = sorted(Path(args.rerun_dir).glob("random-policy-*.rrd"))
    print(f"\nwrote {len(files)} recordings to {Path(args.rerun_dir).resolve()}:")
    for f in files:
        print(f"  {f}")
    print(f"\nopen them with:  .venv/bin/rerun {args.rerun_dir}/*.rrd")


if __name__ == "__main__":
    main()
