"""Train skrl PPO on an Isaac Lab task and record snippets of the scene to Rerun (``.rrd`` files), the Isaac Lab way.

It follows Isaac Lab's skrl training script: the task env is wrapped with ``SkrlVecEnvWrapper``, skrl's ``Runner``
builds models, agent and trainer from the agent config, and ``attach_rerun(runner.trainer, ...)`` records the
trainer's ``train()`` without rebuilding anything. Runs the bundled test-bed task kit-less on the CPU by default::

    .venv/bin/python examples/train_skrl.py --timesteps 960 --rerun_dir runs/rerun

On a GPU machine with Isaac Lab's tasks installed, any task with a skrl agent config works:
``--task Isaac-Cartpole-Direct --device cuda:0 --num_envs 64``.

``--timesteps`` counts skrl timesteps (vector env steps; one PPO iteration is ``rollouts`` of them).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from isaac_rerun.testbed.cli import logged_envs, make_task_env, print_recordings, scene_log_cfg, task_parser


def parse_args() -> argparse.Namespace:
    p = task_parser(__doc__)
    p.add_argument("--timesteps", type=int, default=960, help="skrl timesteps (vector env steps) to train")
    p.add_argument("--rerun_interval", type=int, default=5, help="record every N-th episode of the tracked env")
    return p.parse_args()


def agent_cfg_of(args: argparse.Namespace) -> dict:
    """The skrl agent config of the task (Isaac Lab's registry entry), or the test bed's."""
    if args.task is None:
        from isaac_rerun.testbed.agents import skrl_ppo_cfg

        return skrl_ppo_cfg(args.seed, args.timesteps)
    from isaaclab_tasks.utils import load_cfg_from_registry

    return load_cfg_from_registry(args.task, "skrl_cfg_entry_point")


def main() -> None:
    args = parse_args()
    from isaaclab_rl.skrl import SkrlVecEnvWrapper
    from skrl.utils.runner.torch import Runner

    from isaac_rerun import every_n
    from isaac_rerun.integrations.skrl import attach_rerun

    env = make_task_env(args)
    agent_cfg = agent_cfg_of(args)
    agent_cfg["seed"] = args.seed
    agent_cfg["trainer"]["timesteps"] = args.timesteps
    agent_cfg["trainer"]["close_environment_at_exit"] = False  # the env is closed below, after the recording
    agent_cfg["trainer"]["headless"] = True
    try:
        runner = Runner(SkrlVecEnvWrapper(env, ml_framework="torch"), agent_cfg)
        rollouts = getattr(runner.agent.cfg, "rollouts", None)
        print(
            f"training skrl {type(runner.agent).__name__} on {env.unwrapped.num_envs} envs for {args.timesteps} "
            f"timesteps" + (f" ({args.timesteps // rollouts} iterations of {rollouts} steps)" if rollouts else "")
        )
        with attach_rerun(
            runner.trainer,
            save_dir=args.rerun_dir,
            logged_envs=logged_envs(args),
            scene_log_cfg=scene_log_cfg(args),
            episode_trigger=every_n(args.rerun_interval),
            recording_length=args.rerun_length,
            name_prefix="skrl-ppo",
            verbose=1,  # one line per finished snippet
        ) as recording:
            runner.run("train")
        print(f"\ntracked env {recording.recorder.tracked_env}: {recording.recorder.episode_id} episodes")
    finally:
        env.close()
    files = recording.paths
    metrics = [recording.metrics_path] if recording.metrics_path is not None else []
    print_recordings(Path(args.rerun_dir).resolve(), files, metrics, "skrl's TensorBoard scalars")


if __name__ == "__main__":
    main()
