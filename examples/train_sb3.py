"""Train Stable-Baselines3 PPO on an Isaac Lab task and record snippets of the scene to Rerun (``.rrd`` files).

A thin caller of the ``isaac-rerun`` command line (``docs/cli.md``): ``isaac-rerun train --rl_library sb3`` with
this example's defaults, on the bundled test-bed task kit-less on the CPU. That is
Isaac Lab's own SB3 training (``isaaclab train --rl_library sb3``: ``Sb3VecEnvWrapper`` under ``VecNormalize``,
PPO, Isaac Lab's log folder and checkpoints) with ``RerunCallback`` added to ``model.learn(callback=...)``: envs 0
and 1, a 100-frame snippet every 128 vector steps (``--rerun_trigger step``, the unit of Isaac Lab's
``--video_interval``), 8192 SB3 timesteps.

Every flag of ``isaac-rerun train`` (and of Isaac Lab's ``isaaclab train``, Hydra overrides included) can be added;
a flag given here wins over the default::

    .venv/bin/python examples/train_sb3.py --rerun_trails cart,tip agent.n_timesteps=16384

On a GPU machine with Isaac Lab's tasks: ``--task Isaac-Cartpole-Direct --device cuda:0 --num_envs 64``. It prints the
equivalent ``isaac-rerun`` command.
"""

from __future__ import annotations

import shlex
import sys

from isaac_rerun.cli import main as isaac_rerun

DEFAULTS = [
    "train", "--rl_library", "sb3", "--task", "IsaacRerun-Testbed-Direct", "--device", "cpu", "--num_envs", "16",
    "--max_iterations", "8",  # rollouts of n_steps (the test bed's SB3 config: 64) x num_envs
    "--rerun_name_prefix", "sb3-ppo", "--rerun_envs", "0,1",
    "--rerun_trigger", "step", "--rerun_interval", "128", "--rerun_length", "100",
]  # fmt: skip


def main(argv: list[str]) -> int:
    args = [*DEFAULTS, *argv]  # argparse keeps the last value of a flag given twice: the user's
    print(f"the same as: isaac-rerun {shlex.join(args)}", flush=True)
    return isaac_rerun(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
