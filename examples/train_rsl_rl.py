"""Train rsl_rl PPO on an Isaac Lab task and record it to Rerun with ``RerunRunnerMixin``.

Runs the bundled test-bed task kit-less on the CPU by default (local assets only)::

    .venv/bin/python examples/train_rsl_rl.py --max_iterations 30 --rerun_interval 10

One episode of the tracked env is recorded every ``--rerun_interval`` learning iterations, into
``<log_dir>/rerun/`` beside rsl_rl's TensorBoard files (``--rerun_dir`` to choose another folder), together with
``rl-rerun-metrics.rrd``: every curve rsl_rl logs, on the ``iteration`` timeline.

On a GPU machine with Isaac Lab's tasks installed, point it at any task that has an rsl_rl agent config
(``rsl_rl_cfg_entry_point``): ``--task Isaac-Velocity-Flat-Anymal-D --device cuda:0 --num_envs 4096``.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from datetime import datetime
from pathlib import Path
from typing import Any


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", default=None, help="Gymnasium task id (default: the bundled test bed)")
    p.add_argument("--num_envs", type=int, default=16)
    p.add_argument("--device", default="cpu")
    p.add_argument("--max_iterations", type=int, default=30, help="rsl_rl learning iterations")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rerun_interval", type=int, default=10, help="record one episode every N learning iterations")
    p.add_argument("--rerun_length", type=int, default=0, help="frames per snippet (0 = the whole episode)")
    p.add_argument("--rerun_dir", default=None, help="folder for the .rrd files (default: <log_dir>/rerun)")
    p.add_argument("--rerun_envs", default="0,1", help="comma-separated env indices to record")
    p.add_argument("--log_dir", default=None, help="rsl_rl log folder (default: runs/rsl_rl/<date_time>)")
    return p.parse_args()


def make_env_and_agent_cfg(args: argparse.Namespace) -> tuple[Any, dict[str, Any], contextlib.ExitStack]:
    """The task as Isaac Lab's scripts build it, its rsl_rl agent config as a dict, and an exit stack to close."""
    import gymnasium as gym
    from isaaclab.app import launch_simulation

    if args.task is None:
        from isaac_rerun.testbed import make_env as make_testbed
        from isaac_rerun.testbed.agents import rsl_rl_ppo_cfg

        env = make_testbed(num_envs=args.num_envs, device=args.device, seed=args.seed)
        return env, rsl_rl_ppo_cfg(args.seed, args.max_iterations), contextlib.ExitStack()
    import isaaclab_tasks  # noqa: F401  (registers Isaac Lab's tasks)
    from isaaclab.utils import to_dict
    from isaaclab_rl.rsl_rl.utils import check_rsl_rl_version, handle_deprecated_rsl_rl_cfg
    from isaaclab_tasks.utils import load_cfg_from_registry, parse_env_cfg

    cfg = parse_env_cfg(args.task, device=args.device, num_envs=args.num_envs)
    cfg.seed = args.seed
    agent_cfg = handle_deprecated_rsl_rl_cfg(
        load_cfg_from_registry(args.task, "rsl_rl_cfg_entry_point"), check_rsl_rl_version()
    )
    agent_cfg.max_iterations, agent_cfg.seed, agent_cfg.device = args.max_iterations, args.seed, args.device
    stack = contextlib.ExitStack()
    stack.enter_context(launch_simulation(cfg, {"device": args.device}))
    return gym.make(args.task, cfg=cfg), to_dict(agent_cfg), stack


def main() -> None:
    args = parse_args()
    from isaaclab_rl.rsl_rl import RslRlVecEnvWrapper
    from rsl_rl.runners import DistillationRunner, OnPolicyRunner

    from isaac_rerun.integrations.rsl_rl import RerunCfg, RerunRunnerMixin

    class RecordingRunner(RerunRunnerMixin, OnPolicyRunner):
        pass

    class RecordingDistillationRunner(RerunRunnerMixin, DistillationRunner):
        pass

    log_dir = Path(args.log_dir or Path("runs", "rsl_rl", datetime.now().strftime("%Y-%m-%d_%H-%M-%S"))).resolve()
    env, agent_cfg, stack = make_env_and_agent_cfg(args)
    with stack:
        try:
            vec_env = RslRlVecEnvWrapper(env, clip_actions=agent_cfg.get("clip_actions"))
            runner_class = (
                RecordingDistillationRunner if agent_cfg.get("class_name") == "DistillationRunner" else RecordingRunner
            )
            runner = runner_class(
                vec_env,
                agent_cfg,
                str(log_dir),
                device=args.device,
                rerun=RerunCfg(
                    logged_envs=[int(e) for e in args.rerun_envs.split(",")],
                    iteration_interval=args.rerun_interval,
                    recording_length=args.rerun_length,
                    save_dir=args.rerun_dir,
                    verbose=1,
                ),
            )
            t0 = time.perf_counter()
            runner.learn(num_learning_iterations=args.max_iterations, init_at_random_ep_len=True)
            print(f"trained {args.max_iterations} iterations in {time.perf_counter() - t0:.1f} s")
        finally:
            env.close()
    recorder = runner.rerun_recorder
    assert recorder is not None
    files = [s.path for s in recorder.finished if s.path is not None]
    metrics = getattr(recorder.output, "metrics_path", None)
    where = files[0].parent if files else Path(args.rerun_dir or log_dir / "rerun").resolve()
    print(f"\nwrote {len(files)} recordings to {where}:")
    for f in files:
        print(f"  {f.name}")
    if metrics is not None:
        print(f"training curves (on the `iteration` timeline): {metrics}")
    print(f"\nopen them with:  .venv/bin/rerun {where}/*.rrd")
    print(f"rsl_rl's own logs: tensorboard --logdir {log_dir}")


if __name__ == "__main__":
    main()
