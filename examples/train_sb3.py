"""Train Stable-Baselines3 PPO on an Isaac Lab task and record snippets of the scene to Rerun (``.rrd`` files).

A thin caller of the ``isaac-rerun`` command line (``docs/cli.md``): it runs Isaac Lab's own SB3 training
(``isaaclab train --rl_library sb3``: ``Sb3VecEnvWrapper`` under ``VecNormalize``, PPO, Isaac Lab's log folder and
checkpoints) with ``RerunCallback`` added to ``model.learn(callback=...)``, and prints the equivalent command. Runs the
bundled test-bed task kit-less on the CPU by default::

    .venv/bin/python examples/train_sb3.py --timesteps 8192 --rerun_dir runs/rerun

On a GPU machine with Isaac Lab's tasks installed, any task with an SB3 agent config works:
``--task Isaac-Cartpole-Direct --device cuda:0 --num_envs 64``. Other arguments (Isaac Lab's flags, Hydra overrides
such as ``agent.n_steps=32``) are passed on.

``--timesteps`` counts SB3 timesteps (``num_envs`` per vector step); ``--rerun_interval`` counts vector steps, as
Isaac Lab's ``--video_interval`` does.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from isaac_rerun.cli import main as isaac_rerun


def parse_args() -> tuple[argparse.Namespace, list[str]]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", default="IsaacRerun-Testbed-Direct", help="Isaac Lab task (default: the bundled test bed)")
    p.add_argument("--num_envs", type=int, default=16)
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timesteps", type=int, default=8192, help="SB3 timesteps to train (num_envs per vector step)")
    p.add_argument("--rerun_interval", type=int, default=128, help="start a recording every N vector steps")
    p.add_argument("--rerun_length", type=int, default=100, help="frames per snippet (0 = until the episode ends)")
    p.add_argument("--rerun_dir", default="runs/rerun", help="folder for the .rrd snippets")
    p.add_argument("--rerun_envs", default="0,1", help="env indices to record: '0,1', 'all', '0:16'")
    p.add_argument("--rerun_trails", default="", help="bodies whose paths are drawn as trails ('cart,tip', 'root')")
    p.add_argument("--rerun_layout", choices=("world", "origin"), default="world", help="where the envs are drawn")
    return p.parse_known_args()


def main() -> int:
    args, rest = parse_args()
    argv = [
        "train", "--rl_library", "sb3", "--task", args.task, "--num_envs", str(args.num_envs),
        "--device", args.device, "--seed", str(args.seed),
        "--rerun_dir", args.rerun_dir, "--rerun_envs", args.rerun_envs, "--rerun_name_prefix", "sb3-ppo",
        "--rerun_trigger", "step", "--rerun_interval", str(args.rerun_interval),
        "--rerun_length", str(args.rerun_length), "--rerun_trails", args.rerun_trails,
        "--rerun_env_layout", args.rerun_layout,
        *rest, f"agent.n_timesteps={args.timesteps}",
    ]  # fmt: skip
    print(f"the same as: isaac-rerun {shlex.join(argv)}", flush=True)
    return isaac_rerun(argv)


if __name__ == "__main__":
    sys.exit(main())
