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
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from isaac_rerun.testbed.cli import logged_envs, make_task_env, print_recordings, scene_log_cfg, task_parser


def parse_args() -> argparse.Namespace:
    p = task_parser(__doc__)
    p.add_argument("--max_iterations", type=int, default=30, help="rsl_rl learning iterations")
    p.add_argument("--rerun_interval", type=int, default=10, help="record one episode every N learning iterations")
    p.add_argument("--log_dir", default=None, help="rsl_rl log folder (default: runs/rsl_rl/<date_time>)")
    p.set_defaults(rerun_dir=None)  # default: <log_dir>/rerun, beside rsl_rl's own logs
    return p.parse_args()


def agent_cfg_of(args: argparse.Namespace) -> dict[str, Any]:
    """The rsl_rl runner config of the task (Isaac Lab's registry entry) as a dict, or the test bed's."""
    if args.task is None:
        from isaac_rerun.testbed.agents import rsl_rl_ppo_cfg

        return rsl_rl_ppo_cfg(args.seed, args.max_iterations)
    from isaaclab.utils import to_dict
    from isaaclab_rl.rsl_rl.utils import check_rsl_rl_version, handle_deprecated_rsl_rl_cfg
    from isaaclab_tasks.utils import load_cfg_from_registry

    agent_cfg = handle_deprecated_rsl_rl_cfg(
        load_cfg_from_registry(args.task, "rsl_rl_cfg_entry_point"), check_rsl_rl_version()
    )
    agent_cfg.max_iterations, agent_cfg.seed, agent_cfg.device = args.max_iterations, args.seed, args.device
    return to_dict(agent_cfg)


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
    env = make_task_env(args)
    agent_cfg = agent_cfg_of(args)
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
                logged_envs=logged_envs(args),
                scene_log_cfg=scene_log_cfg(args),
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
    print_recordings(where, files, [metrics] if metrics is not None else [], "on the `iteration` timeline")
    print(f"rsl_rl's own logs: tensorboard --logdir {log_dir}")


if __name__ == "__main__":
    main()
