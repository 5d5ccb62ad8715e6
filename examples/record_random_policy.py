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

from isaac_rerun.testbed.cli import logged_envs, make_task_env, print_recordings, scene_log_cfg, task_parser


def parse_args() -> argparse.Namespace:
    p = task_parser(__doc__)
    p.add_argument("--steps", type=int, default=600, help="vector env steps to run")
    p.add_argument("--rerun_interval", type=int, default=3, help="record every N-th episode of the tracked env")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    import torch

    from isaac_rerun import LogRerun, every_n

    env = LogRerun(
        make_task_env(args),
        logged_envs=logged_envs(args),
        scene_log_cfg=scene_log_cfg(args),
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
    print_recordings(Path(args.rerun_dir).resolve(), files)


if __name__ == "__main__":
    main()
