"""Train skrl PPO on an Isaac Lab task and record snippets of the scene to Rerun (``.rrd`` files).

A thin caller of the ``isaac-rerun`` command line (``docs/cli.md``): ``isaac-rerun train --rl_library skrl`` with
this example's defaults, on the bundled test-bed task kit-less on the CPU. That is
Isaac Lab's own skrl training (``isaaclab train --rl_library skrl``: ``SkrlVecEnvWrapper``, skrl's ``Runner``
built from the task's agent config) with ``attach_rerun(runner.trainer, ...)`` added, which records the trainer's
``train()`` without rebuilding anything: envs 0 and 1, every 5th episode of env 0, whole episodes.

Every flag of ``isaac-rerun train`` (and of Isaac Lab's ``isaaclab train``, Hydra overrides included) can be added;
a flag given here wins over the default::

    .venv/bin/python examples/train_skrl.py --rerun_interval 2 agent.trainer.timesteps=1920

On a GPU machine with Isaac Lab's tasks: ``--task Isaac-Cartpole-Direct --device cuda:0 --num_envs 64``. It prints the
equivalent ``isaac-rerun`` command.
"""

from __future__ import annotations

import shlex
import sys

from isaac_rerun.cli import main as isaac_rerun

DEFAULTS = [
    "train", "--rl_library", "skrl", "--task", "IsaacRerun-Testbed-Direct", "--device", "cpu", "--num_envs", "16",
    "--max_iterations", "60",  # iterations of agent.rollouts timesteps
    "--rerun_name_prefix", "skrl-ppo", "--rerun_envs", "0,1",
    "--rerun_trigger", "episode", "--rerun_interval", "5", "--rerun_length", "0",
]  # fmt: skip


def main(argv: list[str]) -> int:
    args = [*DEFAULTS, *argv]  # argparse keeps the last value of a flag given twice: the user's
    print(f"the same as: isaac-rerun {shlex.join(args)}", flush=True)
    return isaac_rerun(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
