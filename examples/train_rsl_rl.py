"""Train rsl_rl PPO on an Isaac Lab task and record it to Rerun with ``RerunRunnerMixin``.

A thin caller of the ``isaac-rerun`` command line (``docs/cli.md``): it runs Isaac Lab's own rsl_rl training
(``isaaclab train --rl_library rsl_rl``) with the runner class Isaac Lab instantiates (``OnPolicyRunner``, or
``DistillationRunner``) extended by ``RerunRunnerMixin``, and prints the equivalent command. Runs the bundled test-bed
task kit-less on the CPU by default::

    .venv/bin/python examples/train_rsl_rl.py --max_iterations 30 --rerun_interval 10

One episode of the tracked env is recorded every ``--rerun_interval`` learning iterations, into
``<log_dir>/rerun/`` beside rsl_rl's TensorBoard files (Isaac Lab's ``logs/rsl_rl/<experiment>/<date>``;
``--rerun_dir`` to choose another folder), together with ``rl-rerun-metrics.rrd``: every curve rsl_rl logs, on the
``iteration`` timeline.

On a GPU machine with Isaac Lab's tasks installed, point it at any task that has an rsl_rl agent config
(``rsl_rl_cfg_entry_point``): ``--task Isaac-Velocity-Flat-Anymal-D --device cuda:0 --num_envs 4096``. Other
arguments (Isaac Lab's flags, Hydra overrides) are passed on.
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
    p.add_argument("--max_iterations", type=int, default=30, help="rsl_rl learning iterations")
    p.add_argument("--rerun_interval", type=int, default=10, help="record one episode every N learning iterations")
    p.add_argument("--rerun_length", type=int, default=0, help="frames per snippet (0 = until the episode ends)")
    p.add_argument("--rerun_dir", default=None, help="folder for the .rrd snippets (default: <log_dir>/rerun)")
    p.add_argument("--rerun_envs", default="0,1", help="env indices to record: '0,1', 'all', '0:16'")
    p.add_argument("--rerun_trails", default="", help="bodies whose paths are drawn as trails ('cart,tip', 'root')")
    p.add_argument("--rerun_layout", choices=("world", "origin"), default="world", help="where the envs are drawn")
    return p.parse_known_args()


def main() -> int:
    args, rest = parse_args()
    argv = [
        "train", "--rl_library", "rsl_rl", "--task", args.task, "--num_envs", str(args.num_envs),
        "--device", args.device, "--seed", str(args.seed), "--max_iterations", str(args.max_iterations),
        "--rerun_envs", args.rerun_envs, "--rerun_trigger", "iteration",
        "--rerun_interval", str(args.rerun_interval), "--rerun_length", str(args.rerun_length),
        "--rerun_trails", args.rerun_trails, "--rerun_env_layout", args.rerun_layout,
        *(["--rerun_dir", args.rerun_dir] if args.rerun_dir else []), *rest,
    ]  # fmt: skip
    print(f"the same as: isaac-rerun {shlex.join(argv)}", flush=True)
    return isaac_rerun(argv)


if __name__ == "__main__":
    sys.exit(main())
