"""Train rsl_rl PPO on an Isaac Lab task and record it to Rerun with ``RerunRunnerMixin``.

A thin caller of the ``isaac-rerun`` command line (``docs/cli.md``): ``isaac-rerun train --rl_library rsl_rl`` with
this example's defaults, on the bundled test-bed task kit-less on the CPU. That is
Isaac Lab's own rsl_rl training (``isaaclab train --rl_library rsl_rl``) with the runner class Isaac Lab
instantiates (``OnPolicyRunner``, or ``DistillationRunner``) extended by ``RerunRunnerMixin``: envs 0 and 1, one
whole episode of env 0 every 10 learning iterations, 30 iterations, into ``<log_dir>/rerun/`` beside rsl_rl's
TensorBoard files, with ``rl-rerun-metrics.rrd`` (every curve rsl_rl logs, on the ``iteration`` timeline).

Every flag of ``isaac-rerun train`` (and of Isaac Lab's ``isaaclab train``, Hydra overrides included) can be added;
a flag given here wins over the default::

    .venv/bin/python examples/train_rsl_rl.py --max_iterations 60 --rerun_interval 20

On a GPU machine with Isaac Lab's tasks: ``--task Isaac-Cartpole-Direct --device cuda:0 --num_envs 64``. It prints the
equivalent ``isaac-rerun`` command.
"""

from __future__ import annotations

import shlex
import sys

from isaac_rerun.cli import main as isaac_rerun

DEFAULTS = [
    "train", "--rl_library", "rsl_rl", "--task", "IsaacRerun-Testbed-Direct", "--device", "cpu", "--num_envs", "16",
    "--max_iterations", "30",
    "--rerun_envs", "0,1", "--rerun_trigger", "iteration", "--rerun_interval", "10", "--rerun_length", "0",
]  # fmt: skip


def main(argv: list[str]) -> int:
    args = [*DEFAULTS, *argv]  # argparse keeps the last value of a flag given twice: the user's
    print(f"the same as: isaac-rerun {shlex.join(args)}", flush=True)
    return isaac_rerun(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
