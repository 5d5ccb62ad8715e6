"""Record an Isaac Lab task driven by a random policy with ``LogRerun``, into a folder of ``.rrd`` snippets.

It builds the task and the recording options with the same code as the ``isaac-rerun`` command line
(:func:`isaac_rerun.cli.loop.make_env`: ``gym.make(task, cfg=env_cfg)`` as Isaac Lab's scripts do;
:func:`isaac_rerun.cli.options.recording_cfg`: the ``--rerun_*`` flags as a ``RecordingCfg``), wraps the env in
``LogRerun`` and steps it with random actions. Runs the bundled test-bed task kit-less on the CPU by default::

    .venv/bin/python examples/record_random_policy.py --steps 600 --rerun_dir runs/rerun

On a GPU machine with Isaac Lab's tasks installed, point it at any task:
``--task Isaac-Cartpole-Direct --device cuda:0``. ``isaac-rerun ls runs/rerun`` lists what it wrote.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", default="IsaacRerun-Testbed-Direct", help="Isaac Lab task (default: the bundled test bed)")
    p.add_argument("--num_envs", type=int, default=16)
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=600, help="vector env steps to run")
    p.add_argument("--rerun_interval", type=int, default=3, help="record every N-th episode of the tracked env")
    p.add_argument("--rerun_length", type=int, default=0, help="frames per snippet (0 = until the episode ends)")
    p.add_argument("--rerun_dir", default="runs/rerun", help="folder for the .rrd snippets")
    p.add_argument("--rerun_envs", default="0,1", help="env indices to record: '0,1', 'all', '0:16'")
    p.add_argument("--rerun_trails", default="", help="bodies whose paths are drawn as trails ('cart,tip', 'root')")
    p.add_argument("--rerun_layout", choices=("world", "origin"), default="world", help="where the envs are drawn")
    return p.parse_args()


def main() -> int:
    args = parse_args()
    from isaac_rerun.cli.options import add_rerun_args, recording_cfg, rerun_options

    # the example's flags, read by the command line's own parser of the `rerun` flag group
    cli = argparse.ArgumentParser(add_help=False)
    add_rerun_args(cli, "play")
    ns = cli.parse_args(
        [
            "--rerun_dir", args.rerun_dir, "--rerun_envs", args.rerun_envs, "--rerun_trigger", "episode",
            "--rerun_interval", str(args.rerun_interval), "--rerun_length", str(args.rerun_length),
            "--rerun_trails", args.rerun_trails, "--rerun_env_layout", args.rerun_layout,
        ]
    )  # fmt: skip
    opts = rerun_options(ns, "play")
    import torch

    from isaac_rerun import LogRerun
    from isaac_rerun.cli.common import print_summary
    from isaac_rerun.cli.loop import make_env

    env = LogRerun(
        make_env(args.task, num_envs=args.num_envs, device=args.device, seed=args.seed),
        cfg=recording_cfg(opts, save_dir=opts.dir, name_prefix="random-policy"),
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
    print_summary([env.session], Path(args.rerun_dir).absolute(), None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
